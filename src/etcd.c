/*
 * etcd.c - the etcd v3 JSON-gateway client declared in etcd.h.
 *
 * Layout: base64 and integer helpers; parsers of etcd's answers (pure: text
 * in, structs out, so tests/test_etcd.c can feed them every documented shape
 * without a server); the transport (handle pool, one call with failover);
 * the public unary calls; the watch (a pure line/event state machine, then
 * the thread that drives it with a curl multi handle so that stop can wake
 * it at once).
 *
 * Quirks of the gateway that shape this file (docs/etcd-ordering.md §3):
 * bytes are standard padded base64, int64 values are JSON strings, proto3
 * defaults are omitted (a failed txn has no "succeeded", a zero count no
 * "count", an empty value no "value", a PUT event no "type"), errors are
 * {"error","message","code"} with the gRPC code, and a watch is
 * newline-delimited JSON on one long POST.
 *
 * Requests are built by hand (every string we emit is base64 or digits, so
 * no escaping is needed); answers are parsed with jansson.
 */
#include "etcd.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of protobuf framing we allow for per request beyond keys and value,
 * when checking request_bytes_max before sending. */
enum { etcd_request_overhead_bytes = 64, etcd_url_bytes_max = etcd_endpoint_bytes_max + 64 };

/* ---- base64 (standard alphabet, padded), as etcd's gateway wants ---- */

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t
b64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

/* Appends the encoding of p[0..n) to out. */
static void
b64_encode(struct buf *out, const void *p, size_t n)
{
    const uint8_t *in = p;
    buf_reserve(out, b64_encoded_len(n));
    char *o = out->p + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = b64_chars[v >> 18];
        *o++ = b64_chars[v >> 12 & 63];
        *o++ = b64_chars[v >> 6 & 63];
        *o++ = b64_chars[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *o++ = b64_chars[v >> 18];
        *o++ = b64_chars[v >> 12 & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *o++ = b64_chars[v >> 18];
        *o++ = b64_chars[v >> 12 & 63];
        *o++ = b64_chars[v >> 6 & 63];
        *o++ = '=';
    }
    out->len = (size_t)(o - out->p);
    out->p[out->len] = 0;
}

static int
b64_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Largest decoded size of n base64 characters. */
static size_t
b64_decoded_max(size_t n)
{
    return n / 4 * 3;
}

/* Decodes in[0..n) into out (room for b64_decoded_max(n) bytes).  Strict:
 * length a multiple of 4, padding only at the end, unused bits zero.
 * Returns false on any deviation (out then holds garbage). */
static bool
b64_decode(const char *in, size_t n, uint8_t *out, size_t *out_len)
{
    *out_len = 0;
    if (n % 4 != 0)
        return false;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        bool last = i + 4 == n;
        int pad = 0;
        if (last && in[i + 3] == '=')
            pad = in[i + 2] == '=' ? 2 : 1;
        int v[4] = {0, 0, 0, 0};
        for (int j = 0; j < 4 - pad; j++) {
            v[j] = b64_val(in[i + (size_t)j]);
            if (v[j] < 0)
                return false;
        }
        if (pad == 2) {
            if (v[1] & 15)
                return false;
            out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
        } else if (pad == 1) {
            if (v[2] & 3)
                return false;
            out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
            out[o++] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
        } else {
            out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
            out[o++] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
            out[o++] = (uint8_t)((v[2] & 3) << 6 | v[3]);
        }
    }
    *out_len = o;
    return true;
}

/* Decodes a base64 JSON string into the arena (NUL-terminated copy). */
static bool
b64_decode_arena(struct arena *a, const json_t *s, const uint8_t **out, size_t *out_len)
{
    const char *in = json_string_value(s);
    size_t n = json_string_length(s);
    uint8_t *p = arena_alloc(a, b64_decoded_max(n) + 1);
    if (!b64_decode(in, n, p, out_len))
        return false;
    p[*out_len] = 0;
    *out = p;
    return true;
}

/* Decodes a base64 JSON string into b (replacing its contents). */
static bool
b64_decode_buf(struct buf *b, const json_t *s)
{
    size_t n = json_string_length(s), len;
    buf_reset(b);
    buf_reserve(b, b64_decoded_max(n));
    if (!b64_decode(json_string_value(s), n, (uint8_t *)b->p, &len))
        return false;
    b->len = len;
    b->p[len] = 0;
    return true;
}

/* ---- integers: int64 arrive as JSON strings, absent means 0 ---- */

