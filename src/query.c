/*
 * query.c - the read-only LTDRS queries of query.h over SQLite.
 *
 * Statements: the fixed ones are cached per connection in the store's
 * "ltdrs statement" slots 40..59 (store_int.h; slots 0..39 belong to
 * store_ltdrs.c).  The report and the histogram are built from constant
 * SQL fragments chosen by the filters (so that SQLite can use an index for
 * the filters that are present; no user text ever becomes SQL) and are
 * prepared per call: their cost is milliseconds, the preparation tens of
 * microseconds.
 *
 * Speed (docs/api.md has the figures): a student is one range of
 * l_ticket_sid plus primary-key lookups; the unfiltered report reads the
 * tallies (l_tally) the applier keeps; a filtered report is one GROUP BY
 * over ranges of the covering index l_ticket_cover (migration 0003), one
 * range per matching activity; the ticket statistics of activities and
 * departments sum the counters the applier keeps per activity
 * (l_app_count, migration 0004), one row per activity, so that every
 * department's statistics cost as much at a million tickets as at ten; the
 * distribution history pages through l_distribution (same migration) by
 * department or activity, newest first.
 *
 * Not here: access control (callers pass `admin` and friends), HTTP.
 */
#include "query.h"

#include "codec.h"
#include "http.h"
#include "ltdrs.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------- statements */

enum qstmt {
    Q_FIRST = 40, /* slots 0..39 are store_ltdrs.c's */
    Q_STUDENT = Q_FIRST,
    Q_TICKETS_SID,
    Q_TICKET_OKEY,
    Q_APP_STATS,
    Q_APP_GET,
    Q_APPS_APPROVED,
    Q_APPS_APPROVED_N,
    Q_APPS,
    Q_APPS_N,
    Q_DEPTS,
    Q_DEPT_GET,
    Q_DEPT_APPS,
    Q_DEPT_STATS,
    Q_ANNS,
    Q_ANNS_N,
    Q_DEPT_OUTPUTS,
    Q_APP_BRIEF,
    Q_HOLDS,
    Q_KEY_ROLE,
    Q_DIST_STUDENTS,
    Q_END
};

_Static_assert((int)Q_END <= (int)store_lstmts_max, "query statements fit the slot table");

/* One ticket output with everything its JSON needs (see ticket_json). */
#define TICKET_SELECT                                                                              \
    "SELECT t.okey, t.app, t.holder, t.sid, t.skey, t.amount, t.spent, t.revoked,"                 \
    " t.revoke_reason, a.name, a.start, a.end, a.venue, a.category, a.closed, a.decided_seq,"      \
    " d.id, d.name, ct.id, ct.height, o.spent_by, xt.id, xt.height, rt.id, rt.height, at.id,"      \
    " at.height, t.seq, t.revoke_seq"                                                              \
    " FROM l_ticket t JOIN l_application a ON a.id = t.app JOIN l_department d ON d.id = a.dept"   \
    " JOIN tx ct ON ct.seq = t.seq LEFT JOIN out o ON o.okey = t.okey"                             \
    " LEFT JOIN tx xt ON xt.seq = o.spent_by LEFT JOIN tx rt ON rt.seq = t.revoke_seq"             \
    " LEFT JOIN tx at ON at.seq = a.decided_seq"

enum ticket_col {
    TC_OKEY,
    TC_APP,
    TC_HOLDER,
    TC_SID,
    TC_SKEY,
    TC_AMOUNT,
    TC_SPENT,
    TC_REVOKED,
    TC_REASON,
    TC_NAME,
    TC_START,
    TC_END,
    TC_VENUE,
    TC_CATEGORY,
    TC_CLOSED,
    TC_DECIDED_SEQ,
    TC_DEPT,
    TC_DEPT_NAME,
    TC_CT_ID,
    TC_CT_H,
    TC_SPENT_BY,
    TC_XT_ID,
    TC_XT_H,
    TC_RT_ID,
    TC_RT_H,
    TC_AT_ID,
    TC_AT_H,
    TC_SEQ,
    TC_REVOKE_SEQ
};

/* An application with its department (see app_json). */
#define APP_COLS                                                                                   \
    "a.id, a.name, a.start, a.end, a.venue, a.category, a.description, a.tickets,"                 \
    " a.approved_n, a.closed, a.asset, d.id, d.name, a.status, a.reason"

enum app_col {
    AC_ID,
    AC_NAME,
    AC_START,
    AC_END,
    AC_VENUE,
    AC_CATEGORY,
    AC_DESCRIPTION,
    AC_TICKETS,
    AC_APPROVED,
    AC_CLOSED,
    AC_ASSET,
    AC_DEPT,
    AC_DEPT_NAME,
    AC_STATUS,
    AC_REASON
};

/* Ticket counts of a set of applications: distributed, returned, revoked,
 * legal, remaining, lapsed, summed from the applier's counters (one
 * l_app_count row per approved application; "held" is what the department
 * still holds, remaining while open, lapsed once closed). */
#define STATS_COLS                                                                                 \
    "COALESCE(SUM(c.distributed), 0), COALESCE(SUM(c.returned), 0),"                               \
    " COALESCE(SUM(c.revoked), 0), COALESCE(SUM(c.legal), 0),"                                     \
    " COALESCE(SUM(CASE WHEN a.closed = 0 THEN c.held ELSE 0 END), 0),"                            \
    " COALESCE(SUM(CASE WHEN a.closed = 1 THEN c.held ELSE 0 END), 0)"                             \
    " FROM l_application a CROSS JOIN l_app_count c ON c.app = a.id"

static const char *const qsql[Q_END - Q_FIRST] = {
    [Q_STUDENT - Q_FIRST] = "SELECT r.generation, s.sid IS NOT NULL, s.key, s.name"
                            " FROM (SELECT ?1 AS sid) x LEFT JOIN l_roster r ON r.sid = x.sid"
                            " LEFT JOIN l_student s ON s.sid = x.sid",
    [Q_TICKETS_SID - Q_FIRST] = TICKET_SELECT " WHERE t.sid = ?1 ORDER BY t.okey",
    [Q_TICKET_OKEY - Q_FIRST] = TICKET_SELECT " WHERE t.okey = ?1",
    [Q_APP_STATS - Q_FIRST] = "SELECT " STATS_COLS " WHERE a.id = ?1",
    [Q_APP_GET - Q_FIRST] = "SELECT " APP_COLS " FROM l_application a"
                            " JOIN l_department d ON d.id = a.dept WHERE a.id = ?1",
    [Q_APPS_APPROVED - Q_FIRST] =
        "SELECT " APP_COLS " FROM l_application a JOIN l_department d ON d.id = a.dept"
        " WHERE a.status = 1 AND (?1 IS NULL OR a.dept = ?1) AND (?2 IS NULL OR a.category = ?2)"
        " ORDER BY a.start_s DESC, a.seq DESC LIMIT ?3 OFFSET ?4",
    [Q_APPS_APPROVED_N - Q_FIRST] =
        "SELECT COUNT(*) FROM l_application a WHERE a.status = 1"
        " AND (?1 IS NULL OR a.dept = ?1) AND (?2 IS NULL OR a.category = ?2)",
    [Q_APPS - Q_FIRST] = "SELECT " APP_COLS " FROM l_application a"
                         " JOIN l_department d ON d.id = a.dept"
                         " WHERE (?1 IS NULL OR a.dept = ?1) AND (?2 < 0 OR a.status = ?2)"
                         " ORDER BY a.seq DESC LIMIT ?3 OFFSET ?4",
    [Q_APPS_N - Q_FIRST] = "SELECT COUNT(*) FROM l_application a"
                           " WHERE (?1 IS NULL OR a.dept = ?1) AND (?2 < 0 OR a.status = ?2)",
    [Q_DEPTS - Q_FIRST] = "SELECT id, name, status, contact, key, reason FROM l_department"
                          " WHERE ?1 OR status = 1 ORDER BY name, seq",
    [Q_DEPT_GET - Q_FIRST] = "SELECT id, name, status, contact, key, reason FROM l_department"
                             " WHERE id = ?1",
    [Q_DEPT_APPS - Q_FIRST] = "SELECT COUNT(*), COALESCE(SUM(status = 0), 0),"
                              " COALESCE(SUM(status = 1), 0), COALESCE(SUM(status = 2), 0),"
                              " COALESCE(SUM(tickets), 0), COALESCE(SUM(approved_n), 0)"
                              " FROM l_application WHERE dept = ?1",
    [Q_DEPT_STATS - Q_FIRST] = "SELECT " STATS_COLS " WHERE a.dept = ?1",
    [Q_ANNS - Q_FIRST] = "SELECT n.id, n.title, n.text, n.link, n.app, x.height, a.name"
                         " FROM l_announcement n JOIN tx x ON x.seq = n.seq"
                         " LEFT JOIN l_application a ON a.id = n.app"
                         " ORDER BY n.seq DESC LIMIT ?1 OFFSET ?2",
    [Q_ANNS_N - Q_FIRST] = "SELECT COUNT(*) FROM l_announcement",
    [Q_DEPT_OUTPUTS - Q_FIRST] = "SELECT t.okey, t.amount, x.id FROM l_ticket t"
                                 " JOIN tx x ON x.seq = t.seq"
                                 " WHERE t.app = ?1 AND t.holder = 1 AND t.spent = 0"
                                 " ORDER BY t.okey",
    [Q_APP_BRIEF - Q_FIRST] = "SELECT a.status, a.closed, a.asset, d.key, d.id"
                              " FROM l_application a JOIN l_department d ON d.id = a.dept"
                              " WHERE a.id = ?1",
    [Q_HOLDS - Q_FIRST] = "SELECT 1 FROM l_ticket WHERE sid = ?1 AND app = ?2 AND holder = 2"
                          " AND spent = 0",
    [Q_KEY_ROLE - Q_FIRST] = "SELECT role, ref FROM l_key WHERE key = ?1",
    [Q_DIST_STUDENTS - Q_FIRST] = "SELECT okey, sid, spent, revoked FROM l_ticket"
                                  " WHERE okey >= ?1 AND okey < ?2 AND holder = 2 ORDER BY okey",
};

