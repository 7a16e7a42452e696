/*
 * api_ltdrs.c - the LTDRS JSON API: queries (query.h) and login sessions
 * (session.h) over HTTP.  Each handler: limits, parse, query, reply.
 *
 * Endpoints (all under /ltdrs/api/v1, all HTTP_ROUTE_NO_CORS; docs/api.md
 * has arguments and bodies).  "admin", "dept" = needs a session cookie
 * with that role (401 without a session, 403 with another role).
 *
 * | method | path                          | who        | what                                   |
 * | GET    | /chain                        | public     | chain id, genesis admin key            |
 * | GET    | /students/{sid}               | public     | a student and their tickets            |
 * | GET    | /students                     | admin      | all-students report; ?format=csv       |
 * | POST   | /students/keys                | public     | keys/status of many sids (preview)     |
 * | GET    | /tickets/{txid:index}         | public     | one ticket: validity and history       |
 * | GET    | /activities                   | public     | catalogue of approved activities       |
 * | GET    | /activities/{id}              | public*    | one activity + statistics              |
 * | GET    | /activities/{id}/outputs      | public     | unspent department-held tickets        |
 * | GET    | /applications                 | dept/admin | applications by status, with reasons   |
 * | GET    | /departments                  | public*    | departments (admin: all, contacts)     |
 * | GET    | /departments/{id}/stats       | public*    | one department's statistics            |
 * | GET    | /stats/departments            | public*    | statistics of every department         |
 * | GET    | /stats/histogram              | admin      | students per legal-ticket count        |
 * | GET    | /roster                       | admin      | roster generation, size, registered    |
 * | GET    | /distributions                | dept/admin | distribution history with block times  |
 * | GET    | /announcements                | public     | announcements, newest first            |
 * | GET    | /keys/{public_key}/role       | public     | role of a key on the ledger            |
 * | POST   | /login/challenge              | public     | a login challenge                      |
 * | POST   | /login                        | public     | log in; sets the session cookie        |
 * | POST   | /logout                       | session    | ends the session (CSRF token needed)   |
 * | GET    | /session                      | session    | who is logged in, CSRF token           |
 * (* a session with the admin role, or the owning department, sees more.)
 *
 * CSRF (threat C2): cookies are SameSite=Strict; every POST checks that an
 * Origin header, when present, is this host's origin (403 otherwise); and
 * POSTs that act on a session (logout) need the X-CSRF-Token of the
 * session.  The public POSTs (challenge, login, students/keys) change
 * nothing a session owns.  State changes of the ledger itself are signed
 * transactions on /api/v1/transactions and need no cookie at all.
 *
 * Not here: SQL (query.c), session tables (session.c).
 */
#include "api_ltdrs.h"

#include "api.h"
#include "cjson.h"
#include "codec.h"
#include "ltdrs.h"
#include "query.h"
#include "session.h"

#include <stdio.h>
#include <string.h>

enum {
    list_per_page_default = 50,    /* lists other than the report */
    report_per_page_default = 100, /* the all-students report */
    dist_per_page_default = 20,    /* distributions (each lists its students) */
    keys_body_bytes_max = 256 * 1024,
    category_bytes_max = 200, /* ltdrs_name_bytes_max */
};

/* ---------------------------------------------------------------- helpers */

/* The session tables of this server, made on first use (two racing first
 * requests: one wins the compare-and-swap, the other frees its copy). */
