/*
 * http.c - the HTTP server layer declared in http.h, on libmicrohttpd 0.9.75
 * (epoll, internal thread pool, suspend/resume, upgrade).
 *
 * How a request flows: the URI-log hook (called once per request, before
 * MHD parses anything) allocates the request context inside a fresh arena
 * and keeps the raw request-target; the access handler runs three phases -
 * headers (framing checks, target parsing, routing, 404/405/413/503
 * decisions), body (counted into the arena; past the limit discarded and
 * answered 413, see refuse_declared_body), and dispatch (handler, then
 * response or suspension); the completion hook releases the arena, the
 * only place it is freed.
 *
 * Deferred requests live in a fixed table of slots (config.deferred_max)
 * addressed by index + generation, so a stale handle can never touch a
 * reused slot.  A reaper thread ends deferrals whose deadline passed or
 * whose client hung up (poll for POLLRDHUP on the suspended socket; MHD
 * itself does not watch suspended sockets).
 *
 * WebSocket subscribers are served by one thread with its own epoll set;
 * broadcasters queue one shared, reference-counted frame per subscriber and
 * try a non-blocking send; a subscriber whose queue would overflow is
 * dropped, never waited for.
 *
 * Not here: JSON parsing, BigchainDB semantics, TLS.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum {
    http_threads_max = 64,             /* worker threads */
    http_conn_slack_min = 16,          /* extra connections accepted only to answer 503 */
    http_reaper_tick_ms = 50,          /* deferral timeout / hang-up detection period */
    http_stop_wait_ms = 2000,          /* http_stop: wait for resumed deferrals */
    http_static_path_bytes_max = 1024, /* relative path given to http_send_file */
    http_body_chunk_min = 4096,        /* first allocation for a body of unknown size */
    http_ws_reads_max = 16,            /* recv() calls per readiness event (fairness) */
    http_log_bytes_max = 512,          /* one log line */
};

static const char json_type[] = "application/json";
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* ---------------------------------------------------------------------- */
/* types                                                                  */
/* ---------------------------------------------------------------------- */

enum defer_state {
    DEFER_FREE,      /* on the free list */
    DEFER_PENDING,   /* handler still running; result may already be stored */
    DEFER_SUSPENDED, /* connection suspended, waiting for a result */
    DEFER_RESUMED,   /* result stored, resume called, worker not yet run */
    DEFER_CONSUMED,  /* worker took the result; freed by the completion hook */
};

struct defer_slot {
    uint32_t gen;       /* bumped when the slot is freed */
    uint32_t next_free; /* free-list link */
    enum defer_state state;
    bool has_result;             /* result fields below are set */
    bool gone;                   /* client hung up: close, do not answer */
    bool is_err;                 /* result is err + body as detail */
    struct MHD_Connection *conn; /* borrowed while suspended */
    int fd;                      /* the connection's socket, for hang-up polling */
    uint64_t deadline_ns;        /* monotonic */
    int status;
    enum ltd_err err;
    char content_type[http_content_type_bytes_max];
    char *body; /* owned (xmalloc), NUL-terminated; detail when is_err */
    size_t body_len;
};

struct ws_msg {
    atomic_uint refs;
    size_t len;
    unsigned char data[]; /* a complete frame, header included */
};

struct ws_sub {
    struct ws_sub *next, *prev;
    int fd;                                /* borrowed from MHD; closed by it */
    struct MHD_UpgradeResponseHandle *urh; /* CLOSE exactly once, when reaped */
    const char *pattern;                   /* the route pattern (borrowed) */
    struct ws_msg **q;                     /* ring of http_ws_queue_frames_max */
    unsigned q_head, q_len;
    size_t q_off;   /* bytes of q[q_head] already sent */
    size_t q_bytes; /* bytes of all queued frames */
    bool dead;      /* to be reaped by the WebSocket thread */
    bool closing;   /* close frame queued: reap once flushed */
    bool want_out;  /* EPOLLOUT registered */
    /* incremental frame parser */
    unsigned char hdr[14];
    unsigned hdr_len;
    bool in_payload;
    uint8_t op;
    uint8_t mask[4];
    uint64_t left; /* payload bytes still to come */
    uint64_t pos;  /* payload bytes seen (mask index) */
    unsigned char ctrl[http_ws_control_bytes_max];
    unsigned ctrl_len;
};

struct http_server {
    struct http_config cfg;
    const struct http_route *routes;
    size_t n_routes;
    void *app;
    struct MHD_Daemon *d;
    uint16_t port;
    char over_marker; /* its address tags connections over connections_max */

    _Atomic uint64_t next_id, requests, s4xx, s5xx, conns, deferred_open, deferred_expired,
        deferred_gone, ws_slots, ws_subs, ws_dropped;
    atomic_bool stopping;

    /* deferred requests */
    pthread_mutex_t dmu;
    pthread_cond_t dcond;
    struct defer_slot *slots;
    uint32_t free_head;
    uint32_t n_suspended;
    uint32_t n_resumed;
    struct pollfd *pfd; /* reaper scratch, deferred_max entries each */
    uint32_t *pslot;
    uint32_t *pgen;
    struct MHD_Connection **resume;
    pthread_t reaper;
    bool reaper_started, reaper_stop;

    /* WebSocket subscribers */
    pthread_mutex_t wmu;
    struct ws_sub *subs;
    int ep, evfd;
    pthread_t ws_thread;
    bool ws_started, ws_stop;
};

enum ctx_phase { PH_HEADERS, PH_BODY, PH_SUSPENDED, PH_DONE };

/* The per-request context; lives at the start of its own arena. */
struct http_ctx {
    struct http_req req;
    struct http_resp resp;
    struct http_server *srv;
    struct MHD_Connection *conn;
    enum ctx_phase phase;
    bool cors;        /* add Access-Control-Allow-Origin */
    bool decided;     /* resp already holds the answer (error, preflight) */
    bool chunked;     /* chunked upload */
    bool has_clen;    /* Content-Length given */
    bool has_body;    /* a body follows the headers */
    bool ws_reserved; /* holds one ws_subs reservation */
    bool url_long;    /* request-target longer than url_bytes_max */
    uint64_t clen;
    size_t drained;   /* body bytes discarded after the limit was exceeded */
    size_t drain_max; /* ... and how many may be, before the connection is closed */
    char *body;
    size_t body_len, body_cap;
    int32_t slot; /* deferral slot, -1 if none */
    uint32_t gen;
    unsigned defer_ms;
    const char *version;
};

/* ---------------------------------------------------------------------- */
/* logging: one line per event, warn and error only                       */
/* ---------------------------------------------------------------------- */

static void http_log(const struct http_server *srv, bool error, uint64_t rid, const char *fmt, ...)
    LTD_PRINTF(4, 5);

static void
http_log(const struct http_server *srv, bool error, uint64_t rid, const char *fmt, ...)
{
    if (!error && srv != NULL && srv->cfg.quiet)
        return;
    char line[http_log_bytes_max];
    int n = snprintf(line, sizeof line, "ltdrs: %s http req=%llu ", error ? "error" : "warn",
                     (unsigned long long)rid);
    LTD_ASSERT(n > 0 && (size_t)n < sizeof line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}

static uint64_t
mono_ms(void)
{
    return ltd_mono_ns() / 1000000u;
}

/* ---------------------------------------------------------------------- */
/* pure helpers: target parsing, routing, static paths, escaping          */
/* ---------------------------------------------------------------------- */

static int
hexdig(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Strictly decodes the path t[0..n) into out (n + 1 bytes). */
static enum ltd_err
path_decode(const char *t, size_t n, char *out, size_t *out_len, struct ltd_errbuf *eb)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)t[i];
        if (ch <= 0x20 || ch == 0x7f || ch == '#')
            return ltd_fail(eb, LTD_E_HTTP_BAD_REQUEST, "invalid byte 0x%02x in path", ch);
        if (ch == '%') {
            int hi = i + 2 < n ? hexdig((unsigned char)t[i + 1]) : -1;
            int lo = i + 2 < n ? hexdig((unsigned char)t[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return ltd_fail(eb, LTD_E_HTTP_BAD_REQUEST, "bad percent-escape in path");
            ch = (unsigned char)(hi << 4 | lo);
            if (ch < 0x20 || ch == 0x7f)
                return ltd_fail(eb, LTD_E_HTTP_BAD_REQUEST, "encoded control byte in path");
            i += 2;
        }
        out[o++] = (char)ch;
    }
    out[o] = 0;
    *out_len = o;
    /* Dot segments would let "/static/%2e%2e/x" climb; nobody needs them. */
    for (size_t i = 0; i < o;) {
        size_t j = i + 1;
        while (j < o && out[j] != '/')
            j++;
        size_t sl = j - i - 1;
        if ((sl == 1 && out[i + 1] == '.') || (sl == 2 && out[i + 1] == '.' && out[i + 2] == '.'))
            return ltd_fail(eb, LTD_E_HTTP_BAD_REQUEST, "dot segment in path");
        i = j;
    }
    return LTD_OK;
}

/* Leniently decodes a query component (werkzeug: '+' is space, a bad escape
 * stays literal).  Returns bytes written, or SIZE_MAX on a decoded NUL. */
static size_t
query_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%' && i + 2 < n) {
            int hi = hexdig((unsigned char)s[i + 1]);
            int lo = hexdig((unsigned char)s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                ch = (char)(hi << 4 | lo);
                if (ch == 0)
                    return SIZE_MAX;
                i += 2;
            }
        }
        out[o++] = ch;
    }
    out[o] = 0;
    return o;
}