static const char *const status_names[] = {"pending", "approved", "rejected"};

static const char *
status_name(int s)
{
    return s >= 0 && (size_t)s < ARRAY_LEN(status_names) ? status_names[s] : "?";
}

/* ------------------------------------------------------------ plumbing */

/* One read: a pooled connection inside one read transaction (snapshot). */
struct rd {
    struct store *st;
    struct conn *c;
    bool txn;        /* we began the transaction (false inside the applier's block) */
    struct buf *out; /* truncated back to mark on failure */
    size_t mark;
};

static enum ltd_err
rd_open(struct rd *r, struct store *st, struct buf *out, struct ltd_errbuf *eb)
{
    memset(r, 0, sizeof *r);
    r->st = st;
    r->out = out;
    r->mark = out ? out->len : 0;
    enum ltd_err e = store_conn_get(st, &r->c, eb);
    if (e)
        return e;
    if (sqlite3_get_autocommit(r->c->db)) {
        int rc = sqlite3_exec(r->c->db, "BEGIN", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            e = store_sql_fail(eb, r->c->db, rc, "begin read");
            store_conn_put(st, r->c);
            return e;
        }
        r->txn = true;
    }
    return LTD_OK;
}

/* Ends the read; returns e.  On failure the output is cut back. */
static enum ltd_err
rd_close(struct rd *r, enum ltd_err e)
{
    if (r->txn && sqlite3_exec(r->c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        (void)sqlite3_exec(r->c->db, "ROLLBACK", NULL, NULL, NULL);
    store_conn_put(r->st, r->c);
    if (e && r->out) {
        r->out->len = r->mark;
        if (r->out->p)
            r->out->p[r->mark] = 0;
    }
    return e;
}

static enum ltd_err
rd_stmt(struct rd *r, enum qstmt id, sqlite3_stmt **s, struct ltd_errbuf *eb)
{
    LTD_ASSERT(id >= Q_FIRST && id < Q_END);
    return store_lstmt(r->c, (int)id, qsql[id - Q_FIRST], s, eb);
}

/* Steps s: *row tells whether a row came.  Resets s at the end or on error. */
static enum ltd_err
rd_step(struct rd *r, sqlite3_stmt *s, bool *row, struct ltd_errbuf *eb)
{
    int rc = sqlite3_step(s);
    *row = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW)
        return LTD_OK;
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store_sql_fail(eb, r->c->db, rc, "ltdrs query");
    return LTD_OK;
}

/* Runs a statement expected to return one row of integers into v[0..n). */
static enum ltd_err
rd_ints(struct rd *r, sqlite3_stmt *s, int64_t *v, int n, struct ltd_errbuf *eb)
{
    bool row = false;
    enum ltd_err e = rd_step(r, s, &row, eb);
    for (int i = 0; i < n; i++)
        v[i] = row ? sqlite3_column_int64(s, i) : 0;
    if (row)
        sqlite3_reset(s);
    return e;
}

static void
bind_hash(sqlite3_stmt *s, int i, const struct ltd_hash *h)
{
    if (h)
        sqlite3_bind_blob(s, i, h->b, 32, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static void
bind_page(sqlite3_stmt *s, int i, const struct query_page *pg)
{
    LTD_ASSERT(pg->page >= 1 && pg->per_page >= 1);
    sqlite3_bind_int64(s, i, pg->per_page);
    sqlite3_bind_int64(s, i + 1, (int64_t)(pg->page - 1) * pg->per_page);
}

static bool
col_hash(sqlite3_stmt *s, int i, struct ltd_hash *out)
{
    if (sqlite3_column_bytes(s, i) != 32) {
        memset(out, 0, sizeof *out);
        return false;
    }
    memcpy(out->b, sqlite3_column_blob(s, i), 32);
    return true;
}

/* ---------------------------------------------------------- JSON bits */

static void
j_str(struct buf *b, const char *s)
{
    if (s == NULL) {
        buf_adds(b, "null");
        return;
    }
    buf_addc(b, '"');
    http_json_escape(b, s, strlen(s));
    buf_addc(b, '"');
}

static void
j_text(struct buf *b, sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    if (t == NULL) {
        buf_adds(b, "null");
        return;
    }
    buf_addc(b, '"');
    http_json_escape(b, (const char *)t, (size_t)sqlite3_column_bytes(s, i));
    buf_addc(b, '"');
}

static void
j_hex(struct buf *b, sqlite3_stmt *s, int i)
{
    struct ltd_hash h;
    if (!col_hash(s, i, &h)) {
        buf_adds(b, "null");
        return;
    }
    char hex[65];
    hex_encode(hex, h.b, 32);
    buf_addf(b, "\"%s\"", hex);
}

static void
j_b58(struct buf *b, sqlite3_stmt *s, int i)
{
    struct ltd_hash h;
    if (!col_hash(s, i, &h)) {
        buf_adds(b, "null");
        return;
    }
    char k[48];
    codec_b58_encode32(h.b, k);
    buf_addf(b, "\"%s\"", k);
}

static void
j_page(struct buf *b, const struct query_page *pg, int64_t total)
{
    buf_addf(b, "\"page\":%u,\"per_page\":%u,\"total\":%lld", pg->page, pg->per_page,
             (long long)total);
}

/* "time_ms":N,"time":"YYYY-MM-DDTHH:MM:SS.mmmZ" of a block time (both
 * null when ms < 0: not known). */
static void
time_json(struct buf *b, int64_t ms)
{
    struct tm tm;
    time_t secs = (time_t)(ms / 1000);
    if (ms < 0 || gmtime_r(&secs, &tm) == NULL) {
        buf_adds(b, "\"time_ms\":null,\"time\":null");
        return;
    }
    buf_addf(b, "\"time_ms\":%lld,\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", (long long)ms,
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ms % 1000));
}

/* --------------------------------------------------------------- tickets */

struct event {
    const char *name;
    int64_t seq;
    int id_col, h_col;
    bool reason;
};

static void
history_json(struct buf *b, sqlite3_stmt *s)
{
    int holder = sqlite3_column_int(s, TC_HOLDER);
    int64_t seq = sqlite3_column_int64(s, TC_SEQ);
    int64_t issue = sqlite3_column_int64(s, TC_DECIDED_SEQ);
    struct event ev[4];
    int n = 0;
    if (issue != seq)
        ev[n++] = (struct event){"approved", issue, TC_AT_ID, TC_AT_H, false};
    const char *made = holder == LTDRS_HELD_BY_STUDENT ? "distributed"
                       : issue == seq                  ? "approved"
                                                       : "received";
    ev[n++] = (struct event){made, seq, TC_CT_ID, TC_CT_H, false};
    if (sqlite3_column_int(s, TC_REVOKED))
        ev[n++] = (struct event){"revoked", sqlite3_column_int64(s, TC_REVOKE_SEQ), TC_RT_ID,
                                 TC_RT_H, true};
    if (sqlite3_column_type(s, TC_SPENT_BY) != SQLITE_NULL)
        ev[n++] = (struct event){holder == LTDRS_HELD_BY_STUDENT ? "returned" : "spent",
                                 sqlite3_column_int64(s, TC_SPENT_BY), TC_XT_ID, TC_XT_H, false};
    for (int i = 1; i < n; i++) /* commit order; at most four events */
        for (int j = i; j > 0 && ev[j - 1].seq > ev[j].seq; j--) {
            struct event t = ev[j];
            ev[j] = ev[j - 1];
            ev[j - 1] = t;
        }
    buf_adds(b, "\"history\":[");
    for (int i = 0; i < n; i++) {
        buf_addf(b, "%s{\"event\":\"%s\",\"transaction_id\":", i ? "," : "", ev[i].name);
        j_hex(b, s, ev[i].id_col);
        buf_addf(b, ",\"height\":%lld", (long long)sqlite3_column_int64(s, ev[i].h_col));
        if (ev[i].reason) {
            buf_adds(b, ",\"reason\":");
            j_text(b, s, TC_REASON);
        }
        buf_addc(b, '}');
    }
    buf_addc(b, ']');
}

/* Appends one ticket object; *legal tells whether it is a legal ticket. */
static void
ticket_json(struct buf *b, sqlite3_stmt *s, bool *legal)
{
    int holder = sqlite3_column_int(s, TC_HOLDER);
    bool spent = sqlite3_column_int(s, TC_SPENT) != 0;
    bool revoked = sqlite3_column_int(s, TC_REVOKED) != 0;
    int64_t okey = sqlite3_column_int64(s, TC_OKEY);
    unsigned idx = (unsigned)(okey & ((1 << store_okey_index_bits) - 1));
    struct ltd_hash id;
    char hex[65];
    (void)col_hash(s, TC_CT_ID, &id);
    hex_encode(hex, id.b, 32);
    *legal = holder == LTDRS_HELD_BY_STUDENT && !spent && !revoked;
    buf_addf(b, "{\"ticket\":\"%s:%u\",\"transaction_id\":\"%s\",\"output_index\":%u,", hex, idx,
             hex, idx);
    buf_addf(b, "\"holder\":\"%s\",\"sid\":",
             holder == LTDRS_HELD_BY_STUDENT ? "student" : "department");
    j_text(b, s, TC_SID);
    buf_adds(b, ",\"student_key\":");
    j_b58(b, s, TC_SKEY);
    buf_addf(
        b, ",\"amount\":%lld,\"activity\":{\"id\":", (long long)sqlite3_column_int64(s, TC_AMOUNT));
    j_hex(b, s, TC_APP);
    static const struct {
        const char *k;
        int col;
    } act[] = {
        {"name", TC_NAME},   {"start", TC_START},       {"end", TC_END},
        {"venue", TC_VENUE}, {"category", TC_CATEGORY},
    };
    for (size_t i = 0; i < ARRAY_LEN(act); i++) {
        buf_addf(b, ",\"%s\":", act[i].k);
        j_text(b, s, act[i].col);
    }
    buf_addf(b, ",\"closed\":%s},\"department\":{\"id\":",
             sqlite3_column_int(s, TC_CLOSED) ? "true" : "false");
    j_hex(b, s, TC_DEPT);
    buf_adds(b, ",\"name\":");
    j_text(b, s, TC_DEPT_NAME);
    buf_addf(b, "},\"legal\":%s,\"why_not\":", *legal ? "true" : "false");
    if (*legal) {
        buf_adds(b, "null");
    } else if (revoked) {
        const unsigned char *r = sqlite3_column_text(s, TC_REASON);
        struct buf w;
        buf_init(&w);
        buf_addf(&w, "revoked: %s", r ? (const char *)r : "");
        j_str(b, w.p);
        buf_release(&w);
    } else {
        buf_adds(b,
                 holder == LTDRS_HELD_BY_STUDENT ? "\"returned\"" : "\"held by the department\"");
    }
    buf_addc(b, ',');
    history_json(b, s);
    buf_addc(b, '}');
}

bool
query_ticket_parse(const char *s, struct ltd_hash *txid, uint32_t *index)
{
    memset(txid, 0, sizeof *txid);
    *index = 0;
    size_t n = s ? strlen(s) : 0;
    if (n < 66 || n > 70 || s[64] != ':')
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    const char *d = s + 65;
    if (d[0] == '0' && d[1] != 0)
        return false;
    uint32_t v = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9')
            return false;
        v = v * 10 + (uint32_t)(*d - '0');
        if (v > 65535)
            return false;
    }
    if (!hex_decode(txid->b, 32, s, 64)) {
        memset(txid, 0, sizeof *txid);
        return false;
    }
    *index = v;
    return true;
}

enum ltd_err
query_ticket(struct store *st, const struct ltd_hash *txid, uint32_t index, struct buf *out,
             struct ltd_errbuf *eb)
{
    struct rd r;
    sqlite3_stmt *s;
    bool row = false;
    uint64_t useq = 0;
    enum ltd_err e = store_tx_seq(st, txid, &useq, eb);
    if (e)
        return e;
    if ((e = rd_open(&r, st, out, eb)))
        return e;
    int64_t seq = (int64_t)useq;
    if (seq == 0 || index >= (1u << store_okey_index_bits)) {
        e = ltd_fail(eb, LTD_E_NOT_FOUND, "no such ticket");
        goto out;
    }
    if ((e = rd_stmt(&r, Q_TICKET_OKEY, &s, eb)))
        goto out;
    sqlite3_bind_int64(s, 1, seq << store_okey_index_bits | (int64_t)index);
    if ((e = rd_step(&r, s, &row, eb)))
        goto out;
    if (!row) {
        e = ltd_fail(eb, LTD_E_NOT_FOUND, "no such ticket");
        goto out;
    }
    bool legal;
    ticket_json(out, s, &legal);
    sqlite3_reset(s);
out:
    return rd_close(&r, e);
}

/* -------------------------------------------------------------- students */

enum ltd_err
query_student(struct store *st, const char *sid, struct buf *out, struct ltd_errbuf *eb)
{
    if (sid == NULL || !ltdrs_sid_ok(sid))
        return ltd_fail(eb, LTD_E_L_BAD_SID, "not a student number");
    struct rd r;
    sqlite3_stmt *s;
    bool row = false;
    enum ltd_err e = rd_open(&r, st, out, eb);
    if (e)
        return e;
    if ((e = rd_stmt(&r, Q_STUDENT, &s, eb)))
        goto out;
    sqlite3_bind_text(s, 1, sid, -1, SQLITE_STATIC);
    if ((e = rd_step(&r, s, &row, eb)))
        goto out;
    LTD_ASSERT(row); /* the outer (SELECT ?1) always yields one row */
    bool on_roster = sqlite3_column_type(s, 0) != SQLITE_NULL;
    bool known = sqlite3_column_int(s, 1) != 0;
    if (!on_roster && !known) {
        sqlite3_reset(s);
        e = ltd_fail(eb, LTD_E_NOT_FOUND, "student %s is neither on the roster nor registered",
                     sid);
        goto out;
    }
    buf_addf(out, "{\"sid\":\"%s\",\"on_roster\":%s,\"registered\":%s,\"key\":", sid,
             on_roster ? "true" : "false",
             sqlite3_column_type(s, 2) != SQLITE_NULL ? "true" : "false");
    j_b58(out, s, 2);
    buf_adds(out, ",\"name\":");
    j_text(out, s, 3);
    sqlite3_reset(s);
    if ((e = rd_stmt(&r, Q_TICKETS_SID, &s, eb)))
        goto out;
    sqlite3_bind_text(s, 1, sid, -1, SQLITE_STATIC);
    buf_adds(out, ",\"tickets\":[");
    int64_t legal_n = 0;
    for (uint32_t i = 0;; i++) {
        if ((e = rd_step(&r, s, &row, eb)) || !row)
            break;
        bool legal;
        if (i)
            buf_addc(out, ',');
        ticket_json(out, s, &legal);
        legal_n += legal; /* at most one legal ticket per activity (rules) */
    }
    if (e == LTD_OK)
        buf_addf(out, "],\"legal_tickets\":%lld}", (long long)legal_n);
out:
    return rd_close(&r, e);
}

/* ---------------------------------------------------------- the report */

/* Every student: on the roster, or registered without one (open
 * registration).  UNION ALL + NOT IN is twice as fast as UNION (no temp
 * b-tree of 50,000 numbers). */
#define STUDENTS_CTE                                                                               \
    "s(sid) AS (SELECT sid FROM l_roster UNION ALL SELECT sid FROM l_student"                      \
    " WHERE sid NOT IN (SELECT sid FROM l_roster))"

static bool
filtered(const struct query_filter *f)
{
    return f->has_dept || f->category != NULL || f->has_app;
}

/* The student set s(sid), and c(sid, n): legal tickets per student under
 * the filter (tallies when unfiltered, else one GROUP BY over
 * l_ticket_cover). */
static void
sql_with(struct buf *sql, const struct query_filter *f)
{
    buf_adds(sql, "WITH " STUDENTS_CTE);
    if (!filtered(f)) {
        buf_adds(sql, ", c(sid, n) AS (SELECT sid, legal FROM l_tally)");
        return;
    }
    /* CROSS JOIN fixes the order (activities outside, then one range of
     * l_ticket_cover per activity); left alone, the planner without ANALYZE
     * statistics walks all of l_ticket by sid instead (10x slower). */
    buf_adds(sql, ", c(sid, n) AS (SELECT t.sid, COUNT(*) FROM l_application a"
                  " CROSS JOIN l_ticket t ON t.app = a.id"
                  " WHERE t.holder = 2 AND t.spent = 0 AND t.revoked = 0");
    if (f->has_dept)
        buf_adds(sql, " AND a.dept = ?3");
    if (f->category)
        buf_adds(sql, " AND a.category = ?4");
    if (f->has_app)
        buf_adds(sql, " AND a.id = ?5");
    buf_adds(sql, " GROUP BY t.sid)");
}

static void
bind_filter(sqlite3_stmt *s, const struct query_filter *f)
{
    /* Parameters absent from the SQL give SQLITE_RANGE, which is harmless. */
    if (f->has_dept)
        sqlite3_bind_blob(s, 3, f->dept.b, 32, SQLITE_STATIC);
    if (f->category)
        sqlite3_bind_text(s, 4, f->category, -1, SQLITE_STATIC);
    if (f->has_app)
        sqlite3_bind_blob(s, 5, f->app.b, 32, SQLITE_STATIC);
}

enum report_kind { REPORT_ROWS, REPORT_ALL_ROWS, REPORT_TOTAL };

static void
report_sql(struct buf *sql, const struct query_report *r, enum report_kind k)
{
    if (k == REPORT_TOTAL && !r->nonzero) {
        buf_adds(sql, "WITH " STUDENTS_CTE " SELECT COUNT(*) FROM s");
        return;
    }
    sql_with(sql, &r->f);
    buf_adds(sql, k == REPORT_TOTAL ? " SELECT COUNT(*) FROM s"
                                    : " SELECT s.sid, st.name, COALESCE(c.n, 0) AS n FROM s"
                                      " LEFT JOIN l_student st ON st.sid = s.sid");
    buf_adds(sql, " LEFT JOIN c ON c.sid = s.sid");
    if (r->nonzero)
        buf_adds(sql, " WHERE c.n > 0");
    if (k == REPORT_TOTAL)
        return;
    if (r->sort == QUERY_SORT_SID)
        buf_adds(sql, r->desc ? " ORDER BY s.sid DESC" : " ORDER BY s.sid ASC");
    else
        buf_adds(sql, r->desc ? " ORDER BY n DESC, s.sid ASC" : " ORDER BY n ASC, s.sid ASC");
    if (k == REPORT_ROWS)
        buf_adds(sql, " LIMIT ?1 OFFSET ?2");
}

/* Prepares an uncached statement (finalize it). */
static enum ltd_err
rd_prepare_c(struct rd *r, const char *sql, sqlite3_stmt **s, struct ltd_errbuf *eb)
{
    int rc = sqlite3_prepare_v2(r->c->db, sql, -1, s, NULL);
    if (rc != SQLITE_OK) {
        *s = NULL;
        return store_sql_fail(eb, r->c->db, rc, "prepare query");
    }
    return LTD_OK;
}

static enum ltd_err
rd_prepare(struct rd *r, const struct buf *sql, sqlite3_stmt **s, struct ltd_errbuf *eb)
{
    LTD_ASSERT(sql->p != NULL && strlen(sql->p) == sql->len);
    return rd_prepare_c(r, sql->p, s, eb);
}

static enum ltd_err
report_total(struct rd *r, const struct query_report *q, int64_t *total, struct ltd_errbuf *eb)
{
    struct buf sql;
    buf_init(&sql);
    report_sql(&sql, q, REPORT_TOTAL);
    sqlite3_stmt *s = NULL;
    enum ltd_err e = rd_prepare(r, &sql, &s, eb);
    if (e == LTD_OK) {
        bind_filter(s, &q->f);
        e = rd_ints(r, s, total, 1, eb);
    }
    sqlite3_finalize(s);
    buf_release(&sql);
    return e;
}

enum ltd_err
query_report_json(struct store *st, const struct query_report *q, struct buf *out,
                  struct ltd_errbuf *eb)
{
    struct rd r;
    sqlite3_stmt *s = NULL;
    struct buf sql;
    buf_init(&sql);
    int64_t total = 0;
    enum ltd_err e = rd_open(&r, st, out, eb);
    if (e)
        return e;
    if ((e = report_total(&r, q, &total, eb)))
        goto out;
    report_sql(&sql, q, REPORT_ROWS);
    if ((e = rd_prepare(&r, &sql, &s, eb)))
        goto out;
    bind_filter(s, &q->f);
    bind_page(s, 1, &q->pg);
    buf_addc(out, '{');
    j_page(out, &q->pg, total);
    buf_adds(out, ",\"students\":[");
    for (uint32_t i = 0;; i++) {
        bool row;
        if ((e = rd_step(&r, s, &row, eb)) || !row)
            break;
        buf_addf(out, "%s{\"sid\":", i ? "," : "");
        j_text(out, s, 0);
        buf_adds(out, ",\"name\":");
        j_text(out, s, 1);
        buf_addf(out, ",\"legal_tickets\":%lld}", (long long)sqlite3_column_int64(s, 2));
    }
    buf_adds(out, "]}");
out:
    sqlite3_finalize(s);
    buf_release(&sql);
    return rd_close(&r, e);
}

/* One CSV cell: RFC 4180 quoting, and a leading apostrophe when the text
 * would start a spreadsheet formula (= + - @, or tab/CR). */
static void
csv_cell(struct buf *b, const char *s, size_t n)
{
    bool formula = n > 0 && strchr("=+-@\t\r", s[0]) != NULL;
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (quote)
        buf_addc(b, '"');
    if (formula)
        buf_addc(b, '\'');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            buf_addc(b, '"');
        buf_addc(b, s[i]);
    }
    if (quote)
        buf_addc(b, '"');
}