static struct sessions *
ss_of(struct api *api)
{
    struct sessions *ss = __atomic_load_n(&api->sessions, __ATOMIC_ACQUIRE);
    if (ss)
        return ss;
    struct session_config cfg;
    session_config_init(&cfg);
    struct sessions *fresh =
        sessions_new(&cfg, node_store(api->node), &node_genesis(api->node)->admin);
    struct sessions *expected = NULL;
    if (__atomic_compare_exchange_n(&api->sessions, &expected, fresh, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return fresh;
    sessions_free(fresh);
    return expected;
}

/* Hands b to the response (status 200, JSON unless ctype says otherwise). */
static void
reply_buf(struct http_resp *resp, struct buf *b, const char *ctype)
{
    resp->status = 200;
    resp->content_type = ctype;
    buf_release(&resp->body);
    resp->body = *b;
    buf_init(b);
}

/* Replies with b on LTD_OK, else with the error; releases b. */
static void
reply_result(struct http_resp *resp, enum ltd_err e, const struct ltd_errbuf *eb, struct buf *b)
{
    if (e == LTD_OK)
        reply_buf(resp, b, NULL);
    else
        http_reply_error(resp, e, eb->msg[0] ? eb->msg : NULL);
    buf_release(b);
}

/* 400 "'<name>' <what>"; returns true (replied). */
static bool
bad_arg_reply(struct http_resp *resp, const char *name, const char *what)
{
    char msg[300];
    snprintf(msg, sizeof msg, "'%s' %s", name, what);
    http_reply_error(resp, LTD_E_HTTP_BAD_ARG, msg);
    return true;
}

/* Strict endpoints: unknown query arguments -> 400. */
static bool
args_or_reply(struct http_req *req, struct http_resp *resp, const char *const *allowed, size_t n)
{
    struct buf names;
    buf_init(&names);
    bool bad = http_query_unknown(req, allowed, n, &names) != 0;
    if (bad)
        bad_arg_reply(resp, names.p, "unknown argument(s)");
    buf_release(&names);
    return bad;
}

/* Decimal min..max without sign or leading zeros; def when absent. */
static bool
uint_arg_or_reply(struct http_req *req, struct http_resp *resp, const char *name, uint32_t min,
                  uint32_t max, uint32_t def, uint32_t *out)
{
    const char *v = http_query(req, name);
    *out = def;
    if (v == NULL)
        return false;
    uint64_t x = 0;
    size_t n = strlen(v);
    bool ok = n >= 1 && n <= 9 && !(v[0] == '0' && n > 1);
    for (size_t i = 0; ok && i < n; i++) {
        ok = v[i] >= '0' && v[i] <= '9';
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    if (!ok || x < min || x > max) {
        char what[120];
        snprintf(what, sizeof what, "must be a whole number from %u to %u", min, max);
        return bad_arg_reply(resp, name, what);
    }
    *out = (uint32_t)x;
    return false;
}

static bool
page_or_reply(struct http_req *req, struct http_resp *resp, uint32_t per_page_def,
              struct query_page *pg)
{
    return uint_arg_or_reply(req, resp, "page", 1, query_page_max, 1, &pg->page) ||
           uint_arg_or_reply(req, resp, "per_page", 1, query_per_page_max, per_page_def,
                             &pg->per_page);
}

/* 64 lowercase hex digits (a transaction id). */
static bool
hex_id(const char *v, struct ltd_hash *out)
{
    if (v == NULL || strlen(v) != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
            return false;
    return hex_decode(out->b, 32, v, 64);
}

/* An optional id argument: absent -> *has false; malformed -> 400. */
static bool
id_arg_or_reply(struct http_req *req, struct http_resp *resp, const char *name, bool *has,
                struct ltd_hash *out)
{
    const char *v = http_query(req, name);
    *has = v != NULL;
    if (v && !hex_id(v, out))
        return bad_arg_reply(resp, name, "must be an id of 64 lowercase hex digits");
    return false;
}

/* A path id: malformed -> 400. */
static bool
id_param_or_reply(struct http_req *req, struct http_resp *resp, const char *name,
                  struct ltd_hash *out)
{
    if (hex_id(http_param(req, name), out))
        return false;
    return bad_arg_reply(resp, name, "must be an id of 64 lowercase hex digits");
}

static bool
filter_or_reply(struct http_req *req, struct http_resp *resp, struct query_filter *f)
{
    memset(f, 0, sizeof *f);
    if (id_arg_or_reply(req, resp, "department", &f->has_dept, &f->dept) ||
        id_arg_or_reply(req, resp, "activity", &f->has_app, &f->app))
        return true;
    f->category = http_query(req, "category");
    if (f->category && (f->category[0] == 0 || strlen(f->category) > category_bytes_max))
        return bad_arg_reply(resp, "category", "must be 1..200 bytes");
    return false;
}

/* One of words[0..n) (index in *out); def when absent. */
static bool
word_arg_or_reply(struct http_req *req, struct http_resp *resp, const char *name,
                  const char *const *words, int n, int def, int *out)
{
    const char *v = http_query(req, name);
    *out = def;
    if (v == NULL)
        return false;
    for (int i = 0; i < n; i++)
        if (strcmp(v, words[i]) == 0) {
            *out = i;
            return false;
        }
    return bad_arg_reply(resp, name, "has a value that is not allowed");
}

/* Parses the request body as JSON into the request arena. */
static bool
json_body_or_reply(struct http_req *req, struct http_resp *resp, size_t bytes_max,
                   uint32_t members_max, struct cjson **out)
{
    struct cjson_limits lim = {bytes_max, 8, 1024, members_max};
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    enum ltd_err e = cjson_parse(&req->arena, req->body, req->body_len, &lim, out, &eb);
    if (e) {
        http_reply_error(resp, e, eb.msg);
        return true;
    }
    return false;
}

/* {role...,"expires_ms","csrf_token"} of a session. */
static void
session_json(const struct session_info *si, struct buf *b)
{
    query_role_json(&si->who, &si->key, b);
    LTD_ASSERT(b->len > 0 && b->p[b->len - 1] == '}');
    b->len--;
    buf_addf(b, ",\"expires_ms\":%llu,\"csrf_token\":\"%s\"}", (unsigned long long)si->expires_ms,
             si->csrf);
}

/* ---------------------------------------------------------------- public */

void
api_ltdrs_chain_get(void *app, struct http_req *req, struct http_resp *resp)
{
    (void)req;
    struct api *api = app;
    const struct node_genesis *g = node_genesis(api->node);
    char key[48], hash[65];
    codec_b58_encode32(g->admin.b, key);
    hex_encode(hash, g->hash.b, 32);
    struct buf b;
    buf_init(&b);
    buf_addf(&b,
             "{\"chain_id\":\"%s\",\"admin_public_key\":\"%s\",\"genesis_hash\":\"%s\","
             "\"created_ms\":%llu}",
             g->chain_id, key, hash, (unsigned long long)g->created_ms);
    reply_buf(resp, &b, NULL);
}

void
api_ltdrs_student_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    if (args_or_reply(req, resp, NULL, 0))
        return;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    enum ltd_err e = query_student(node_store(api->node), http_param(req, "sid"), &b, &eb);
    reply_result(resp, e, &eb, &b);
}

void
api_ltdrs_ticket_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    struct ltd_hash txid;
    uint32_t index;
    if (args_or_reply(req, resp, NULL, 0))
        return;
    if (!query_ticket_parse(http_param(req, "ticket"), &txid, &index)) {
        bad_arg_reply(resp, "ticket", "must be <transaction_id>:<output_index>");
        return;
    }
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    enum ltd_err e = query_ticket(node_store(api->node), &txid, index, &b, &eb);
    reply_result(resp, e, &eb, &b);
}

void
api_ltdrs_activities_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    static const char *const allowed[] = {"department", "category", "page", "per_page"};
    struct query_filter f;
    struct query_page pg;
    if (args_or_reply(req, resp, allowed, ARRAY_LEN(allowed)) || filter_or_reply(req, resp, &f) ||
        page_or_reply(req, resp, list_per_page_default, &pg))
        return;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    enum ltd_err e = query_activities(node_store(api->node), &f, &pg, &b, &eb);
    reply_result(resp, e, &eb, &b);
}

void
api_ltdrs_activity_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    struct ltd_hash id;
    if (args_or_reply(req, resp, NULL, 0) || id_param_or_reply(req, resp, "id", &id))
        return;
    struct session_info si;
    bool viewer = session_peek(ss_of(api), req, &si);
    bool admin = viewer && si.who.role == QUERY_ROLE_ADMIN;
    bool dept = viewer && si.who.role == QUERY_ROLE_DEPARTMENT;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    enum ltd_err e =
        query_activity(node_store(api->node), &id, admin, dept ? &si.who.dept : NULL, &b, &eb);
    reply_result(resp, e, &eb, &b);
}

