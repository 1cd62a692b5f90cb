/*
 * expr_parse — lexer and recursive-descent parser of the condition
 * language (grammar in expr.h). Produces a raw tree in which names are
 * still RG_X_IDENT / RG_X_CALL; expr_check.c resolves and types it.
 *
 * Owner: rules. One syntax error per expression is reported (recovering
 * inside an expression mostly produces noise); the loader goes on with the
 * rest of the file, so every broken expression is still reported.
 */
#include <stdio.h>
#include <string.h>

#include "../common/timeutil.h"
#include "expr_internal.h"

typedef enum tok_kind {
    T_END = 0, T_IDENT, T_INT, T_DUR, T_STR,
    T_LP, T_RP, T_LB, T_RB, T_COMMA,
    T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
    T_PLUS, T_MINUS, T_STAR, T_SLASH,
    T_AND, T_OR, T_NOT, T_IN, T_TRUE, T_FALSE,
    T_BAD
} tok_kind;

typedef struct tok {
    tok_kind kind;
    unsigned pos, end;
    int64_t ival;        /* T_INT value; T_DUR milliseconds */
    char *str;           /* T_STR contents (arena) */
    size_t str_len;
} tok;

typedef struct parser {
    const char *text;
    unsigned len;
    unsigned at;         /* lexer position */
    tok t;               /* current token */
    const rg_expr_env *env;
    const char *src;     /* arena copy of text, shared by the nodes */
    unsigned prev_end;   /* end of the token consumed last */
    unsigned nest;       /* open parentheses, brackets and calls */
    bool failed;
} parser;

static void perr(parser *p, unsigned pos, const char *fmt, const char *arg)
{
    if (p->failed)
        return;   /* only the first syntax error of an expression */
    p->failed = true;
    char msg[256];
    snprintf(msg, sizeof msg, fmt, arg);
    p->env->error(p->env->opaque, pos, msg);
}

static bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Short printable excerpt of the source at pos, for "unexpected X". */
static const char *excerpt(parser *p, unsigned pos, char *buf, size_t size)
{
    if (pos >= p->len)
        return "end of expression";
    /* Up to 16 bytes of the token, whole UTF-8 characters only, control
     * characters shown as '?', so the message stays printable. */
    size_t k = 0;
    buf[k++] = '\'';
    for (unsigned n = 0; pos + n < p->len && n < 16 && p->text[pos + n] != ' ' && k + 3 < size; n++) {
        unsigned char c = (unsigned char)p->text[pos + n];
        if (n >= 12 && c >= 0xc0)
            break;   /* do not start a multi-byte character near the end */
        buf[k++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    while (k > 1 && ((unsigned char)buf[k - 1] & 0xc0) == 0xc0)
        k--;   /* never end on a lead byte */
    if (k == 1)
        buf[k++] = '?';
    buf[k++] = '\'';
    buf[k] = '\0';
    return buf;
}

static void lex_string(parser *p, unsigned start)
{
    char quote = p->text[start];
    unsigned i = start + 1;
    char *out = rg_arena_alloc(p->env->arena, p->len - start);
    if (!out) {
        p->t.kind = T_BAD;
        return;
    }
    size_t n = 0;
    for (;;) {
        if (i >= p->len) {
            perr(p, start, "unterminated string starting here%s", "");
            p->t.kind = T_BAD;
            return;
        }
        char c = p->text[i];
        if (c == quote)
            break;
        if (c == '\\') {
            char e = i + 1 < p->len ? p->text[i + 1] : '\0';
            if (e != '\\' && e != '"' && e != '\'') {
                perr(p, i, "unknown escape in string (only \\\\, \\\" and \\' are allowed)%s", "");
                p->t.kind = T_BAD;
                return;
            }
            out[n++] = e;
            i += 2;
            continue;
        }
        if (c == '\n' || c == '\r') {
            perr(p, start, "unterminated string starting here%s", "");
            p->t.kind = T_BAD;
            return;
        }
        out[n++] = c;
        i++;
    }
    out[n] = '\0';
    p->t.kind = T_STR;
    p->t.str = out;
    p->t.str_len = n;
    p->at = i + 1;
}

static void lex_number(parser *p, unsigned start)
{
    unsigned i = start;
    int64_t v = 0;
    bool overflow = false;
    while (i < p->len && is_digit(p->text[i])) {
        int d = p->text[i] - '0';
        if (v > (INT64_MAX - d) / 10)
            overflow = true;
        else
            v = v * 10 + d;
        i++;
    }
    if (i < p->len && p->text[i] == '.' && i + 1 < p->len && is_digit(p->text[i + 1])) {
        perr(p, start, "decimal numbers are not supported: amounts are in minor units (10000 = "
                       "100.00), durations take a smaller unit (1500ms)%s", "");
        p->t.kind = T_BAD;
        return;
    }
    unsigned unit = i;
    while (i < p->len && is_ident_char(p->text[i]))
        i++;
    p->t.pos = start;
    p->t.end = i;
    p->at = i;
    if (unit == i) {
        if (overflow) {
            perr(p, start, "integer out of range (at most 9223372036854775807)%s", "");
            p->t.kind = T_BAD;
            return;
        }
        p->t.kind = T_INT;
        p->t.ival = v;
        return;
    }
    int64_t ms;
    rg_dur_check st = rg_duration_parse_bounded(p->text + start, i - start, &ms);
    if (st != RG_DUR_OK) {
        char tokbuf[80];
        snprintf(tokbuf, sizeof tokbuf, "%.*s", (int)(i - start > 40 ? 40 : i - start), p->text + start);
        perr(p, start,
             st == RG_DUR_TOO_LONG
                 ? "duration '%s' is longer than the maximum " RG_DURATION_MAX_TEXT
                 : "bad duration '%s' (an integer and one of the units ms, s, m, h, d, e.g. 72h)",
             tokbuf);
        p->t.kind = T_BAD;
        return;
    }
    p->t.kind = T_DUR;
    p->t.ival = ms;
}

static void next(parser *p)
{
    const char *s = p->text;
    p->prev_end = p->t.end;
    while (p->at < p->len && (s[p->at] == ' ' || s[p->at] == '\t' || s[p->at] == '\n' || s[p->at] == '\r'))
        p->at++;
    unsigned start = p->at;
    p->t.pos = start;
    p->t.str = NULL;
    if (start >= p->len) {
        p->t.kind = T_END;
        p->t.end = start;
        return;
    }
    char c = s[start], c2 = start + 1 < p->len ? s[start + 1] : '\0';
    p->at = start + 1;
    switch (c) {
    case '(': p->t.kind = T_LP; break;
    case ')': p->t.kind = T_RP; break;
    case '[': p->t.kind = T_LB; break;
    case ']': p->t.kind = T_RB; break;
    case ',': p->t.kind = T_COMMA; break;
    case '+': p->t.kind = T_PLUS; break;
    case '-': p->t.kind = T_MINUS; break;
    case '*': p->t.kind = T_STAR; break;
    case '/': p->t.kind = T_SLASH; break;
    case '<': p->t.kind = c2 == '=' ? (p->at++, T_LE) : T_LT; break;
    case '>': p->t.kind = c2 == '=' ? (p->at++, T_GE) : T_GT; break;
    case '=':
        if (c2 == '=') {
            p->at++;
            p->t.kind = T_EQ;
        } else {
            perr(p, start, "'=' is not an operator: compare with '=='%s", "");
            p->t.kind = T_BAD;
        }
        break;
    case '!':
        if (c2 == '=') {
            p->at++;
            p->t.kind = T_NE;
        } else {
            perr(p, start, "'!' is not an operator: write 'not'%s", "");
            p->t.kind = T_BAD;
        }
        break;
    case '&':
    case '|':
        perr(p, start, c == '&' ? "write 'and' instead of '&'%s" : "write 'or' instead of '|'%s", "");
        p->t.kind = T_BAD;
        break;
    case '"':
    case '\'':
        lex_string(p, start);
        break;
    default:
        if (is_digit(c)) {
            lex_number(p, start);
            return;
        }
        if (is_ident_start(c)) {
            unsigned i = start;
            while (i < p->len && is_ident_char(s[i]))
                i++;
            p->at = i;
            size_t n = i - start;
            static const struct { const char *w; tok_kind k; } kw[] = {
                {"and", T_AND}, {"or", T_OR}, {"not", T_NOT}, {"in", T_IN}, {"true", T_TRUE}, {"false", T_FALSE}};
            p->t.kind = T_IDENT;
            for (size_t k = 0; k < sizeof kw / sizeof *kw; k++)
                if (strlen(kw[k].w) == n && memcmp(kw[k].w, s + start, n) == 0)
                    p->t.kind = kw[k].k;
            break;
        }
        {
            char buf[8];
            unsigned char u = (unsigned char)c;
            if (u >= 0x20 && u < 0x7f)
                snprintf(buf, sizeof buf, "%c", c);
            else
                snprintf(buf, sizeof buf, "\\x%02x", u);
            perr(p, start, "unexpected character '%s'", buf);
            p->t.kind = T_BAD;
        }
    }
    p->t.end = p->at;
}

static rg_expr *node(parser *p, rg_expr_kind kind, unsigned pos, unsigned end)
{
    rg_expr *e = rg_arena_alloc(p->env->arena, sizeof *e);
    if (!e) {
        p->failed = true;
        return NULL;
    }
    e->kind = kind;
    e->tri = NULL;
    e->src = p->src;
    e->pos = pos;
    e->end = end;
    return e;
}

static rg_expr *binary(parser *p, rg_expr_kind kind, rg_expr_op op, rg_expr *a, rg_expr *b)
{
    if (!a || !b)
        return NULL;
    rg_expr *e = node(p, kind, a->pos, b->end);
    if (!e)
        return NULL;
    e->op = op;
    e->a = a;
    e->b = b;
    e->depth = 1 + (a->depth > b->depth ? a->depth : b->depth);
    if (e->depth > RG_EXPR_MAX_DEPTH) {
        perr(p, a->pos, "expression nested too deeply (more than %s levels): split it into signals", "100");
        return NULL;
    }
    return e;
}

static rg_expr *parse_or(parser *p);

static void unexpected(parser *p)
{
    char buf[40];
    if (p->t.kind == T_BAD)
        return;   /* the lexer said why */
    perr(p, p->t.pos, "unexpected %s", excerpt(p, p->t.pos, buf, sizeof buf));
}

static bool expect(parser *p, tok_kind k, const char *what)
{
    if (p->t.kind == k) {
        next(p);
        return true;
    }
    if (p->t.kind != T_BAD) {
        char buf[40], msg[96];
        snprintf(msg, sizeof msg, "expected %s, found %%s", what);
        perr(p, p->t.pos, msg, excerpt(p, p->t.pos, buf, sizeof buf));
    }
    return false;
}

/* Comma-separated expressions up to `close` (the opening token is consumed). */
static bool parse_list(parser *p, tok_kind close, const char *what, rg_expr ***out, size_t *n_out)
{
    rg_expr **items = NULL;
    size_t n = 0, cap = 0;
    if (p->t.kind != close) {
        for (;;) {
            rg_expr *it = parse_or(p);
            if (!it)
                return false;
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 4;
                rg_expr **ni = rg_arena_calloc(p->env->arena, ncap, sizeof *ni);
                if (!ni) {
                    p->failed = true;
                    return false;
                }
                if (n)
                    memcpy(ni, items, n * sizeof *ni);
                items = ni;
                cap = ncap;
            }
            items[n++] = it;
            if (p->t.kind != T_COMMA)
                break;
            next(p);
        }
    }
    if (!expect(p, close, what))
        return false;
    *out = items;
    *n_out = n;
    return true;
}

static unsigned max_depth(rg_expr **items, size_t n)
{
    unsigned d = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i]->depth > d)
            d = items[i]->depth;
    return d;
}

