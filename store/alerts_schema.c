/*
 * alerts_schema.c — the alert store's schema as ordered migrations, and
 * bringing a file up to date (docs/review.md, "Migrations").
 */
#include <stdio.h>

#include "alerts_internal.h"

/*
 * Ordered migrations: MIGRATIONS[i] takes a file from user_version i to
 * i + 1. Never edit a released entry; append a new one (and bump
 * RG_ALERT_SCHEMA_VERSION), so every file in the field follows the same
 * path to the current schema.
 */
static const char *const MIGRATIONS[RG_ALERT_SCHEMA_VERSION] = {
    /* 0 -> 1: alerts and their rule hits. */
    "CREATE TABLE alerts ("
    "  id            INTEGER PRIMARY KEY,"
    "  decision_id   TEXT    NOT NULL UNIQUE,"
    "  event_id      TEXT    NOT NULL,"
    "  subject       TEXT    NOT NULL,"
    "  event_type    TEXT    NOT NULL,"
    "  ts_ms         INTEGER NOT NULL,"
    "  actions       TEXT    NOT NULL,"
    "  ruleset       TEXT    NOT NULL,"
    "  suppressed    INTEGER NOT NULL DEFAULT 0,"
    "  decision_json TEXT    NOT NULL,"
    "  event_json    TEXT,"
    "  stored_ms     INTEGER NOT NULL,"
    "  status        TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),"
    "  label         TEXT    CHECK (label IN ('fraud', 'legit')),"
    "  note          TEXT,"
    "  labelled_by   TEXT,"
    "  labelled_ms   INTEGER,"
    "  resolved_by   TEXT,"
    "  resolved_ms   INTEGER"
    ");"
    /* Reasons and evidence stay in decision_json (one copy, and no JSON
     * parsing on the write path); a hit row is what counting needs. */
    "CREATE TABLE hits ("
    "  alert_id   INTEGER NOT NULL REFERENCES alerts(id),"
    "  position   INTEGER NOT NULL,"
    "  rule_id    TEXT    NOT NULL,"
    "  suppressed INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (alert_id, position)"
    ") WITHOUT ROWID;"
    /* The queue, oldest or newest first, optionally by status. */
    "CREATE INDEX alerts_ts ON alerts(ts_ms, decision_id);"
    "CREATE INDEX alerts_status_ts ON alerts(status, ts_ms, decision_id);"
    /* A subject's timeline and the 'other recent alerts' of show. */
    "CREATE INDEX alerts_subject_ts ON alerts(subject, ts_ms);"
    /* --rule filters and per-rule precision. */
    "CREATE INDEX hits_rule ON hits(rule_id, alert_id);"
    /* The labelled few among many (backtest --labels): partial, so it
     * costs nothing on the write path. */
    "CREATE INDEX alerts_labelled ON alerts(ts_ms, decision_id) WHERE label IS NOT NULL;",

    /* 1 -> 2: release outbox and the review audit trail. */
    "CREATE TABLE outbox ("
    "  id          INTEGER PRIMARY KEY,"
    "  decision_id TEXT    NOT NULL UNIQUE,"
    "  alert_id    INTEGER NOT NULL REFERENCES alerts(id),"
    "  subject     TEXT    NOT NULL,"
    "  json        TEXT    NOT NULL,"
    "  created_ms  INTEGER NOT NULL,"
    "  sent_ms     INTEGER"
    ");"
    "CREATE INDEX outbox_unsent ON outbox(id) WHERE sent_ms IS NULL;"
    "CREATE INDEX outbox_alert ON outbox(alert_id);"
    "CREATE TABLE review_log ("
    "  id       INTEGER PRIMARY KEY,"
    "  alert_id INTEGER NOT NULL REFERENCES alerts(id),"
    "  at_ms    INTEGER NOT NULL,"
    "  who      TEXT    NOT NULL,"
    "  what     TEXT    NOT NULL,"
    "  note     TEXT"
    ");"
    "CREATE INDEX review_log_alert ON review_log(alert_id, id);",

    /* 2 -> 3: assignment, search, entities, per-rule daily counts, users
     * (docs/review.md, "Schema"). Existing rows are brought along: their
     * rules, entities, counts and search index are computed here once. */
    "ALTER TABLE alerts ADD COLUMN assignee TEXT;"
    "ALTER TABLE alerts ADD COLUMN assigned_ms INTEGER;"
    /* The hit rule ids again, space-separated in the decision's order:
     * with the other queue columns in one index, a list filtered by any
     * of them is answered from that index without touching the rows. */
    "ALTER TABLE alerts ADD COLUMN rules TEXT NOT NULL DEFAULT '';"
    "UPDATE alerts SET rules = coalesce((SELECT group_concat(rule_id, ' ') FROM"
    "  (SELECT rule_id FROM hits h WHERE h.alert_id = alerts.id ORDER BY position)), '');"
    "DROP INDEX alerts_ts;"
    "DROP INDEX alerts_labelled;"
    "CREATE INDEX alerts_queue ON alerts(ts_ms, decision_id, status, label, assignee, actions, rules);"
    /* Labelled and assigned alerts are few among many: partial indexes
     * cost nothing when an alert is stored. */
    "CREATE INDEX alerts_label_ts ON alerts(label, ts_ms, decision_id) WHERE label IS NOT NULL;"
    "CREATE INDEX alerts_assignee_ts ON alerts(assignee, ts_ms, decision_id) WHERE assignee IS NOT NULL;"
    /* A rare action (release, or a pack where freeze is rare) is found
     * without a walk; few distinct values, each appended in time order. */
    "CREATE INDEX alerts_actions_ts ON alerts(actions, ts_ms, decision_id);"
    /* The other party and the object of the alert's event, beside its
     * subject: party = the event's account when the subject is someone
     * else (the sender of a mule's transfer, the complainant), else its
     * counterparty; object = the packet it sends or claims, or the packet
     * or transfer it refers to. The page's entity links and related
     * alerts look them up; columns (not a table) so that storing an
     * alert stays one statement. */
    "ALTER TABLE alerts ADD COLUMN party TEXT;"
    "ALTER TABLE alerts ADD COLUMN object TEXT;"
    "UPDATE alerts SET"
    "  party = CASE WHEN json_extract(event_json, '$.account') IS NOT subject"
    "          THEN json_extract(event_json, '$.account') ELSE json_extract(event_json, '$.counterparty') END,"
    "  object = coalesce(json_extract(event_json, '$.packet_id'), json_extract(event_json, '$.ref'))"
    "  WHERE json_valid(event_json);"
    "CREATE INDEX alerts_party ON alerts(party) WHERE party IS NOT NULL;"
    "CREATE INDEX alerts_object ON alerts(object) WHERE object IS NOT NULL;"
    /* Hits and labels per rule and UTC day of the event: precision and
     * the Rules tab read these few rows, never the hits of every alert.
     * Writers add a batch's hits when committing it (alerts.c,
     * flush_rule_days); a label change updates them by trigger. */
    "CREATE TABLE rule_days ("
    "  rule_id TEXT    NOT NULL,"
    "  day     INTEGER NOT NULL,"        /* floor(ts_ms / 86400000) */
    "  alerts  INTEGER NOT NULL DEFAULT 0,"
    "  fraud   INTEGER NOT NULL DEFAULT 0,"
    "  legit   INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (rule_id, day)"
    ") WITHOUT ROWID;"
    "INSERT INTO rule_days (rule_id, day, alerts, fraud, legit)"
    "  SELECT h.rule_id, " RG_SQL_DAY("a.ts_ms") ", count(*), total(a.label = 'fraud'), total(a.label = 'legit')"
    "  FROM hits h JOIN alerts a ON a.id = h.alert_id GROUP BY 1, 2;"
    "CREATE TRIGGER rule_days_label AFTER UPDATE OF label ON alerts WHEN OLD.label IS NOT NEW.label BEGIN"
    "  UPDATE rule_days SET fraud = fraud + (NEW.label IS 'fraud') - (OLD.label IS 'fraud'),"
    "                       legit = legit + (NEW.label IS 'legit') - (OLD.label IS 'legit')"
    "  WHERE day = " RG_SQL_DAY("NEW.ts_ms")
    "    AND rule_id IN (SELECT rule_id FROM hits WHERE alert_id = NEW.id);"
    "END;"
    /* Free-text search (alerts_query.c): trigram indexes find any
     * substring of 3 or more characters, case-insensitively. Over the
     * distinct subjects (one row per account, written when an account is
     * first seen: far fewer than alerts) and over notes (written by the
     * analysts' labels); event and alert ids match from their start,
     * through the decision_id index. */
    "CREATE TABLE subjects (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
    "INSERT INTO subjects (name) SELECT DISTINCT subject FROM alerts;"
    "CREATE VIRTUAL TABLE subjects_fts USING fts5(name, content='', columnsize=0, tokenize='trigram');"
    "INSERT INTO subjects_fts (rowid, name) SELECT id, name FROM subjects;"
    "CREATE VIRTUAL TABLE notes_fts USING fts5(note, content='', columnsize=0, tokenize='trigram');"
    "INSERT INTO notes_fts (rowid, note) SELECT id, note FROM alerts WHERE note IS NOT NULL;"
    "CREATE TRIGGER notes_fts_update AFTER UPDATE OF note ON alerts WHEN OLD.note IS NOT NEW.note BEGIN"
    "  INSERT INTO notes_fts (notes_fts, rowid, note) SELECT 'delete', OLD.id, OLD.note WHERE OLD.note IS NOT NULL;"
    "  INSERT INTO notes_fts (rowid, note) SELECT NEW.id, NEW.note WHERE NEW.note IS NOT NULL;"
    "END;"
    /* History: what a change set (the label, the assignee). */
    "ALTER TABLE review_log ADD COLUMN value TEXT;"
    /* Analysts of `serve` (store/users.h): tokens only as keyed hashes. */
    "CREATE TABLE users ("
    "  name       TEXT    PRIMARY KEY,"
    "  role       TEXT    NOT NULL CHECK (role IN ('analyst', 'lead')),"
    "  salt       BLOB    NOT NULL,"
    "  token_hash BLOB    NOT NULL,"
    "  created_ms INTEGER NOT NULL"
    ");",
};

