/*
 * store_ltdrs.c - the LTDRS domain state in SQLite (migration 0002): the
 * lookups behind struct ltdrs_view and the updates each valid record makes,
 * run by the applier inside the block's SQLite transaction (so state,
 * tallies and ledger commit together or not at all).
 *
 * Besides the state the rules read, the applier keeps what the queries
 * would otherwise have to recount (migration 0004): l_app_count, the ticket
 * counters of each activity (distributed, returned, revoked, legal, and the
 * department-held unspent tickets), and l_distribution, one row per
 * TRANSFER that made student outputs.  Both change with the same rows of
 * l_ticket, in the same transaction, so they never disagree with it.
 *
 * Not here: deciding validity (ltdrs.c).  Updates assert what validation
 * guaranteed.
 */
#include "store_ltdrs.h"

#include "codec.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum lstmt {
    L_ROSTER_GET,
    L_STUDENT_KEY,
    L_KEY_USED,
    L_DEPT_GET,
    L_DEPT_OF_KEY,
    L_DEPT_NAME_USED,
    L_APP_GET,
    L_ACT_USED,
    L_ASSET_APP,
    L_TICKET_GET,
    L_HOLDS,
    L_ROSTER_PUT,
    L_STUDENT_PUT,
    L_KEY_PUT,
    L_STUDENT_UNBIND,
    L_DEPT_PUT,
    L_DEPT_DECIDE,
    L_APP_PUT,
    L_APP_REJECT,
    L_APP_APPROVE,
    L_APP_CLOSE,
    L_TICKET_PUT,
    L_TICKET_SPEND,
    L_TICKET_REVOKE,
    L_TALLY_ADD,
    L_ANN_PUT,
    L_COUNT_NEW,
    L_COUNT_ADD,
    L_DIST_PUT,
    L__COUNT
};

static const char *const lsql[L__COUNT] = {
    [L_ROSTER_GET] = "SELECT code_hash, generation FROM l_roster WHERE sid = ?1",
    [L_STUDENT_KEY] = "SELECT key FROM l_student WHERE sid = ?1 AND key IS NOT NULL",
    [L_KEY_USED] = "SELECT 1 FROM l_key WHERE key = ?1",
    [L_DEPT_GET] = "SELECT key, status FROM l_department WHERE id = ?1",
    [L_DEPT_OF_KEY] = "SELECT id, key, status FROM l_department WHERE key = ?1",
    [L_DEPT_NAME_USED] = "SELECT 1 FROM l_department WHERE norm = ?1 AND status != 2",
    [L_APP_GET] = "SELECT a.dept, d.key, a.status, a.closed, a.tickets, a.name, a.start, a.end,"
                  " a.venue, a.category FROM l_application a JOIN l_department d ON d.id = a.dept"
                  " WHERE a.id = ?1",
    [L_ACT_USED] = "SELECT 1 FROM l_application WHERE dept = ?1 AND norm = ?2 AND start_s = ?3"
                   " AND venue = ?4 AND status IN (0, 1)",
    [L_ASSET_APP] = "SELECT id FROM l_application WHERE asset = ?1",
    [L_TICKET_GET] = "SELECT app, holder, sid, revoked, spent FROM l_ticket WHERE okey = ?1",
    [L_HOLDS] = "SELECT 1 FROM l_ticket WHERE sid = ?1 AND app = ?2 AND holder = 2"
                " AND (spent = 0 OR revoked = 1)",
    [L_ROSTER_PUT] = "INSERT OR REPLACE INTO l_roster(sid, code_hash, generation, seq)"
                     " VALUES (?1, ?2, ?3, ?4)",
    [L_STUDENT_PUT] =
        "INSERT OR REPLACE INTO l_student(sid, key, name, seq) VALUES (?1, ?2, ?3, ?4)",
    [L_KEY_PUT] = "INSERT INTO l_key(key, role, ref, seq) VALUES (?1, ?2, ?3, ?4)",
    [L_STUDENT_UNBIND] = "UPDATE l_student SET key = NULL WHERE sid = ?1",
    [L_DEPT_PUT] = "INSERT INTO l_department(id, key, name, norm, contact, status, seq)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
    [L_DEPT_DECIDE] = "UPDATE l_department SET status = ?2, reason = ?3, decided_seq = ?4"
                      " WHERE id = ?1",
    [L_APP_PUT] = "INSERT INTO l_application(id, dept, name, norm, start, end, start_s, end_s,"
                  " venue, tickets, category, description, status, seq)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0, ?13)",
    [L_APP_REJECT] = "UPDATE l_application SET status = 2, reason = ?2, decided_seq = ?3"
                     " WHERE id = ?1",
    [L_APP_APPROVE] = "UPDATE l_application SET status = 1, asset = ?2, approved_n = ?3,"
                      " decided_seq = ?4 WHERE id = ?1",
    [L_APP_CLOSE] = "UPDATE l_application SET closed = 1 WHERE id = ?1",
    [L_TICKET_PUT] = "INSERT INTO l_ticket(okey, app, holder, sid, skey, amount, seq)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [L_TICKET_SPEND] = "UPDATE l_ticket SET spent = 1 WHERE okey = ?1 AND spent = 0"
                       " RETURNING holder, sid, revoked, amount",
    [L_TICKET_REVOKE] = "UPDATE l_ticket SET revoked = 1, revoke_reason = ?2, revoke_seq = ?3"
                        " WHERE okey = ?1 AND revoked = 0 RETURNING sid, app, spent",
    [L_TALLY_ADD] = "INSERT INTO l_tally(sid, legal) VALUES (?1, ?2)"
                    " ON CONFLICT(sid) DO UPDATE SET legal = legal + ?2",
    [L_ANN_PUT] = "INSERT INTO l_announcement(seq, id, title, text, link, app)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [L_COUNT_NEW] = "INSERT INTO l_app_count(app, distributed, returned, revoked, legal, held)"
                    " VALUES (?1, 0, 0, 0, 0, ?2)",
    [L_COUNT_ADD] = "UPDATE l_app_count SET distributed = distributed + ?2,"
                    " returned = returned + ?3, revoked = revoked + ?4, legal = legal + ?5,"
                    " held = held + ?6 WHERE app = ?1",
    [L_DIST_PUT] = "INSERT INTO l_distribution(seq, app, dept, students) VALUES (?1, ?2, ?3, ?4)",
};