void
api_ltdrs_activity_outputs_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    struct ltd_hash id;
    if (args_or_reply(req, resp, NULL, 0) || id_param_or_reply(req, resp, "id", &id))
        return;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    enum ltd_err e = query_dept_outputs(node_store(api->node), &id, &b, &eb);
    reply_result(resp, e, &eb, &b);
}

void
api_ltdrs_departments_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    if (args_or_reply(req, resp, NULL, 0))
        return;
    struct session_info si;
    bool admin = session_peek(ss_of(api), req, &si) && si.who.role == QUERY_ROLE_ADMIN;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    enum ltd_err e = query_departments(node_store(api->node), admin, &b, &eb);
    reply_result(resp, e, &eb, &b);
}

/* /departments/{id}/stats and /stats/departments (id NULL). */
static void
dept_stats(struct api *api, struct http_req *req, struct http_resp *resp, const struct ltd_hash *id)
{
    struct session_info si;
    bool admin = session_peek(ss_of(api), req, &si) && si.who.role == QUERY_ROLE_ADMIN;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    enum ltd_err e = query_department_stats(node_store(api->node), id, admin, &b, &eb);
    reply_result(resp, e, &eb, &b);
}

void
api_ltdrs_department_stats_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct ltd_hash id;
    if (args_or_reply(req, resp, NULL, 0) || id_param_or_reply(req, resp, "id", &id))
        return;
    dept_stats(app, req, resp, &id);
}