static enum ltd_err
query_parse(struct arena *a, const char *q, size_t n, const struct http_kv **args, size_t *n_args,
            struct ltd_errbuf *eb)
{
    size_t count = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && q[j] != '&')
            j++;
        if (j > i)
            count++;
        i = j + 1;
    }
    if (count == 0)
        return LTD_OK;
    if (count > http_args_max)
        return ltd_fail(eb, LTD_E_HTTP_BAD_ARG, "more than %d query arguments", http_args_max);
    struct http_kv *kv = arena_alloc(a, count * sizeof *kv);
    char *out = arena_alloc(a, n + 2 * count);
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && q[j] != '&')
            j++;
        if (j > i) {
            const char *eq = memchr(q + i, '=', j - i);
            size_t nl = eq ? (size_t)(eq - (q + i)) : j - i;
            size_t name_n = query_decode(q + i, nl, out);
            if (name_n == SIZE_MAX)
                return ltd_fail(eb, LTD_E_HTTP_BAD_ARG, "NUL in query argument name");
            kv[k].name = out;
            out += name_n + 1;
            size_t vl = eq ? j - i - nl - 1 : 0;
            size_t val_n = query_decode(eq ? eq + 1 : q + j, vl, out);
            if (val_n == SIZE_MAX)
                return ltd_fail(eb, LTD_E_HTTP_BAD_ARG, "NUL in query argument '%s'", kv[k].name);
            kv[k].value = out;
            kv[k].value_len = val_n;
            out += val_n + 1;
            k++;
        }
        i = j + 1;
    }
    LTD_ASSERT(k == count);
    *args = kv;
    *n_args = count;
    return LTD_OK;
}

enum ltd_err
http_parse_target(struct arena *a, const char *target, size_t n, const char **path,
                  size_t *path_len, const struct http_kv **args, size_t *n_args,
                  struct ltd_errbuf *eb)
{
    *path = NULL;
    *path_len = 0;
    *args = NULL;
    *n_args = 0;
    if (n == 0 || target[0] != '/')
        return ltd_fail(eb, LTD_E_HTTP_BAD_REQUEST, "request-target must start with '/'");
    const char *qm = memchr(target, '?', n);
    size_t pn = qm ? (size_t)(qm - target) : n;
    char *p = arena_alloc(a, pn + 1);
    size_t plen = 0;
    enum ltd_err e = path_decode(target, pn, p, &plen, eb);
    if (e != LTD_OK)
        return e;
    if (qm) {
        for (size_t i = pn + 1; i < n; i++) {
            unsigned char ch = (unsigned char)target[i];
            if (ch <= 0x20 || ch == 0x7f || ch == '#')
                return ltd_fail(eb, LTD_E_HTTP_BAD_REQUEST, "invalid byte 0x%02x in query", ch);
        }
        e = query_parse(a, qm + 1, n - pn - 1, args, n_args, eb);
        if (e != LTD_OK) {
            *args = NULL;
            *n_args = 0;
            return e;
        }
    }
    *path = p;
    *path_len = plen;
    return LTD_OK;
}

static bool
is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static enum ltd_err
route_check_one(const struct http_route *r, size_t i, struct ltd_errbuf *eb)
{
    unsigned m = (unsigned)r->method;
    if (m == 0 || (m & (m - 1)) != 0 || m >= HTTP_OTHER)
        return ltd_fail(eb, LTD_E_USAGE, "route %zu: method must be one HTTP_* bit", i);
    const char *p = r->pattern;
    if (p == NULL || p[0] != '/' || strlen(p) >= http_pattern_bytes_max)
        return ltd_fail(eb, LTD_E_USAGE, "route %zu: pattern must start with '/'", i);
    if ((r->flags & HTTP_ROUTE_WEBSOCKET) ? r->method != HTTP_GET : r->fn == NULL)
        return ltd_fail(eb, LTD_E_USAGE, "route %zu: needs fn (websocket: GET only)", i);
    size_t params = 0;
    for (const char *s = p + 1;;) {
        const char *e = strchr(s, '/');
        size_t sl = e ? (size_t)(e - s) : strlen(s);
        if (sl == 1 && s[0] == '*') {
            if (e != NULL)
                return ltd_fail(eb, LTD_E_USAGE, "route %zu: '*' must be last", i);
        } else if (sl > 0 && s[0] == '{') {
            size_t nl = sl >= 7 && memcmp(s + sl - 6, ":uint}", 6) == 0 ? sl - 7 : sl - 2;
            if (sl < 3 || nl == 0 || s[sl - 1] != '}' || ++params > http_params_max)
                return ltd_fail(eb, LTD_E_USAGE, "route %zu: bad {param}", i);
            for (size_t k = 1; k <= nl; k++)
                if (!(s[k] == '_' || (s[k] >= 'a' && s[k] <= 'z') || (s[k] >= '0' && s[k] <= '9')))
                    return ltd_fail(eb, LTD_E_USAGE, "route %zu: bad {param} name", i);
        } else {
            for (size_t k = 0; k < sl; k++) {
                unsigned char c = (unsigned char)s[k];
                if (c <= 0x20 || c >= 0x7f || strchr("%?#{}*\\", c))
                    return ltd_fail(eb, LTD_E_USAGE, "route %zu: bad literal segment", i);
            }
            if (sl == 0 && e != NULL)
                return ltd_fail(eb, LTD_E_USAGE, "route %zu: empty segment", i);
        }
        if (e == NULL)
            break;
        s = e + 1;
    }
    return LTD_OK;
}

enum ltd_err
http_routes_check(const struct http_route *routes, size_t n, struct ltd_errbuf *eb)
{
    if (n == 0 || n > http_routes_max)
        return ltd_fail(eb, LTD_E_USAGE, "route table must have 1..%d rows", http_routes_max);
    for (size_t i = 0; i < n; i++) {
        enum ltd_err e = route_check_one(&routes[i], i, eb);
        if (e != LTD_OK)
            return e;
    }
    return LTD_OK;
}

/* Matches one (checked) pattern against a decoded path.  With params set,
 * captures the values into the arena. */
static bool
pattern_match(const char *pat, const char *path, size_t plen, struct arena *a,
              struct http_kv *params, size_t *np)
{
    size_t patlen = strlen(pat);
    const char *pe = pat + patlen, *se = path + plen, *full = path + plen;
    if (patlen > 1 && pe[-1] == '/')
        pe--;
    if (plen > 1 && se[-1] == '/' && se[-2] != '/')
        se--;
    const char *pp = pat + 1, *sp = path + 1;
    bool exhausted = plen == 0;
    for (;;) {
        const char *pq = memchr(pp, '/', (size_t)(pe - pp));
        pq = pq ? pq : pe;
        size_t pl = (size_t)(pq - pp);
        if (pl == 1 && pp[0] == '*') {
            if (params) {
                const char *rest = exhausted ? (se < full ? se + 1 : full) : sp;
                params[*np].name = "*";
                params[*np].value = arena_memdup(a, rest, (size_t)(full - rest));
                params[*np].value_len = (size_t)(full - rest);
                (*np)++;
            }
            return true;
        }
        if (exhausted)
            return false;
        const char *sq = memchr(sp, '/', (size_t)(se - sp));
        sq = sq ? sq : se;
        size_t sl = (size_t)(sq - sp);
        if (pl >= 3 && pp[0] == '{') {
            bool uint = pl >= 7 && memcmp(pq - 6, ":uint}", 6) == 0;
            if (sl == 0 || (uint && sl > 20))
                return false;
            for (size_t k = 0; uint && k < sl; k++)
                if (sp[k] < '0' || sp[k] > '9')
                    return false;
            if (params) {
                params[*np].name = arena_memdup(a, pp + 1, uint ? pl - 7 : pl - 2);
                params[*np].value = arena_memdup(a, sp, sl);
                params[*np].value_len = sl;
                (*np)++;
            }
        } else if (pl != sl || memcmp(pp, sp, pl) != 0) {
            return false;
        }
        if (pq == pe)
            return sq == se;
        pp = pq + 1;
        if (sq == se)
            exhausted = true;
        else
            sp = sq + 1;
    }
}

static const struct http_route *
route_find(const struct http_route *routes, size_t n, enum http_method m, const char *path,
           size_t len, unsigned *allow, const struct http_route **any)
{
    const struct http_route *win = NULL, *get_row = NULL;
    *allow = 0;
    *any = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct http_route *r = &routes[i];
        if (!pattern_match(r->pattern, path, len, NULL, NULL, NULL))
            continue;
        if (*any == NULL)
            *any = r;
        *allow |= (unsigned)r->method | (r->method == HTTP_GET ? HTTP_HEAD : 0u);
        if (r->method == m) {
            win = r;
            break;
        }
        if (r->method == HTTP_GET && get_row == NULL)
            get_row = r;
    }
    if (win == NULL && m == HTTP_HEAD)
        win = get_row; /* no explicit HEAD row matched: serve HEAD from GET */
    if (*allow)
        *allow |= HTTP_OPTIONS;
    return win;
}

const struct http_route *
http_route_find(const struct http_route *routes, size_t n, enum http_method m, const char *path,
                size_t len, struct arena *a, const struct http_kv **params, size_t *n_params,
                unsigned *allow)
{
    const struct http_route *any;
    *params = NULL;
    *n_params = 0;
    const struct http_route *r = route_find(routes, n, m, path, len, allow, &any);
    if (r == NULL)
        return NULL;
    struct http_kv *kv = arena_alloc(a, (http_params_max + 1) * sizeof *kv);
    size_t np = 0;
    bool ok = pattern_match(r->pattern, path, len, a, kv, &np);
    LTD_ASSERT(ok);
    LTD_ASSERT(np <= http_params_max + 1);
    *params = kv;
    *n_params = np;
    return r;
}

bool
http_static_path_ok(const char *rel)
{
    size_t n = strlen(rel);
    if (n > http_static_path_bytes_max || rel[0] == '/')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)rel[i];
        if (c < 0x20 || c == 0x7f || c == '\\' || c == '%' || c == ':')
            return false;
        /* Each segment: not empty (except a final one), no leading dot. */
        if (i == 0 || rel[i - 1] == '/') {
            if (c == '.' || (c == '/' && i > 0))
                return false;
        }
    }
    return true;
}

struct mime_row {
    const char *ext;
    const char *type;
};

static const struct mime_row mime_table[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"wasm", "application/wasm"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"pdf", "application/pdf"},
};

const char *
http_mime_type(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash : name, '.');
    if (dot != NULL)
        for (size_t i = 0; i < ARRAY_LEN(mime_table); i++)
            if (strcasecmp(dot + 1, mime_table[i].ext) == 0)
                return mime_table[i].type;
    return "application/octet-stream";
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

