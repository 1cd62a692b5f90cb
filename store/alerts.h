/*
 * alerts — the analyst's alert store: every decision becomes one alert in
 * a SQLite file (docs/review.md has the schema and the rules below).
 *
 * An alert is one stored decision; its id is the decision's `decision_id`
 * ("event_id/subject", each part escaped: decisions/decision_id.h), unique
 * in the store, so a re-delivered decision
 * (replay run twice, a streaming restart re-processing an event) never
 * makes a second alert: rg_alert_store_add returns 0 for it.
 *
 * Writing: adds are batched. The first add opens a transaction; it is
 * committed every `batch_rows` adds (default RG_ALERT_BATCH_ROWS), when a
 * batch has been open longer than `batch_ms` (checked on the next add), on
 * rg_alert_store_flush and on rg_alert_store_close. A writer that goes idle
 * (streaming between messages) must call rg_alert_store_flush: an open
 * batch holds SQLite's write lock, and analysts labelling alerts through
 * `riskgate alerts` or `riskgate serve` wait for it (busy timeout 5 s).
 * Every other writing call (label, resolve, outbox) first commits the open
 * batch, then runs in a transaction of its own.
 *
 * Reading returns copies the caller owns (free them with the matching
 * *_free function); nothing returned points into the store.
 *
 * Threads: a store handle belongs to one thread at a time (the engine
 * thread for the sink, the HTTP thread for `serve`). Several processes may
 * open the same file: WAL mode lets readers work beside one writer.
 *
 * Errors: every call that can fail returns -1 (or NULL) and writes a
 * message into errstr (may be NULL when errstr_size is 0); the message
 * names the file and what went wrong. Nothing here exits or prints.
 */
#ifndef RG_ALERTS_H
#define RG_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/strbuf.h"
#include "../decisions/engine.h"

#define RG_ALERT_BATCH_ROWS 10000
#define RG_ALERT_BATCH_MS 500
/* Schema version this build writes (PRAGMA user_version). */
#define RG_ALERT_SCHEMA_VERSION 3

typedef struct rg_alert_store rg_alert_store;

typedef enum rg_alert_open_mode {
    RG_ALERTS_CREATE = 0,   /* create the file if missing, migrate to the current schema */
    RG_ALERTS_EXISTING      /* the file must exist (the CLI: a typo in --db is an error) */
} rg_alert_open_mode;

/*
 * Open (and create or migrate) the store at `path`. Migrations run in
 * order, each in its own transaction, from the file's user_version to
 * RG_ALERT_SCHEMA_VERSION; a file written by a newer riskgate is refused.
 * Returns NULL with errstr filled on failure.
 */
rg_alert_store *rg_alert_store_open(const char *path, rg_alert_open_mode mode, char *errstr,
                                    size_t errstr_size);

/* Commit any open batch and close. Returns -1 when the final commit
 * failed (the handle is freed either way). NULL-safe (returns 0). */
int rg_alert_store_close(rg_alert_store *s, char *errstr, size_t errstr_size);

/* Batch limits for later adds; 0 keeps the current value. */
void rg_alert_store_set_batch(rg_alert_store *s, size_t batch_rows, int64_t batch_ms);

/* How long a write waits for another process's write lock (a label, a
 * resolve, another writer's batch) before failing with SQLITE_BUSY; the
 * default is 5000 ms. The streaming runner sets a short one so that its
 * engine thread is never held for long: it keeps what it could not write
 * and tries again (docs/streaming.md). */
void rg_alert_store_set_busy_timeout(rg_alert_store *s, int timeout_ms);

/* Commit the open batch, if any. */
int rg_alert_store_flush(rg_alert_store *s, char *errstr, size_t errstr_size);

/* The schema version of the open file (== RG_ALERT_SCHEMA_VERSION). */
int rg_alert_store_schema_version(const rg_alert_store *s);