/* Parentheses, lists and calls recurse into parse_or: bound them so that
 * hostile input cannot exhaust the stack. */
static bool open_nest(parser *p, unsigned pos)
{
    if (++p->nest > RG_EXPR_MAX_DEPTH) {
        perr(p, pos, "expression nested too deeply (more than %s levels): split it into signals", "100");
        return false;
    }
    return true;
}

static rg_expr *parse_primary(parser *p)
{
    tok t = p->t;
    rg_expr *e;
    switch (t.kind) {
    case T_INT:
    case T_DUR:
    case T_STR:
    case T_TRUE:
    case T_FALSE:
        next(p);
        if (!(e = node(p, RG_X_LIT, t.pos, t.end)))
            return NULL;
        if (t.kind == T_INT)
            e->lit = rg_int_typed(RG_T_INT, t.ival);
        else if (t.kind == T_DUR)
            e->lit = rg_int_typed(RG_T_DURATION, t.ival);
        else if (t.kind == T_STR)
            e->lit = rg_string(t.str, t.str_len);
        else
            e->lit = rg_bool(t.kind == T_TRUE);
        e->type = e->lit.type;
        return e;
    case T_LP:
        next(p);
        if (!open_nest(p, t.pos) || !(e = parse_or(p)) || !expect(p, T_RP, "')'"))
            return NULL;
        p->nest--;
        return e;
    case T_IDENT:
        next(p);
        if (p->t.kind != T_LP) {
            if (!(e = node(p, RG_X_IDENT, t.pos, t.end)))
                return NULL;
            e->name = p->src + t.pos;
            e->name_len = t.end - t.pos;
            return e;
        }
        next(p);
        if (!(e = node(p, RG_X_CALL, t.pos, t.end)))
            return NULL;
        e->name = p->src + t.pos;
        e->name_len = t.end - t.pos;
        if (!open_nest(p, t.pos) ||
            !parse_list(p, T_RP, "')' closing the call", &e->items, &e->n_items))
            return NULL;
        p->nest--;
        e->end = p->prev_end;
        e->depth = 1 + max_depth(e->items, e->n_items);
        return e;
    default:
        unexpected(p);
        return NULL;
    }
}