void
http_json_escape(struct buf *out, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\')
            run++;
        buf_add(out, s + i, run - i);
        i = run;
        if (i == n)
            break;
        unsigned char c = s[i];
        if (c >= 0x80) {
            size_t l = utf8_seq(s + i, n - i);
            if (l == 0) {
                buf_adds(out, "\\ufffd");
                i++;
            } else {
                buf_add(out, s + i, l);
                i += l;
            }
            continue;
        }
        static const char short_esc[] = "btnvfr";
        if (c == '"' || c == '\\') {
            buf_addc(out, '\\');
            buf_addc(out, (char)c);
        } else if (c >= 8 && c <= 13 && c != 11) {
            buf_addc(out, '\\');
            buf_addc(out, short_esc[c - 8]);
        } else {
            buf_addf(out, "\\u%04x", c);
        }
        i++;
    }
}

enum ltd_err
http_listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len, struct ltd_errbuf *eb)
{
    memset(ss, 0, sizeof *ss);
    *len = 0;
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s)
        return ltd_fail(eb, LTD_E_USAGE, "listen address '%s' is not host:port", s);
    size_t digits = strlen(colon + 1);
    unsigned long port = 0;
    if (digits == 0 || digits > 5)
        return ltd_fail(eb, LTD_E_USAGE, "listen address '%s': bad port", s);
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return ltd_fail(eb, LTD_E_USAGE, "listen address '%s': bad port", s);
        port = port * 10 + (unsigned long)(*p - '0');
    }
    if (port > 65535)
        return ltd_fail(eb, LTD_E_USAGE, "listen address '%s': port > 65535", s);
    char host[64];
    size_t hl = (size_t)(colon - s);
    if (hl >= sizeof host)
        return ltd_fail(eb, LTD_E_USAGE, "listen address '%s': host too long", s);
    memcpy(host, s, hl);
    host[hl] = 0;
    if (host[0] == '[') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        if (hl < 3 || host[hl - 1] != ']')
            return ltd_fail(eb, LTD_E_USAGE, "listen address '%s': bad [v6] host", s);
        host[hl - 1] = 0;
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            return ltd_fail(eb, LTD_E_USAGE, "listen address '%s': bad IPv6 host", s);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
        return LTD_OK;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    const char *h4 = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    if (inet_pton(AF_INET, h4, &a4->sin_addr) != 1)
        return ltd_fail(eb, LTD_E_USAGE, "listen address '%s': bad IPv4 host", s);
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof *a4;
    return LTD_OK;
}

static void
base64_encode(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = 0;
}

void
http_ws_accept_key(const char *key, char out[29])
{
    char in[128];
    int n = snprintf(in, sizeof in, "%s%s", key, ws_guid);
    LTD_ASSERT(n > 0 && (size_t)n < sizeof in);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int ok = EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL);
    LTD_ASSERT(ok == 1 && mdlen == 20);
    base64_encode(md, 20, out);
}

/* ---------------------------------------------------------------------- */
/* request accessors and response builders                                */
/* ---------------------------------------------------------------------- */

const char *
http_query(const struct http_req *req, const char *name)
{
    for (size_t i = 0; i < req->n_args; i++)
        if (strcmp(req->args[i].name, name) == 0)
            return req->args[i].value;
    return NULL;
}

size_t
http_query_unknown(const struct http_req *req, const char *const *allowed, size_t n_allowed,
                   struct buf *out)
{
    size_t unknown = 0;
    for (size_t i = 0; i < req->n_args; i++) {
        const char *name = req->args[i].name;
        bool known = false, seen = false;
        for (size_t k = 0; k < n_allowed && !known; k++)
            known = strcmp(allowed[k], name) == 0;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(req->args[k].name, name) == 0;
        if (known || seen)
            continue;
        if (unknown++)
            buf_adds(out, ", ");
        buf_adds(out, name);
    }
    return unknown;
}

const char *
http_param(const struct http_req *req, const char *name)
{
    for (size_t i = 0; i < req->n_params; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    return NULL;
}

const char *
http_header(const struct http_req *req, const char *name)
{
    const struct http_ctx *c = req->priv_;
    return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
}

const char *
http_client_addr(struct http_req *req)
{
    const struct http_ctx *c = req->priv_;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char *out = arena_alloc(&req->arena, INET6_ADDRSTRLEN);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    const void *src = NULL;
    if (sa && sa->sa_family == AF_INET)
        src = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa && sa->sa_family == AF_INET6)
        src = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (src == NULL || inet_ntop(sa->sa_family, src, out, INET6_ADDRSTRLEN) == NULL)
        memcpy(out, "?", 2);
    return out;
}

static struct arena *
resp_arena(struct http_resp *resp)
{
    struct http_ctx *c = resp->priv_;
    return &c->req.arena;
}

enum ltd_err
http_resp_header(struct http_resp *resp, const char *name, const char *value)
{
    if (name[0] == 0)
        return LTD_E_USAGE;
    for (const char *p = name; *p; p++)
        if (!is_tchar((unsigned char)*p))
            return LTD_E_USAGE;
    for (const char *p = value; *p; p++)
        if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
            return LTD_E_USAGE;
    struct arena *a = resp_arena(resp);
    struct http_header *h = arena_alloc(a, sizeof *h);
    h->name = arena_memdup(a, name, strlen(name));
    h->value = arena_memdup(a, value, strlen(value));
    struct http_header **tail = &resp->headers;
    while (*tail)
        tail = &(*tail)->next;
    *tail = h;
    return LTD_OK;
}

/* Drops body and file of the response (keeps headers and close). */
static void
resp_clear_body(struct http_resp *resp)
{
    buf_reset(&resp->body);
    if (resp->fd_ >= 0)
        close(resp->fd_);
    resp->fd_ = -1;
    resp->fd_size_ = 0;
    resp->content_type = NULL;
}

void
http_reply_json(struct http_resp *resp, int status, const char *json)
{
    resp_clear_body(resp);
    resp->status = status;
    buf_adds(&resp->body, json);
}

void
http_reply_error_bdb(struct http_resp *resp, int status, const char *message)
{
    resp_clear_body(resp);
    resp->status = status;
    buf_adds(&resp->body, "{\"message\":\"");
    http_json_escape(&resp->body, message, strlen(message));
    buf_addf(&resp->body, "\",\"status\":%d}\n", status);
}

void
http_reply_error(struct http_resp *resp, enum ltd_err code, const char *detail)
{
    resp_clear_body(resp);
    resp->status = ltd_err_http(code);
    const char *hint = ltd_err_hint(code);
    struct buf *b = &resp->body;
    buf_addf(b, "{\"code\":%d,\"error\":\"", (int)code);
    http_json_escape(b, ltd_err_name(code), strlen(ltd_err_name(code)));
    buf_adds(b, "\",\"hint\":\"");
    http_json_escape(b, hint, strlen(hint));
    buf_adds(b, "\",\"message\":\"");
    const char *msg = detail ? detail : hint;
    http_json_escape(b, msg, strlen(msg));
    buf_adds(b, "\"}");
}

/* An error decided by the layer itself, rendered by config.error_fn. */
static void
layer_error(struct http_ctx *c, enum ltd_err code, const char *detail)
{
    struct http_server *srv = c->srv;
    resp_clear_body(&c->resp);
    c->resp.headers = NULL;
    c->resp.status = 0;
    if (srv->cfg.error_fn)
        srv->cfg.error_fn(srv->app, &c->req, &c->resp, code, detail);
    else
        http_reply_error(&c->resp, code, detail);
    if (c->resp.status == 0)
        c->resp.status = ltd_err_http(code);
}

static bool
add_header(struct MHD_Response *mr, const char *name, const char *value)
{
    return MHD_add_response_header(mr, name, value) == MHD_YES;
}