/*
 * Store one decision. Reasons and evidence are taken from d->json's
 * `rules` array (matched to d->hits by rule id); actions from d->actions;
 * the event from d->event_raw (NULL allowed). Returns 1 when a new alert
 * was added, 0 when one with this decision_id already exists, -1 on error.
 */
int rg_alert_store_add(rg_alert_store *s, const rg_decision *d, char *errstr, size_t errstr_size);

/*
 * Store one decision from its JSON text (a line of `replay --out`, or of
 * the action topic: `decided_at` is ignored). `event_raw` may be NULL.
 * Same returns as rg_alert_store_add; -1 also for a line that is not a
 * decision (the message says which field is wrong).
 */
int rg_alert_store_add_json(rg_alert_store *s, const char *json, size_t json_len,
                            const char *event_raw, size_t event_raw_len, char *errstr,
                            size_t errstr_size);

/*
 * The alert store as a sink (sinks/sink.h; alerts_sink.c): `decision` adds
 * every decision it is given, emitted or all under cooldown (an alert
 * either way), and returns RG_SINK_TAKEN (a new alert or one that was
 * there) or RG_SINK_FAILED, the message kept for rg_alert_store_last_error
 * (a failed add rolls the open batch back: the tickets of that batch are
 * acknowledged with err -1, lost). Acknowledgement: when the batch holding
 * the decision committed; the sink learns it at its next op, flush or
 * close (late, never early). flush commits the open batch. close: with
 * owns_store, "alert store: MESSAGE" when an add failed, then the store is
 * closed (its final commit); without, the batch is committed and the store
 * stays open. Ownership: a borrowed store must outlive the sink.
 */
typedef struct rg_alert_sink_conf {
    rg_alert_store *store;
    bool owns_store;            /* close the store with the sink */
    rg_sink_acked_fn acked;     /* may be NULL */
    void *ack_opaque;
} rg_alert_sink_conf;

/* 0, or -1 (out of memory) with errstr; with owns_store the store is
 * closed on failure too. */
int rg_alert_sink_open(rg_sink *out, const rg_alert_sink_conf *conf, char *errstr, size_t errstr_size);
const char *rg_alert_store_last_error(const rg_alert_store *s);

/* ---- reading ---------------------------------------------------------- */

typedef struct rg_alert_hit {
    char *rule_id;
    char *reason;           /* NULL when the decision gave none */
    char *evidence_json;    /* a JSON object as text; NULL when none */
    bool suppressed;        /* under the rule's cooldown when decided */
} rg_alert_hit;

typedef struct rg_alert {
    char *decision_id;      /* the ALERT_ID */
    char *event_id;
    char *subject;
    char *event_type;
    int64_t ts_ms;          /* the event's time */
    char *actions;          /* "freeze face_verify": space-separated, detection.md order; "" for none */
    char *ruleset;
    bool suppressed;        /* every hit was under cooldown: nothing was emitted */
    char *status;           /* "open" | "resolved" */
    char *label;            /* "fraud" | "legit" | NULL */
    char *note;             /* NULL when none */
    char *labelled_by;      /* NULL until labelled */
    int64_t labelled_ms;    /* wall clock, 0 until labelled */
    char *resolved_by;
    int64_t resolved_ms;
    int64_t stored_ms;      /* wall clock when the alert was written */
    char *assignee;         /* NULL when nobody is assigned */
    int64_t assigned_ms;    /* wall clock, 0 when unassigned */
    char *party;            /* the event's other party: its account when the subject is
                               someone else, else its counterparty; NULL when none */
    char *object;           /* the packet it sends or claims, or the id it refers to; NULL */
    rg_alert_hit *hits;     /* in the decision's order */
    size_t n_hits;
    /* Filled by rg_alert_store_get only (NULL in lists): */
    char *decision_json;
    char *event_json;       /* NULL when the writer did not have it */
    char *release_json;     /* the queued release decision, if any */
    int64_t release_sent_ms;/* 0 while queued / none */
} rg_alert;