static rg_expr *parse_unary(parser *p)
{
    if (p->t.kind != T_MINUS)
        return parse_primary(p);
    unsigned pos = p->t.pos;
    next(p);
    if (!open_nest(p, pos))
        return NULL;
    rg_expr *a = parse_unary(p);
    p->nest--;
    if (!a)
        return NULL;
    rg_expr *e = node(p, RG_X_NEG, pos, a->end);
    if (!e)
        return NULL;
    e->a = a;
    e->depth = a->depth + 1;
    return e;
}

static rg_expr *parse_mul(parser *p)
{
    rg_expr *e = parse_unary(p);
    while (e && (p->t.kind == T_STAR || p->t.kind == T_SLASH)) {
        rg_expr_op op = p->t.kind == T_STAR ? RG_OP_MUL : RG_OP_DIV;
        next(p);
        e = binary(p, RG_X_ARITH, op, e, parse_unary(p));
    }
    return e;
}

static rg_expr *parse_add(parser *p)
{
    rg_expr *e = parse_mul(p);
    while (e && (p->t.kind == T_PLUS || p->t.kind == T_MINUS)) {
        rg_expr_op op = p->t.kind == T_PLUS ? RG_OP_ADD : RG_OP_SUB;
        next(p);
        e = binary(p, RG_X_ARITH, op, e, parse_mul(p));
    }
    return e;
}