/* Canonical decimal (no sign, no leading zero) into a uint64. */
static bool
parse_u64(const char *s, size_t n, uint64_t *out)
{
    *out = 0;
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool
parse_i64(const char *s, size_t n, int64_t *out)
{
    bool neg = n > 0 && s[0] == '-';
    uint64_t v;
    *out = 0;
    if (!parse_u64(s + neg, n - neg, &v))
        return false;
    if (neg) {
        if (v == 0 || v > (uint64_t)INT64_MAX + 1)
            return false;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}

/* obj.name as int64: a decimal string or a JSON integer; absent is 0. */
static bool
json_i64(const json_t *obj, const char *name, int64_t *out)
{
    const json_t *v = json_object_get(obj, name);
    *out = 0;
    if (v == NULL)
        return true;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    return json_is_string(v) && parse_i64(json_string_value(v), json_string_length(v), out);
}

static bool
json_u64(const json_t *obj, const char *name, uint64_t *out)
{
    const json_t *v = json_object_get(obj, name);
    *out = 0;
    if (v == NULL)
        return true;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    return json_is_string(v) && parse_u64(json_string_value(v), json_string_length(v), out);
}

/* Non-negative revision-like field. */
static bool
json_rev(const json_t *obj, const char *name, int64_t *out)
{
    return json_i64(obj, name, out) && *out >= 0;
}

/* header.revision of an answer; must be present and positive. */
static bool
json_header_rev(const json_t *root, int64_t *out)
{
    const json_t *h = json_object_get(root, "header");
    *out = 0;
    return json_is_object(h) && json_rev(h, "revision", out) && *out > 0;
}

/* ---- parsing etcd's answers (pure) ---- */

/* Parses a whole answer; NULL (with eb set) if it is not a JSON object. */
static json_t *
parse_json(const char *body, size_t n, const char *what, struct ltd_errbuf *eb)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, n, 0, &jerr);
    if (root == NULL) {
        ltd_fail(eb, LTD_E_IO, "etcd %s: answer is not JSON: %s", what, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        ltd_fail(eb, LTD_E_IO, "etcd %s: answer is not a JSON object", what);
        return NULL;
    }
    return root;
}

/* An error answer, in either of its two shapes:
 *   unary:  {"error":"etcdserver: ...","code":14,"message":"etcdserver: ..."}
 *   stream: {"error":{"grpc_code":14,"http_code":503,"message":"...",...}} */
struct rpc_error {
    int grpc_code; /* -1 when the body did not say */
    char message[200];
};

static void
rpc_error_from_json(const json_t *root, struct rpc_error *e)
{
    const json_t *err = json_object_get(root, "error");
    const json_t *code = json_object_get(root, "code");
    const json_t *msg = json_object_get(root, "message");
    if (json_is_object(err)) {
        code = json_object_get(err, "grpc_code");
        msg = json_object_get(err, "message");
    } else if (!json_is_string(msg)) {
        msg = err;
    }
    if (json_is_integer(code) && json_integer_value(code) >= 0 && json_integer_value(code) < 100)
        e->grpc_code = (int)json_integer_value(code);
    if (json_is_string(msg))
        snprintf(e->message, sizeof e->message, "%s", json_string_value(msg));
}

static void
rpc_error_parse(const char *body, size_t n, struct rpc_error *e)
{
    e->grpc_code = -1;
    e->message[0] = 0;
    json_t *root = json_loadb(body, n, 0, NULL);
    if (json_is_object(root)) {
        rpc_error_from_json(root, e);
    } else {
        /* Not JSON ("404 page not found"): keep the first line as the message. */
        size_t m = 0;
        while (m < n && m + 1 < sizeof e->message && body[m] != '\n' && body[m] != '\r')
            m++;
        memcpy(e->message, body, m);
        e->message[m] = 0;
    }
    json_decref(root);
}

/* Maps a non-200 answer to an error code.  *unavailable is set for the
 * answers after which another member may do better and a write's outcome is
 * unknown: 503 / gRPC 14 (no leader, request timed out), gRPC 4 (deadline)
 * and 1 (canceled), and 5xx without a gRPC code. */
static enum ltd_err
classify_http(long http, const char *body, size_t n, bool *unavailable, struct rpc_error *e)
{
    rpc_error_parse(body, n, e);
    *unavailable = false;
    int g = e->grpc_code;
    if (g == 14 || g == 4 || g == 1 || (g < 0 && (http == 503 || http == 502 || http == 504))) {
        *unavailable = true;
        return LTD_E_HTTP_TIMEOUT;
    }
    if (g == 8 || (g < 0 && http == 429))
        return LTD_E_OVERLOAD;
    if (g == 11)
        return LTD_E_NOT_FOUND;
    if (g == 3)
        return strstr(e->message, "too large") ? LTD_E_TOO_LARGE : LTD_E_USAGE;
    return LTD_E_IO;
}

/* Fills one etcd_kv from {"key","value","create_revision","mod_revision",...}. */
static bool
parse_kv(struct arena *a, const json_t *o, struct etcd_kv *kv)
{
    const json_t *k = json_object_get(o, "key"), *v = json_object_get(o, "value");
    if (!json_is_object(o) || !json_is_string(k) || (v != NULL && !json_is_string(v)))
        return false;
    if (!b64_decode_arena(a, k, &kv->key, &kv->key_len) || kv->key_len == 0)
        return false;
    if (v != NULL) {
        if (!b64_decode_arena(a, v, &kv->value, &kv->value_len))
            return false;
    } else {
        kv->value = (const uint8_t *)arena_memdup(a, "", 0);
        kv->value_len = 0;
    }
    return json_rev(o, "create_revision", &kv->create_revision) &&
           json_rev(o, "mod_revision", &kv->mod_revision) && json_rev(o, "version", &kv->version);
}

/* A RangeResponse object (top-level, or "response_range" inside a txn).
 * need_header: the top-level answer must carry header.revision. */
static enum ltd_err
parse_range_obj(const json_t *o, bool need_header, struct etcd_range_result *out,
                struct ltd_errbuf *eb)
{
    const json_t *kvs = json_object_get(o, "kvs"), *more = json_object_get(o, "more");
    arena_init(&out->arena);
    if (need_header && !json_header_rev(o, &out->revision))
        return ltd_fail(eb, LTD_E_IO, "etcd range: no header.revision");
    if (!json_rev(o, "count", &out->count))
        return ltd_fail(eb, LTD_E_IO, "etcd range: bad count");
    if (more != NULL && !json_is_boolean(more))
        return ltd_fail(eb, LTD_E_IO, "etcd range: bad more");
    out->more = json_is_true(more);
    if (kvs == NULL)
        return LTD_OK;
    if (!json_is_array(kvs))
        return ltd_fail(eb, LTD_E_IO, "etcd range: kvs is not an array");
    size_t n = json_array_size(kvs);
    out->kvs = n ? arena_alloc(&out->arena, n * sizeof *out->kvs) : NULL;
    for (size_t i = 0; i < n; i++) {
        if (!parse_kv(&out->arena, json_array_get(kvs, i), &out->kvs[i]))
            return ltd_fail(eb, LTD_E_IO, "etcd range: kvs[%zu] malformed", i);
        out->kvs_len = i + 1;
    }
    if (out->count < (int64_t)n)
        return ltd_fail(eb, LTD_E_IO, "etcd range: count %lld below %zu kvs", (long long)out->count,
                        n);
    return LTD_OK;
}

/* A whole /v3/kv/range answer.  On error *out is released and zeroed. */
static enum ltd_err
parse_range_response(const char *body, size_t n, struct etcd_range_result *out,
                     struct ltd_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    json_t *root = parse_json(body, n, "range", eb);
    if (root == NULL)
        return LTD_E_IO;
    enum ltd_err rc = parse_range_obj(root, true, out, eb);
    json_decref(root);
    if (rc != LTD_OK)
        etcd_range_result_release(out);
    return rc;
}

/* The answer of an append txn (etcd_append), given the key and value we sent
 * and whether a prev compare was included. */
static enum ltd_err
parse_append_response(const char *body, size_t n, const void *key, size_t key_len,
                      const void *value, size_t value_len, bool had_prev,
                      struct etcd_append_result *out, struct ltd_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    json_t *root = parse_json(body, n, "append", eb);
    if (root == NULL)
        return LTD_E_IO;
    enum ltd_err rc = LTD_E_IO;
    int64_t rev;
    const json_t *succ = json_object_get(root, "succeeded");
    const json_t *resp = json_array_get(json_object_get(root, "responses"), 0);
    struct etcd_range_result r;
    memset(&r, 0, sizeof r);
    if (!json_header_rev(root, &rev)) {
        ltd_fail(eb, LTD_E_IO, "etcd append: no header.revision");
    } else if (succ != NULL && !json_is_boolean(succ)) {
        ltd_fail(eb, LTD_E_IO, "etcd append: bad succeeded");
    } else if (json_is_true(succ)) {
        /* The txn's own revision is the put's revision. */
        out->outcome = ETCD_APPEND_APPENDED;
        out->revision = rev;
        rc = LTD_OK;
    } else if (!json_is_object(json_object_get(resp, "response_range"))) {
        ltd_fail(eb, LTD_E_IO, "etcd append: failed txn without response_range");
    } else if (parse_range_obj(json_object_get(resp, "response_range"), false, &r, eb) != LTD_OK) {
        /* message already recorded */
    } else if (r.kvs_len == 0) {
        if (had_prev) {
            out->outcome = ETCD_APPEND_GAP;
            rc = LTD_OK;
        } else {
            ltd_fail(eb, LTD_E_IO, "etcd append: compare failed but the key is absent");
        }
    } else if (r.kvs_len != 1 || r.kvs == NULL || r.kvs[0].key_len != key_len ||
               memcmp(r.kvs[0].key, key, key_len) != 0) {
        ltd_fail(eb, LTD_E_IO, "etcd append: failure range returned another key");
    } else {
        bool same = r.kvs[0].value_len == value_len &&
                    (value_len == 0 || memcmp(r.kvs[0].value, value, value_len) == 0);
        out->outcome = same ? ETCD_APPEND_EXISTS_SAME : ETCD_APPEND_EXISTS_OTHER;
        out->revision = r.kvs[0].create_revision;
        rc = LTD_OK;
    }
    etcd_range_result_release(&r);
    json_decref(root);
    return rc;
}

/* {"header":{...,"revision":"N"}}: put and compaction answers. */
static enum ltd_err
parse_header_response(const char *body, size_t n, const char *what, int64_t *rev,
                      struct ltd_errbuf *eb)
{
    *rev = 0;
    json_t *root = parse_json(body, n, what, eb);
    if (root == NULL)
        return LTD_E_IO;
    enum ltd_err rc = LTD_OK;
    if (!json_header_rev(root, rev))
        rc = ltd_fail(eb, LTD_E_IO, "etcd %s: no header.revision", what);
    json_decref(root);
    return rc;
}

static enum ltd_err
parse_status_response(const char *body, size_t n, struct etcd_status *out, struct ltd_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    json_t *root = parse_json(body, n, "status", eb);
    if (root == NULL)
        return LTD_E_IO;
    const json_t *h = json_object_get(root, "header"), *v = json_object_get(root, "version");
    enum ltd_err rc = LTD_OK;
    if (!json_header_rev(root, &out->revision) || !json_u64(h, "member_id", &out->member_id) ||
        !json_u64(root, "leader", &out->leader) || !json_rev(root, "dbSize", &out->db_size) ||
        !json_rev(root, "dbSizeInUse", &out->db_size_in_use) ||
        !json_u64(root, "raftIndex", &out->raft_index) ||
        !json_u64(root, "raftTerm", &out->raft_term) || !json_is_string(v)) {
        rc = ltd_fail(eb, LTD_E_IO, "etcd status: malformed answer");
        memset(out, 0, sizeof *out);
    } else {
        snprintf(out->version, sizeof out->version, "%s", json_string_value(v));
    }
    json_decref(root);
    return rc;
}

/* ---- building requests ---- */

static void
add_b64_field(struct buf *b, const char *name, const void *p, size_t n)
{
    buf_addf(b, "\"%s\":\"", name);
    b64_encode(b, p, n);
    buf_addc(b, '"');
}

static bool
key_ok(const void *key, size_t n)
{
    return key != NULL && n > 0 && n <= etcd_key_bytes_max;
}

/* ---- the client and its transport ---- */

struct etcd_client {
    struct etcd_config cfg;        /* copy; cfg.endpoints points to endpoints_str */
    char *endpoints_str;           /* owned copy of the list */
    char *url[etcd_endpoints_max]; /* owned, without trailing '/' */
    size_t n_url;
    _Atomic size_t preferred;          /* endpoint tried first */
    atomic_int watches;                /* live watches (asserted 0 at free) */
    struct curl_slist *headers;        /* shared, read-only after new */
    pthread_mutex_t lock;              /* guards idle[] */
    CURL *idle[etcd_idle_handles_max]; /* keep-alive handles not in use */
    size_t n_idle;
};

void
etcd_config_init(struct etcd_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->connect_timeout_ms = etcd_connect_timeout_ms;
    cfg->request_timeout_ms = etcd_request_timeout_ms;
    cfg->watch_liveness_ms = etcd_watch_liveness_ms;
    cfg->request_bytes_max = etcd_request_bytes_max;
    cfg->response_bytes_max = etcd_response_bytes_max;
    cfg->watch_line_bytes_max = etcd_watch_line_bytes_max;
}

/* Splits the comma list into c->url[]. */
static enum ltd_err
parse_endpoints(struct etcd_client *c, const char *list, struct ltd_errbuf *eb)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == 0)
            break;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ')
            e++;
        size_t n = (size_t)(e - p);
        while (n > 0 && p[n - 1] == '/')
            n--;
        if (c->n_url == etcd_endpoints_max)
            return ltd_fail(eb, LTD_E_USAGE, "etcd: more than %d endpoints", etcd_endpoints_max);
        if (n > etcd_endpoint_bytes_max ||
            (strncmp(p, "http://", 7) != 0 && strncmp(p, "https://", 8) != 0) ||
            n <= (p[4] == 's' ? 8u : 7u))
            return ltd_fail(eb, LTD_E_USAGE, "etcd: bad endpoint '%.*s'", (int)(e - p), p);
        c->url[c->n_url++] = xmemdup(p, n);
        p = e;
    }
    if (c->n_url == 0)
        return ltd_fail(eb, LTD_E_USAGE, "etcd: no endpoints");
    return LTD_OK;
}