static int read_user_version(rg_alert_store *s, int *version, char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = rg_alerts_prepare(s, "PRAGMA user_version", errstr, errstr_size);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    *version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) {
        rg_alerts_sql_error(s, "reading the schema version", errstr, errstr_size);
        return -1;
    }
    return 0;
}

/* Bring the file to RG_ALERT_SCHEMA_VERSION, one migration per
 * transaction. BEGIN IMMEDIATE takes the write lock before the version is
 * read again, so two processes opening a new file at once migrate it once. */
int rg_alerts_migrate(rg_alert_store *s, char *errstr, size_t errstr_size)
{
    for (;;) {
        int version;
        if (read_user_version(s, &version, errstr, errstr_size) < 0)
            return -1;
        if (version > RG_ALERT_SCHEMA_VERSION) {
            snprintf(errstr, errstr_size,
                     "%s: alert store schema version %d is newer than this riskgate knows (%d)",
                     s->path, version, RG_ALERT_SCHEMA_VERSION);
            return -1;
        }
        if (version == RG_ALERT_SCHEMA_VERSION) {
            s->schema_version = version;
            return 0;
        }
        if (rg_alerts_exec(s, "BEGIN IMMEDIATE", errstr, errstr_size) < 0)
            return -1;
        if (read_user_version(s, &version, errstr, errstr_size) < 0)
            goto fail;
        if (version < RG_ALERT_SCHEMA_VERSION) {
            char bump[64];
            snprintf(bump, sizeof bump, "PRAGMA user_version = %d", version + 1);
            if (rg_alerts_exec(s, MIGRATIONS[version], errstr, errstr_size) < 0 ||
                rg_alerts_exec(s, bump, errstr, errstr_size) < 0)
                goto fail;
        }
        if (rg_alerts_exec(s, "COMMIT", errstr, errstr_size) < 0)
            goto fail;
    }
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