/* Hands c->resp to MHD.  The one place responses are queued. */
static enum MHD_Result
queue_resp(struct http_ctx *c)
{
    struct http_server *srv = c->srv;
    struct http_resp *r = &c->resp;
    int status = r->status ? r->status : 200;
    LTD_ASSERT(status >= 200 && status <= 599); /* a handler setting 1xx is a bug */
    struct MHD_Response *mr;
    if (r->fd_ >= 0) {
        mr = MHD_create_response_from_fd64(r->fd_size_, r->fd_);
        if (mr)
            r->fd_ = -1; /* MHD closes it now */
    } else if (r->body.len) {
        size_t len;
        char *p = buf_detach(&r->body, &len);
        mr = MHD_create_response_from_buffer_with_free_callback(len, p, free);
        if (mr == NULL)
            free(p);
    } else {
        mr = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    c->phase = PH_DONE;
    if (mr == NULL) {
        http_log(srv, true, c->req.id, "create response failed");
        return MHD_NO;
    }
    bool ok =
        add_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type ? r->content_type : json_type);
    if (c->cors)
        ok = ok && add_header(mr, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    for (const struct http_header *h = r->headers; h && ok; h = h->next)
        ok = add_header(mr, h->name, h->value);
    if (r->close)
        ok = ok && add_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = ok ? MHD_queue_response(c->conn, (unsigned)status, mr) : MHD_NO;
    MHD_destroy_response(mr);
    atomic_fetch_add_explicit(&srv->requests, 1, memory_order_relaxed);
    if (status >= 500)
        atomic_fetch_add_explicit(&srv->s5xx, 1, memory_order_relaxed);
    else if (status >= 400)
        atomic_fetch_add_explicit(&srv->s4xx, 1, memory_order_relaxed);
    if (ret != MHD_YES)
        http_log(srv, false, c->req.id, "queue response %d failed", status);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* static files                                                           */
/* ---------------------------------------------------------------------- */

/* Opens rel below dirfd without following any symlink (kernels without
 * openat2). */
static int
open_walk(int dirfd, const char *rel)
{
    char seg[256];
    int cur = dirfd;
    for (const char *s = rel;;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n >= sizeof seg) {
            errno = ENAMETOOLONG;
            break;
        }
        memcpy(seg, s, n);
        seg[n] = 0;
        int flags = e ? O_PATH | O_DIRECTORY : O_RDONLY | O_NONBLOCK | O_NOCTTY;
        int fd = openat(cur, seg, flags | O_NOFOLLOW | O_CLOEXEC);
        if (cur != dirfd)
            close(cur);
        if (fd < 0 || e == NULL)
            return fd;
        cur = fd;
        s = e + 1;
    }
    if (cur != dirfd)
        close(cur);
    return -1;
}

static int
open_beneath(const char *root, const char *rel)
{
    int dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return -1;
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
    if (fd < 0 && errno == ENOSYS)
        fd = open_walk(dirfd, rel);
    int saved = errno;
    close(dirfd);
    errno = saved;
    return fd;
}

enum ltd_err
http_send_file(struct http_resp *resp, const char *root_dir, const char *relpath)
{
    struct http_ctx *c = resp->priv_;
    if (!http_static_path_ok(relpath)) {
        layer_error(c, LTD_E_HTTP_NOT_FOUND, "no such file");
        return LTD_E_NOT_FOUND;
    }
    size_t n = strlen(relpath);
    bool index = n == 0 || relpath[n - 1] == '/';
    char *rel = arena_alloc(resp_arena(resp), n + sizeof "index.html");
    memcpy(rel, relpath, n);
    if (index)
        memcpy(rel + n, "index.html", sizeof "index.html");
    int fd = open_beneath(root_dir, rel);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        layer_error(c, LTD_E_HTTP_NOT_FOUND, "no such file");
        return LTD_E_NOT_FOUND;
    }
    char etag[80];
    snprintf(etag, sizeof etag, "W/\"%llx-%llx-%lx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
    resp_clear_body(resp);
    const char *type = http_mime_type(rel);
    const char *inm = http_header(&c->req, "If-None-Match");
    (void)http_resp_header(resp, "ETag", etag);
    (void)http_resp_header(resp, "Cache-Control",
                           strncmp(type, "text/html", 9) == 0 ? "no-cache"
                                                              : "public, max-age=3600");
    (void)http_resp_header(resp, "X-Content-Type-Options", "nosniff");
    resp->content_type = type;
    if (inm && (strcmp(inm, etag) == 0 || strcmp(inm, "*") == 0)) {
        close(fd);
        resp->status = 304;
        return LTD_OK;
    }
    resp->status = 200;
    resp->fd_ = fd;
    resp->fd_size_ = (uint64_t)st.st_size;
    return LTD_OK;
}

/* ---------------------------------------------------------------------- */
/* deferred responses                                                     */
/* ---------------------------------------------------------------------- */

/* The taken-over result of a deferral (moved out of the slot). */
struct defer_result {
    bool gone, is_err;
    int status;
    enum ltd_err err;
    char content_type[http_content_type_bytes_max];
    char *body;
    size_t body_len;
};

/* Moves the result out of s (caller holds dmu). */
static void
defer_take(struct http_server *srv, struct defer_slot *s, struct defer_result *out)
{
    LTD_ASSERT(s->has_result);
    out->gone = s->gone;
    out->is_err = s->is_err;
    out->status = s->status;
    out->err = s->err;
    memcpy(out->content_type, s->content_type, sizeof out->content_type);
    out->body = s->body;
    out->body_len = s->body_len;
    s->body = NULL;
    if (s->state == DEFER_RESUMED)
        srv->n_resumed--;
    s->state = DEFER_CONSUMED;
    pthread_cond_broadcast(&srv->dcond);
}

/* Stores a result (caller holds dmu); returns the connection to resume
 * (after unlocking) or NULL if the worker will pick the result up itself. */
static struct MHD_Connection *
defer_store(struct http_server *srv, struct defer_slot *s)
{
    s->has_result = true;
    if (s->state != DEFER_SUSPENDED)
        return NULL;
    s->state = DEFER_RESUMED;
    srv->n_suspended--;
    srv->n_resumed++;
    return s->conn;
}

/* Turns a taken result into c->resp.  Returns false if the connection
 * should be closed without an answer. */
static bool
defer_render(struct http_ctx *c, struct defer_result *r)
{
    if (r->gone) {
        free(r->body);
        return false;
    }
    if (r->is_err) {
        layer_error(c, r->err, r->body);
        free(r->body);
        return true;
    }
    resp_clear_body(&c->resp);
    buf_release(&c->resp.body);
    c->resp.status = r->status;
    c->resp.content_type =
        r->content_type[0] ? arena_memdup(&c->req.arena, r->content_type, strlen(r->content_type))
                           : NULL;
    c->resp.body.p = r->body;
    c->resp.body.len = r->body_len;
    c->resp.body.cap = r->body_len + 1;
    return true;
}

enum ltd_err
http_defer(struct http_req *req, struct http_resp *resp, unsigned timeout_ms,
           struct http_defer *out)
{
    struct http_ctx *c = req->priv_;
    struct http_server *srv = c->srv;
    LTD_ASSERT(c->slot < 0); /* deferring twice is a handler bug */
    LTD_ASSERT(resp == &c->resp);
    memset(out, 0, sizeof *out);
    if (timeout_ms == 0 || timeout_ms > srv->cfg.defer_ms_max)
        timeout_ms = srv->cfg.defer_ms_max;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    pthread_mutex_lock(&srv->dmu);
    if (atomic_load(&srv->stopping) || srv->free_head == UINT32_MAX) {
        pthread_mutex_unlock(&srv->dmu);
        layer_error(c, LTD_E_HTTP_OVERLOAD, "too many requests waiting");
        return LTD_E_HTTP_OVERLOAD;
    }
    uint32_t i = srv->free_head;
    struct defer_slot *s = &srv->slots[i];
    LTD_ASSERT(s->state == DEFER_FREE);
    srv->free_head = s->next_free;
    s->state = DEFER_PENDING;
    s->has_result = s->gone = s->is_err = false;
    s->conn = c->conn;
    s->fd = ci ? ci->connect_fd : -1;
    s->deadline_ns = ltd_mono_ns() + (uint64_t)timeout_ms * 1000000u;
    s->body = NULL;
    c->slot = (int32_t)i;
    c->gen = s->gen;
    pthread_mutex_unlock(&srv->dmu);
    atomic_fetch_add(&srv->deferred_open, 1);
    out->server = srv;
    out->slot = i;
    out->gen = c->gen;
    return LTD_OK;
}

/* Completes h with a result built by the caller; takes body (xmalloc'd). */
static enum ltd_err
defer_complete(struct http_defer h, bool is_err, int status, enum ltd_err err,
               const char *content_type, char *body, size_t n)
{
    struct http_server *srv = h.server;
    if (srv == NULL || h.slot >= srv->cfg.deferred_max) {
        free(body);
        return LTD_E_NOT_FOUND;
    }
    pthread_mutex_lock(&srv->dmu);
    struct defer_slot *s = &srv->slots[h.slot];
    if (s->gen != h.gen || s->has_result ||
        (s->state != DEFER_PENDING && s->state != DEFER_SUSPENDED)) {
        pthread_mutex_unlock(&srv->dmu);
        free(body);
        return LTD_E_NOT_FOUND;
    }
    s->is_err = is_err;
    s->status = status;
    s->err = err;
    s->content_type[0] = 0;
    if (content_type)
        snprintf(s->content_type, sizeof s->content_type, "%s", content_type);
    s->body = body;
    s->body_len = n;
    struct MHD_Connection *conn = defer_store(srv, s);
    pthread_mutex_unlock(&srv->dmu);
    if (conn)
        MHD_resume_connection(conn);
    return LTD_OK;
}

enum ltd_err
http_complete(struct http_defer h, int status, const char *content_type, const void *body, size_t n)
{
    LTD_ASSERT(status >= 200 && status <= 599);
    return defer_complete(h, false, status, LTD_OK, content_type, xmemdup(body, n), n);
}

enum ltd_err
http_complete_error(struct http_defer h, enum ltd_err code, const char *detail)
{
    char *d = detail ? xstrdup(detail) : NULL;
    return defer_complete(h, true, 0, code, NULL, d, d ? strlen(d) : 0);
}

/* Worker side, right after the handler deferred: suspend, or answer now if
 * the result is already there or the server is stopping. */
static enum MHD_Result
defer_park(struct http_ctx *c)
{
    struct http_server *srv = c->srv;
    struct defer_result r;
    pthread_mutex_lock(&srv->dmu);
    struct defer_slot *s = &srv->slots[c->slot];
    LTD_ASSERT(s->gen == c->gen && s->state == DEFER_PENDING);
    if (!s->has_result && atomic_load(&srv->stopping)) {
        s->is_err = true;
        s->err = LTD_E_HTTP_OVERLOAD;
        s->body = xstrdup("server stopping");
        s->has_result = true;
    }
    if (!s->has_result) {
        s->state = DEFER_SUSPENDED;
        if (srv->n_suspended++ == 0)
            pthread_cond_broadcast(&srv->dcond);
        /* Under dmu: no completer can resume before we have suspended. */
        MHD_suspend_connection(c->conn);
        c->phase = PH_SUSPENDED;
        pthread_mutex_unlock(&srv->dmu);
        return MHD_YES;
    }
    defer_take(srv, s, &r);
    pthread_mutex_unlock(&srv->dmu);
    return defer_render(c, &r) ? queue_resp(c) : MHD_NO;
}

/* Worker side, after MHD_resume_connection. */
static enum MHD_Result
defer_resumed(struct http_ctx *c)
{
    struct http_server *srv = c->srv;
    struct defer_result r;
    pthread_mutex_lock(&srv->dmu);
    struct defer_slot *s = &srv->slots[c->slot];
    LTD_ASSERT(s->gen == c->gen && s->state == DEFER_RESUMED);
    defer_take(srv, s, &r);
    pthread_mutex_unlock(&srv->dmu);
    if (!defer_render(c, &r)) {
        c->phase = PH_DONE;
        return MHD_NO;
    }
    return queue_resp(c);
}

/* Completion hook side: the slot goes back to the free list. */
static void
defer_release(struct http_server *srv, struct http_ctx *c)
{
    pthread_mutex_lock(&srv->dmu);
    struct defer_slot *s = &srv->slots[c->slot];
    LTD_ASSERT(s->gen == c->gen && s->state != DEFER_FREE);
    if (s->state == DEFER_SUSPENDED)
        srv->n_suspended--;
    if (s->state == DEFER_RESUMED)
        srv->n_resumed--;
    free(s->body);
    s->body = NULL;
    s->state = DEFER_FREE;
    s->gen++;
    s->next_free = srv->free_head;
    srv->free_head = (uint32_t)c->slot;
    pthread_cond_broadcast(&srv->dcond);
    pthread_mutex_unlock(&srv->dmu);
    c->slot = -1;
    atomic_fetch_sub(&srv->deferred_open, 1);
}

/* One reaper pass over suspended slots: hang-ups and deadlines.  Called
 * with dmu held; returns with dmu held. */
static void
reaper_pass(struct http_server *srv)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < srv->cfg.deferred_max; i++) {
        struct defer_slot *s = &srv->slots[i];
        if (s->state != DEFER_SUSPENDED)
            continue;
        srv->pfd[n] = (struct pollfd){.fd = s->fd, .events = POLLRDHUP};
        srv->pslot[n] = i;
        srv->pgen[n++] = s->gen;
    }
    pthread_mutex_unlock(&srv->dmu);
    if (poll(srv->pfd, n, http_reaper_tick_ms) < 0 && errno != EINTR)
        http_log(srv, true, 0, "poll failed: %s", strerror(errno));
    uint64_t now = ltd_mono_ns();
    uint32_t nres = 0;
    pthread_mutex_lock(&srv->dmu);
    for (uint32_t k = 0; k < n; k++) {
        struct defer_slot *s = &srv->slots[srv->pslot[k]];
        if (s->gen != srv->pgen[k] || s->state != DEFER_SUSPENDED)
            continue;
        if (srv->pfd[k].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) {
            s->gone = true;
            atomic_fetch_add(&srv->deferred_gone, 1);
        } else if (now >= s->deadline_ns) {
            s->is_err = true;
            s->err = LTD_E_HTTP_TIMEOUT;
            s->body = xstrdup("no outcome within the deferral timeout");
            atomic_fetch_add(&srv->deferred_expired, 1);
            http_log(srv, false, 0, "deferred request timed out slot=%u", srv->pslot[k]);
        } else {
            continue;
        }
        srv->resume[nres++] = defer_store(srv, s);
    }
    pthread_mutex_unlock(&srv->dmu);
    for (uint32_t k = 0; k < nres; k++)
        MHD_resume_connection(srv->resume[k]);
    pthread_mutex_lock(&srv->dmu);
}