void
api_ltdrs_stats_departments_get(void *app, struct http_req *req, struct http_resp *resp)
{
    if (args_or_reply(req, resp, NULL, 0))
        return;
    dept_stats(app, req, resp, NULL);
}

void
api_ltdrs_announcements_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    static const char *const allowed[] = {"page", "per_page"};
    struct query_page pg;
    if (args_or_reply(req, resp, allowed, ARRAY_LEN(allowed)) ||
        page_or_reply(req, resp, list_per_page_default, &pg))
        return;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    enum ltd_err e = query_announcements(node_store(api->node), &pg, &b, &eb);
    reply_result(resp, e, &eb, &b);
}

void
api_ltdrs_role_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    const char *pk = http_param(req, "public_key");
    struct ltd_pubkey key;
    if (args_or_reply(req, resp, NULL, 0))
        return;
    if (pk == NULL || codec_b58_decode32(pk, strlen(pk), key.b) != LTD_OK) {
        bad_arg_reply(resp, "public_key", "must be a base58 Ed25519 public key");
        return;
    }
    struct query_role r;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    enum ltd_err e =
        query_role(node_store(api->node), &node_genesis(api->node)->admin, &key, &r, &eb);
    if (e == LTD_OK)
        query_role_json(&r, &key, &b);
    reply_result(resp, e, &eb, &b);
}

