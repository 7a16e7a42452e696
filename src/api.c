/*
 * api.c - BigchainDB HTTP API v1 over the node (protocol doc §5), plus the
 * LTDRS ledger endpoints for the web page.  The route table is the only
 * place that lists endpoints; each handler parses its arguments, calls the
 * node or store, and replies.
 *
 * Error bodies on /api/v1 keep BigchainDB's shapes: {"message": "...",
 * "status": N} for handled errors and {"message": {"<arg>": "..."}} for
 * query-argument errors.  Everything else uses err.h's shape.
 *
 * Not here: validation (node/rules), storage layout (store).
 */
#include "api.h"

#include "api_ltdrs.h"
#include "codec.h"
#include "http.h"
#include "node.h"
#include "session.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BDB_VERSION "2.2.2"
#define BDB_DOCS "https://docs.bigchaindb.com/projects/server/en/v" BDB_VERSION "/"
#define STREAM_PATH "/api/v1/streams/valid_transactions"
#define MISSING_ARG                                                                                \
    "Missing required parameter in the JSON body or the post body or the query string"

/* ------------------------------------------------------------- helpers */

static void
reply_buf(struct http_resp *resp, int status, struct buf *b)
{
    resp->status = status;
    buf_release(&resp->body);
    resp->body = *b;
    buf_init(b);
}

/* {"message": {"<arg>": "<text>"}} with status 400 (flask-restful reqparse). */
static void
reply_arg_error(struct http_resp *resp, const char *arg, const char *text)
{
    struct buf b;
    buf_init(&b);
    buf_adds(&b, "{\"message\":{\"");
    http_json_escape(&b, arg, strlen(arg));
    buf_adds(&b, "\":\"");
    http_json_escape(&b, text, strlen(text));
    buf_adds(&b, "\"}}");
    reply_buf(resp, 400, &b);
}

static void
reply_not_found(struct http_resp *resp)
{
    http_reply_error_bdb(resp, 404, "Not found");
}

/* The BigchainDB error body {"message":...,"status":N} for a failed
 * store/node call; returns the HTTP status. */
static int
bdb_error_body(const struct ltd_errbuf *eb, struct buf *out)
{
    struct buf m;
    buf_init(&m);
    int status = ltd_err_http(eb->code);
    if (status >= 500 || eb->code == LTD_E_OVERLOAD)
        buf_addf(&m, "%s: %s", ltd_err_hint(eb->code), eb->msg);
    else
        ltd_err_bdb_message(eb, &m);
    buf_adds(out, "{\"message\":\"");
    http_json_escape(out, m.p ? m.p : "", m.len);
    buf_addf(out, "\",\"status\":%d}\n", status);
    buf_release(&m);
    return status;
}

/* Replies to a failed store/node call: 4xx/5xx in BigchainDB's shape. */
static void
reply_ltd_error(struct http_resp *resp, const struct ltd_errbuf *eb)
{
    struct buf b;
    buf_init(&b);
    int status = bdb_error_body(eb, &b);
    reply_buf(resp, status, &b);
}

/* Completes a deferred commit-mode request with an error. */
static void
complete_error(struct http_defer h, const struct ltd_errbuf *eb)
{
    struct buf b;
    buf_init(&b);
    int status = bdb_error_body(eb, &b);
    (void)http_complete(h, status, NULL, b.p, b.len);
    buf_release(&b);
}

/* Strict endpoints refuse unknown arguments: {"message": "Unknown arguments: a, b"}. */
static bool
unknown_args_or_reply(struct http_req *req, struct http_resp *resp, const char *const *allowed,
                      size_t n)
{
    struct buf names;
    buf_init(&names);
    size_t k = http_query_unknown(req, allowed, n, &names);
    if (k) {
        struct buf msg;
        buf_init(&msg);
        buf_adds(&msg, "{\"message\":\"Unknown arguments: ");
        http_json_escape(&msg, names.p, names.len);
        buf_adds(&msg, "\"}");
        reply_buf(resp, 400, &msg);
    }
    buf_release(&names);
    return k != 0;
}