_Static_assert((int)L__COUNT <= (int)store_lstmts_max, "room for every statement");

/* ------------------------------------------------------------ plumbing */

struct q {
    struct store *st;
    struct conn *c;
    sqlite3_stmt *s;
};

static enum ltd_err
q_open(struct q *q, struct store *st, enum lstmt id, struct ltd_errbuf *eb)
{
    q->st = st;
    q->s = NULL;
    enum ltd_err e = store_conn_get(st, &q->c, eb);
    if (e)
        return e;
    e = store_lstmt(q->c, (int)id, lsql[id], &q->s, eb);
    if (e)
        store_conn_put(st, q->c);
    return e;
}

/* Steps once: *row true when a row came. */
static enum ltd_err
q_step(struct q *q, bool *row, struct ltd_errbuf *eb)
{
    int rc = sqlite3_step(q->s);
    *row = rc == SQLITE_ROW;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sql_fail(eb, q->c->db, rc, "ltdrs query");
    return LTD_OK;
}

static void
q_close(struct q *q)
{
    if (q->s)
        sqlite3_reset(q->s);
    store_conn_put(q->st, q->c);
}

static void
col_copy(sqlite3_stmt *s, int i, void *out, size_t n)
{
    if ((size_t)sqlite3_column_bytes(s, i) == n)
        memcpy(out, sqlite3_column_blob(s, i), n);
    else
        memset(out, 0, n);
}