enum ltd_err
query_report_csv(struct store *st, const struct query_report *q, struct buf *out,
                 struct ltd_errbuf *eb)
{
    struct rd r;
    sqlite3_stmt *s = NULL;
    struct buf sql;
    buf_init(&sql);
    enum ltd_err e = rd_open(&r, st, out, eb);
    if (e)
        return e;
    report_sql(&sql, q, REPORT_ALL_ROWS);
    if ((e = rd_prepare(&r, &sql, &s, eb)))
        goto out;
    bind_filter(s, &q->f);
    buf_adds(out, "sid,name,legal_tickets\r\n");
    for (;;) {
        bool row;
        if ((e = rd_step(&r, s, &row, eb)) || !row)
            break;
        for (int i = 0; i < 2; i++) {
            const unsigned char *t = sqlite3_column_text(s, i);
            csv_cell(out, t ? (const char *)t : "", (size_t)sqlite3_column_bytes(s, i));
            buf_addc(out, ',');
        }
        buf_addf(out, "%lld\r\n", (long long)sqlite3_column_int64(s, 2));
    }
out:
    sqlite3_finalize(s);
    buf_release(&sql);
    return rd_close(&r, e);
}

enum ltd_err
query_histogram(struct store *st, const struct query_filter *f, struct buf *out,
                struct ltd_errbuf *eb)
{
    struct rd r;
    sqlite3_stmt *s = NULL;
    struct buf sql;
    buf_init(&sql);
    int64_t n[query_histogram_buckets] = {0}, total = 0;
    enum ltd_err e = rd_open(&r, st, out, eb);
    if (e)
        return e;
    sql_with(&sql, f);
    buf_addf(&sql,
             " SELECT MIN(COALESCE(c.n, 0), %d) AS b, COUNT(*) FROM s"
             " LEFT JOIN c ON c.sid = s.sid GROUP BY b",
             query_histogram_buckets - 1);
    if ((e = rd_prepare(&r, &sql, &s, eb)))
        goto out;
    bind_filter(s, f);
    for (;;) {
        bool row;
        if ((e = rd_step(&r, s, &row, eb)) || !row)
            break;
        int64_t b = sqlite3_column_int64(s, 0);
        if (b >= 0 && b < query_histogram_buckets) /* negative tallies would be a store bug */
            n[b] += sqlite3_column_int64(s, 1);
        total += sqlite3_column_int64(s, 1);
    }
    if (e)
        goto out;
    buf_addf(out, "{\"students\":%lld,\"buckets\":[", (long long)total);
    for (int i = 0; i < query_histogram_buckets; i++)
        buf_addf(out, "%s%lld", i ? "," : "", (long long)n[i]);
    buf_adds(out, "],\"labels\":[");
    for (int i = 0; i < query_histogram_buckets; i++)
        buf_addf(out, "%s\"%d%s\"", i ? "," : "", i, i == query_histogram_buckets - 1 ? "+" : "");
    buf_adds(out, "]}");
out:
    sqlite3_finalize(s);
    buf_release(&sql);
    return rd_close(&r, e);
}