/* Case-insensitive "true"/"false"; -1 if absent, -2 if neither. */
static int
bool_arg(const char *v)
{
    if (v == NULL)
        return -1;
    if (strcasecmp(v, "true") == 0)
        return 1;
    if (strcasecmp(v, "false") == 0)
        return 0;
    return -2;
}

static bool
hex64_arg(const char *v, struct ltd_hash *out)
{
    if (v == NULL || strlen(v) != 64)
        return false;
    return hex_decode(out->b, 32, v, 64);
}

/* ---------------------------------------------------------- index pages */

/* Security headers of every web page and static file (threats C1): scripts
 * and styles only from files of this origin (no inline code), no framing,
 * no referrer.  X-Content-Type-Options comes with http_send_file. */
#define WEB_CSP                                                                                    \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

static void
web_headers(struct http_resp *resp)
{
    (void)http_resp_header(resp, "Content-Security-Policy", WEB_CSP);
    (void)http_resp_header(resp, "X-Frame-Options", "DENY");
    (void)http_resp_header(resp, "Referrer-Policy", "no-referrer");
    (void)http_resp_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
}

static void
ws_url(struct http_req *req, struct api *api, struct buf *out)
{
    const char *host = http_header(req, "Host");
    buf_adds(out, "ws://");
    if (host && strlen(host) < 256 && strpbrk(host, "\"\\<> ") == NULL)
        buf_adds(out, host);
    else
        buf_adds(out, api->listen);
    buf_adds(out, STREAM_PATH);
}

static void
api_v1_links(struct http_req *req, struct api *api, bool relative, struct buf *b)
{
    const char *p = relative ? "" : "/api/v1";
    buf_addf(b,
             "{\"assets\":\"%s/assets/\",\"blocks\":\"%s/blocks/\",\"docs\":\"" BDB_DOCS
             "http-client-server-api.html\",\"metadata\":\"%s/metadata/\",\"outputs\":\"%s/"
             "outputs/\",\"streams\":\"",
             p, p, p, p);
    ws_url(req, api, b);
    buf_addf(b, "\",\"transactions\":\"%s/transactions/\",\"validators\":\"%s/validators\"}", p, p);
}

static void
api_root_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    const char *accept = http_header(req, "Accept");
    if (api->web_dir && accept && strstr(accept, "text/html")) {
        web_headers(resp);
        (void)http_send_file(resp, api->web_dir, "index.html");
        return;
    }
    struct buf b;
    buf_init(&b);
    buf_adds(&b, "{\"api\":{\"v1\":");
    api_v1_links(req, api, false, &b);
    buf_adds(&b, "},\"docs\":\"" BDB_DOCS
                 "\",\"software\":\"BigchainDB\",\"version\":\"" BDB_VERSION "\"}");
    reply_buf(resp, 200, &b);
}

static void
api_v1_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct buf b;
    buf_init(&b);
    api_v1_links(req, app, true, &b);
    reply_buf(resp, 200, &b);
}

/* ------------------------------------------------------- transactions */

struct commit_wait {
    struct http_defer h;
    struct buf echo;
};

static void
commit_done(void *arg, enum ltd_err result, const struct ltd_errbuf *eb, uint64_t height)
{
    (void)height;
    struct commit_wait *w = arg;
    if (result == LTD_OK) {
        (void)http_complete(w->h, 202, NULL, w->echo.p, w->echo.len);
    } else {
        complete_error(w->h, eb);
    }
    buf_release(&w->echo);
    free(w);
}