enum ltd_err
etcd_client_new(const struct etcd_config *cfg, struct etcd_client **out, struct ltd_errbuf *eb)
{
    *out = NULL;
    if (cfg->endpoints == NULL || cfg->connect_timeout_ms == 0 || cfg->request_timeout_ms == 0 ||
        cfg->watch_liveness_ms == 0 || cfg->request_bytes_max < 64 * 1024 ||
        cfg->request_bytes_max > (size_t)64 * 1024 * 1024 || cfg->response_bytes_max < 1024 ||
        cfg->watch_line_bytes_max < 1024 || cfg->watch_line_bytes_max > (size_t)1 << 30)
        return ltd_fail(eb, LTD_E_USAGE, "etcd: bad configuration");
    struct etcd_client *c = xcalloc(1, sizeof *c);
    c->cfg = *cfg;
    c->endpoints_str = xstrdup(cfg->endpoints);
    c->cfg.endpoints = c->endpoints_str;
    atomic_init(&c->preferred, 0);
    atomic_init(&c->watches, 0);
    enum ltd_err rc = parse_endpoints(c, c->endpoints_str, eb);
    if (rc != LTD_OK) {
        for (size_t i = 0; i < c->n_url; i++)
            free(c->url[i]);
        free(c->endpoints_str);
        free(c);
        return rc;
    }
    /* libcurl counts init/cleanup pairs itself; both are thread-safe in 7.84+. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* "Expect:" off: no 100-continue round trip for bodies over 1 KiB. */
    c->headers = curl_slist_append(NULL, "Content-Type: application/json");
    c->headers = curl_slist_append(c->headers, "Expect:");
    LTD_ASSERT(c->headers != NULL);
    LTD_ASSERT(pthread_mutex_init(&c->lock, NULL) == 0);
    *out = c;
    return LTD_OK;
}