/* ---------------------------------------------------------- activities */

/* Appends the "tickets" member of a statistics object from one STATS_COLS
 * row (v[0..6)) and the requested/approved figures. */
static void
tickets_json(struct buf *b, int64_t requested, int64_t approved, const int64_t *v)
{
    buf_addf(b,
             "\"tickets\":{\"requested\":%lld,\"approved\":%lld,\"distributed\":%lld,"
             "\"returned\":%lld,\"revoked\":%lld,\"legal\":%lld,\"remaining\":%lld,"
             "\"lapsed\":%lld}",
             (long long)requested, (long long)approved, (long long)v[0], (long long)v[1],
             (long long)v[2], (long long)v[3], (long long)v[4], (long long)v[5]);
}

/* Appends one application (an APP_COLS row) with its ticket statistics. */
static enum ltd_err
app_json(struct rd *r, struct buf *b, sqlite3_stmt *s, struct ltd_errbuf *eb)
{
    int64_t v[6] = {0};
    int status = sqlite3_column_int(s, AC_STATUS);
    if (status == LTDRS_APPROVED) {
        sqlite3_stmt *q;
        enum ltd_err e = rd_stmt(r, Q_APP_STATS, &q, eb);
        if (e)
            return e;
        sqlite3_bind_value(q, 1, sqlite3_column_value(s, AC_ID));
        if ((e = rd_ints(r, q, v, 6, eb)))
            return e;
    }
    buf_adds(b, "{\"id\":");
    j_hex(b, s, AC_ID);
    static const struct {
        const char *k;
        int col;
    } f[] = {
        {"name", AC_NAME},     {"start", AC_START},       {"end", AC_END},
        {"venue", AC_VENUE},   {"category", AC_CATEGORY}, {"description", AC_DESCRIPTION},
        {"reason", AC_REASON},
    };
    for (size_t i = 0; i < ARRAY_LEN(f); i++) {
        buf_addf(b, ",\"%s\":", f[i].k);
        j_text(b, s, f[i].col);
    }
    buf_adds(b, ",\"department\":{\"id\":");
    j_hex(b, s, AC_DEPT);
    buf_adds(b, ",\"name\":");
    j_text(b, s, AC_DEPT_NAME);
    buf_addf(b, "},\"status\":\"%s\",\"closed\":%s,\"asset_id\":", status_name(status),
             sqlite3_column_int(s, AC_CLOSED) ? "true" : "false");
    j_hex(b, s, AC_ASSET);
    buf_addc(b, ',');
    tickets_json(b, sqlite3_column_int64(s, AC_TICKETS), sqlite3_column_int64(s, AC_APPROVED), v);
    buf_addc(b, '}');
    return LTD_OK;
}

