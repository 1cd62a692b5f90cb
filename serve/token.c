/*
 * token.c — the review server's bearer token: created once in a 0600 file,
 * read on every start, compared in constant time (contract in serve.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve.h"

#define TOKEN_MIN 32
#define TOKEN_MAX 256

static bool token_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

int rg_serve_token_write(const char *path, const char *token, char *errstr, size_t errstr_size)
{
    /* O_EXCL: never reuse a file someone else created in between;
     * O_NOFOLLOW: never write through a planted symlink. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(errstr, errstr_size, "%s: cannot create the token file: %s", path, strerror(errno));
        return -1;
    }
    size_t n = strlen(token);
    bool ok = fchmod(fd, 0600) == 0 && write(fd, token, n) == (ssize_t)n && write(fd, "\n", 1) == 1 &&
              fsync(fd) == 0;
    int saved = errno;
    close(fd);
    if (!ok) {
        snprintf(errstr, errstr_size, "%s: cannot write the token file: %s", path, strerror(saved));
        unlink(path);
        return -1;
    }
    return 0;
}

static int create_token(const char *path, char *out, size_t out_size, char *errstr, size_t errstr_size)
{
    char token[RG_SERVE_TOKEN_HEX + 1];
    if (out_size <= RG_SERVE_TOKEN_HEX) {
        snprintf(errstr, errstr_size, "%s: no room for a token", path);
        return -1;
    }
    if (rg_users_new_token(token, errstr, errstr_size) < 0 || rg_serve_token_write(path, token, errstr, errstr_size) < 0) {
        memset(token, 0, sizeof token);
        return -1;
    }
    memcpy(out, token, sizeof token);
    memset(token, 0, sizeof token);
    return 0;
}

int rg_serve_token_load(const char *path, char *out, size_t out_size, bool *created, char *errstr,
                        size_t errstr_size)
{
    if (created)
        *created = false;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (create_token(path, out, out_size, errstr, errstr_size) < 0)
            return -1;
        if (created)
            *created = true;
        return 0;
    }
    if (fd < 0) {
        snprintf(errstr, errstr_size, "%s: cannot open the token file: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    char buf[TOKEN_MAX + 8];
    ssize_t n = -1;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(errstr, errstr_size, "%s: the token file must be a regular file", path);
    } else if (st.st_mode & 077) {
        snprintf(errstr, errstr_size,
                 "%s: the token file is readable by others (mode %03o): chmod 600 %s", path,
                 (unsigned)(st.st_mode & 0777), path);
    } else {
        n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
            snprintf(errstr, errstr_size, "%s: cannot read the token file: %s", path, strerror(errno));
    }
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    bool valid = n >= TOKEN_MIN && n <= TOKEN_MAX && (size_t)n < out_size;
    for (ssize_t i = 0; valid && i < n; i++)
        valid = token_char((unsigned char)buf[i]);
    if (!valid) {
        snprintf(errstr, errstr_size,
                 "%s: not a token (one line of %d to %d characters A-Z a-z 0-9 - . _ ~ + / =)",
                 path, TOKEN_MIN, TOKEN_MAX);
        memset(buf, 0, sizeof buf);
        return -1;
    }
    memcpy(out, buf, (size_t)n + 1);
    memset(buf, 0, sizeof buf);
    return 0;
}

bool rg_serve_token_equal(const char *expected, const char *given)
{
    if (!expected || !given)
        return false;
    size_t want = strlen(expected);
    /* Walk the expected length whatever was given: reading `given` stops
     * at its NUL (then compares against 0), so the loop's time depends on
     * `want` only, and a length mismatch is folded into the result. */
    unsigned char diff = 0;
    size_t i = 0, given_len = 0;
    bool ended = false;
    for (; i < want; i++) {
        unsigned char g = ended ? 0 : (unsigned char)given[i];
        ended |= g == 0;
        given_len += !ended;
        diff |= (unsigned char)(g ^ (unsigned char)expected[i]);
    }
    if (!ended && given[want] != '\0')
        diff |= 1;
    return diff == 0 && given_len == want;
}