static void
col_text(sqlite3_stmt *s, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

/* Runs a one-row existence query with a text or blob first argument. */
static enum ltd_err
exists_q(struct store *st, enum lstmt id, const void *arg, int len, bool *found,
         struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = q_open(&q, st, id, eb);
    if (e)
        return e;
    if (len < 0)
        sqlite3_bind_text(q.s, 1, arg, -1, SQLITE_STATIC);
    else
        sqlite3_bind_blob(q.s, 1, arg, len, SQLITE_STATIC);
    e = q_step(&q, found, eb);
    q_close(&q);
    return e;
}

/* ---------------------------------------------------------- the view */

static enum ltd_err
v_roster(void *ctx, const char *sid, bool *found, uint8_t code_hash[32], uint32_t *gen,
         struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = q_open(&q, ctx, L_ROSTER_GET, eb);
    if (e)
        return e;
    sqlite3_bind_text(q.s, 1, sid, -1, SQLITE_STATIC);
    if ((e = q_step(&q, found, eb)) == LTD_OK && *found) {
        col_copy(q.s, 0, code_hash, 32);
        *gen = (uint32_t)sqlite3_column_int64(q.s, 1);
    }
    q_close(&q);
    return e;
}

static enum ltd_err
v_student_key(void *ctx, const char *sid, bool *found, struct ltd_pubkey *key,
              struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = q_open(&q, ctx, L_STUDENT_KEY, eb);
    if (e)
        return e;
    sqlite3_bind_text(q.s, 1, sid, -1, SQLITE_STATIC);
    if ((e = q_step(&q, found, eb)) == LTD_OK && *found)
        col_copy(q.s, 0, key->b, 32);
    q_close(&q);
    return e;
}

static enum ltd_err
v_key_used(void *ctx, const struct ltd_pubkey *key, bool *used, struct ltd_errbuf *eb)
{
    return exists_q(ctx, L_KEY_USED, key->b, 32, used, eb);
}

static enum ltd_err
v_department(void *ctx, const struct ltd_hash *id, bool *found, struct ltdrs_department *out,
             struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = q_open(&q, ctx, L_DEPT_GET, eb);
    if (e)
        return e;
    sqlite3_bind_blob(q.s, 1, id->b, 32, SQLITE_STATIC);
    if ((e = q_step(&q, found, eb)) == LTD_OK && *found) {
        col_copy(q.s, 0, out->key.b, 32);
        out->status = sqlite3_column_int(q.s, 1);
    }
    q_close(&q);
    return e;
}

static enum ltd_err
v_department_of_key(void *ctx, const struct ltd_pubkey *key, bool *found, struct ltd_hash *id,
                    struct ltdrs_department *out, struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = q_open(&q, ctx, L_DEPT_OF_KEY, eb);
    if (e)
        return e;
    sqlite3_bind_blob(q.s, 1, key->b, 32, SQLITE_STATIC);
    if ((e = q_step(&q, found, eb)) == LTD_OK && *found) {
        col_copy(q.s, 0, id->b, 32);
        col_copy(q.s, 1, out->key.b, 32);
        out->status = sqlite3_column_int(q.s, 2);
    }
    q_close(&q);
    return e;
}

static enum ltd_err
v_department_name_used(void *ctx, const char *norm, bool *used, struct ltd_errbuf *eb)
{
    return exists_q(ctx, L_DEPT_NAME_USED, norm, -1, used, eb);
}

static enum ltd_err
v_application(void *ctx, const struct ltd_hash *id, bool *found, struct ltdrs_application *a,
              struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = q_open(&q, ctx, L_APP_GET, eb);
    if (e)
        return e;
    sqlite3_bind_blob(q.s, 1, id->b, 32, SQLITE_STATIC);
    if ((e = q_step(&q, found, eb)) == LTD_OK && *found) {
        col_copy(q.s, 0, a->dept.b, 32);
        col_copy(q.s, 1, a->dept_key.b, 32);
        a->status = sqlite3_column_int(q.s, 2);
        a->closed = sqlite3_column_int(q.s, 3) != 0;
        a->tickets = (uint32_t)sqlite3_column_int64(q.s, 4);
        col_text(q.s, 5, a->name, sizeof a->name);
        col_text(q.s, 6, a->start, sizeof a->start);
        col_text(q.s, 7, a->end, sizeof a->end);
        col_text(q.s, 8, a->venue, sizeof a->venue);
        col_text(q.s, 9, a->category, sizeof a->category);
    }
    q_close(&q);
    return e;
}

static enum ltd_err
v_activity_used(void *ctx, const struct ltd_hash *dept, const char *norm, int64_t start_s,
                const char *venue, bool *used, struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = q_open(&q, ctx, L_ACT_USED, eb);
    if (e)
        return e;
    sqlite3_bind_blob(q.s, 1, dept->b, 32, SQLITE_STATIC);
    sqlite3_bind_text(q.s, 2, norm, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q.s, 3, start_s);
    sqlite3_bind_text(q.s, 4, venue, -1, SQLITE_STATIC);
    e = q_step(&q, used, eb);
    q_close(&q);
    return e;
}

static enum ltd_err
v_ticket_asset(void *ctx, const struct ltd_hash *asset, bool *found, struct ltd_hash *app,
               struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = q_open(&q, ctx, L_ASSET_APP, eb);
    if (e)
        return e;
    sqlite3_bind_blob(q.s, 1, asset->b, 32, SQLITE_STATIC);
    if ((e = q_step(&q, found, eb)) == LTD_OK && *found)
        col_copy(q.s, 0, app->b, 32);
    q_close(&q);
    return e;
}

static enum ltd_err
okey_of(struct store *st, const struct ltd_hash *txid, uint64_t index, int64_t *okey,
        struct ltd_errbuf *eb)
{
    uint64_t seq = 0;
    enum ltd_err e = store_tx_seq(st, txid, &seq, eb);
    *okey = seq && index < 65536 ? (int64_t)(seq << store_okey_index_bits | index) : -1;
    return e;
}

static enum ltd_err
v_ticket(void *ctx, const struct ltd_hash *txid, uint64_t index, bool *found,
         struct ltdrs_ticket *out, struct ltd_errbuf *eb)
{
    int64_t okey;
    *found = false;
    enum ltd_err e = okey_of(ctx, txid, index, &okey, eb);
    if (e || okey < 0)
        return e;
    struct q q;
    if ((e = q_open(&q, ctx, L_TICKET_GET, eb)))
        return e;
    sqlite3_bind_int64(q.s, 1, okey);
    if ((e = q_step(&q, found, eb)) == LTD_OK && *found) {
        col_copy(q.s, 0, out->app.b, 32);
        out->holder = sqlite3_column_int(q.s, 1);
        col_text(q.s, 2, out->sid, sizeof out->sid);
        out->revoked = sqlite3_column_int(q.s, 3) != 0;
        out->spent = sqlite3_column_int(q.s, 4) != 0;
    }
    q_close(&q);
    return e;
}

static enum ltd_err
v_student_holds(void *ctx, const char *sid, const struct ltd_hash *app, bool *holds,
                struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = q_open(&q, ctx, L_HOLDS, eb);
    if (e)
        return e;
    sqlite3_bind_text(q.s, 1, sid, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q.s, 2, app->b, 32, SQLITE_STATIC);
    e = q_step(&q, holds, eb);
    q_close(&q);
    return e;
}

void
store_ltdrs_view(struct store *st, const struct ltd_pubkey *admin, bool open_registration,
                 struct ltdrs_view *v)
{
    memset(v, 0, sizeof *v);
    v->ctx = st;
    v->admin = *admin;
    v->open_registration = open_registration;
    v->roster = v_roster;
    v->student_key = v_student_key;
    v->key_used = v_key_used;
    v->department = v_department;
    v->department_of_key = v_department_of_key;
    v->department_name_used = v_department_name_used;
    v->application = v_application;
    v->activity_used = v_activity_used;
    v->ticket_asset = v_ticket_asset;
    v->ticket = v_ticket;
    v->student_holds = v_student_holds;
}

/* ------------------------------------------------------------ updates */

/* Prepares statement id on the writer for an update. */
static enum ltd_err
w_open(struct q *q, struct store *st, enum lstmt id, struct ltd_errbuf *eb)
{
    return q_open(q, st, id, eb);
}

static enum ltd_err
w_done(struct q *q, struct ltd_errbuf *eb)
{
    enum ltd_err e = store_step_done(q->c, q->s, "ltdrs update", eb);
    q->s = NULL;
    store_conn_put(q->st, q->c);
    return e;
}

static enum ltd_err
tally_add(struct store *st, const char *sid, int delta, struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = w_open(&q, st, L_TALLY_ADD, eb);
    if (e)
        return e;
    sqlite3_bind_text(q.s, 1, sid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(q.s, 2, delta);
    return w_done(&q, eb);
}

/* Changes of one activity's counters (l_app_count) by one record. */
struct count_delta {
    int64_t distributed, returned, revoked, legal, held;
};

static enum ltd_err
count_add(struct store *st, const struct ltd_hash *app, const struct count_delta *d,
          struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = w_open(&q, st, L_COUNT_ADD, eb);
    if (e)
        return e;
    sqlite3_bind_blob(q.s, 1, app->b, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q.s, 2, d->distributed);
    sqlite3_bind_int64(q.s, 3, d->returned);
    sqlite3_bind_int64(q.s, 4, d->revoked);
    sqlite3_bind_int64(q.s, 5, d->legal);
    sqlite3_bind_int64(q.s, 6, d->held);
    sqlite3 *db = q.c->db;
    if ((e = w_done(&q, eb)))
        return e;
    LTD_ASSERT(sqlite3_changes(db) == 1); /* made when the activity was approved */
    return LTD_OK;
}

static enum ltd_err
put_key(struct store *st, const struct ltd_pubkey *k, int role, const char *ref, uint64_t seq,
        struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = w_open(&q, st, L_KEY_PUT, eb);
    if (e)
        return e;
    sqlite3_bind_blob(q.s, 1, k->b, 32, SQLITE_STATIC);
    sqlite3_bind_int(q.s, 2, role);
    sqlite3_bind_text(q.s, 3, ref, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q.s, 4, (int64_t)seq);
    return w_done(&q, eb);
}

static enum ltd_err
apply_roster(struct store *st, const struct ltdrs_record *r, uint64_t seq, struct ltd_errbuf *eb)
{
    for (uint32_t i = 0; i < r->students->len; i++) {
        const struct cjson *en = r->students->items[i];
        uint8_t h[32];
        LTD_ASSERT(hex_decode(h, 32, cjson_get(en, "code_hash")->str, 64));
        struct q q;
        enum ltd_err e = w_open(&q, st, L_ROSTER_PUT, eb);
        if (e)
            return e;
        sqlite3_bind_text(q.s, 1, cjson_get(en, "sid")->str, -1, SQLITE_STATIC);
        sqlite3_bind_blob(q.s, 2, h, 32, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q.s, 3, r->generation);
        sqlite3_bind_int64(q.s, 4, (int64_t)seq);
        if ((e = w_done(&q, eb)))
            return e;
    }
    return LTD_OK;
}

static enum ltd_err
apply_student(struct store *st, const struct ltdrs_record *r, uint64_t seq, struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = w_open(&q, st, L_STUDENT_PUT, eb);
    if (e)
        return e;
    sqlite3_bind_text(q.s, 1, r->sid, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q.s, 2, r->signer.b, 32, SQLITE_STATIC);
    if (r->name)
        sqlite3_bind_text(q.s, 3, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q.s, 4, (int64_t)seq);
    if ((e = w_done(&q, eb)))
        return e;
    return put_key(st, &r->signer, 1, r->sid, seq, eb);
}

static enum ltd_err
apply_unbind(struct store *st, const struct ltdrs_record *r, uint64_t seq, struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = w_open(&q, st, L_STUDENT_UNBIND, eb);
    if (e)
        return e;
    sqlite3_bind_text(q.s, 1, r->sid, -1, SQLITE_STATIC);
    if ((e = w_done(&q, eb)) || (e = w_open(&q, st, L_ROSTER_PUT, eb)))
        return e;
    uint32_t gen = 0;
    bool found = false;
    uint8_t old[32];
    if ((e = v_roster(st, r->sid, &found, old, &gen, eb))) {
        sqlite3_reset(q.s);
        store_conn_put(st, q.c);
        return e;
    }
    sqlite3_bind_text(q.s, 1, r->sid, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q.s, 2, r->code_hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(q.s, 3, gen ? gen : 1);
    sqlite3_bind_int64(q.s, 4, (int64_t)seq);
    return w_done(&q, eb);
}

static enum ltd_err
apply_department(struct store *st, const struct tx *t, const struct ltdrs_record *r, uint64_t seq,
                 struct ltd_errbuf *eb)
{
    char norm[ltdrs_norm_bytes_max];
    ltdrs_normalize(r->name, norm, sizeof norm);
    struct q q;
    enum ltd_err e = w_open(&q, st, L_DEPT_PUT, eb);
    if (e)
        return e;
    sqlite3_bind_blob(q.s, 1, t->id.b, 32, SQLITE_STATIC);
    sqlite3_bind_blob(q.s, 2, r->signer.b, 32, SQLITE_STATIC);
    sqlite3_bind_text(q.s, 3, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q.s, 4, norm, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q.s, 5, r->contact, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q.s, 6, (int64_t)seq);
    if ((e = w_done(&q, eb)))
        return e;
    return put_key(st, &r->signer, 2, t->id_hex, seq, eb);
}

static enum ltd_err
apply_application(struct store *st, const struct tx *t, const struct ltdrs_record *r, uint64_t seq,
                  struct ltd_errbuf *eb)
{
    bool found = false;
    struct ltd_hash dept;
    struct ltdrs_department d;
    enum ltd_err e = v_department_of_key(st, &r->signer, &found, &dept, &d, eb);
    if (e)
        return e;
    LTD_ASSERT(found);
    struct q q;
    if ((e = w_open(&q, st, L_APP_PUT, eb)))
        return e;
    const struct ltdrs_activity *a = &r->act;
    sqlite3_bind_blob(q.s, 1, t->id.b, 32, SQLITE_STATIC);
    sqlite3_bind_blob(q.s, 2, dept.b, 32, SQLITE_TRANSIENT);
    sqlite3_bind_text(q.s, 3, a->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q.s, 4, a->norm, -1, SQLITE_STATIC);
    sqlite3_bind_text(q.s, 5, a->start, -1, SQLITE_STATIC);
    sqlite3_bind_text(q.s, 6, a->end, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q.s, 7, a->start_s);
    sqlite3_bind_int64(q.s, 8, a->end_s);
    sqlite3_bind_text(q.s, 9, a->venue, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q.s, 10, a->tickets);
    sqlite3_bind_text(q.s, 11, a->category, -1, SQLITE_STATIC);
    if (a->description)
        sqlite3_bind_text(q.s, 12, a->description, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q.s, 13, (int64_t)seq);
    return w_done(&q, eb);
}

static enum ltd_err
put_ticket(struct store *st, int64_t okey, const struct ltd_hash *app, int holder, const char *sid,
           const struct ltd_pubkey *skey, uint64_t amount, uint64_t seq, struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = w_open(&q, st, L_TICKET_PUT, eb);
    if (e)
        return e;
    sqlite3_bind_int64(q.s, 1, okey);
    sqlite3_bind_blob(q.s, 2, app->b, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int(q.s, 3, holder);
    if (sid)
        sqlite3_bind_text(q.s, 4, sid, -1, SQLITE_TRANSIENT);
    if (skey)
        sqlite3_bind_blob(q.s, 5, skey->b, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q.s, 6, (int64_t)amount);
    sqlite3_bind_int64(q.s, 7, (int64_t)seq);
    return w_done(&q, eb);
}

static enum ltd_err
apply_ticket_issue(struct store *st, const struct tx *t, const struct ltdrs_record *r, uint64_t seq,
                   struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = w_open(&q, st, L_APP_APPROVE, eb);
    if (e)
        return e;
    sqlite3_bind_blob(q.s, 1, r->ref.b, 32, SQLITE_STATIC);
    sqlite3_bind_blob(q.s, 2, t->id.b, 32, SQLITE_STATIC);
    sqlite3_bind_int64(q.s, 3, (int64_t)t->out[0].amount);
    sqlite3_bind_int64(q.s, 4, (int64_t)seq);
    if ((e = w_done(&q, eb)))
        return e;
    if ((e = put_ticket(st, (int64_t)(seq << store_okey_index_bits), &r->ref, LTDRS_HELD_BY_DEPT,
                        NULL, NULL, t->out[0].amount, seq, eb)) ||
        (e = w_open(&q, st, L_COUNT_NEW, eb)))
        return e;
    sqlite3_bind_blob(q.s, 1, r->ref.b, 32, SQLITE_STATIC);
    sqlite3_bind_int64(q.s, 2, (int64_t)t->out[0].amount);
    return w_done(&q, eb);
}

static enum ltd_err
put_distribution(struct store *st, uint64_t seq, const struct ltd_hash *app,
                 const struct ltd_hash *dept, uint32_t students, struct ltd_errbuf *eb)
{
    LTD_ASSERT(students > 0);
    struct q q;
    enum ltd_err e = w_open(&q, st, L_DIST_PUT, eb);
    if (e)
        return e;
    sqlite3_bind_int64(q.s, 1, (int64_t)seq);
    sqlite3_bind_blob(q.s, 2, app->b, 32, SQLITE_TRANSIENT);
    sqlite3_bind_blob(q.s, 3, dept->b, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q.s, 4, students);
    return w_done(&q, eb);
}

/* Any TRANSFER of a ticket asset: spend the inputs, record the outputs. */
static enum ltd_err
apply_ticket_transfer(struct store *st, const struct tx *t, const struct ltdrs_record *r,
                      const struct ltd_hash *app, uint64_t seq, struct ltd_errbuf *eb)
{
    enum ltd_err e;
    bool found = false;
    struct ltdrs_application a;
    struct count_delta d = {0};
    if ((e = v_application(st, app, &found, &a, eb)))
        return e;
    LTD_ASSERT(found);
    for (uint32_t i = 0; i < t->n_in; i++) {
        int64_t okey;
        if ((e = okey_of(st, &t->in[i].fulfills_txid, t->in[i].fulfills_index, &okey, eb)))
            return e;
        struct q q;
        if ((e = w_open(&q, st, L_TICKET_SPEND, eb)))
            return e;
        sqlite3_bind_int64(q.s, 1, okey);
        bool row = false;
        char sid[ltdrs_sid_bytes_max + 1] = "";
        int holder = 0, revoked = 0;
        int64_t amount = 0;
        if ((e = q_step(&q, &row, eb)) == LTD_OK && row) {
            holder = sqlite3_column_int(q.s, 0);
            col_text(q.s, 1, sid, sizeof sid);
            revoked = sqlite3_column_int(q.s, 2);
            amount = sqlite3_column_int64(q.s, 3);
        }
        q_close(&q);
        if (e)
            return e;
        LTD_ASSERT(row);
        if (holder != LTDRS_HELD_BY_STUDENT) {
            d.held -= amount;
            continue;
        }
        d.returned++;
        if (!revoked) {
            d.legal--;
            if ((e = tally_add(st, sid, -1, eb)))
                return e;
        }
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < t->n_out; i++) {
        int64_t okey = (int64_t)(seq << store_okey_index_bits | i);
        struct ltd_pubkey sk;
        if (ltdrs_ticket_condition(t->out[i].details, &a.dept_key, &sk)) {
            LTD_ASSERT(r->students && k < r->students->len);
            const char *sid = r->students->items[k++]->str;
            if ((e = put_ticket(st, okey, app, LTDRS_HELD_BY_STUDENT, sid, &sk, 1, seq, eb)) ||
                (e = tally_add(st, sid, 1, eb)))
                return e;
            d.distributed++;
            d.legal++;
        } else if ((e = put_ticket(st, okey, app, LTDRS_HELD_BY_DEPT, NULL, NULL, t->out[i].amount,
                                   seq, eb))) {
            return e;
        } else {
            d.held += (int64_t)t->out[i].amount;
        }
    }
    if (k > 0 && (e = put_distribution(st, seq, app, &a.dept, k, eb)))
        return e;
    return count_add(st, app, &d, eb);
}

static enum ltd_err
apply_revocation(struct store *st, const struct ltdrs_record *r, uint64_t seq,
                 struct ltd_errbuf *eb)
{
    int64_t okey;
    enum ltd_err e = okey_of(st, &r->ticket_txid, r->ticket_index, &okey, eb);
    if (e)
        return e;
    struct q q;
    if ((e = w_open(&q, st, L_TICKET_REVOKE, eb)))
        return e;
    sqlite3_bind_int64(q.s, 1, okey);
    sqlite3_bind_text(q.s, 2, r->reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q.s, 3, (int64_t)seq);
    bool row = false;
    char sid[ltdrs_sid_bytes_max + 1] = "";
    struct ltd_hash app;
    int spent = 0;
    if ((e = q_step(&q, &row, eb)) == LTD_OK && row) {
        col_text(q.s, 0, sid, sizeof sid);
        col_copy(q.s, 1, app.b, 32);
        spent = sqlite3_column_int(q.s, 2);
    }
    q_close(&q);
    if (e)
        return e;
    LTD_ASSERT(row);
    LTD_ASSERT(!spent); /* only an unspent student-held ticket is revoked (ltdrs.c) */
    struct count_delta d = {.revoked = 1, .legal = -1};
    if ((e = count_add(st, &app, &d, eb)))
        return e;
    return tally_add(st, sid, -1, eb);
}

/* Decision-like updates: one statement keyed by the referenced id. */
static enum ltd_err
apply_simple(struct store *st, enum lstmt id, const struct ltdrs_record *r, uint64_t seq,
             int status, struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = w_open(&q, st, id, eb);
    if (e)
        return e;
    sqlite3_bind_blob(q.s, 1, r->ref.b, 32, SQLITE_STATIC);
    if (id == L_DEPT_DECIDE) {
        sqlite3_bind_int(q.s, 2, status);
        if (r->reason)
            sqlite3_bind_text(q.s, 3, r->reason, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q.s, 4, (int64_t)seq);
    } else if (id == L_APP_REJECT) {
        sqlite3_bind_text(q.s, 2, r->reason, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q.s, 3, (int64_t)seq);
    }
    return w_done(&q, eb);
}

static enum ltd_err
apply_announcement(struct store *st, const struct tx *t, const struct ltdrs_record *r, uint64_t seq,
                   struct ltd_errbuf *eb)
{
    struct q q;
    enum ltd_err e = w_open(&q, st, L_ANN_PUT, eb);
    if (e)
        return e;
    sqlite3_bind_int64(q.s, 1, (int64_t)seq);
    sqlite3_bind_blob(q.s, 2, t->id.b, 32, SQLITE_STATIC);
    sqlite3_bind_text(q.s, 3, r->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(q.s, 4, r->text, -1, SQLITE_STATIC);
    if (r->link)
        sqlite3_bind_text(q.s, 5, r->link, -1, SQLITE_STATIC);
    if (r->has_ref)
        sqlite3_bind_blob(q.s, 6, r->ref.b, 32, SQLITE_STATIC);
    return w_done(&q, eb);
}

enum ltd_err
store_ltdrs_apply(struct store *st, const struct tx *t, uint64_t seq, struct ltd_errbuf *eb)
{
    struct ltdrs_record r;
    enum ltd_err e = ltdrs_parse(t, &r, eb);
    LTD_ASSERT(e == LTD_OK); /* validated before */
    if (t->op == TX_TRANSFER) {
        bool is_ticket = false;
        struct ltd_hash app;
        if ((e = v_ticket_asset(st, &t->asset_id, &is_ticket, &app, eb)) || !is_ticket)
            return e;
        return apply_ticket_transfer(st, t, &r, &app, seq, eb);
    }
    switch (r.kind) {
    case LTDRS_NONE:
        return LTD_OK;
    case LTDRS_ROSTER:
        return apply_roster(st, &r, seq, eb);
    case LTDRS_STUDENT:
        return apply_student(st, &r, seq, eb);
    case LTDRS_UNBIND:
        return apply_unbind(st, &r, seq, eb);
    case LTDRS_DEPARTMENT:
        return apply_department(st, t, &r, seq, eb);
    case LTDRS_CERTIFY:
        return apply_simple(st, L_DEPT_DECIDE, &r, seq, r.approved ? 1 : 2, eb);
    case LTDRS_APPLICATION:
        return apply_application(st, t, &r, seq, eb);
    case LTDRS_DECISION:
        return apply_simple(st, L_APP_REJECT, &r, seq, 2, eb);
    case LTDRS_TICKET:
        return apply_ticket_issue(st, t, &r, seq, eb);
    case LTDRS_REVOCATION:
        return apply_revocation(st, &r, seq, eb);
    case LTDRS_CLOSE:
        return apply_simple(st, L_APP_CLOSE, &r, seq, 0, eb);
    case LTDRS_ANNOUNCEMENT:
        return apply_announcement(st, t, &r, seq, eb);
    default:
        LTD_ASSERT(!"unreachable record kind");
        return LTD_E_INTERNAL;
    }
}