/* Appends the rows of a listing statement s as a JSON array of apps. */
static enum ltd_err
apps_array(struct rd *r, struct buf *b, sqlite3_stmt *s, struct ltd_errbuf *eb)
{
    enum ltd_err e = LTD_OK;
    buf_addc(b, '[');
    for (uint32_t i = 0;; i++) {
        bool row;
        if ((e = rd_step(r, s, &row, eb)) || !row)
            break;
        if (i)
            buf_addc(b, ',');
        if ((e = app_json(r, b, s, eb))) {
            sqlite3_reset(s);
            break;
        }
    }
    buf_addc(b, ']');
    return e;
}

enum ltd_err
query_activities(struct store *st, const struct query_filter *f, const struct query_page *pg,
                 struct buf *out, struct ltd_errbuf *eb)
{
    struct rd r;
    sqlite3_stmt *s;
    int64_t total = 0;
    enum ltd_err e = rd_open(&r, st, out, eb);
    if (e)
        return e;
    for (int pass = 0; pass < 2; pass++) {
        if ((e = rd_stmt(&r, pass ? Q_APPS_APPROVED : Q_APPS_APPROVED_N, &s, eb)))
            goto out;
        bind_hash(s, 1, f->has_dept ? &f->dept : NULL);
        if (f->category)
            sqlite3_bind_text(s, 2, f->category, -1, SQLITE_STATIC);
        if (pass == 0) {
            if ((e = rd_ints(&r, s, &total, 1, eb)))
                goto out;
            continue;
        }
        bind_page(s, 3, pg);
        buf_addc(out, '{');
        j_page(out, pg, total);
        buf_adds(out, ",\"activities\":");
        if ((e = apps_array(&r, out, s, eb)))
            goto out;
        buf_addc(out, '}');
    }
out:
    return rd_close(&r, e);
}

enum ltd_err
query_activity(struct store *st, const struct ltd_hash *app, bool admin,
               const struct ltd_hash *viewer_dept, struct buf *out, struct ltd_errbuf *eb)
{
    struct rd r;
    sqlite3_stmt *s;
    bool row = false;
    enum ltd_err e = rd_open(&r, st, out, eb);
    if (e)
        return e;
    if ((e = rd_stmt(&r, Q_APP_GET, &s, eb)))
        goto out;
    bind_hash(s, 1, app);
    if ((e = rd_step(&r, s, &row, eb)))
        goto out;
    struct ltd_hash dept;
    bool visible =
        row &&
        (sqlite3_column_int(s, AC_STATUS) == LTDRS_APPROVED || admin ||
         (viewer_dept && col_hash(s, AC_DEPT, &dept) && memcmp(dept.b, viewer_dept->b, 32) == 0));
    if (!visible) {
        if (row)
            sqlite3_reset(s);
        e = ltd_fail(eb, LTD_E_NOT_FOUND, "no such activity");
        goto out;
    }
    e = app_json(&r, out, s, eb);
    sqlite3_reset(s);
out:
    return rd_close(&r, e);
}

enum ltd_err
query_applications(struct store *st, const struct ltd_hash *dept, int status,
                   const struct query_page *pg, struct buf *out, struct ltd_errbuf *eb)
{
    struct rd r;
    sqlite3_stmt *s;
    int64_t total = 0;
    enum ltd_err e = rd_open(&r, st, out, eb);
    if (e)
        return e;
    for (int pass = 0; pass < 2; pass++) {
        if ((e = rd_stmt(&r, pass ? Q_APPS : Q_APPS_N, &s, eb)))
            goto out;
        bind_hash(s, 1, dept);
        sqlite3_bind_int(s, 2, status);
        if (pass == 0) {
            if ((e = rd_ints(&r, s, &total, 1, eb)))
                goto out;
            continue;
        }
        bind_page(s, 3, pg);
        buf_addc(out, '{');
        j_page(out, pg, total);
        buf_adds(out, ",\"applications\":");
        if ((e = apps_array(&r, out, s, eb)))
            goto out;
        buf_addc(out, '}');
    }
out:
    return rd_close(&r, e);
}

/* --------------------------------------------------------- departments */

enum dept_col { DC_ID, DC_NAME, DC_STATUS, DC_CONTACT, DC_KEY, DC_REASON };