static bool
mode_or_reply(struct http_req *req, struct http_resp *resp, enum node_mode *mode)
{
    const char *m = http_query(req, "mode");
    *mode = NODE_ASYNC;
    if (m == NULL || strcmp(m, "async") == 0)
        return true;
    if (strcmp(m, "sync") == 0) {
        *mode = NODE_SYNC;
        return true;
    }
    if (strcmp(m, "commit") == 0) {
        *mode = NODE_COMMIT;
        return true;
    }
    reply_arg_error(resp, "mode", "Mode must be \"async\", \"sync\" or \"commit\"");
    return false;
}

static void
api_tx_post(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    enum node_mode mode;
    if (!mode_or_reply(req, resp, &mode))
        return;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (mode != NODE_COMMIT) {
        struct buf echo;
        buf_init(&echo);
        if (node_submit(api->node, req->body, req->body_len, mode, NULL, NULL, NULL, &echo, &eb) !=
            LTD_OK)
            reply_ltd_error(resp, &eb);
        else
            reply_buf(resp, 202, &echo);
        buf_release(&echo);
        return;
    }
    struct commit_wait *w = xcalloc(1, sizeof *w);
    buf_init(&w->echo);
    if (http_defer(req, resp, api->commit_timeout_ms + 2000, &w->h) != LTD_OK) {
        free(w); /* http wrote the 503 */
        return;
    }
    if (node_submit(api->node, req->body, req->body_len, mode, commit_done, w, NULL, &w->echo,
                    &eb) != LTD_OK) {
        complete_error(w->h, &eb);
        buf_release(&w->echo);
        free(w);
    }
}

static void
api_tx_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    struct ltd_hash id;
    if (!hex64_arg(http_param(req, "id"), &id)) {
        reply_not_found(resp);
        return;
    }
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    uint64_t seq = 0;
    struct buf b;
    buf_init(&b);
    struct store *st = node_store(api->node);
    if (store_tx_seq(st, &id, &seq, &eb) != LTD_OK ||
        (seq && store_tx_body(st, seq, &b, NULL, &eb) != LTD_OK))
        reply_ltd_error(resp, &eb);
    else if (seq == 0)
        reply_not_found(resp);
    else
        reply_buf(resp, 200, &b);
    buf_release(&b);
}

static void
api_tx_list(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    const char *aid = http_query(req, "asset_id");
    const char *op = http_query(req, "operation");
    int last = bool_arg(http_query(req, "last_tx"));
    struct ltd_hash id;
    char low[65];
    if (aid == NULL) {
        reply_arg_error(resp, "asset_id", MISSING_ARG);
        return;
    }
    if (strlen(aid) != 64 || !hex_decode(id.b, 32, aid, 64)) {
        reply_arg_error(resp, "asset_id", "Invalid hash");
        return;
    }
    hex_encode(low, id.b, 32);
    int opn = 0;
    if (op && strcasecmp(op, "create") == 0)
        opn = TX_CREATE;
    else if (op && strcasecmp(op, "transfer") == 0)
        opn = TX_TRANSFER;
    else if (op) {
        reply_arg_error(resp, "operation", "Operation must be \"CREATE\" or \"TRANSFER\"");
        return;
    }
    if (last == -2) {
        reply_arg_error(resp, "last_tx", "Boolean value must be \"true\" or \"false\" (lowercase)");
        return;
    }
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    if (store_asset_txs(node_store(api->node), &id, opn, last == 1, &b, &eb) != LTD_OK)
        reply_ltd_error(resp, &eb);
    else
        reply_buf(resp, 200, &b);
    buf_release(&b);
}

/* ------------------------------------------------------------- outputs */

static bool
b58_key_shape(const char *s)
{
    size_t n = strlen(s);
    if (n < 43 || n > 44)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= '1' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!ok || c == 'I' || c == 'l' || c == 'O')
            return false;
    }
    return true;
}