static void *
reaper_main(void *arg)
{
    struct http_server *srv = arg;
    pthread_mutex_lock(&srv->dmu);
    while (!srv->reaper_stop) {
        if (srv->n_suspended == 0) {
            pthread_cond_wait(&srv->dcond, &srv->dmu);
            continue;
        }
        reaper_pass(srv);
    }
    pthread_mutex_unlock(&srv->dmu);
    return NULL;
}

/* http_stop: answer every suspended deferral 503 and wait (bounded) until
 * the workers have taken the answers, so MHD sees no suspended connection. */
static void
defer_drain(struct http_server *srv)
{
    uint32_t nres = 0;
    pthread_mutex_lock(&srv->dmu);
    for (uint32_t i = 0; i < srv->cfg.deferred_max; i++) {
        struct defer_slot *s = &srv->slots[i];
        if (s->state != DEFER_SUSPENDED)
            continue;
        s->is_err = true;
        s->err = LTD_E_HTTP_OVERLOAD;
        s->body = xstrdup("server stopping");
        srv->resume[nres++] = defer_store(srv, s);
    }
    pthread_mutex_unlock(&srv->dmu);
    for (uint32_t k = 0; k < nres; k++)
        MHD_resume_connection(srv->resume[k]);
    uint64_t until = mono_ms() + http_stop_wait_ms;
    pthread_mutex_lock(&srv->dmu);
    while ((srv->n_resumed > 0 || srv->n_suspended > 0) && mono_ms() < until) {
        struct timespec ts = ltd_deadline(CLOCK_REALTIME, 20 * 1000u);
        pthread_cond_timedwait(&srv->dcond, &srv->dmu, &ts);
    }
    if (srv->n_resumed > 0 || srv->n_suspended > 0)
        http_log(srv, true, 0, "stop: %u deferred requests still pending", srv->n_resumed);
    srv->reaper_stop = true;
    pthread_cond_broadcast(&srv->dcond);
    pthread_mutex_unlock(&srv->dmu);
}

/* ---------------------------------------------------------------------- */
/* WebSocket: frames, subscribers, the I/O thread                         */
/* ---------------------------------------------------------------------- */

static struct ws_msg *
ws_msg_new(unsigned op, const void *payload, size_t n)
{
    size_t hl = n < 126 ? 2 : n <= 0xffff ? 4 : 10;
    struct ws_msg *m = xmalloc(sizeof *m + hl + n);
    atomic_init(&m->refs, 1);
    m->len = hl + n;
    m->data[0] = (unsigned char)(0x80 | op);
    if (n < 126) {
        m->data[1] = (unsigned char)n;
    } else if (n <= 0xffff) {
        m->data[1] = 126;
        m->data[2] = (unsigned char)(n >> 8);
        m->data[3] = (unsigned char)n;
    } else {
        m->data[1] = 127;
        for (int i = 0; i < 8; i++)
            m->data[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
    }
    if (n)
        memcpy(m->data + hl, payload, n);
    return m;
}

static void
ws_msg_unref(struct ws_msg *m)
{
    if (atomic_fetch_sub(&m->refs, 1) == 1)
        free(m);
}

static void
ws_wake(struct http_server *srv)
{
    uint64_t one = 1;
    ssize_t w = write(srv->evfd, &one, sizeof one);
    (void)w; /* a full eventfd counter still wakes the thread */
}

/* Marks s for reaping by the WebSocket thread (caller holds wmu). */
static void
ws_kill(struct http_server *srv, struct ws_sub *s)
{
    if (s->dead)
        return;
    s->dead = true;
    ws_wake(srv);
}

static void
ws_want_out(struct http_server *srv, struct ws_sub *s, bool on)
{
    if (s->want_out == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u), .data.ptr = s};
    if (epoll_ctl(srv->ep, EPOLL_CTL_MOD, s->fd, &ev) != 0) {
        ws_kill(srv, s);
        return;
    }
    s->want_out = on;
}

/* Queues m for s (caller holds wmu).  The bounds are on the backlog: a frame
 * is always accepted by an empty queue, and one ring entry is kept for a
 * control frame (pong, close). */
static bool
ws_enqueue(struct http_server *srv, struct ws_sub *s, struct ws_msg *m, bool control)
{
    if (s->dead || s->closing)
        return false;
    if ((!control && s->q_len >= http_ws_queue_frames_max - 1) ||
        s->q_len >= http_ws_queue_frames_max ||
        (s->q_len > 0 && s->q_bytes + m->len > srv->cfg.ws_queue_bytes_max)) {
        atomic_fetch_add(&srv->ws_dropped, 1);
        http_log(srv, false, 0, "websocket subscriber too slow, dropped fd=%d", s->fd);
        ws_kill(srv, s);
        return false;
    }
    atomic_fetch_add(&m->refs, 1);
    s->q[(s->q_head + s->q_len) % http_ws_queue_frames_max] = m;
    s->q_len++;
    s->q_bytes += m->len;
    return true;
}

/* Sends what the socket takes without blocking (caller holds wmu). */
static void
ws_flush(struct http_server *srv, struct ws_sub *s)
{
    while (s->q_len > 0 && !s->dead) {
        struct ws_msg *m = s->q[s->q_head];
        ssize_t k = send(s->fd, m->data + s->q_off, m->len - s->q_off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ws_want_out(srv, s, true);
            return;
        }
        if (k <= 0) {
            ws_kill(srv, s);
            return;
        }
        s->q_off += (size_t)k;
        if (s->q_off == m->len) {
            s->q_head = (s->q_head + 1) % http_ws_queue_frames_max;
            s->q_len--;
            s->q_bytes -= m->len;
            s->q_off = 0;
            ws_msg_unref(m);
        }
    }
    if (s->dead)
        return;
    ws_want_out(srv, s, false);
    if (s->closing)
        ws_kill(srv, s); /* our close frame is out: done */
}

static void
ws_send_control(struct http_server *srv, struct ws_sub *s, unsigned op, const void *p, size_t n)
{
    struct ws_msg *m = ws_msg_new(op, p, n);
    if (ws_enqueue(srv, s, m, true) && op == 0x8)
        s->closing = true;
    ws_msg_unref(m);
    ws_flush(srv, s);
}

static void
ws_close_with(struct http_server *srv, struct ws_sub *s, unsigned code)
{
    unsigned char p[2] = {(unsigned char)(code >> 8), (unsigned char)code};
    ws_send_control(srv, s, 0x8, p, 2);
}

/* A complete control frame arrived. */
static void
ws_control(struct http_server *srv, struct ws_sub *s)
{
    if (s->op == 0x9) {
        ws_send_control(srv, s, 0xA, s->ctrl, s->ctrl_len);
    } else if (s->op == 0x8) {
        if (s->ctrl_len == 1) {
            ws_close_with(srv, s, 1002);
        } else {
            /* Echo the client's status code (none if it sent none). */
            ws_send_control(srv, s, 0x8, s->ctrl, s->ctrl_len >= 2 ? 2 : 0);
        }
    } /* pong: ignored */
}

/* Parses a frame header once complete; returns 0 or a close code. */
static unsigned
ws_header(struct ws_sub *s)
{
    unsigned char b0 = s->hdr[0], b1 = s->hdr[1];
    unsigned len7 = b1 & 0x7fu;
    unsigned need = 2 + (len7 == 126 ? 2u : len7 == 127 ? 8u : 0u) + 4;
    if (s->hdr_len < need)
        return 0;
    uint64_t len = len7;
    if (len7 == 126)
        len = (uint64_t)s->hdr[2] << 8 | s->hdr[3];
    if (len7 == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | s->hdr[2 + i];
    }
    s->op = b0 & 0x0f;
    if ((s->op & 8) && len > http_ws_control_bytes_max)
        return 1002;
    if (!(s->op & 8) && len > http_ws_frame_in_bytes_max)
        return 1009;
    memcpy(s->mask, s->hdr + need - 4, 4);
    s->left = len;
    s->pos = 0;
    s->ctrl_len = 0;
    s->in_payload = true;
    return 0;
}