void rg_alert_clear(rg_alert *a);               /* frees the fields; NULL-safe */
void rg_alerts_free(rg_alert *a, size_t n);     /* clears each, frees the array */

/* Orders a list can have, each served by an index (then ts, decision_id). */
typedef enum rg_alert_sort {
    RG_SORT_TIME = 0,       /* ts, decision_id */
    RG_SORT_SUBJECT,        /* subject, ts, decision_id */
    RG_SORT_STATUS          /* status ("open" < "resolved"), ts, decision_id */
} rg_alert_sort;

typedef struct rg_alert_filter {
    const char *status;     /* "open" | "resolved" | NULL: any */
    const char *rule;       /* alerts with a hit of this rule id | NULL */
    const char *subject;    /* exact subject | NULL */
    bool labelled_only;     /* only alerts with a label (backtest --labels) */
    int64_t since_ms;       /* ts >= since_ms; INT64_MIN: no bound */
    int64_t until_ms;       /* ts <  until_ms; INT64_MAX: no bound */
    size_t limit;           /* 0: no limit */
    size_t offset;
    bool newest_first;      /* false: ascending; true: descending (every sort key) */
    /* Schema 3: */
    const char *label;      /* "fraud" | "legit" | "none" (unlabelled) | NULL: any */
    const char *action;     /* actions include this one ("freeze", ...) | NULL */
    const char *assignee;   /* assigned to this name; "none": unassigned | NULL: any */
    /* Free text, case-insensitive: a subject or a note containing it, an
     * alert or event id starting with it (escaped as in the id: x%2Fy).
     * Up to RG_ALERT_SEARCH_MAX bytes. NULL: none. */
    const char *search;
    /* An account, packet or event id: alerts whose subject, party or
     * object is it, or whose event it is. NULL: none. */
    const char *entity;
    rg_alert_sort sort;
} rg_alert_filter;

#define RG_ALERT_SEARCH_MAX 256

/* A filter that matches everything, oldest first. */
void rg_alert_filter_init(rg_alert_filter *f);

/* Called once per alert by rg_alert_store_scan; the alert is valid only
 * during the call. A non-zero return stops the scan (and is returned). */
typedef int (*rg_alert_cb)(void *ctx, const rg_alert *a);

/*
 * Every alert matching f, ordered by (ts, decision_id) (descending with
 * newest_first), with hits' rule ids only (no reason/evidence). Streams:
 * memory does not grow with the number of alerts. Returns 0, the
 * callback's non-zero value, or -1 on error.
 */
int rg_alert_store_scan(rg_alert_store *s, const rg_alert_filter *f, rg_alert_cb cb, void *ctx,
                        char *errstr, size_t errstr_size);

/* Number of alerts matching f, ignoring limit and offset. */
int rg_alert_store_count(rg_alert_store *s, const rg_alert_filter *f, int64_t *total,
                         char *errstr, size_t errstr_size);

/*
 * The same, but counting stops past `cap` (> 0) matches unless one index
 * gives the exact number at once (no filter, or a single status, rule,
 * subject, entity, time range, label fraud|legit or named assignee): then
 * *exact is false and *total is cap ("more than cap"). What lists show,
 * so that a count of many among a million stays cheap (docs/review.md,
 * "Speed").
 */
int rg_alert_store_count_upto(rg_alert_store *s, const rg_alert_filter *f, int64_t cap, int64_t *total,
                              bool *exact, char *errstr, size_t errstr_size);

#define RG_ALERT_COUNT_CAP 10000

/* rg_alert_store_scan collected into an array the caller frees with
 * rg_alerts_free. */
int rg_alert_store_list(rg_alert_store *s, const rg_alert_filter *f, rg_alert **out, size_t *n,
                        char *errstr, size_t errstr_size);

/*
 * One alert with everything (hits with reasons and evidence, the decision
 * and event JSON, the release it queued). Returns 1 found, 0 no such
 * alert (errstr says so), -1 error. `out` is cleared by rg_alert_clear.
 */