void
etcd_client_free(struct etcd_client *c)
{
    if (c == NULL)
        return;
    LTD_ASSERT(atomic_load(&c->watches) == 0);
    for (size_t i = 0; i < c->n_idle; i++)
        curl_easy_cleanup(c->idle[i]);
    pthread_mutex_destroy(&c->lock);
    curl_slist_free_all(c->headers);
    for (size_t i = 0; i < c->n_url; i++)
        free(c->url[i]);
    free(c->endpoints_str);
    free(c);
    curl_global_cleanup();
}

size_t
etcd_endpoint_count(const struct etcd_client *c)
{
    return c->n_url;
}

const char *
etcd_endpoint_url(const struct etcd_client *c, size_t i)
{
    LTD_ASSERT(i < c->n_url);
    return c->url[i];
}

/* Where an answer is collected, bounded by max. */
struct sink {
    struct buf *b;
    size_t max;
    bool overflow;
};

static size_t
sink_write(char *p, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t n = size * nmemb;
    if (n > s->max || s->b->len > s->max - n) {
        s->overflow = true;
        return 0; /* aborts the transfer */
    }
    buf_add(s->b, p, n);
    return n;
}

static CURL *
handle_get(struct etcd_client *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->n_idle > 0)
        h = c->idle[--c->n_idle];
    pthread_mutex_unlock(&c->lock);
    if (h != NULL)
        return h;
    h = curl_easy_init();
    LTD_ASSERT(h != NULL);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->cfg.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->cfg.request_timeout_ms);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    return h;
}

static void
handle_put(struct etcd_client *c, CURL *h)
{
    pthread_mutex_lock(&c->lock);
    if (c->n_idle < etcd_idle_handles_max) {
        c->idle[c->n_idle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    if (h != NULL)
        curl_easy_cleanup(h);
}

/* One request against one endpoint.  body NULL means GET. */
static CURLcode
perform_one(struct etcd_client *c, CURL *h, size_t ep, const char *path, const struct buf *body,
            struct sink *s, long *http, bool *sent)
{
    char url[etcd_url_bytes_max];
    snprintf(url, sizeof url, "%s%s", c->url[ep], path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->p);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    buf_reset(s->b);
    s->overflow = false;
    CURLcode cc = curl_easy_perform(h);
    long reqsize = 0;
    *http = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, http);
    curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &reqsize);
    /* Nothing left this machine when the connection was refused or never
     * completed; anything else may have reached etcd. */
    *sent = !(cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
              (cc == CURLE_OPERATION_TIMEDOUT && reqsize == 0));
    return cc;
}

/* Sends path/body to `endpoint` (or, for ETCD_ENDPOINT_ANY, to the preferred
 * member and then the others) and leaves a 200 answer in *resp.
 *   is_write: once a request may have reached etcd, do not try another
 *   member; return LTD_E_HTTP_TIMEOUT (outcome unknown) and rotate the
 *   preferred endpoint so that the caller's retry goes elsewhere. */
static enum ltd_err
call(struct etcd_client *c, size_t endpoint, const char *path, const struct buf *body,
     bool is_write, struct buf *resp, size_t *ep_out, struct ltd_errbuf *eb)
{
    bool any = endpoint == ETCD_ENDPOINT_ANY;
    size_t start = any ? atomic_load(&c->preferred) % c->n_url : endpoint;
    size_t tries = any ? c->n_url : 1;
    struct sink s = {resp, c->cfg.response_bytes_max, false};
    CURL *h = handle_get(c);
    enum ltd_err rc = LTD_E_HTTP_TIMEOUT;
    char last[300] = "no endpoint tried";
    LTD_ASSERT(start < c->n_url);
    for (size_t i = 0; i < tries; i++) {
        size_t ep = (start + i) % c->n_url;
        long http;
        bool sent, unavailable = false;
        CURLcode cc = perform_one(c, h, ep, path, body, &s, &http, &sent);
        if (cc == CURLE_OK && http == 200) {
            if (any)
                atomic_store(&c->preferred, ep);
            *ep_out = ep;
            rc = LTD_OK;
            break;
        }
        if (cc == CURLE_WRITE_ERROR && s.overflow) {
            rc = ltd_fail(eb, LTD_E_TOO_LARGE, "etcd %s at %s: answer over %zu bytes", path,
                          c->url[ep], s.max);
            break;
        }
        if (cc == CURLE_OK) {
            struct rpc_error e;
            rc = classify_http(http, resp->p ? resp->p : "", resp->len, &unavailable, &e);
            snprintf(last, sizeof last, "%s: HTTP %ld code %d: %s", c->url[ep], http, e.grpc_code,
                     e.message);
            if (!unavailable) {
                ltd_fail(eb, rc, "etcd %s at %s", path, last);
                break;
            }
        } else {
            snprintf(last, sizeof last, "%s: %s", c->url[ep], curl_easy_strerror(cc));
        }
        rc = LTD_E_HTTP_TIMEOUT;
        if (is_write && sent) {
            if (any)
                atomic_store(&c->preferred, (ep + 1) % c->n_url);
            ltd_fail(eb, rc, "etcd %s: outcome unknown: %s", path, last);
            break;
        }
        if (i + 1 == tries)
            ltd_fail(eb, rc, "etcd %s: no member answered (last %s)", path, last);
    }
    handle_put(c, h);
    return rc;
}

/* ---- unary calls ---- */

enum ltd_err
etcd_health(struct etcd_client *c, size_t endpoint, struct ltd_errbuf *eb)
{
    if (endpoint != ETCD_ENDPOINT_ANY && endpoint >= c->n_url)
        return ltd_fail(eb, LTD_E_USAGE, "etcd health: no endpoint %zu", endpoint);
    size_t first = endpoint == ETCD_ENDPOINT_ANY ? 0 : endpoint;
    size_t last = endpoint == ETCD_ENDPOINT_ANY ? c->n_url : endpoint + 1;
    struct buf resp;
    buf_init(&resp);
    enum ltd_err rc = LTD_E_HTTP_TIMEOUT;
    struct ltd_errbuf tmp;
    for (size_t i = first; i < last && rc != LTD_OK; i++) {
        size_t ep;
        ltd_errbuf_clear(&tmp);
        rc = call(c, i, "/health", NULL, false, &resp, &ep, &tmp);
        if (rc != LTD_OK)
            continue;
        json_t *root = json_loadb(resp.p, resp.len, 0, NULL);
        const char *h = json_string_value(json_object_get(root, "health"));
        if (h == NULL)
            rc = ltd_fail(&tmp, LTD_E_IO, "etcd /health at %s: odd answer", c->url[i]);
        else if (strcmp(h, "true") != 0)
            rc = ltd_fail(&tmp, LTD_E_HTTP_TIMEOUT, "etcd /health at %s: %s", c->url[i], h);
        json_decref(root);
    }
    buf_release(&resp);
    if (rc != LTD_OK)
        ltd_fail(eb, rc, "%s", tmp.msg);
    return rc;
}