static rg_expr_op cmp_op(tok_kind k)
{
    switch (k) {
    case T_EQ: return RG_OP_EQ;
    case T_NE: return RG_OP_NE;
    case T_LT: return RG_OP_LT;
    case T_LE: return RG_OP_LE;
    case T_GT: return RG_OP_GT;
    case T_GE: return RG_OP_GE;
    default: return RG_OP_NONE;
    }
}

static rg_expr *parse_cmp(parser *p)
{
    rg_expr *e = parse_add(p);
    if (!e)
        return NULL;
    rg_expr_op op = cmp_op(p->t.kind);
    if (op != RG_OP_NONE) {
        next(p);
        e = binary(p, RG_X_CMP, op, e, parse_add(p));
    } else if (p->t.kind == T_IN) {
        next(p);
        if (p->t.kind == T_LB) {
            next(p);
            rg_expr *in = node(p, RG_X_IN, e->pos, 0);
            if (!in)
                return NULL;
            in->a = e;
            if (!open_nest(p, e->pos) ||
                !parse_list(p, T_RB, "']' closing the list", &in->items, &in->n_items))
                return NULL;
            p->nest--;
            in->end = p->prev_end;
            unsigned d = max_depth(in->items, in->n_items);
            in->depth = 1 + (d > e->depth ? d : e->depth);
            e = in;
        } else if (p->t.kind == T_IDENT) {
            rg_expr *in = node(p, RG_X_IN_LIST, e->pos, p->t.end);
            if (!in)
                return NULL;
            in->a = e;
            in->name = p->src + p->t.pos;
            in->name_len = p->t.end - p->t.pos;
            in->b = node(p, RG_X_IDENT, p->t.pos, p->t.end);  /* where the list name is, for errors */
            if (!in->b)
                return NULL;
            in->depth = e->depth + 1;
            next(p);
            e = in;
        } else {
            expect(p, T_LB, "'[' or a list name after 'in'");
            return NULL;
        }
    } else {
        return e;
    }
    if (e && (cmp_op(p->t.kind) != RG_OP_NONE || p->t.kind == T_IN))
        perr(p, p->t.pos, "comparisons cannot be chained: write 'a < b and b < c'%s", "");
    return p->failed ? NULL : e;
}

static rg_expr *parse_not(parser *p)
{
    if (p->t.kind != T_NOT)
        return parse_cmp(p);
    unsigned pos = p->t.pos;
    next(p);
    if (!open_nest(p, pos))
        return NULL;
    rg_expr *a = parse_not(p);
    p->nest--;
    if (!a)
        return NULL;
    rg_expr *e = node(p, RG_X_NOT, pos, a->end);
    if (!e)
        return NULL;
    e->a = a;
    e->depth = a->depth + 1;
    return e;
}

static rg_expr *parse_and(parser *p)
{
    rg_expr *e = parse_not(p);
    while (e && p->t.kind == T_AND) {
        next(p);
        e = binary(p, RG_X_AND, RG_OP_NONE, e, parse_not(p));
    }
    return e;
}

static rg_expr *parse_or(parser *p)
{
    rg_expr *e = parse_and(p);
    while (e && p->t.kind == T_OR) {
        next(p);
        e = binary(p, RG_X_OR, RG_OP_NONE, e, parse_and(p));
    }
    return e;
}

rg_expr *rg_expr_parse_raw(const char *text, size_t len, const rg_expr_env *env)
{
    parser p = {.text = text, .env = env};
    if (len > RG_EXPR_MAX_LEN) {
        char buf[32];
        snprintf(buf, sizeof buf, "%d", RG_EXPR_MAX_LEN);
        perr(&p, 0, "expression longer than %s bytes", buf);
        return NULL;
    }
    p.len = (unsigned)len;
    p.src = rg_arena_strndup(env->arena, text, len);
    if (!p.src)
        return NULL;
    next(&p);
    if (p.t.kind == T_END) {
        perr(&p, 0, "empty expression%s", "");
        return NULL;
    }
    rg_expr *e = parse_or(&p);
    if (e && p.t.kind != T_END)
        unexpected(&p);
    return p.failed ? NULL : e;
}