static void
api_outputs_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    static const char *const allowed[] = {"public_key", "spent"};
    if (unknown_args_or_reply(req, resp, allowed, ARRAY_LEN(allowed)))
        return;
    const char *pk = http_query(req, "public_key");
    if (pk == NULL) {
        reply_arg_error(resp, "public_key", MISSING_ARG);
        return;
    }
    struct ltd_pubkey key;
    if (!b58_key_shape(pk) || codec_b58_decode32(pk, strlen(pk), key.b) != LTD_OK) {
        reply_arg_error(resp, "public_key", "Invalid base58 ed25519 key");
        return;
    }
    int spent = bool_arg(http_query(req, "spent"));
    if (spent == -2) {
        reply_arg_error(resp, "spent", "Boolean value must be \"true\" or \"false\" (lowercase)");
        return;
    }
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    if (store_outputs_by_key(node_store(api->node), &key, spent, &b, &eb) != LTD_OK)
        reply_ltd_error(resp, &eb);
    else
        reply_buf(resp, 200, &b);
    buf_release(&b);
}

/* ------------------------------------------------------ assets/metadata */

static void
search(struct api *api, int which, struct http_req *req, struct http_resp *resp)
{
    const char *q = http_query(req, "search");
    const char *lim = http_query(req, "limit");
    if (q == NULL) {
        reply_arg_error(resp, "search", MISSING_ARG);
        return;
    }
    uint32_t limit = 0;
    if (lim) {
        char *end = NULL;
        long v = strtol(lim, &end, 10);
        if (*lim == 0 || end == NULL || *end != 0 || v < 0 || v > 1000000) {
            char msg[160];
            snprintf(msg, sizeof msg, "invalid literal for int() with base 10: '%.40s'", lim);
            reply_arg_error(resp, "limit", msg);
            return;
        }
        limit = (uint32_t)v;
    }
    if (q[0] == 0) {
        http_reply_error_bdb(resp, 400, "text_search cannot be empty");
        return;
    }
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    if (store_search(node_store(api->node), which, q, limit, &b, &eb) != LTD_OK)
        reply_ltd_error(resp, &eb);
    else
        reply_buf(resp, 200, &b);
    buf_release(&b);
}

static void
api_assets_get(void *app, struct http_req *req, struct http_resp *resp)
{
    search(app, 0, req, resp);
}

static void
api_metadata_get(void *app, struct http_req *req, struct http_resp *resp)
{
    search(app, 1, req, resp);
}

/* -------------------------------------------------------------- blocks */

static void
api_block_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    const char *hs = http_param(req, "height");
    char *end = NULL;
    unsigned long long h = strtoull(hs ? hs : "", &end, 10);
    if (hs == NULL || *hs == 0 || *end != 0) {
        reply_not_found(resp);
        return;
    }
    struct store *st = node_store(api->node);
    struct store_block blk;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    enum ltd_err e = store_block_get(st, h, &blk, &eb);
    if (e == LTD_E_NOT_FOUND) {
        reply_not_found(resp);
        return;
    }
    struct buf b;
    buf_init(&b);
    buf_addf(&b, "{\"height\":%llu,\"transactions\":", h);
    if (e != LTD_OK || store_block_txs(st, &blk, &b, &eb) != LTD_OK) {
        reply_ltd_error(resp, &eb);
    } else {
        buf_addc(&b, '}');
        reply_buf(resp, 200, &b);
    }
    buf_release(&b);
}

static void
api_blocks_list(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    static const char *const allowed[] = {"transaction_id"};
    if (unknown_args_or_reply(req, resp, allowed, ARRAY_LEN(allowed)))
        return;
    const char *tid = http_query(req, "transaction_id");
    if (tid == NULL) {
        reply_arg_error(resp, "transaction_id", MISSING_ARG);
        return;
    }
    struct ltd_hash id;
    int64_t h = -1;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (hex64_arg(tid, &id) && store_block_of_tx(node_store(api->node), &id, &h, &eb) != LTD_OK) {
        reply_ltd_error(resp, &eb);
        return;
    }
    char out[48];
    if (h >= 0)
        snprintf(out, sizeof out, "[%lld]", (long long)h);
    else
        snprintf(out, sizeof out, "[]");
    http_reply_json(resp, 200, out);
}