enum ltd_err
etcd_status(struct etcd_client *c, size_t endpoint, struct etcd_status *out, struct ltd_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    if (endpoint != ETCD_ENDPOINT_ANY && endpoint >= c->n_url)
        return ltd_fail(eb, LTD_E_USAGE, "etcd status: no endpoint %zu", endpoint);
    struct buf body, resp;
    buf_init(&body);
    buf_init(&resp);
    buf_adds(&body, "{}");
    size_t ep = 0;
    enum ltd_err rc = call(c, endpoint, "/v3/maintenance/status", &body, false, &resp, &ep, eb);
    if (rc == LTD_OK)
        rc = parse_status_response(resp.p, resp.len, out, eb);
    if (rc == LTD_OK)
        out->endpoint = ep;
    buf_release(&body);
    buf_release(&resp);
    return rc;
}

enum ltd_err
etcd_put(struct etcd_client *c, const void *key, size_t key_len, const void *value,
         size_t value_len, int64_t *revision, struct ltd_errbuf *eb)
{
    int64_t rev = 0;
    if (revision)
        *revision = 0;
    if (!key_ok(key, key_len) || (value == NULL && value_len > 0))
        return ltd_fail(eb, LTD_E_USAGE, "etcd put: bad key or value");
    if (value_len > c->cfg.request_bytes_max - key_len - etcd_request_overhead_bytes)
        return ltd_fail(eb, LTD_E_TOO_LARGE, "etcd put: %zu bytes over request_bytes_max %zu",
                        key_len + value_len, c->cfg.request_bytes_max);
    struct buf body, resp;
    buf_init(&body);
    buf_init(&resp);
    buf_reserve(&body, b64_encoded_len(key_len) + b64_encoded_len(value_len) + 32);
    buf_addc(&body, '{');
    add_b64_field(&body, "key", key, key_len);
    buf_addc(&body, ',');
    add_b64_field(&body, "value", value, value_len);
    buf_addc(&body, '}');
    size_t ep;
    enum ltd_err rc = call(c, ETCD_ENDPOINT_ANY, "/v3/kv/put", &body, true, &resp, &ep, eb);
    if (rc == LTD_OK)
        rc = parse_header_response(resp.p, resp.len, "put", &rev, eb);
    if (rc == LTD_OK && revision)
        *revision = rev;
    buf_release(&body);
    buf_release(&resp);
    return rc;
}

enum ltd_err
etcd_range(struct etcd_client *c, const struct etcd_range_req *req, struct etcd_range_result *out,
           struct ltd_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    if (!key_ok(req->key, req->key_len) ||
        (req->range_end != NULL && !key_ok(req->range_end, req->range_end_len)) || req->limit < 0 ||
        req->revision < 0 ||
        (req->flags &
         ~(unsigned)(ETCD_RANGE_COUNT_ONLY | ETCD_RANGE_KEYS_ONLY | ETCD_RANGE_SERIALIZABLE)) != 0)
        return ltd_fail(eb, LTD_E_USAGE, "etcd range: bad request");
    struct buf body, resp;
    buf_init(&body);
    buf_init(&resp);
    buf_addc(&body, '{');
    add_b64_field(&body, "key", req->key, req->key_len);
    if (req->range_end != NULL) {
        buf_addc(&body, ',');
        add_b64_field(&body, "range_end", req->range_end, req->range_end_len);
    }
    if (req->limit > 0)
        buf_addf(&body, ",\"limit\":\"%lld\"", (long long)req->limit);
    if (req->revision > 0)
        buf_addf(&body, ",\"revision\":\"%lld\"", (long long)req->revision);
    if (req->flags & ETCD_RANGE_COUNT_ONLY)
        buf_adds(&body, ",\"count_only\":true");
    if (req->flags & ETCD_RANGE_KEYS_ONLY)
        buf_adds(&body, ",\"keys_only\":true");
    if (req->flags & ETCD_RANGE_SERIALIZABLE)
        buf_adds(&body, ",\"serializable\":true");
    buf_addc(&body, '}');
    size_t ep;
    enum ltd_err rc = call(c, ETCD_ENDPOINT_ANY, "/v3/kv/range", &body, false, &resp, &ep, eb);
    if (rc == LTD_OK)
        rc = parse_range_response(resp.p, resp.len, out, eb);
    buf_release(&body);
    buf_release(&resp);
    return rc;
}

enum ltd_err
etcd_get(struct etcd_client *c, const void *key, size_t key_len, unsigned flags,
         struct etcd_range_result *out, struct ltd_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    if (flags & ETCD_RANGE_COUNT_ONLY)
        return ltd_fail(eb, LTD_E_USAGE, "etcd get: count_only makes no sense");
    struct etcd_range_req req = {.key = key, .key_len = key_len, .flags = flags};
    enum ltd_err rc = etcd_range(c, &req, out, eb);
    if (rc == LTD_OK && out->kvs_len != 1) {
        rc = out->kvs_len == 0 ? ltd_fail(eb, LTD_E_NOT_FOUND, "etcd get: no such key")
                               : ltd_fail(eb, LTD_E_IO, "etcd get: %zu kvs", out->kvs_len);
        etcd_range_result_release(out);
    }
    return rc;
}

void
etcd_range_result_release(struct etcd_range_result *r)
{
    arena_release(&r->arena);
    memset(r, 0, sizeof *r);
}

size_t
etcd_prefix_end(const void *prefix, size_t prefix_len, uint8_t *out)
{
    LTD_ASSERT(prefix_len > 0);
    LTD_ASSERT(prefix_len <= etcd_key_bytes_max);
    memcpy(out, prefix, prefix_len);
    for (size_t n = prefix_len; n > 0; n--) {
        if (out[n - 1] < 0xff) {
            out[n - 1]++;
            return n;
        }
    }
    out[0] = 0; /* every byte was 0xff: the range runs to the end of the keyspace */
    return 1;
}

/* {"compare":[...],"success":[put],"failure":[range]} for etcd_append. */
static void
build_append(struct buf *b, const void *prev, size_t prev_len, const void *key, size_t key_len,
             const void *value, size_t value_len)
{
    buf_reserve(b, 4 * b64_encoded_len(key_len) + b64_encoded_len(prev_len) +
                       b64_encoded_len(value_len) + 256);
    buf_adds(b, "{\"compare\":[");
    if (prev != NULL) {
        buf_adds(b, "{\"target\":\"CREATE\",");
        add_b64_field(b, "key", prev, prev_len);
        buf_adds(b, ",\"result\":\"GREATER\",\"create_revision\":\"0\"},");
    }
    buf_adds(b, "{\"target\":\"CREATE\",");
    add_b64_field(b, "key", key, key_len);
    buf_adds(b,
             ",\"result\":\"EQUAL\",\"create_revision\":\"0\"}],\"success\":[{\"request_put\":{");
    add_b64_field(b, "key", key, key_len);
    buf_addc(b, ',');
    add_b64_field(b, "value", value, value_len);
    buf_adds(b, "}}],\"failure\":[{\"request_range\":{");
    add_b64_field(b, "key", key, key_len);
    buf_adds(b, "}}]}");
}