static void
dept_json_head(struct buf *b, sqlite3_stmt *s, bool admin)
{
    buf_adds(b, "{\"id\":");
    j_hex(b, s, DC_ID);
    buf_adds(b, ",\"name\":");
    j_text(b, s, DC_NAME);
    buf_addf(b, ",\"status\":\"%s\"", status_name(sqlite3_column_int(s, DC_STATUS)));
    if (!admin)
        return;
    buf_adds(b, ",\"contact\":");
    j_text(b, s, DC_CONTACT);
    buf_adds(b, ",\"public_key\":");
    j_b58(b, s, DC_KEY);
    buf_adds(b, ",\"reason\":");
    j_text(b, s, DC_REASON);
}

enum ltd_err
query_departments(struct store *st, bool admin, struct buf *out, struct ltd_errbuf *eb)
{
    struct rd r;
    sqlite3_stmt *s;
    enum ltd_err e = rd_open(&r, st, out, eb);
    if (e)
        return e;
    if ((e = rd_stmt(&r, Q_DEPTS, &s, eb)))
        goto out;
    sqlite3_bind_int(s, 1, admin);
    buf_adds(out, "{\"departments\":[");
    for (uint32_t i = 0;; i++) {
        bool row;
        if ((e = rd_step(&r, s, &row, eb)) || !row)
            break;
        if (i)
            buf_addc(out, ',');
        dept_json_head(out, s, admin);
        buf_addc(out, '}');
    }
    buf_adds(out, "]}");
out:
    return rd_close(&r, e);
}

/* Appends the statistics object of the department in the current row of s. */
static enum ltd_err
dept_stats_json(struct rd *r, struct buf *b, sqlite3_stmt *s, bool admin, struct ltd_errbuf *eb)
{
    int64_t apps[6], v[6];
    sqlite3_stmt *q;
    enum ltd_err e = rd_stmt(r, Q_DEPT_APPS, &q, eb);
    if (e)
        return e;
    sqlite3_bind_value(q, 1, sqlite3_column_value(s, DC_ID));
    if ((e = rd_ints(r, q, apps, 6, eb)) || (e = rd_stmt(r, Q_DEPT_STATS, &q, eb)))
        return e;
    sqlite3_bind_value(q, 1, sqlite3_column_value(s, DC_ID));
    if ((e = rd_ints(r, q, v, 6, eb)))
        return e;
    dept_json_head(b, s, admin);
    buf_addf(b,
             ",\"applications\":{\"total\":%lld,\"pending\":%lld,\"approved\":%lld,"
             "\"rejected\":%lld},",
             (long long)apps[0], (long long)apps[1], (long long)apps[2], (long long)apps[3]);
    tickets_json(b, apps[4], apps[5], v);
    buf_addc(b, '}');
    return LTD_OK;
}

enum ltd_err
query_department_stats(struct store *st, const struct ltd_hash *dept, bool admin, struct buf *out,
                       struct ltd_errbuf *eb)
{
    struct rd r;
    sqlite3_stmt *s;
    enum ltd_err e = rd_open(&r, st, out, eb);
    if (e)
        return e;
    if ((e = rd_stmt(&r, dept ? Q_DEPT_GET : Q_DEPTS, &s, eb)))
        goto out;
    if (dept)
        bind_hash(s, 1, dept);
    else
        sqlite3_bind_int(s, 1, admin);
    if (!dept)
        buf_adds(out, "{\"departments\":[");
    for (uint32_t i = 0;; i++) {
        bool row;
        if ((e = rd_step(&r, s, &row, eb)) || !row)
            break;
        if (dept && !admin && sqlite3_column_int(s, DC_STATUS) != LTDRS_APPROVED) {
            sqlite3_reset(s);
            break;
        }
        if (i)
            buf_addc(out, ',');
        if ((e = dept_stats_json(&r, out, s, admin, eb))) {
            sqlite3_reset(s);
            break;
        }
        if (dept) {
            sqlite3_reset(s);
            goto out;
        }
    }
    if (e == LTD_OK && dept)
        e = ltd_fail(eb, LTD_E_NOT_FOUND, "no such department");
    else if (e == LTD_OK)
        buf_adds(out, "]}");
out:
    return rd_close(&r, e);
}

/* -------------------------------------------------------- announcements */

enum ltd_err
query_announcements(struct store *st, const struct query_page *pg, struct buf *out,
                    struct ltd_errbuf *eb)
{
    struct rd r;
    sqlite3_stmt *s;
    int64_t total = 0;
    enum ltd_err e = rd_open(&r, st, out, eb);
    if (e)
        return e;
    if ((e = rd_stmt(&r, Q_ANNS_N, &s, eb)) || (e = rd_ints(&r, s, &total, 1, eb)) ||
        (e = rd_stmt(&r, Q_ANNS, &s, eb)))
        goto out;
    bind_page(s, 1, pg);
    buf_addc(out, '{');
    j_page(out, pg, total);
    buf_adds(out, ",\"announcements\":[");
    for (uint32_t i = 0;; i++) {
        bool row;
        if ((e = rd_step(&r, s, &row, eb)) || !row)
            break;
        buf_addf(out, "%s{\"id\":", i ? "," : "");
        j_hex(out, s, 0);
        static const char *const k[] = {"title", "text", "link"};
        for (int j = 0; j < 3; j++) {
            buf_addf(out, ",\"%s\":", k[j]);
            j_text(out, s, 1 + j);
        }
        buf_adds(out, ",\"application\":");
        j_hex(out, s, 4);
        buf_adds(out, ",\"activity\":");
        j_text(out, s, 6);
        buf_addf(out, ",\"height\":%lld}", (long long)sqlite3_column_int64(s, 5));
    }
    buf_adds(out, "]}");
out:
    return rd_close(&r, e);
}

/* ---------------------------------------------------------- the roster */

/* Per generation: students on the roster, how many are bound now, and the
 * last record that wrote a row (a roster import or an unbind). */
static const char roster_sql[] =
    "SELECT r.generation, COUNT(*), COUNT(s.key), MAX(r.seq) FROM l_roster r"
    " LEFT JOIN l_student s ON s.sid = r.sid GROUP BY r.generation ORDER BY r.generation";
static const char off_roster_sql[] =
    "SELECT COUNT(*), COUNT(key) FROM l_student WHERE sid NOT IN (SELECT sid FROM l_roster)";
static const char seq_time_sql[] = "SELECT x.height, b.time_ms FROM tx x"
                                   " LEFT JOIN block b ON b.height = x.height WHERE x.seq = ?1";

/* Appends {"height","time_ms","time"} of the transaction seq (null if 0). */
static enum ltd_err
seq_time_json(struct rd *r, int64_t seq, struct buf *b, struct ltd_errbuf *eb)
{
    if (seq <= 0) {
        buf_adds(b, "null");
        return LTD_OK;
    }
    sqlite3_stmt *s = NULL;
    bool row = false;
    enum ltd_err e = rd_prepare_c(r, seq_time_sql, &s, eb);
    if (e == LTD_OK) {
        sqlite3_bind_int64(s, 1, seq);
        e = rd_step(r, s, &row, eb);
    }
    if (e == LTD_OK && !row)
        buf_adds(b, "null");
    if (e == LTD_OK && row) {
        buf_addf(b, "{\"height\":%lld,", (long long)sqlite3_column_int64(s, 0));
        time_json(b, sqlite3_column_type(s, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 1));
        buf_addc(b, '}');
    }
    sqlite3_finalize(s);
    return e;
}