/* Feeds received bytes to the frame parser (caller holds wmu). */
static void
ws_feed(struct http_server *srv, struct ws_sub *s, const unsigned char *p, size_t n)
{
    while (n > 0 && !s->dead && !s->closing) {
        if (!s->in_payload) {
            s->hdr[s->hdr_len++] = *p++;
            n--;
            if (s->hdr_len == 2) {
                unsigned char b0 = s->hdr[0], b1 = s->hdr[1], op = b0 & 0x0f;
                bool bad_op = (op > 2 && op < 8) || op > 10;
                if ((b0 & 0x70) || !(b1 & 0x80) || bad_op || ((op & 8) && !(b0 & 0x80))) {
                    ws_close_with(srv, s, 1002); /* RSV, unmasked, unknown op, fragmented control */
                    return;
                }
            }
            unsigned code = s->hdr_len >= 2 ? ws_header(s) : 0;
            if (code) {
                ws_close_with(srv, s, code);
                return;
            }
        } else {
            size_t take = s->left < n ? (size_t)s->left : n;
            for (size_t i = 0; (s->op & 8) && i < take; i++)
                s->ctrl[s->ctrl_len++] = p[i] ^ s->mask[(s->pos + i) & 3];
            s->pos += take;
            s->left -= take;
            p += take;
            n -= take;
        }
        if (s->in_payload && s->left == 0) {
            if (s->op & 8)
                ws_control(srv, s);
            s->in_payload = false;
            s->hdr_len = 0;
        }
    }
}

static void
ws_read(struct http_server *srv, struct ws_sub *s)
{
    unsigned char buf[4096];
    for (int i = 0; i < http_ws_reads_max && !s->dead; i++) {
        ssize_t k = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (k <= 0) {
            ws_kill(srv, s);
            return;
        }
        ws_feed(srv, s, buf, (size_t)k);
    }
}

static void
ws_free(struct http_server *srv, struct ws_sub *s)
{
    MHD_upgrade_action(s->urh, MHD_UPGRADE_ACTION_CLOSE);
    for (unsigned i = 0; i < s->q_len; i++)
        ws_msg_unref(s->q[(s->q_head + i) % http_ws_queue_frames_max]);
    free(s->q);
    free(s);
    atomic_fetch_sub(&srv->ws_slots, 1);
}

/* Unlinks dead subscribers (caller holds wmu) into *reap. */
static void
ws_collect(struct http_server *srv, struct ws_sub **reap)
{
    for (struct ws_sub *s = srv->subs, *next; s; s = next) {
        next = s->next;
        if (!s->dead)
            continue;
        if (s->prev)
            s->prev->next = s->next;
        else
            srv->subs = s->next;
        if (s->next)
            s->next->prev = s->prev;
        epoll_ctl(srv->ep, EPOLL_CTL_DEL, s->fd, NULL);
        atomic_fetch_sub(&srv->ws_subs, 1);
        s->next = *reap;
        *reap = s;
    }
}

static void *
ws_main(void *arg)
{
    struct http_server *srv = arg;
    struct epoll_event ev[64];
    for (;;) {
        int n = epoll_wait(srv->ep, ev, (int)ARRAY_LEN(ev), -1);
        if (n < 0 && errno != EINTR) {
            http_log(srv, true, 0, "websocket epoll_wait failed: %s", strerror(errno));
            n = 0;
        }
        pthread_mutex_lock(&srv->wmu);
        for (int i = 0; i < n; i++) {
            struct ws_sub *s = ev[i].data.ptr;
            if (s == NULL) {
                uint64_t v;
                ssize_t r = read(srv->evfd, &v, sizeof v);
                (void)r;
                continue;
            }
            if (!s->dead && (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
                ws_read(srv, s);
            if (!s->dead && (ev[i].events & EPOLLOUT))
                ws_flush(srv, s);
        }
        bool stop = srv->ws_stop;
        for (struct ws_sub *s = srv->subs; stop && s; s = s->next) {
            ws_close_with(srv, s, 1001); /* best effort: going away */
            ws_kill(srv, s);
        }
        struct ws_sub *reap = NULL;
        ws_collect(srv, &reap);
        pthread_mutex_unlock(&srv->wmu);
        while (reap) {
            struct ws_sub *next = reap->next;
            ws_free(srv, reap);
            reap = next;
        }
        if (stop)
            return NULL;
    }
}

/* MHD's upgrade callback: the 101 is out, the socket is ours to serve. */
static void
ws_on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
              size_t extra_n, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    struct http_server *srv = cls;
    struct http_ctx *c = con_cls;
    (void)conn;
    c->ws_reserved = false; /* the reservation now belongs to the subscriber */
    struct ws_sub *s = xcalloc(1, sizeof *s);
    s->fd = sock;
    s->urh = urh;
    s->pattern = c->req.route->pattern;
    s->q = xcalloc(http_ws_queue_frames_max, sizeof(struct ws_msg *));
    int fl = fcntl(sock, F_GETFL);
    bool ok = fl >= 0 && fcntl(sock, F_SETFL, fl | O_NONBLOCK) == 0;
    pthread_mutex_lock(&srv->wmu);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = s};
    if (!ok || srv->ws_stop || epoll_ctl(srv->ep, EPOLL_CTL_ADD, sock, &ev) != 0) {
        pthread_mutex_unlock(&srv->wmu);
        ws_free(srv, s);
        return;
    }
    s->next = srv->subs;
    if (srv->subs)
        srv->subs->prev = s;
    srv->subs = s;
    atomic_fetch_add(&srv->ws_subs, 1);
    if (extra_n)
        ws_feed(srv, s, (const unsigned char *)extra_in, extra_n);
    pthread_mutex_unlock(&srv->wmu);
}

size_t
http_ws_broadcast(struct http_server *srv, const char *path, const char *text, size_t n)
{
    struct ws_msg *m = ws_msg_new(0x1, text, n);
    size_t count = 0;
    pthread_mutex_lock(&srv->wmu);
    for (struct ws_sub *s = srv->subs; s; s = s->next) {
        if (strcmp(s->pattern, path) != 0 || !ws_enqueue(srv, s, m, false))
            continue;
        ws_flush(srv, s);
        count++;
    }
    pthread_mutex_unlock(&srv->wmu);
    ws_msg_unref(m);
    return count;
}

/* True if the comma-separated header value list contains token. */
static bool
header_has_token(const char *list, const char *token)
{
    size_t tl = strlen(token);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == tl && strncasecmp(p, token, tl) == 0)
            return true;
        p = e;
    }
    return false;
}

static bool
ws_key_ok(const char *k)
{
    if (k == NULL || strlen(k) != 24 || strcmp(k + 22, "==") != 0)
        return false;
    for (int i = 0; i < 22; i++)
        if (!((k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= 'a' && k[i] <= 'z') ||
              (k[i] >= '0' && k[i] <= '9') || k[i] == '+' || k[i] == '/'))
            return false;
    return true;
}

/* Dispatch of a HTTP_ROUTE_WEBSOCKET route: validate, reserve, send 101. */
static enum MHD_Result
ws_dispatch(struct http_ctx *c)
{
    struct http_server *srv = c->srv;
    struct http_req *req = &c->req;
    const char *key = http_header(req, "Sec-WebSocket-Key");
    const char *ver = http_header(req, "Sec-WebSocket-Version");
    if (req->method != HTTP_GET || c->has_body || strcmp(c->version, "HTTP/1.1") != 0 ||
        !header_has_token(http_header(req, "Upgrade"), "websocket") ||
        !header_has_token(http_header(req, "Connection"), "upgrade") || !ws_key_ok(key)) {
        layer_error(c, LTD_E_HTTP_BAD_REQUEST, "websocket handshake required");
        return queue_resp(c);
    }
    if (ver == NULL || strcmp(ver, "13") != 0) {
        layer_error(c, LTD_E_HTTP_BAD_REQUEST, "websocket version 13 required");
        c->resp.status = 426;
        (void)http_resp_header(&c->resp, "Sec-WebSocket-Version", "13");
        return queue_resp(c);
    }
    if (req->route->fn) {
        req->route->fn(srv->app, req, &c->resp);
        if (c->resp.status != 0)
            return queue_resp(c);
    }
    if (atomic_fetch_add(&srv->ws_slots, 1) >= srv->cfg.ws_subscribers_max) {
        atomic_fetch_sub(&srv->ws_slots, 1);
        layer_error(c, LTD_E_HTTP_OVERLOAD, "too many websocket subscribers");
        return queue_resp(c);
    }
    c->ws_reserved = true;
    char accept[29];
    http_ws_accept_key(key, accept);
    struct MHD_Response *mr = MHD_create_response_for_upgrade(ws_on_upgrade, srv);
    enum MHD_Result ret = MHD_NO;
    if (mr && add_header(mr, MHD_HTTP_HEADER_UPGRADE, "websocket") &&
        add_header(mr, MHD_HTTP_HEADER_CONNECTION, "Upgrade") &&
        add_header(mr, "Sec-WebSocket-Accept", accept))
        ret = MHD_queue_response(c->conn, MHD_HTTP_SWITCHING_PROTOCOLS, mr);
    if (mr)
        MHD_destroy_response(mr);
    c->phase = PH_DONE;
    atomic_fetch_add_explicit(&srv->requests, 1, memory_order_relaxed);
    return ret;
}

/* ---------------------------------------------------------------------- */
/* MHD callbacks: connection, URI, access, completion                      */
/* ---------------------------------------------------------------------- */

static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
              enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *srv = cls;
    (void)conn;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        uint64_t open = atomic_fetch_add(&srv->conns, 1) + 1;
        /* Over the soft limit: accepted only to be told 503 and closed. */
        *socket_context = open > srv->cfg.connections_max ? &srv->over_marker : NULL;
    } else {
        atomic_fetch_sub(&srv->conns, 1);
    }
}