enum ltd_err
etcd_append(struct etcd_client *c, const void *prev_key, size_t prev_key_len, const void *key,
            size_t key_len, const void *value, size_t value_len, struct etcd_append_result *out,
            struct ltd_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    if (!key_ok(key, key_len) || (prev_key != NULL && !key_ok(prev_key, prev_key_len)) ||
        (value == NULL && value_len > 0) ||
        (prev_key != NULL && prev_key_len == key_len && memcmp(prev_key, key, key_len) == 0))
        return ltd_fail(eb, LTD_E_USAGE, "etcd append: bad key, prev key or value");
    /* The txn carries the key three times and prev once. */
    size_t fixed = 3 * key_len + (prev_key ? prev_key_len : 0) + etcd_request_overhead_bytes;
    if (value_len > c->cfg.request_bytes_max - fixed)
        return ltd_fail(eb, LTD_E_TOO_LARGE, "etcd append: %zu bytes over request_bytes_max %zu",
                        value_len + fixed, c->cfg.request_bytes_max);
    struct buf body, resp;
    buf_init(&body);
    buf_init(&resp);
    build_append(&body, prev_key, prev_key_len, key, key_len, value, value_len);
    size_t ep;
    enum ltd_err rc = call(c, ETCD_ENDPOINT_ANY, "/v3/kv/txn", &body, true, &resp, &ep, eb);
    if (rc == LTD_OK)
        rc = parse_append_response(resp.p, resp.len, key, key_len, value, value_len,
                                   prev_key != NULL, out, eb);
    if (rc != LTD_OK)
        memset(out, 0, sizeof *out);
    buf_release(&body);
    buf_release(&resp);
    return rc;
}

enum ltd_err
etcd_compact(struct etcd_client *c, int64_t revision, bool physical, struct ltd_errbuf *eb)
{
    if (revision <= 0)
        return ltd_fail(eb, LTD_E_USAGE, "etcd compact: revision %lld", (long long)revision);
    struct buf body, resp;
    buf_init(&body);
    buf_init(&resp);
    buf_addf(&body, "{\"revision\":\"%lld\"%s}", (long long)revision,
             physical ? ",\"physical\":true" : "");
    size_t ep;
    int64_t rev;
    enum ltd_err rc = call(c, ETCD_ENDPOINT_ANY, "/v3/kv/compaction", &body, true, &resp, &ep, eb);
    if (rc == LTD_OK)
        rc = parse_header_response(resp.p, resp.len, "compaction", &rev, eb);
    buf_release(&body);
    buf_release(&resp);
    return rc;
}

/* ---- watch: the pure part (lines in, callbacks out) ---- */

/* Per-watch stream state.  Resume rule: every event at a revision below
 * last_rev has been handled; at last_rev, n_at_last events have (all of them
 * when last_complete).  A reconnect asks for last_rev again when it is
 * incomplete (a fragmented revision cut by the disconnect) and skips the
 * n_at_last events already handled, else for last_rev + 1. */
struct watch_state {
    etcd_watch_cb cb;
    void *arg;
    size_t line_max;    /* watch_line_bytes_max */
    struct buf line;    /* bytes of the current, unfinished line */
    struct buf kbuf;    /* decoded key of the event being delivered */
    struct buf vbuf;    /* decoded value */
    bool from_now;      /* started at revision 0 and no "created" seen yet */
    int64_t last_rev;   /* see above */
    size_t n_at_last;   /* events at last_rev handled */
    bool last_complete; /* all events at last_rev handled */
    size_t dup_budget;  /* events at last_rev to skip on this connection */
    size_t endpoint;    /* member of the current stream */
    bool created;       /* this connection answered "created" */
    bool drop;          /* this connection must be dropped (reason set) */
    bool terminal;      /* no more callbacks: compacted, failed or stopped */
    char reason[256];   /* why the connection was dropped */
};

static void
watch_state_init(struct watch_state *st, etcd_watch_cb cb, void *arg, size_t line_max,
                 int64_t start_revision)
{
    memset(st, 0, sizeof *st);
    st->cb = cb;
    st->arg = arg;
    st->line_max = line_max;
    buf_init(&st->line);
    buf_init(&st->kbuf);
    buf_init(&st->vbuf);
    st->from_now = start_revision == 0;
    st->last_rev = start_revision > 0 ? start_revision - 1 : 0;
    st->last_complete = true;
}

static void
watch_state_release(struct watch_state *st)
{
    buf_release(&st->line);
    buf_release(&st->kbuf);
    buf_release(&st->vbuf);
}

/* Prepares for a new connection; returns the start_revision to ask for
 * (0: from now). */
static int64_t
watch_state_reconnect(struct watch_state *st)
{
    buf_reset(&st->line);
    st->created = false;
    st->drop = false;
    st->reason[0] = 0;
    if (st->from_now)
        return 0;
    st->dup_budget = st->last_complete ? 0 : st->n_at_last;
    return st->last_complete ? st->last_rev + 1 : st->last_rev;
}

/* Delivers one event to the callback; false when it asked to stop. */
static bool
watch_emit(struct watch_state *st, struct etcd_watch_event *ev)
{
    ev->endpoint = st->endpoint;
    if (st->cb(st->arg, ev) != 0) {
        st->terminal = true;
        snprintf(st->reason, sizeof st->reason, "stopped by the callback");
        return false;
    }
    return true;
}

static void
watch_drop(struct watch_state *st, const char *what, const char *detail)
{
    st->drop = true;
    snprintf(st->reason, sizeof st->reason, "%s%s%s", what, detail ? ": " : "",
             detail ? detail : "");
}