enum ltd_err
query_roster(struct store *st, struct buf *out, struct ltd_errbuf *eb)
{
    struct rd r;
    sqlite3_stmt *s = NULL;
    struct buf gens;
    buf_init(&gens);
    int64_t generation = 0, students = 0, registered = 0, last_seq = 0, off[2] = {0};
    enum ltd_err e = rd_open(&r, st, out, eb);
    if (e)
        return e;
    if ((e = rd_prepare_c(&r, roster_sql, &s, eb)))
        goto out;
    for (uint32_t i = 0; i < query_roster_generations_max; i++) {
        bool row;
        if ((e = rd_step(&r, s, &row, eb)) || !row)
            break;
        int64_t g = sqlite3_column_int64(s, 0), n = sqlite3_column_int64(s, 1),
                bound = sqlite3_column_int64(s, 2), seq = sqlite3_column_int64(s, 3);
        LTD_ASSERT(n >= bound);
        buf_addf(&gens, "%s{\"generation\":%lld,\"students\":%lld,\"registered\":%lld}",
                 i ? "," : "", (long long)g, (long long)n, (long long)bound);
        generation = g > generation ? g : generation;
        students += n;
        registered += bound;
        last_seq = seq > last_seq ? seq : last_seq;
    }
    sqlite3_finalize(s);
    s = NULL;
    if (e || (e = rd_prepare_c(&r, off_roster_sql, &s, eb)) || (e = rd_ints(&r, s, off, 2, eb)))
        goto out;
    buf_addf(out,
             "{\"generation\":%lld,\"students\":%lld,\"registered\":%lld,"
             "\"unregistered\":%lld,\"off_roster\":%lld,\"generations\":[%s],\"updated\":",
             (long long)generation, (long long)students, (long long)registered,
             (long long)(students - registered), (long long)off[1], gens.p ? gens.p : "");
    if ((e = seq_time_json(&r, last_seq, out, eb)))
        goto out;
    buf_addc(out, '}');
out:
    sqlite3_finalize(s);
    buf_release(&gens);
    return rd_close(&r, e);
}

/* ------------------------------------------------- distribution history */

enum dist_col {
    XC_SEQ,
    XC_ID,
    XC_HEIGHT,
    XC_TIME,
    XC_APP,
    XC_APP_NAME,
    XC_APP_START,
    XC_APP_CLOSED,
    XC_DEPT,
    XC_DEPT_NAME,
    XC_STUDENTS
};

/* The list (rows) or its size (count) under the filters present; CROSS
 * JOIN keeps l_distribution outside, walked backwards on the index of the
 * filter, so a page costs per_page rows whatever the ledger's size. */
static void
dist_sql(struct buf *sql, bool dept, bool app, bool count)
{
    if (count)
        buf_adds(sql, "SELECT COUNT(*) FROM l_distribution x");
    else
        buf_adds(sql, "SELECT x.seq, t.id, t.height, b.time_ms, x.app, a.name, a.start, a.closed,"
                      " x.dept, d.name, x.students FROM l_distribution x"
                      " CROSS JOIN tx t ON t.seq = x.seq CROSS JOIN l_application a ON a.id = x.app"
                      " CROSS JOIN l_department d ON d.id = x.dept"
                      " LEFT JOIN block b ON b.height = t.height");
    if (dept || app)
        buf_adds(sql, " WHERE");
    if (dept)
        buf_adds(sql, " x.dept = ?1");
    if (app)
        buf_adds(sql, dept ? " AND x.app = ?2" : " x.app = ?2");
    if (!count)
        buf_adds(sql, " ORDER BY x.seq DESC LIMIT ?3 OFFSET ?4");
}

/* Appends the students of distribution seq: [{"sid","output_index","status"}]. */
static enum ltd_err
dist_students_json(struct rd *r, int64_t seq, struct buf *b, struct ltd_errbuf *eb)
{
    sqlite3_stmt *s;
    enum ltd_err e = rd_stmt(r, Q_DIST_STUDENTS, &s, eb);
    if (e)
        return e;
    sqlite3_bind_int64(s, 1, seq << store_okey_index_bits);
    sqlite3_bind_int64(s, 2, (seq + 1) << store_okey_index_bits);
    buf_addc(b, '[');
    for (uint32_t i = 0;; i++) {
        bool row;
        if ((e = rd_step(r, s, &row, eb)) || !row)
            break;
        int64_t okey = sqlite3_column_int64(s, 0);
        const char *status = "legal";
        if (sqlite3_column_int(s, 3)) /* revoked, whether returned later or not */
            status = "revoked";
        else if (sqlite3_column_int(s, 2)) /* a student-held ticket is spent only by a return */
            status = "returned";
        LTD_ASSERT(okey >> store_okey_index_bits == seq);
        buf_addf(b, "%s{\"sid\":", i ? "," : "");
        j_text(b, s, 1);
        buf_addf(b, ",\"output_index\":%lld,\"status\":\"%s\"}",
                 (long long)(okey & ((1 << store_okey_index_bits) - 1)), status);
    }
    buf_addc(b, ']');
    return e;
}

/* Appends one distribution (a dist_sql row) with its students. */
static enum ltd_err
dist_json(struct rd *r, sqlite3_stmt *s, struct buf *b, struct ltd_errbuf *eb)
{
    buf_adds(b, "{\"transaction_id\":");
    j_hex(b, s, XC_ID);
    buf_addf(b, ",\"height\":%lld,", (long long)sqlite3_column_int64(s, XC_HEIGHT));
    time_json(b, sqlite3_column_type(s, XC_TIME) == SQLITE_NULL ? -1
                                                                : sqlite3_column_int64(s, XC_TIME));
    buf_adds(b, ",\"activity\":{\"id\":");
    j_hex(b, s, XC_APP);
    buf_adds(b, ",\"name\":");
    j_text(b, s, XC_APP_NAME);
    buf_adds(b, ",\"start\":");
    j_text(b, s, XC_APP_START);
    buf_addf(b, ",\"closed\":%s},\"department\":{\"id\":",
             sqlite3_column_int(s, XC_APP_CLOSED) ? "true" : "false");
    j_hex(b, s, XC_DEPT);
    buf_adds(b, ",\"name\":");
    j_text(b, s, XC_DEPT_NAME);
    buf_addf(b, "},\"count\":%lld,\"students\":", (long long)sqlite3_column_int64(s, XC_STUDENTS));
    enum ltd_err e = dist_students_json(r, sqlite3_column_int64(s, XC_SEQ), b, eb);
    buf_addc(b, '}');
    return e;
}

enum ltd_err
query_distributions(struct store *st, const struct ltd_hash *dept, const struct ltd_hash *app,
                    const struct query_page *pg, struct buf *out, struct ltd_errbuf *eb)
{
    struct rd r;
    sqlite3_stmt *s = NULL;
    struct buf sql;
    buf_init(&sql);
    int64_t total = 0;
    LTD_ASSERT(pg->per_page <= query_distributions_per_page_max);
    enum ltd_err e = rd_open(&r, st, out, eb);
    if (e)
        return e;
    for (int pass = 0; pass < 2; pass++) {
        buf_reset(&sql);
        dist_sql(&sql, dept != NULL, app != NULL, pass == 0);
        if ((e = rd_prepare(&r, &sql, &s, eb)))
            goto out;
        if (dept)
            bind_hash(s, 1, dept);
        if (app)
            bind_hash(s, 2, app);
        if (pass == 0) {
            e = rd_ints(&r, s, &total, 1, eb);
            sqlite3_finalize(s);
            s = NULL;
            if (e)
                goto out;
            continue;
        }
        bind_page(s, 3, pg);
        buf_addc(out, '{');
        j_page(out, pg, total);
        buf_adds(out, ",\"distributions\":[");
        for (uint32_t i = 0;; i++) {
            bool row;
            if ((e = rd_step(&r, s, &row, eb)) || !row)
                break;
            if (i)
                buf_addc(out, ',');
            if ((e = dist_json(&r, s, out, eb))) {
                sqlite3_reset(s);
                break;
            }
        }
        buf_adds(out, "]}");
    }
out:
    sqlite3_finalize(s);
    buf_release(&sql);
    return rd_close(&r, e);
}

/* ---------------------------------------------------- browser helpers */

enum ltd_err
query_dept_outputs(struct store *st, const struct ltd_hash *app, struct buf *out,
                   struct ltd_errbuf *eb)
{
    struct rd r;
    sqlite3_stmt *s;
    bool row = false;
    enum ltd_err e = rd_open(&r, st, out, eb);
    if (e)
        return e;
    if ((e = rd_stmt(&r, Q_APP_BRIEF, &s, eb)))
        goto out;
    bind_hash(s, 1, app);
    if ((e = rd_step(&r, s, &row, eb)))
        goto out;
    if (!row || sqlite3_column_int(s, 0) != LTDRS_APPROVED) {
        if (row)
            sqlite3_reset(s);
        e = ltd_fail(eb, LTD_E_NOT_FOUND, "no approved activity with this id");
        goto out;
    }
    char hex[65];
    hex_encode(hex, app->b, 32);
    buf_addf(out, "{\"application\":\"%s\",\"asset_id\":", hex);
    j_hex(out, s, 2);
    buf_adds(out, ",\"department\":");
    j_hex(out, s, 4);
    buf_adds(out, ",\"department_key\":");
    j_b58(out, s, 3);
    buf_addf(out, ",\"closed\":%s,\"outputs\":[", sqlite3_column_int(s, 1) ? "true" : "false");
    sqlite3_reset(s);
    if ((e = rd_stmt(&r, Q_DEPT_OUTPUTS, &s, eb)))
        goto out;
    bind_hash(s, 1, app);
    int64_t sum = 0;
    for (uint32_t i = 0;; i++) {
        if ((e = rd_step(&r, s, &row, eb)) || !row)
            break;
        int64_t okey = sqlite3_column_int64(s, 0), amount = sqlite3_column_int64(s, 1);
        buf_addf(out, "%s{\"transaction_id\":", i ? "," : "");
        j_hex(out, s, 2);
        buf_addf(out, ",\"output_index\":%lld,\"amount\":\"%lld\"}",
                 (long long)(okey & ((1 << store_okey_index_bits) - 1)), (long long)amount);
        sum += amount;
    }
    buf_addf(out, "],\"remaining\":%lld}", (long long)sum);
out:
    return rd_close(&r, e);
}