/* Called once per request before MHD parses the request-target: the
 * request context and its arena are born here. */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_server *srv = cls;
    struct arena a;
    arena_init(&a);
    struct http_ctx *c = arena_alloc(&a, sizeof *c);
    c->req.arena = a; /* from here on only c->req.arena is used */
    c->srv = srv;
    c->conn = conn;
    c->slot = -1;
    c->cors = true;
    c->req.priv_ = c;
    c->req.body = "";
    c->req.id = atomic_fetch_add_explicit(&srv->next_id, 1, memory_order_relaxed) + 1;
    c->resp.priv_ = c;
    c->resp.fd_ = -1;
    buf_init(&c->resp.body);
    size_t n = strlen(uri);
    if (n > srv->cfg.url_bytes_max)
        c->url_long = true;
    else
        c->req.target = arena_memdup(&c->req.arena, uri, n);
    return c;
}

static enum http_method
method_parse(const char *m)
{
    static const struct {
        const char *name;
        enum http_method m;
    } tab[] = {{"GET", HTTP_GET},        {"POST", HTTP_POST},     {"HEAD", HTTP_HEAD},
               {"PUT", HTTP_PUT},        {"DELETE", HTTP_DELETE}, {"PATCH", HTTP_PATCH},
               {"OPTIONS", HTTP_OPTIONS}};
    for (size_t i = 0; i < ARRAY_LEN(tab); i++)
        if (strcmp(m, tab[i].name) == 0)
            return tab[i].m;
    return HTTP_OTHER;
}

static void
allow_text(unsigned mask, char *out, size_t cap)
{
    static const char *names[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    size_t o = 0;
    out[0] = 0;
    for (unsigned i = 0; i < ARRAY_LEN(names); i++)
        if (mask & (1u << i))
            o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? ", " : "", names[i]);
    LTD_ASSERT(o < cap);
}

struct framing {
    unsigned n_cl, n_te;
    bool bad; /* a header name that is not a token, or a control byte in a value */
    const char *cl, *te;
};

static enum MHD_Result
framing_scan(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_n, const char *value,
             size_t value_n)
{
    struct framing *f = cls;
    (void)kind;
    if (key_n == 0)
        f->bad = true;
    for (size_t i = 0; i < key_n; i++)
        if (!is_tchar((unsigned char)key[i]))
            f->bad = true;
    for (size_t i = 0; value && i < value_n; i++)
        if (((unsigned char)value[i] < 0x20 && value[i] != '\t') || value[i] == 0x7f)
            f->bad = true;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        f->n_cl++, f->cl = value;
    else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
        f->n_te++, f->te = value;
    return MHD_YES;
}

/* Request framing (B4): one Content-Length of digits, or exactly
 * "Transfer-Encoding: chunked", never both. */
static enum ltd_err
framing_check(struct http_ctx *c, const char **why)
{
    struct framing f = {0};
    MHD_get_connection_values_n(c->conn, MHD_HEADER_KIND, framing_scan, &f);
    *why = NULL;
    if (f.bad)
        *why = "malformed header field";
    else if (f.n_cl > 1)
        *why = "more than one Content-Length";
    else if (f.n_te > 1 || (f.n_te && strcasecmp(f.te, "chunked") != 0))
        *why = "unsupported Transfer-Encoding";
    else if (f.n_cl && f.n_te)
        *why = "Content-Length together with Transfer-Encoding";
    if (*why)
        return LTD_E_HTTP_BAD_REQUEST;
    c->chunked = f.n_te == 1;
    if (f.n_cl) {
        size_t len = strlen(f.cl);
        if (len == 0 || len > 19 || strspn(f.cl, "0123456789") != len) {
            *why = "bad Content-Length";
            return LTD_E_HTTP_BAD_REQUEST;
        }
        c->has_clen = true;
        c->clen = strtoull(f.cl, NULL, 10);
    }
    c->has_body = c->chunked || c->clen > 0;
    return LTD_OK;
}

/* OPTIONS on a known path without an OPTIONS row: flask_cors's preflight. */
static void
preflight(struct http_ctx *c, unsigned allow)
{
    char methods[96];
    allow_text(allow, methods, sizeof methods);
    resp_clear_body(&c->resp);
    c->resp.status = 200;
    (void)http_resp_header(&c->resp, "Allow", methods);
    if (!c->cors)
        return;
    (void)http_resp_header(&c->resp, "Access-Control-Allow-Methods",
                           "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
    const char *rh = http_header(&c->req, "Access-Control-Request-Headers");
    if (rh && *rh)
        (void)http_resp_header(&c->resp, "Access-Control-Allow-Headers", rh);
}

/* Routing for a parsed request; sets c->decided for 404/405/preflight. */
static void
route_request(struct http_ctx *c)
{
    struct http_server *srv = c->srv;
    struct http_req *req = &c->req;
    unsigned allow;
    const struct http_route *any;
    const struct http_route *r =
        route_find(srv->routes, srv->n_routes, req->method, req->path, req->path_len, &allow, &any);
    if (any)
        c->cors = !(any->flags & HTTP_ROUTE_NO_CORS);
    if (r) {
        c->cors = !(r->flags & HTTP_ROUTE_NO_CORS);
        req->route =
            http_route_find(srv->routes, srv->n_routes, req->method, req->path, req->path_len,
                            &req->arena, &req->params, &req->n_params, &allow);
        return;
    }
    c->decided = true;
    if (allow == 0) {
        layer_error(c, LTD_E_HTTP_NOT_FOUND, "no such resource");
    } else if (req->method == HTTP_OPTIONS) {
        preflight(c, allow);
    } else {
        char methods[96];
        allow_text(allow, methods, sizeof methods);
        layer_error(c, LTD_E_HTTP_METHOD, "method not allowed");
        (void)http_resp_header(&c->resp, "Allow", methods);
    }
}

/*
 * A Content-Length over body_bytes_max: 413 naming the limit, and the
 * connection closed after it.  When to answer is the point.  libmicrohttpd
 * 0.9.75 can answer before the body is read, but then closes the socket
 * with the body still arriving, and the client's TCP stack reports the
 * reset that close sends, often before the client has read the 413.  So:
 *  - "Expect: 100-continue" (HTTP/1.1): the client waits for our word
 *    before sending the body; answered at once, nothing is read.
 *  - a body of at most 2 x body_bytes_max: read to its end and discarded
 *    (never stored), then answered; the client reads the 413 in full.
 *  - a larger one: answered at once, the rest is not read; a client still
 *    sending may see the reset instead of the answer.
 * A chunked body has no declared size: it is refused once it passes the
 * limit (on_body).
 */
static void
refuse_declared_body(struct http_ctx *c)
{
    struct http_server *srv = c->srv;
    LTD_ASSERT(c->has_clen && c->clen > srv->cfg.body_bytes_max);
    char detail[160];
    snprintf(detail, sizeof detail,
             "request body too large: Content-Length %llu is more than the limit of %zu bytes",
             (unsigned long long)c->clen, srv->cfg.body_bytes_max);
    layer_error(c, LTD_E_HTTP_BODY_LARGE, detail);
    c->decided = true;
    c->resp.close = true;
    const char *expect = http_header(&c->req, MHD_HTTP_HEADER_EXPECT);
    bool waits = strcmp(c->version, MHD_HTTP_VERSION_1_1) == 0 && expect != NULL &&
                 strcasecmp(expect, "100-continue") == 0;
    if (!waits && c->clen - srv->cfg.body_bytes_max <= srv->cfg.body_bytes_max)
        c->drain_max = (size_t)c->clen;
}

/* First call: the headers are in.  Decide everything that can be decided
 * before reading the body. */
static enum MHD_Result
on_headers(struct http_ctx *c, const char *method, const char *version)
{
    struct http_server *srv = c->srv;
    struct http_req *req = &c->req;
    req->method_str = method;
    req->method = method_parse(method);
    c->version = version;
    c->phase = PH_BODY;
    const char *why = NULL;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    enum ltd_err e = framing_check(c, &why);
    if (e != LTD_OK) {
        c->resp.close = true; /* never guess where the next request starts */
    } else if (ci && ci->socket_context == &srv->over_marker) {
        e = LTD_E_HTTP_OVERLOAD, why = "too many connections";
        c->resp.close = true;
    } else if (c->url_long) {
        e = LTD_E_HTTP_BAD_REQUEST, why = "request-target too long";
    } else {
        e = http_parse_target(&req->arena, req->target, strlen(req->target), &req->path,
                              &req->path_len, &req->args, &req->n_args, &eb);
        why = eb.msg;
    }
    if (e != LTD_OK) {
        layer_error(c, e, why);
        c->decided = true;
    } else {
        route_request(c);
    }
    if (!c->decided && c->has_clen && c->clen > srv->cfg.body_bytes_max)
        refuse_declared_body(c);
    if (c->decided && c->drain_max == 0 && (c->has_body || c->resp.close)) {
        c->resp.close = true; /* answer now, read no body */
        return queue_resp(c);
    }
    return MHD_YES;
}

/* Body data: counted and kept in the arena, 413 as soon as it exceeds. */
static enum MHD_Result
on_body(struct http_ctx *c, const char *data, size_t n)
{
    struct http_server *srv = c->srv;
    if (c->decided) {
        /* Refused (413): MHD cannot answer mid-upload, so discard up to
         * drain_max bytes and answer at the end; beyond that, close
         * without an answer. */
        c->drained += n;
        return c->drained > c->drain_max ? MHD_NO : MHD_YES;
    }
    if (n > srv->cfg.body_bytes_max - c->body_len) {
        char detail[128];
        snprintf(detail, sizeof detail, "request body too large: more than the limit of %zu bytes",
                 srv->cfg.body_bytes_max);
        layer_error(c, LTD_E_HTTP_BODY_LARGE, detail);
        c->decided = true;
        c->resp.close = true;
        c->drained = n;
        c->drain_max = srv->cfg.body_bytes_max;
        return MHD_YES;
    }
    if (c->body_len + n + 1 > c->body_cap) {
        size_t cap = c->has_clen ? (size_t)c->clen + 1 : c->body_cap * 2;
        if (cap < http_body_chunk_min)
            cap = http_body_chunk_min;
        while (cap < c->body_len + n + 1)
            cap *= 2;
        if (cap > srv->cfg.body_bytes_max + 1)
            cap = srv->cfg.body_bytes_max + 1;
        char *nb = arena_alloc(&c->req.arena, cap);
        if (c->body_len)
            memcpy(nb, c->body, c->body_len);
        c->body = nb;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, data, n);
    c->body_len += n;
    c->body[c->body_len] = 0;
    return MHD_YES;
}

/* Last call: the whole request is in.  Run the handler. */
static enum MHD_Result
on_dispatch(struct http_ctx *c)
{
    struct http_server *srv = c->srv;
    struct http_req *req = &c->req;
    if (c->decided)
        return queue_resp(c);
    if (c->body) {
        req->body = c->body;
        req->body_len = c->body_len;
    }
    if (req->route->flags & HTTP_ROUTE_WEBSOCKET)
        return ws_dispatch(c);
    req->route->fn(srv->app, req, &c->resp);
    if (c->slot >= 0)
        return defer_park(c);
    return queue_resp(c);
}

static enum MHD_Result
on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    struct http_ctx *c = *con_cls;
    (void)cls;
    (void)url;
    LTD_ASSERT(c != NULL && c->conn == conn); /* on_uri always runs first */
    switch (c->phase) {
    case PH_HEADERS:
        return on_headers(c, method, version);
    case PH_BODY:
        if (*upload_size == 0)
            return on_dispatch(c);
        {
            size_t n = *upload_size;
            *upload_size = 0;
            return on_body(c, upload, n);
        }
    case PH_SUSPENDED:
        return defer_resumed(c);
    case PH_DONE:
        break;
    }
    *upload_size = 0; /* answered already: discard */
    return MHD_YES;
}