/* Handles one event of a result; false when the stream must end. */
static bool
watch_event(struct watch_state *st, const json_t *e)
{
    const json_t *kv = json_object_get(e, "kv"), *type = json_object_get(e, "type");
    const json_t *k = json_object_get(kv, "key"), *v = json_object_get(kv, "value");
    struct etcd_watch_event ev = {.kind = ETCD_WATCH_PUT};
    /* proto3 omits the default PUT; deletes say "DELETE". */
    const char *tname = json_string_value(type);
    bool is_put = type == NULL || (tname != NULL && strcmp(tname, "PUT") == 0);
    if (!json_is_object(kv) || !json_is_string(k) || (v != NULL && !json_is_string(v)) ||
        !json_rev(kv, "mod_revision", &ev.mod_revision) || ev.mod_revision <= 0 ||
        !json_rev(kv, "create_revision", &ev.create_revision) ||
        (is_put && ev.create_revision <= 0) || (type != NULL && !json_is_string(type))) {
        watch_drop(st, "malformed watch event", NULL);
        return false;
    }
    /* Exactly once across reconnects: skip what was already handled. */
    if (ev.mod_revision < st->last_rev)
        return true;
    if (ev.mod_revision == st->last_rev) {
        if (st->last_complete)
            return true;
        if (st->dup_budget > 0) {
            st->dup_budget--;
            return true;
        }
        st->n_at_last++;
    } else {
        st->last_rev = ev.mod_revision;
        st->n_at_last = 1;
        st->last_complete = false;
        st->dup_budget = 0;
    }
    if (!is_put)
        return true; /* DELETE: pruning, ignored by design (§7.4) */
    bool ok = b64_decode_buf(&st->kbuf, k);
    if (v != NULL) {
        ok = ok && b64_decode_buf(&st->vbuf, v);
    } else {
        buf_reset(&st->vbuf); /* proto3 omits an empty value */
        buf_reserve(&st->vbuf, 1);
    }
    if (!ok) {
        watch_drop(st, "bad base64 in watch event", NULL);
        return false;
    }
    ev.key = (const uint8_t *)st->kbuf.p;
    ev.key_len = st->kbuf.len;
    ev.value = (const uint8_t *)st->vbuf.p;
    ev.value_len = st->vbuf.len;
    return watch_emit(st, &ev);
}

/* Handles {"result":{...}}; false when the stream must end. */
static bool
watch_result(struct watch_state *st, const json_t *r)
{
    const json_t *events = json_object_get(r, "events"), *frag = json_object_get(r, "fragment");
    int64_t hrev = 0, compact = 0;
    json_header_rev(r, &hrev);
    if (json_is_true(json_object_get(r, "created"))) {
        st->created = true;
        if (st->from_now && hrev > 0) {
            st->from_now = false;
            st->last_rev = hrev;
            st->last_complete = true;
        }
    }
    if (json_is_true(json_object_get(r, "canceled"))) {
        if (json_rev(r, "compact_revision", &compact) && compact > 0) {
            struct etcd_watch_event ev = {.kind = ETCD_WATCH_COMPACTED, .revision = compact};
            if (watch_emit(st, &ev)) {
                st->terminal = true;
                snprintf(st->reason, sizeof st->reason, "compacted at %lld", (long long)compact);
            }
            return false;
        }
        watch_drop(st, "watch canceled", json_string_value(json_object_get(r, "cancel_reason")));
        return false;
    }
    if (events != NULL && !json_is_array(events)) {
        watch_drop(st, "malformed watch result", NULL);
        return false;
    }
    for (size_t i = 0; i < json_array_size(events); i++)
        if (!watch_event(st, json_array_get(events, i)))
            return false;
    if (!json_is_true(frag))
        st->last_complete = true;
    if (json_array_size(events) == 0 && !json_is_true(json_object_get(r, "created")) && hrev > 0) {
        struct etcd_watch_event ev = {.kind = ETCD_WATCH_PROGRESS, .revision = hrev};
        return watch_emit(st, &ev);
    }
    return true;
}

/* Handles one complete line (without the '\n'); false when the stream must end. */
static bool
watch_line(struct watch_state *st, const char *p, size_t n)
{
    while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' '))
        n--;
    if (n == 0)
        return true;
    json_error_t jerr;
    json_t *root = json_loadb(p, n, 0, &jerr);
    bool ok = false;
    const json_t *r = json_object_get(root, "result");
    if (root == NULL) {
        watch_drop(st, "watch line is not JSON", jerr.text);
    } else if (json_object_get(root, "error") != NULL) {
        struct rpc_error e = {-1, ""};
        char msg[240];
        rpc_error_from_json(root, &e);
        snprintf(msg, sizeof msg, "code %d: %s", e.grpc_code, e.message);
        watch_drop(st, "watch error", msg);
    } else if (!json_is_object(r)) {
        watch_drop(st, "watch line without result", NULL);
    } else {
        ok = watch_result(st, r);
    }
    json_decref(root);
    return ok;
}

/* Feeds received bytes; complete lines are handled as they appear (a line
 * split across reads is assembled in st->line, bounded by line_max).
 * Returns false when the stream must end (st->drop or st->terminal set). */
static bool
watch_feed(struct watch_state *st, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t piece = nl ? (size_t)(nl - p) : n;
        if (piece > st->line_max || st->line.len > st->line_max - piece) {
            struct etcd_watch_event ev = {.kind = ETCD_WATCH_FAILED};
            snprintf(st->reason, sizeof st->reason, "watch line over %zu bytes", st->line_max);
            ev.reason = st->reason;
            if (watch_emit(st, &ev))
                st->terminal = true;
            return false;
        }
        bool ok = true;
        if (nl == NULL) {
            buf_add(&st->line, p, piece);
        } else if (st->line.len == 0) {
            ok = watch_line(st, p, piece); /* whole line in this read: no copy */
        } else {
            buf_add(&st->line, p, piece);
            ok = watch_line(st, st->line.p, st->line.len);
            buf_reset(&st->line);
        }
        if (!ok)
            return false;
        p += nl ? piece + 1 : piece;
        n -= nl ? piece + 1 : piece;
    }
    return true;
}

/* The stream ended: a last line without '\n' (etcd ends an error answer
 * such as "no leader" that way) is handled like any other. */
static void
watch_finish(struct watch_state *st)
{
    if (st->line.len == 0 || st->drop || st->terminal)
        return;
    watch_line(st, st->line.p, st->line.len);
    buf_reset(&st->line);
}

/* ---- watch: the thread ---- */

struct etcd_watch {
    struct etcd_client *c;
    pthread_t thread;
    bool thread_started; /* thread must be joined */
    atomic_bool stop;    /* set by etcd_watch_stop */
    CURLM *multi;        /* one transfer at a time; wakeable by stop */
    CURL *easy;
    struct curl_slist *headers;
    uint8_t *key; /* owned copies of the watched range */
    size_t key_len;
    uint8_t *range_end; /* NULL: single key */
    size_t range_end_len;
    uint64_t last_data_ns; /* monotonic time of the last bytes received */
    struct watch_state st;
};

static size_t
watch_write(char *p, size_t size, size_t nmemb, void *arg)
{
    struct etcd_watch *w = arg;
    size_t n = size * nmemb;
    w->last_data_ns = ltd_mono_ns();
    if (atomic_load(&w->stop) || !watch_feed(&w->st, p, n))
        return 0; /* ends the transfer */
    /* The silence timer measures the server, not the callbacks: a consumer
     * that blocks (back-pressure) must not make a live stream look dead. */
    w->last_data_ns = ltd_mono_ns();
    return n;
}

static void
watch_body(struct etcd_watch *w, int64_t start, struct buf *body)
{
    buf_reset(body);
    buf_adds(body, "{\"create_request\":{");
    add_b64_field(body, "key", w->key, w->key_len);
    if (w->range_end != NULL) {
        buf_addc(body, ',');
        add_b64_field(body, "range_end", w->range_end, w->range_end_len);
    }
    if (start > 0)
        buf_addf(body, ",\"start_revision\":\"%lld\"", (long long)start);
    buf_adds(body, ",\"progress_notify\":true,\"fragment\":true}}");
}