int rg_alert_store_get(rg_alert_store *s, const char *decision_id, rg_alert *out, char *errstr,
                       size_t errstr_size);

/* ---- review ----------------------------------------------------------- */

/*
 * Who may do what (docs/review.md, "Per-analyst access"): a lead anything;
 * an analyst may label, resolve, and assign an unassigned alert (or one
 * already theirs) to themselves or give their own back, but not reopen
 * nor take an alert from someone else. The CLI acts as a lead: whoever
 * can write the store file can do everything anyway.
 */
typedef enum rg_role { RG_ROLE_LEAD = 0, RG_ROLE_ANALYST } rg_role;

const char *rg_role_name(rg_role r);                 /* "lead" | "analyst" */
int rg_role_from_name(const char *name);             /* -1 when neither */

typedef enum rg_review_action {
    RG_REVIEW_LABEL = 0,    /* label (fraud|legit) and note (NULL keeps the earlier one) */
    RG_REVIEW_RESOLVE,
    RG_REVIEW_REOPEN,       /* resolved -> open (lead only) */
    RG_REVIEW_ASSIGN        /* assignee, or NULL to unassign */
} rg_review_action;

typedef struct rg_review_op {
    rg_review_action action;
    const char *label;      /* LABEL: "fraud" | "legit" */
    const char *note;       /* LABEL: NULL keeps the earlier note */
    const char *assignee;   /* ASSIGN: a name (rg_alert_name_valid), NULL: unassign */
    const char *who;        /* recorded in the history; non-empty */
    rg_role role;
} rg_review_op;

typedef enum rg_review_outcome {
    RG_REVIEW_DONE = 0,     /* changed, and recorded in the history */
    RG_REVIEW_UNCHANGED,    /* already so (resolve a resolved alert, assign to its assignee) */
    RG_REVIEW_NOT_FOUND,
    RG_REVIEW_FORBIDDEN     /* the role may not; `why` says what */
} rg_review_outcome;

typedef struct rg_review_result {
    rg_review_outcome outcome;
    bool release_queued;    /* this change queued a release decision */
    const char *why;        /* static text for FORBIDDEN and UNCHANGED, else NULL */
} rg_review_result;

/* Most ids one rg_alert_store_review call takes (a bulk action). */
#define RG_REVIEW_MAX_IDS 1000

/*
 * Apply one review action to each of ids[0..n) (n <= RG_REVIEW_MAX_IDS),
 * all in one transaction; results[i] says what happened to ids[i]. Every
 * change appends a row to the history (rg_alert_store_history) with `who`
 * and the time; nothing in the history is ever changed or removed. The
 * release rule of rg_alert_store_resolve applies to LABEL and RESOLVE.
 * Returns 0 when done (whatever the outcomes), -1 when the op is invalid
 * (bad label, empty who, bad assignee name, too many ids) or the
 * database failed: then nothing changed.
 */
int rg_alert_store_review(rg_alert_store *s, const rg_review_op *op, const char *const *ids, size_t n,
                          rg_review_result *results, char *errstr, size_t errstr_size);

/* An analyst or assignee name: 1..RG_ALERT_NAME_MAX bytes of A-Z a-z 0-9
 * . _ @ - (so it prints as is and needs no quoting), not "none". */
#define RG_ALERT_NAME_MAX 64
bool rg_alert_name_valid(const char *name);

/* One change in an alert's history. */
typedef struct rg_alert_change {
    int64_t at_ms;          /* wall clock */
    char *who;
    char *what;             /* "label" | "resolve" | "reopen" | "assign" | "unassign" */
    char *value;            /* label: fraud|legit; assign: the assignee; else NULL */
    char *note;             /* the note given with a label; NULL when none */
} rg_alert_change;

/* Every change to the alert, oldest first. Returns 1 (the alert exists;
 * *n may be 0), 0 no such alert (errstr says so), -1 error. Free with
 * rg_alert_changes_free. */