static void
api_validators_get(void *app, struct http_req *req, struct http_resp *resp)
{
    (void)req;
    struct api *api = app;
    struct buf b;
    buf_init(&b);
    /* a cluster lists every registered node; a lone node itself */
    if (!node_validators_json(api->node, &b)) {
        buf_adds(&b, "[{\"public_key\":{\"type\":\"ed25519-base64\",\"value\":\"");
        codec_b64_encode(api->node_key.b, 32, &b);
        buf_adds(&b, "\"},\"voting_power\":10}]");
    }
    reply_buf(resp, 200, &b);
}

/* ----------------------------------------------------- LTDRS ledger API */

static void
head_json(struct api *api, struct buf *b, struct ltd_errbuf *eb, bool *ok)
{
    struct store_block h;
    *ok = store_head(node_store(api->node), &h, eb) == LTD_OK;
    if (!*ok)
        return;
    char hash[65], prev[65];
    hex_encode(hash, h.hash.b, 32);
    hex_encode(prev, h.prev_hash.b, 32);
    struct node_stats s;
    node_stats(api->node, &s);
    buf_addf(b, "{\"chain_id\":\"%s\",", node_genesis(api->node)->chain_id);
    /* cluster mode: this node, every node's signed head, divergences */
    size_t mark = b->len;
    buf_adds(b, "\"cluster\":");
    if (node_cluster_json(api->node, b))
        buf_addc(b, ',');
    else
        b->len = mark;
    buf_addf(b,
             "\"disk_full\":%s,\"hash\":\"%s\",\"height\":%llu,\"n_tx\":%u,"
             "\"prev_hash\":\"%s\",\"queue\":%llu,\"time_ms\":%llu,\"write_failed\":%s}",
             s.disk_full ? "true" : "false", hash, (unsigned long long)h.height, h.n_tx, prev,
             (unsigned long long)s.queue_len, (unsigned long long)h.time_ms,
             s.write_failed ? "true" : "false");
}

static void
api_ledger_head(void *app, struct http_req *req, struct http_resp *resp)
{
    (void)req;
    struct buf b;
    buf_init(&b);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    bool ok;
    head_json(app, &b, &eb, &ok);
    if (ok)
        reply_buf(resp, 200, &b);
    else
        http_reply_error(resp, eb.code, eb.msg);
    buf_release(&b);
}

static void
api_ledger_blocks(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    struct store *st = node_store(api->node);
    struct store_block h, blk;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (store_head(st, &h, &eb) != LTD_OK) {
        http_reply_error(resp, eb.code, eb.msg);
        return;
    }
    const char *ls = http_query(req, "limit");
    long limit = ls ? strtol(ls, NULL, 10) : 20;
    if (limit < 1 || limit > 200)
        limit = 20;
    struct buf b;
    buf_init(&b);
    buf_addc(&b, '[');
    for (long k = 0; k < limit && (uint64_t)k <= h.height; k++) {
        if (store_block_get(st, h.height - (uint64_t)k, &blk, &eb) != LTD_OK)
            break;
        char hash[65], prev[65];
        hex_encode(hash, blk.hash.b, 32);
        hex_encode(prev, blk.prev_hash.b, 32);
        buf_addf(&b,
                 "%s{\"hash\":\"%s\",\"height\":%llu,\"n_tx\":%u,\"prev_hash\":\"%s\","
                 "\"time_ms\":%llu}",
                 k ? "," : "", hash, (unsigned long long)blk.height, blk.n_tx, prev,
                 (unsigned long long)blk.time_ms);
    }
    buf_addc(&b, ']');
    reply_buf(resp, 200, &b);
    buf_release(&b);
}