/* Body: ["sid", ...] or {"sids": [...], "activity": "<application id>"}. */
static bool
keys_body_or_reply(struct http_req *req, struct http_resp *resp, const struct cjson **list,
                   bool *has_app, struct ltd_hash *app)
{
    struct cjson *body;
    if (json_body_or_reply(req, resp, keys_body_bytes_max, query_keys_sids_max + 1, &body))
        return true;
    *list = body;
    *has_app = false;
    if (body->type == CJSON_OBJECT) {
        const struct cjson *a = cjson_get(body, "activity");
        *list = cjson_get(body, "sids");
        *has_app = a != NULL;
        size_t known = (size_t)(*list != NULL) + (a != NULL);
        if (known != body->len || (a && (a->type != CJSON_STRING || !hex_id(a->str, app))))
            return bad_arg_reply(resp, "body", "must be {\"sids\": [...], \"activity\": \"<id>\"}");
    }
    if (*list == NULL || (*list)->type != CJSON_ARRAY)
        return bad_arg_reply(resp, "body", "must be a list of student numbers");
    if ((*list)->len > query_keys_sids_max) {
        http_reply_error(resp, LTD_E_TOO_LARGE, "at most 2000 student numbers per request");
        return true;
    }
    for (uint32_t i = 0; i < (*list)->len; i++)
        if ((*list)->items[i]->type != CJSON_STRING ||
            memchr((*list)->items[i]->str, 0, (*list)->items[i]->len))
            return bad_arg_reply(resp, "body", "must list student numbers as strings");
    return false;
}

void
api_ltdrs_student_keys_post(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    const struct cjson *list;
    bool has_app;
    struct ltd_hash aid;
    if (session_origin_or_reply(req, resp) || args_or_reply(req, resp, NULL, 0) ||
        keys_body_or_reply(req, resp, &list, &has_app, &aid))
        return;
    const char **sids = arena_alloc(&req->arena, (list->len + 1) * sizeof *sids);
    for (uint32_t i = 0; i < list->len; i++)
        sids[i] = list->items[i]->str;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    enum ltd_err e =
        query_student_keys(node_store(api->node), sids, list->len, has_app ? &aid : NULL, &b, &eb);
    reply_result(resp, e, &eb, &b);
}

/* ------------------------------------------------------ role-restricted */

static bool
report_or_reply(struct http_req *req, struct http_resp *resp, struct query_report *r, int *csv)
{
    static const char *const sorts[] = {"sid", "count"}, *const orders[] = {"asc", "desc"},
                             *const formats[] = {"json", "csv"}, *const bools[] = {"false", "true"};
    int sort, order, nonzero;
    memset(r, 0, sizeof *r);
    if (filter_or_reply(req, resp, &r->f) ||
        word_arg_or_reply(req, resp, "sort", sorts, 2, 0, &sort) ||
        word_arg_or_reply(req, resp, "order", orders, 2, sort == 1 ? 1 : 0, &order) ||
        word_arg_or_reply(req, resp, "format", formats, 2, 0, csv) ||
        word_arg_or_reply(req, resp, "nonzero", bools, 2, 0, &nonzero) ||
        page_or_reply(req, resp, report_per_page_default, &r->pg))
        return true;
    r->sort = sort ? QUERY_SORT_COUNT : QUERY_SORT_SID;
    r->desc = order == 1;
    r->nonzero = nonzero == 1;
    return false;
}

void
api_ltdrs_students_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    static const char *const allowed[] = {"department", "category", "activity", "sort",    "order",
                                          "format",     "nonzero",  "page",     "per_page"};
    struct session_info si;
    struct query_report r;
    int csv;
    if (session_require(ss_of(api), req, resp, QUERY_ROLE_ADMIN, &si) ||
        args_or_reply(req, resp, allowed, ARRAY_LEN(allowed)) ||
        report_or_reply(req, resp, &r, &csv))
        return;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    struct store *st = node_store(api->node);
    if (!csv) {
        reply_result(resp, query_report_json(st, &r, &b, &eb), &eb, &b);
        return;
    }
    enum ltd_err e = query_report_csv(st, &r, &b, &eb);
    if (e == LTD_OK) {
        reply_buf(resp, &b, "text/csv; charset=utf-8");
        (void)http_resp_header(resp, "Content-Disposition",
                               "attachment; filename=\"ltdrs-students.csv\"");
    } else {
        http_reply_error(resp, e, eb.msg);
    }
    buf_release(&b);
}