/* The request-completion hook: the one place request memory is freed. */
static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct http_ctx *c = *con_cls;
    (void)conn;
    (void)toe;
    if (c == NULL)
        return;
    *con_cls = NULL;
    if (c->slot >= 0)
        defer_release(srv, c);
    if (c->ws_reserved)
        atomic_fetch_sub(&srv->ws_slots, 1);
    if (c->resp.fd_ >= 0)
        close(c->resp.fd_);
    buf_release(&c->resp.body);
    struct arena a = c->req.arena; /* c lives in the arena: copy first */
    arena_release(&a);
}

static size_t
unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s); /* we decode the raw target ourselves */
}

/* ---------------------------------------------------------------------- */
/* lifecycle                                                              */
/* ---------------------------------------------------------------------- */

void
http_config_init(struct http_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->listen = "127.0.0.1:9984";
    cfg->threads = 0;
    cfg->connections_max = 1024;
    cfg->timeout_ms = 30000;
    cfg->body_bytes_max = 1024 * 1024;
    cfg->header_bytes_max = 16 * 1024;
    cfg->url_bytes_max = 8 * 1024;
    cfg->deferred_max = 1024;
    cfg->defer_ms_max = 30000;
    cfg->ws_subscribers_max = 256;
    cfg->ws_queue_bytes_max = 4 * 1024 * 1024;
}

static enum ltd_err
config_check(struct http_config *cfg, struct ltd_errbuf *eb)
{
    if (cfg->threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->threads = n > 0 ? (unsigned)n : 1;
    }
    if (cfg->threads > http_threads_max)
        cfg->threads = http_threads_max;
    if (cfg->connections_max == 0 || cfg->connections_max > 1000000)
        return ltd_fail(eb, LTD_E_USAGE, "connections_max must be 1..1000000");
    if (cfg->timeout_ms == 0 || cfg->body_bytes_max == 0 || cfg->body_bytes_max > SIZE_MAX / 4)
        return ltd_fail(eb, LTD_E_USAGE, "timeout_ms and body_bytes_max must be > 0");
    if (cfg->header_bytes_max < 1024 || cfg->header_bytes_max > 1024 * 1024)
        return ltd_fail(eb, LTD_E_USAGE, "header_bytes_max must be 1 KiB..1 MiB");
    if (cfg->url_bytes_max < 16 || cfg->deferred_max == 0 || cfg->deferred_max > 1000000 ||
        cfg->defer_ms_max == 0)
        return ltd_fail(eb, LTD_E_USAGE, "url_bytes_max, deferred_max, defer_ms_max out of range");
    if (cfg->ws_queue_bytes_max < 1024)
        return ltd_fail(eb, LTD_E_USAGE, "ws_queue_bytes_max must be >= 1 KiB");
    return LTD_OK;
}

static void
server_free(struct http_server *srv)
{
    if (srv->ep >= 0)
        close(srv->ep);
    if (srv->evfd >= 0)
        close(srv->evfd);
    for (uint32_t i = 0; srv->slots && i < srv->cfg.deferred_max; i++)
        free(srv->slots[i].body);
    free(srv->slots);
    free(srv->pfd);
    free(srv->pslot);
    free(srv->pgen);
    free(srv->resume);
    pthread_mutex_destroy(&srv->dmu);
    pthread_cond_destroy(&srv->dcond);
    pthread_mutex_destroy(&srv->wmu);
    free(srv);
}

static struct http_server *
server_new(const struct http_config *cfg, const struct http_route *routes, size_t n, void *app)
{
    struct http_server *srv = xcalloc(1, sizeof *srv);
    srv->cfg = *cfg;
    srv->routes = routes;
    srv->n_routes = n;
    srv->app = app;
    srv->ep = srv->evfd = -1;
    pthread_mutex_init(&srv->dmu, NULL);
    pthread_cond_init(&srv->dcond, NULL);
    pthread_mutex_init(&srv->wmu, NULL);
    uint32_t dm = cfg->deferred_max;
    srv->slots = xcalloc(dm, sizeof *srv->slots);
    for (uint32_t i = 0; i < dm; i++)
        srv->slots[i].next_free = i + 1 < dm ? i + 1 : UINT32_MAX;
    srv->free_head = 0;
    srv->pfd = xcalloc(dm, sizeof *srv->pfd);
    srv->pslot = xcalloc(dm, sizeof *srv->pslot);
    srv->pgen = xcalloc(dm, sizeof *srv->pgen);
    srv->resume = xcalloc(dm, sizeof(struct MHD_Connection *));
    return srv;
}

static struct MHD_Daemon *
daemon_start(struct http_server *srv, struct sockaddr_storage *ss)
{
    const struct http_config *cfg = &srv->cfg;
    unsigned slack = cfg->connections_max / 8;
    slack = slack < http_conn_slack_min ? http_conn_slack_min : slack;
    unsigned hard = cfg->connections_max + slack;
    if (hard < cfg->threads * 2)
        hard = cfg->threads * 2;
    unsigned timeout_s = (cfg->timeout_ms + 999) / 1000;
    struct MHD_OptionItem ops[] = {
        {MHD_OPTION_SOCK_ADDR, 0, ss},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)hard, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)timeout_s, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)(cfg->header_bytes_max + 16 * 1024), NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, srv},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, srv},
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape_none, NULL},
        {MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL},
        {cfg->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)cfg->threads,
         NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE;
    if (ss->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    return MHD_start_daemon(flags, 0, NULL, NULL, on_access, srv, MHD_OPTION_ARRAY, ops,
                            MHD_OPTION_END);
}

struct http_server *
http_start(const struct http_config *cfg_in, const struct http_route *routes, size_t n_routes,
           void *app, struct ltd_errbuf *eb)
{
    struct http_config cfg = *cfg_in;
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (config_check(&cfg, eb) != LTD_OK || http_routes_check(routes, n_routes, eb) != LTD_OK ||
        http_listen_parse(cfg.listen ? cfg.listen : "", &ss, &sslen, eb) != LTD_OK)
        return NULL;
    struct http_server *srv = server_new(&cfg, routes, n_routes, app);
    srv->ep = epoll_create1(EPOLL_CLOEXEC);
    srv->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (srv->ep < 0 || srv->evfd < 0 || epoll_ctl(srv->ep, EPOLL_CTL_ADD, srv->evfd, &ev) != 0) {
        ltd_fail(eb, LTD_E_IO, "epoll/eventfd failed: %s", strerror(errno));
        goto fail;
    }
    if (pthread_create(&srv->ws_thread, NULL, ws_main, srv) != 0) {
        ltd_fail(eb, LTD_E_IO, "websocket thread creation failed");
        goto fail;
    }
    srv->ws_started = true;
    if (pthread_create(&srv->reaper, NULL, reaper_main, srv) != 0) {
        ltd_fail(eb, LTD_E_IO, "reaper thread creation failed");
        goto fail;
    }
    srv->reaper_started = true;
    errno = 0;
    srv->d = daemon_start(srv, &ss);
    if (srv->d == NULL) {
        ltd_fail(eb, LTD_E_IO, "listen on '%s' failed: %s", cfg.listen,
                 errno ? strerror(errno) : "libmicrohttpd refused the options");
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : 0;
    return srv;
fail:
    http_stop(srv);
    return NULL;
}

void
http_stop(struct http_server *srv)
{
    if (srv == NULL)
        return;
    atomic_store(&srv->stopping, true);
    MHD_socket lfd = MHD_INVALID_SOCKET;
    if (srv->d)
        lfd = MHD_quiesce_daemon(srv->d); /* stop accepting */
    defer_drain(srv);
    if (srv->reaper_started)
        pthread_join(srv->reaper, NULL);
    if (srv->ws_started) {
        pthread_mutex_lock(&srv->wmu);
        srv->ws_stop = true;
        pthread_mutex_unlock(&srv->wmu);
        ws_wake(srv);
        pthread_join(srv->ws_thread, NULL);
    }
    if (srv->d)
        MHD_stop_daemon(srv->d);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    server_free(srv);
}

uint16_t
http_port(const struct http_server *srv)
{
    return srv->port;
}

void
http_stats_get(const struct http_server *srv, struct http_stats *out)
{
    struct http_server *s = (struct http_server *)srv; /* atomics loads only */
    out->requests = atomic_load(&s->requests);
    out->status_4xx = atomic_load(&s->s4xx);
    out->status_5xx = atomic_load(&s->s5xx);
    out->connections_open = atomic_load(&s->conns);
    out->deferred_open = atomic_load(&s->deferred_open);
    out->deferred_expired = atomic_load(&s->deferred_expired);
    out->deferred_gone = atomic_load(&s->deferred_gone);
    out->ws_subscribers = atomic_load(&s->ws_subs);
    out->ws_dropped = atomic_load(&s->ws_dropped);
}