static void
api_ledger_verify(void *app, struct http_req *req, struct http_resp *resp)
{
    (void)req;
    struct api *api = app;
    struct node_verify_report rep;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (node_verify_dir(api->data_dir, 2, &rep, &eb) != LTD_OK) {
        http_reply_error(resp, eb.code, eb.msg);
        return;
    }
    struct buf b;
    buf_init(&b);
    buf_addf(&b, "{\"bad_height\":%lld,\"bad_transaction\":\"%s\",\"blocks\":%llu,\"message\":\"",
             (long long)rep.bad_height, rep.bad_txid, (unsigned long long)rep.blocks);
    http_json_escape(&b, rep.message, strlen(rep.message));
    buf_addf(&b, "\",\"ok\":%s,\"seconds\":%.3f,\"transactions\":%llu}", rep.ok ? "true" : "false",
             rep.seconds, (unsigned long long)rep.txs);
    reply_buf(resp, 200, &b);
    buf_release(&b);
}

static void
api_static_get(void *app, struct http_req *req, struct http_resp *resp)
{
    struct api *api = app;
    if (api->web_dir == NULL) {
        http_reply_error(resp, LTD_E_HTTP_NOT_FOUND, "no web directory");
        return;
    }
    const char *rel = http_param(req, "*");
    if (rel && strncmp(rel, "node_modules/", 13) == 0) { /* npm's tree, not the pages */
        http_reply_error(resp, LTD_E_HTTP_NOT_FOUND, "no such file");
        return;
    }
    web_headers(resp);
    (void)http_send_file(resp, api->web_dir, rel);
}

/* The public ticket page /t/<transaction_id>:<output_index> (domain §4) is
 * the single-page app; the script reads the ticket from the path. */
static void
api_web_page(void *app, struct http_req *req, struct http_resp *resp)
{
    (void)req;
    struct api *api = app;
    if (api->web_dir == NULL) {
        http_reply_error(resp, LTD_E_HTTP_NOT_FOUND, "no web directory");
        return;
    }
    web_headers(resp);
    (void)http_send_file(resp, api->web_dir, "index.html");
}

/* ---------------------------------------------------------- the table */