void
api_ltdrs_stats_histogram_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    static const char *const allowed[] = {"department", "category", "activity"};
    struct session_info si;
    struct query_filter f;
    if (session_require(ss_of(api), req, resp, QUERY_ROLE_ADMIN, &si) ||
        args_or_reply(req, resp, allowed, ARRAY_LEN(allowed)) || filter_or_reply(req, resp, &f))
        return;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    enum ltd_err e = query_histogram(node_store(api->node), &f, &b, &eb);
    reply_result(resp, e, &eb, &b);
}

void
api_ltdrs_applications_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    static const char *const allowed[] = {"status", "department", "page", "per_page"};
    static const char *const statuses[] = {"pending", "approved", "rejected", "all"};
    struct session_info si;
    struct query_page pg;
    struct ltd_hash dept;
    bool has_dept;
    int status;
    if (session_require(ss_of(api), req, resp, QUERY_ROLE_ADMIN | QUERY_ROLE_DEPARTMENT, &si) ||
        args_or_reply(req, resp, allowed, ARRAY_LEN(allowed)) ||
        word_arg_or_reply(req, resp, "status", statuses, 4, 3, &status) ||
        id_arg_or_reply(req, resp, "department", &has_dept, &dept) ||
        page_or_reply(req, resp, list_per_page_default, &pg))
        return;
    if (si.who.role == QUERY_ROLE_DEPARTMENT) { /* a department sees its own only */
        has_dept = true;
        dept = si.who.dept;
    }
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    enum ltd_err e = query_applications(node_store(api->node), has_dept ? &dept : NULL,
                                        status == 3 ? -1 : status, &pg, &b, &eb);
    reply_result(resp, e, &eb, &b);
}

void
api_ltdrs_roster_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    struct session_info si;
    if (session_require(ss_of(api), req, resp, QUERY_ROLE_ADMIN, &si) ||
        args_or_reply(req, resp, NULL, 0))
        return;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    enum ltd_err e = query_roster(node_store(api->node), &b, &eb);
    reply_result(resp, e, &eb, &b);
}

void
api_ltdrs_distributions_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    static const char *const allowed[] = {"department", "activity", "page", "per_page"};
    struct session_info si;
    struct query_page pg;
    struct ltd_hash dept, act;
    bool has_dept, has_act;
    if (session_require(ss_of(api), req, resp, QUERY_ROLE_ADMIN | QUERY_ROLE_DEPARTMENT, &si) ||
        args_or_reply(req, resp, allowed, ARRAY_LEN(allowed)) ||
        id_arg_or_reply(req, resp, "department", &has_dept, &dept) ||
        id_arg_or_reply(req, resp, "activity", &has_act, &act) ||
        uint_arg_or_reply(req, resp, "page", 1, query_page_max, 1, &pg.page) ||
        uint_arg_or_reply(req, resp, "per_page", 1, query_distributions_per_page_max,
                          dist_per_page_default, &pg.per_page))
        return;
    if (si.who.role == QUERY_ROLE_DEPARTMENT) { /* a department sees its own only */
        if (has_dept && memcmp(dept.b, si.who.dept.b, 32) != 0) {
            session_reply_error(resp, 403, LTD_E_L_NOT_ALLOWED,
                                "a department sees only its own distributions");
            return;
        }
        has_dept = true;
        dept = si.who.dept;
    }
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    enum ltd_err e = query_distributions(node_store(api->node), has_dept ? &dept : NULL,
                                         has_act ? &act : NULL, &pg, &b, &eb);
    reply_result(resp, e, &eb, &b);
}

/* ----------------------------------------------------------------- login */