/* Status of one valid student number for the distribution preview. */
static enum ltd_err
sid_status(struct rd *r, const char *sid, const struct ltd_hash *app, struct buf *b,
           struct ltd_errbuf *eb)
{
    sqlite3_stmt *s;
    bool row = false;
    enum ltd_err e = rd_stmt(r, Q_STUDENT, &s, eb);
    if (e)
        return e;
    sqlite3_bind_text(s, 1, sid, -1, SQLITE_STATIC);
    if ((e = rd_step(r, s, &row, eb)))
        return e;
    LTD_ASSERT(row);
    bool known = sqlite3_column_type(s, 0) != SQLITE_NULL || sqlite3_column_int(s, 1) != 0;
    bool bound = sqlite3_column_type(s, 2) != SQLITE_NULL;
    struct buf key;
    buf_init(&key);
    j_b58(&key, s, 2);
    sqlite3_reset(s);
    const char *status = !known ? "unknown" : !bound ? "unregistered" : "ok";
    if (bound && app) {
        if ((e = rd_stmt(r, Q_HOLDS, &s, eb)))
            goto out;
        sqlite3_bind_text(s, 1, sid, -1, SQLITE_STATIC);
        bind_hash(s, 2, app);
        if ((e = rd_step(r, s, &row, eb)))
            goto out;
        if (row) {
            status = "has_ticket";
            sqlite3_reset(s);
        }
    }
    buf_addf(b, "{\"status\":\"%s\",\"key\":%s}", status, key.p);
out:
    buf_release(&key);
    return e;
}

enum ltd_err
query_student_keys(struct store *st, const char *const *sids, size_t n, const struct ltd_hash *app,
                   struct buf *out, struct ltd_errbuf *eb)
{
    if (n > query_keys_sids_max)
        return ltd_fail(eb, LTD_E_TOO_LARGE, "at most %d student numbers per request",
                        (int)query_keys_sids_max);
    struct rd r;
    enum ltd_err e = rd_open(&r, st, out, eb);
    if (e)
        return e;
    buf_addc(out, '{');
    bool first = true;
    for (size_t i = 0; i < n && e == LTD_OK; i++) {
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++) /* n is bounded: quadratic is fine */
            dup = strcmp(sids[j], sids[i]) == 0;
        if (dup)
            continue;
        if (!first)
            buf_addc(out, ',');
        first = false;
        j_str(out, sids[i]);
        buf_addc(out, ':');
        if (!ltdrs_sid_ok(sids[i]))
            buf_adds(out, "{\"status\":\"invalid\",\"key\":null}");
        else
            e = sid_status(&r, sids[i], app, out, eb);
    }
    buf_addc(out, '}');
    return rd_close(&r, e);
}

/* The department of a key's l_key reference (hex id). */
static enum ltd_err
role_department(struct rd *r, const char *ref, struct query_role *out, struct ltd_errbuf *eb)
{
    sqlite3_stmt *s;
    bool row = false;
    if (strlen(ref) != 64 || !hex_decode(out->dept.b, 32, ref, 64))
        return ltd_fail(eb, LTD_E_STORE_CORRUPT, "l_key holds a malformed department id");
    enum ltd_err e = rd_stmt(r, Q_DEPT_GET, &s, eb);
    if (e)
        return e;
    bind_hash(s, 1, &out->dept);
    if ((e = rd_step(r, s, &row, eb)) || !row)
        return e;
    out->role = QUERY_ROLE_DEPARTMENT;
    out->dept_status = sqlite3_column_int(s, DC_STATUS);
    const unsigned char *name = sqlite3_column_text(s, DC_NAME);
    snprintf(out->name, sizeof out->name, "%s", name ? (const char *)name : "");
    sqlite3_reset(s);
    return LTD_OK;
}

/* The student a key is bound to now (an unbound old key is no student). */
static enum ltd_err
role_student(struct rd *r, const char *sid, const struct ltd_pubkey *key, struct query_role *out,
             struct ltd_errbuf *eb)
{
    sqlite3_stmt *s;
    bool row = false;
    enum ltd_err e = rd_stmt(r, Q_STUDENT, &s, eb);
    if (e)
        return e;
    sqlite3_bind_text(s, 1, sid, -1, SQLITE_STATIC);
    if ((e = rd_step(r, s, &row, eb)) || !row)
        return e;
    if (sqlite3_column_bytes(s, 2) == 32 && memcmp(sqlite3_column_blob(s, 2), key->b, 32) == 0) {
        size_t n = strlen(sid);
        LTD_ASSERT(n < sizeof out->sid); /* l_key refs of students are sids */
        out->role = QUERY_ROLE_STUDENT;
        memcpy(out->sid, sid, n + 1);
        const unsigned char *name = sqlite3_column_text(s, 3);
        snprintf(out->name, sizeof out->name, "%s", name ? (const char *)name : "");
    }
    sqlite3_reset(s);
    return LTD_OK;
}

enum ltd_err
query_role(struct store *st, const struct ltd_pubkey *admin, const struct ltd_pubkey *key,
           struct query_role *out, struct ltd_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    out->dept_status = -1;
    if (memcmp(admin->b, key->b, 32) == 0) { /* public keys: no secret to time */
        out->role = QUERY_ROLE_ADMIN;
        return LTD_OK;
    }
    struct rd r;
    sqlite3_stmt *s;
    bool row = false;
    enum ltd_err e = rd_open(&r, st, NULL, eb);
    if (e)
        return e;
    if ((e = rd_stmt(&r, Q_KEY_ROLE, &s, eb)))
        goto out;
    sqlite3_bind_blob(s, 1, key->b, 32, SQLITE_STATIC);
    if ((e = rd_step(&r, s, &row, eb)) || !row)
        goto out;
    int role = sqlite3_column_int(s, 0);
    char ref[80];
    const unsigned char *t = sqlite3_column_text(s, 1);
    snprintf(ref, sizeof ref, "%s", t ? (const char *)t : "");
    sqlite3_reset(s);
    if (role == 1)
        e = role_student(&r, ref, key, out, eb);
    else if (role == 2)
        e = role_department(&r, ref, out, eb);
out:
    if (e) {
        memset(out, 0, sizeof *out);
        out->dept_status = -1;
    }
    return rd_close(&r, e);
}

const char *
query_role_name(unsigned role)
{
    switch (role) {
    case QUERY_ROLE_ADMIN:
        return "admin";
    case QUERY_ROLE_DEPARTMENT:
        return "department";
    case QUERY_ROLE_STUDENT:
        return "student";
    default:
        return "none";
    }
}

void
query_role_json(const struct query_role *r, const struct ltd_pubkey *key, struct buf *out)
{
    char k[48];
    codec_b58_encode32(key->b, k);
    buf_addf(out, "{\"public_key\":\"%s\",\"role\":\"%s\"", k, query_role_name(r->role));
    if (r->role == QUERY_ROLE_DEPARTMENT) {
        char hex[65];
        hex_encode(hex, r->dept.b, 32);
        buf_addf(out, ",\"department\":\"%s\",\"status\":\"%s\",\"name\":", hex,
                 status_name(r->dept_status));
        j_str(out, r->name);
    } else if (r->role == QUERY_ROLE_STUDENT) {
        buf_addf(out, ",\"sid\":\"%s\",\"name\":", r->sid);
        j_str(out, r->name[0] ? r->name : NULL);
    }
    buf_addc(out, '}');
}