static const struct http_route api_routes[] = {
    {HTTP_GET, "/", api_root_get, 0},
    {HTTP_GET, "/api/v1", api_v1_get, 0},
    {HTTP_POST, "/api/v1/transactions", api_tx_post, 0},
    {HTTP_GET, "/api/v1/transactions", api_tx_list, 0},
    {HTTP_GET, "/api/v1/transactions/{id}", api_tx_get, 0},
    {HTTP_GET, "/api/v1/outputs", api_outputs_get, 0},
    {HTTP_GET, "/api/v1/assets", api_assets_get, 0},
    {HTTP_GET, "/api/v1/metadata", api_metadata_get, 0},
    {HTTP_GET, "/api/v1/blocks/{height:uint}", api_block_get, 0},
    {HTTP_GET, "/api/v1/blocks", api_blocks_list, 0},
    {HTTP_GET, "/api/v1/validators", api_validators_get, 0},
    {HTTP_GET, STREAM_PATH, NULL, HTTP_ROUTE_WEBSOCKET},
    {HTTP_GET, "/ltdrs/api/v1/ledger/head", api_ledger_head, 0},
    {HTTP_GET, "/ltdrs/api/v1/ledger/blocks", api_ledger_blocks, 0},
    {HTTP_GET, "/ltdrs/api/v1/ledger/verify", api_ledger_verify, 0},
    /* LTDRS queries and login (api_ltdrs.c): cookie-authenticated, so no CORS */
    {HTTP_GET, "/ltdrs/api/v1/chain", api_ltdrs_chain_get, HTTP_ROUTE_NO_CORS},
    {HTTP_POST, "/ltdrs/api/v1/students/keys", api_ltdrs_student_keys_post, HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/ltdrs/api/v1/students/{sid}", api_ltdrs_student_get, HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/ltdrs/api/v1/students", api_ltdrs_students_get, HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/ltdrs/api/v1/tickets/{ticket}", api_ltdrs_ticket_get, HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/ltdrs/api/v1/activities", api_ltdrs_activities_get, HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/ltdrs/api/v1/activities/{id}", api_ltdrs_activity_get, HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/ltdrs/api/v1/activities/{id}/outputs", api_ltdrs_activity_outputs_get,
     HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/ltdrs/api/v1/applications", api_ltdrs_applications_get, HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/ltdrs/api/v1/departments", api_ltdrs_departments_get, HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/ltdrs/api/v1/departments/{id}/stats", api_ltdrs_department_stats_get,
     HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/ltdrs/api/v1/stats/departments", api_ltdrs_stats_departments_get,
     HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/ltdrs/api/v1/stats/histogram", api_ltdrs_stats_histogram_get, HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/ltdrs/api/v1/roster", api_ltdrs_roster_get, HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/ltdrs/api/v1/distributions", api_ltdrs_distributions_get, HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/ltdrs/api/v1/announcements", api_ltdrs_announcements_get, HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/ltdrs/api/v1/keys/{public_key}/role", api_ltdrs_role_get, HTTP_ROUTE_NO_CORS},
    {HTTP_POST, "/ltdrs/api/v1/login/challenge", api_ltdrs_challenge_post, HTTP_ROUTE_NO_CORS},
    {HTTP_POST, "/ltdrs/api/v1/login", api_ltdrs_login_post, HTTP_ROUTE_NO_CORS},
    {HTTP_POST, "/ltdrs/api/v1/logout", api_ltdrs_logout_post, HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/ltdrs/api/v1/session", api_ltdrs_session_get, HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/static/*", api_static_get, 0},
    {HTTP_GET, "/t/{ticket}", api_web_page, HTTP_ROUTE_NO_CORS},
};

/* Layer errors: BigchainDB's shape under /api/v1, ours elsewhere. */
static void
api_error(void *app, const struct http_req *req, struct http_resp *resp, enum ltd_err code,
          const char *detail)
{
    (void)app;
    bool bdb = req && req->path && strncmp(req->path, "/api/v1", 7) == 0;
    if (!bdb) {
        http_reply_error(resp, code, detail);
        return;
    }
    int status = ltd_err_http(code);
    if (code == LTD_E_HTTP_NOT_FOUND)
        http_reply_error_bdb(resp, 404,
                             "The requested URL was not found on the server. If you entered the "
                             "URL manually please check your spelling and try again.");
    else if (code == LTD_E_HTTP_METHOD)
        http_reply_error_bdb(resp, 405, "The method is not allowed for the requested URL.");
    else
        http_reply_error_bdb(resp, status, detail ? detail : ltd_err_hint(code));
}

/* Broadcasts every committed transaction on the stream (§5.13). */
static void
api_on_block(void *arg, const struct store_block *b, const struct node_event *ev, size_t n)
{
    (void)b;
    struct api *api = arg;
    if (api->srv == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        char msg[256];
        int len = snprintf(msg, sizeof msg,
                           "{\"height\": %llu, \"asset_id\": \"%s\", \"transaction_id\": \"%s\"}",
                           (unsigned long long)ev[i].height, ev[i].asset_id, ev[i].txid);
        LTD_ASSERT(len > 0 && (size_t)len < sizeof msg);
        (void)http_ws_broadcast(api->srv, STREAM_PATH, msg, (size_t)len);
    }
}

enum ltd_err
api_start(struct api *api, const struct http_config *hc, struct ltd_errbuf *eb)
{
    struct http_config cfg = *hc;
    cfg.error_fn = api_error;
    api->listen = cfg.listen;
    node_add_listener(api->node, api_on_block, api);
    api->srv = http_start(&cfg, api_routes, ARRAY_LEN(api_routes), api, eb);
    return api->srv ? LTD_OK : (eb ? eb->code : LTD_E_IO);
}

void
api_stop(struct api *api)
{
    http_stop(api->srv);
    api->srv = NULL;
    sessions_free(api->sessions); /* made on first use by api_ltdrs.c */
    api->sessions = NULL;
}