void
api_ltdrs_challenge_post(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    struct session_req r;
    char origin[session_origin_bytes_max + 16], hex[65];
    uint64_t expires;
    if (session_origin_or_reply(req, resp) || args_or_reply(req, resp, NULL, 0))
        return;
    session_req_from_http(req, &r);
    if (!session_request_origin(&r, origin, sizeof origin)) {
        http_reply_error(resp, LTD_E_HTTP_BAD_REQUEST, "no usable Origin or Host header");
        return;
    }
    sessions_challenge(ss_of(api), origin, hex, &expires);
    struct buf b, msg;
    buf_init(&b);
    buf_init(&msg);
    session_login_message(origin, hex, &msg);
    buf_addf(&b, "{\"challenge\":\"%s\",\"expires_ms\":%llu,\"message\":\"", hex,
             (unsigned long long)expires);
    http_json_escape(&b, msg.p, msg.len);
    buf_adds(&b, "\"}");
    buf_release(&msg);
    reply_buf(resp, &b, NULL);
}

static const char *
member_str(const struct cjson *o, const char *k)
{
    const struct cjson *v = cjson_get(o, k);
    return v && v->type == CJSON_STRING && memchr(v->str, 0, v->len) == NULL ? v->str : NULL;
}

void
api_ltdrs_login_post(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    struct sessions *ss = ss_of(api);
    struct cjson *body;
    struct session_req r;
    char origin[session_origin_bytes_max + 16], id[65];
    if (session_origin_or_reply(req, resp) || args_or_reply(req, resp, NULL, 0) ||
        json_body_or_reply(req, resp, session_body_bytes_max, 8, &body))
        return;
    const char *pk = member_str(body, "public_key"), *ch = member_str(body, "challenge"),
               *sig = member_str(body, "signature");
    if (body->type != CJSON_OBJECT || body->len != 3 || !pk || !ch || !sig) {
        bad_arg_reply(resp, "body", "must be {\"public_key\", \"challenge\", \"signature\"}");
        return;
    }
    session_req_from_http(req, &r);
    if (!session_request_origin(&r, origin, sizeof origin)) {
        http_reply_error(resp, LTD_E_HTTP_BAD_REQUEST, "no usable Origin or Host header");
        return;
    }
    struct session_info si;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    enum ltd_err e = sessions_login(ss, origin, pk, ch, sig, id, &si, &eb);
    if (e) {
        int status = session_login_status(e);
        session_reply_error(resp, status, e, eb.msg);
        return;
    }
    (void)sessions_logout(ss, r.cookie); /* a session this browser had before ends (C3) */
    struct buf b, cookie;
    buf_init(&b);
    buf_init(&cookie);
    sessions_cookie(ss, &r, id, &cookie);
    codec_wipe(id, sizeof id);
    session_json(&si, &b);
    reply_buf(resp, &b, NULL);
    LTD_ASSERT(http_resp_header(resp, "Set-Cookie", cookie.p) == LTD_OK);
    (void)http_resp_header(resp, "Cache-Control", "no-store");
    codec_wipe(cookie.p, cookie.len);
    buf_release(&cookie);
}

void
api_ltdrs_logout_post(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    struct sessions *ss = ss_of(api);
    struct session_info si;
    struct session_req r;
    if (session_require(ss, req, resp, 0, &si) || args_or_reply(req, resp, NULL, 0))
        return;
    session_req_from_http(req, &r);
    (void)sessions_logout(ss, r.cookie);
    struct buf cookie;
    buf_init(&cookie);
    sessions_cookie(ss, &r, NULL, &cookie);
    http_reply_json(resp, 200, "{\"ok\":true}");
    (void)http_resp_header(resp, "Set-Cookie", cookie.p);
    buf_release(&cookie);
}

void
api_ltdrs_session_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    struct session_info si;
    if (session_require(ss_of(api), req, resp, 0, &si) || args_or_reply(req, resp, NULL, 0))
        return;
    struct buf b;
    buf_init(&b);
    session_json(&si, &b);
    reply_buf(resp, &b, NULL);
    (void)http_resp_header(resp, "Cache-Control", "no-store");
}