int rg_alert_store_history(rg_alert_store *s, const char *decision_id, rg_alert_change **out,
                           size_t *n, char *errstr, size_t errstr_size);
void rg_alert_changes_free(rg_alert_change *c, size_t n);

/*
 * Label an alert fraud|legit, with an optional note (NULL keeps the
 * earlier note, if any) and the analyst's name `who` (non-empty). A later
 * label replaces the earlier one (its author and time too); every label
 * and resolve is also appended to the review_log table (the audit trail).
 * Labelling a resolved alert is allowed (a second opinion). Returns 1 done, 0 no such alert, -1
 * error (also for a label other than fraud|legit).
 */
int rg_alert_store_label(rg_alert_store *s, const char *decision_id, const char *label,
                         const char *note, const char *who, char *errstr, size_t errstr_size);

/*
 * Resolve an alert (status -> resolved, by `who`, now). Resolving an
 * already resolved alert changes nothing and returns 1.
 *
 * Release: when an alert whose actions include freeze is resolved AND
 * labelled legit (whichever of the two happens last, here or in
 * rg_alert_store_label), one `release` decision for its subject is queued
 * in the outbox, with decision_id "<decision_id>/release"; queuing
 * twice is impossible (the outbox's decision_id is unique).
 * *queued_release (may be NULL) says whether this call queued one.
 * Returns 1 done, 0 no such alert, -1 error.
 */
int rg_alert_store_resolve(rg_alert_store *s, const char *decision_id, const char *who,
                           bool *queued_release, char *errstr, size_t errstr_size);

/* ---- precision -------------------------------------------------------- */

typedef struct rg_rule_precision {
    char *rule_id;
    int64_t alerts;         /* alerts with a hit of this rule (suppressed hits included) */
    int64_t labelled;
    int64_t fraud;
    int64_t legit;
    /* precision = fraud / labelled; meaningless when labelled == 0 (print null) */
} rg_rule_precision;

/* Alerts and labels of one rule on one UTC day of event time. */
typedef struct rg_rule_day {
    char *rule_id;
    int64_t day;            /* days since 1970-01-01 (floor(ts_ms / 86400000)) */
    int64_t alerts, fraud, legit;
} rg_rule_day;

/*
 * Per rule and day for days [from_day, to_day], ordered by rule id then
 * day; only days with alerts. *first_day and *last_day (either may be
 * NULL) get the earliest and latest days that have any alert (INT64_MIN
 * both when the store is empty). Read from the rule_days table: a few
 * rows per rule and day, whatever the store's size.
 */
int rg_alert_store_rule_days(rg_alert_store *s, int64_t from_day, int64_t to_day, rg_rule_day **out,
                             size_t *n, int64_t *first_day, int64_t *last_day, char *errstr,
                             size_t errstr_size);
void rg_rule_days_free(rg_rule_day *d, size_t n);

/* One row per rule id that has alerts, ordered by rule id. */
int rg_alert_store_precision(rg_alert_store *s, rg_rule_precision **out, size_t *n, char *errstr,
                             size_t errstr_size);
void rg_rule_precision_free(rg_rule_precision *p, size_t n);

/* ---- outbox (release decisions for the action topic) ------------------ */

typedef struct rg_outbox_item {
    int64_t id;             /* outbox row id: pass to mark_sent */
    char *decision_id;      /* "<decision_id>/release" (rg_alert_release_id) */
    char *subject;          /* the Kafka key */
    char *json;             /* the decision, without decided_at */
    int64_t created_ms;
    /* Filled by rg_alert_store_outbox_list only: */
    int64_t sent_ms;        /* 0 while queued */
    char *alert_id;         /* the alert whose resolution queued it */
} rg_outbox_item;

/* Every release in the outbox, queued or sent, newest first, at most
 * `max` (0: all); *total (may be NULL) gets how many there are. */
int rg_alert_store_outbox_list(rg_alert_store *s, size_t max, rg_outbox_item **out, size_t *n,
                               int64_t *total, char *errstr, size_t errstr_size);