/* Runs one stream until it ends, is dropped, goes silent or stop is set. */
static void
watch_stream(struct etcd_watch *w, const struct buf *body)
{
    struct etcd_client *c = w->c;
    char url[etcd_url_bytes_max];
    snprintf(url, sizeof url, "%s/v3/watch", c->url[w->st.endpoint]);
    curl_easy_setopt(w->easy, CURLOPT_URL, url);
    curl_easy_setopt(w->easy, CURLOPT_POSTFIELDS, body->p);
    curl_easy_setopt(w->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    w->last_data_ns = ltd_mono_ns();
    curl_multi_add_handle(w->multi, w->easy);
    uint64_t live_ns = (uint64_t)c->cfg.watch_liveness_ms * 1000000u;
    for (;;) {
        int running = 0, left;
        curl_multi_perform(w->multi, &running);
        CURLMsg *m;
        while ((m = curl_multi_info_read(w->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE || w->st.drop || w->st.terminal)
                continue;
            if (m->data.result == CURLE_OK)
                watch_finish(&w->st);
            if (w->st.drop || w->st.terminal)
                continue;
            long http = 0;
            curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &http);
            char d[160];
            snprintf(d, sizeof d, "HTTP %ld, %s", http, curl_easy_strerror(m->data.result));
            watch_drop(&w->st, "stream closed", d);
        }
        if (running == 0 || w->st.drop || w->st.terminal || atomic_load(&w->stop))
            break;
        uint64_t idle = ltd_mono_ns() - w->last_data_ns;
        if (idle > live_ns) {
            char d[64];
            snprintf(d, sizeof d, "%u ms without data", c->cfg.watch_liveness_ms);
            watch_drop(&w->st, "watch silent", d);
            break;
        }
        uint64_t wait_ms = (live_ns - idle) / 1000000u + 1;
        curl_multi_poll(w->multi, NULL, 0, wait_ms > 1000 ? 1000 : (int)wait_ms, NULL);
    }
    curl_multi_remove_handle(w->multi, w->easy);
    if (!w->st.drop && !w->st.terminal)
        watch_drop(&w->st, "stream ended", NULL);
}

/* Pauses ms milliseconds or until stop. */
static void
watch_pause(struct etcd_watch *w, unsigned ms)
{
    uint64_t end = ltd_mono_ns() + (uint64_t)ms * 1000000u;
    while (!atomic_load(&w->stop)) {
        uint64_t now = ltd_mono_ns();
        if (now >= end)
            break;
        curl_multi_poll(w->multi, NULL, 0, (int)((end - now) / 1000000u) + 1, NULL);
    }
}

static void *
watch_main(void *arg)
{
    struct etcd_watch *w = arg;
    struct etcd_client *c = w->c;
    struct buf body;
    buf_init(&body);
    unsigned fails = 0;
    w->st.endpoint = atomic_load(&c->preferred) % c->n_url;
    while (!atomic_load(&w->stop) && !w->st.terminal) {
        int64_t start = watch_state_reconnect(&w->st);
        watch_body(w, start, &body);
        watch_stream(w, &body);
        if (atomic_load(&w->stop) || w->st.terminal)
            break;
        fails = w->st.created ? 0 : fails + 1;
        struct etcd_watch_event ev = {.kind = ETCD_WATCH_DISCONNECTED, .reason = w->st.reason};
        ev.revision = w->st.from_now        ? 0
                      : w->st.last_complete ? w->st.last_rev + 1
                                            : w->st.last_rev;
        if (!watch_emit(&w->st, &ev))
            break;
        w->st.endpoint = (w->st.endpoint + 1) % c->n_url;
        /* A full round of members without a working stream: back off. */
        if (fails >= c->n_url) {
            size_t shift = fails - c->n_url < 5 ? fails - c->n_url : 5;
            unsigned ms = 100u << shift;
            watch_pause(w, ms < etcd_watch_backoff_ms_max ? ms : etcd_watch_backoff_ms_max);
        }
    }
    buf_release(&body);
    return NULL;
}

enum ltd_err
etcd_watch_start(struct etcd_client *c, const void *key, size_t key_len, const void *range_end,
                 size_t range_end_len, int64_t start_revision, etcd_watch_cb cb, void *arg,
                 struct etcd_watch **out, struct ltd_errbuf *eb)
{
    *out = NULL;
    if (!key_ok(key, key_len) || (range_end != NULL && !key_ok(range_end, range_end_len)) ||
        start_revision < 0 || cb == NULL)
        return ltd_fail(eb, LTD_E_USAGE, "etcd watch: bad key, range or revision");
    struct etcd_watch *w = xcalloc(1, sizeof *w);
    w->c = c;
    atomic_init(&w->stop, false);
    w->key = (uint8_t *)xmemdup(key, key_len);
    w->key_len = key_len;
    if (range_end != NULL) {
        w->range_end = (uint8_t *)xmemdup(range_end, range_end_len);
        w->range_end_len = range_end_len;
    }
    watch_state_init(&w->st, cb, arg, c->cfg.watch_line_bytes_max, start_revision);
    w->multi = curl_multi_init();
    w->easy = curl_easy_init();
    LTD_ASSERT(w->multi != NULL);
    LTD_ASSERT(w->easy != NULL);
    w->headers = curl_slist_append(NULL, "Grpc-Metadata-hasleader: true");
    w->headers = curl_slist_append(w->headers, "Content-Type: application/json");
    w->headers = curl_slist_append(w->headers, "Expect:");
    LTD_ASSERT(w->headers != NULL);
    curl_easy_setopt(w->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(w->easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(w->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(w->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)c->cfg.connect_timeout_ms);
    curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->headers);
    curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, watch_write);
    curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(w->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    atomic_fetch_add(&c->watches, 1);
    int e = pthread_create(&w->thread, NULL, watch_main, w);
    if (e != 0) {
        atomic_fetch_sub(&c->watches, 1);
        etcd_watch_stop(w);
        return ltd_fail(eb, LTD_E_IO, "etcd watch: thread: %s", strerror(e));
    }
    w->thread_started = true;
    *out = w;
    return LTD_OK;
}

void
etcd_watch_stop(struct etcd_watch *w)
{
    if (w == NULL)
        return;
    atomic_store(&w->stop, true);
    if (w->thread_started) {
        LTD_ASSERT(!pthread_equal(w->thread, pthread_self())); /* not from the callback */
        curl_multi_wakeup(w->multi);
        pthread_join(w->thread, NULL);
        atomic_fetch_sub(&w->c->watches, 1);
    }
    curl_multi_cleanup(w->multi);
    curl_easy_cleanup(w->easy);
    curl_slist_free_all(w->headers);
    watch_state_release(&w->st);
    free(w->key);
    free(w->range_end);
    free(w);
}