/* Up to `max` queued (unsent) items, oldest first. */
int rg_alert_store_outbox_pending(rg_alert_store *s, size_t max, rg_outbox_item **out, size_t *n,
                                  char *errstr, size_t errstr_size);
/* Mark one item sent: call only after the broker acknowledged it.
 * Returns 1 marked, 0 no such unsent item, -1 error. */
int rg_alert_store_outbox_mark_sent(rg_alert_store *s, int64_t id, char *errstr,
                                    size_t errstr_size);
void rg_outbox_items_free(rg_outbox_item *items, size_t n);

/* ---- JSON (shared by `alerts --json` and the HTTP API) ---------------- */

/*
 * Append an alert as a JSON object, keys in a fixed order (docs/review.md).
 * `full` adds hits' reasons and evidence, the decision, the event and the
 * release (from rg_alert_store_get). Stored JSON that does not parse is
 * written as a string, so the output is always valid JSON.
 */
void rg_alert_to_json(const rg_alert *a, bool full, rg_strbuf *out);
void rg_precision_to_json(const rg_rule_precision *p, size_t n, rg_strbuf *out);

/*
 * What `alerts show --json` and GET /api/alerts/ID print:
 * {"alert":{full alert},"subject_alerts":[up to `recent` other alerts of
 * the same subject, newest first]}. Returns 1, 0 when there is no such
 * alert (errstr says so), -1 on error.
 */
int rg_alert_store_show_json(rg_alert_store *s, const char *decision_id, size_t recent,
                             rg_strbuf *out, char *errstr, size_t errstr_size);

/*
 * The release decision's id for the alert `alert_id` (a decision id, whose
 * two parts are already escaped: decisions/decision_id.h), appended to out:
 * "<escaped event_id>/<escaped subject>/release". Streaming reads it from
 * the outbox; nothing else builds one.
 */
void rg_alert_release_id(const char *alert_id, rg_strbuf *out);

/* The history as {"id":ID,"history":[{"at","who","what","value","note"}...]}. */
void rg_alert_history_to_json(const char *decision_id, const rg_alert_change *c, size_t n,
                              rg_strbuf *out);

/* A release as {"id","alert_id","subject","state":"queued"|"sent","created_at","sent_at","decision"}. */
void rg_release_to_json(const rg_outbox_item *it, rg_strbuf *out);

/*
 * The Rules tab's figures for days [from_day, to_day] (at most 366):
 * {"from":"YYYY-MM-DD","to":...,"rules":[{"id","alerts","days":[alerts on
 * each day, from..to],"weeks":[{"start":"YYYY-MM-DD" (a Monday),"alerts",
 * "labelled","fraud","legit","precision"}]}]}; precision null when nothing
 * of that week is labelled. Rules in id order.
 */
void rg_rule_stats_to_json(const rg_rule_day *d, size_t n, int64_t from_day, int64_t to_day,
                           rg_strbuf *out);

/*
 * Alerts related to `subject` through shared parties and objects (the
 * page's "related" picture, docs/review.md): the newest `max_own` alerts
 * that name it (as subject, party or object), the accounts and objects
 * those name, then up to `per_entity` alerts of each of the
 * `max_entities` most frequent of them. As JSON:
 * {"subject","nodes":[{"id","kind":"account"|"object","alerts","subject":bool,"frozen":bool}],
 *  "edges":[{"from","to","alerts","rules":[...]}],"alerts":[alert...]}
 * ("alerts": the related alerts that are not the subject's own, newest
 * first). Returns 0, -1 on error.
 */
int rg_alert_store_related_json(rg_alert_store *s, const char *subject, size_t max_own,
                                size_t max_entities, size_t per_entity, rg_strbuf *out,
                                char *errstr, size_t errstr_size);

/* Wall clock in epoch ms (label and resolve times). */
int64_t rg_alert_now_ms(void);

#endif
