/*
 * http.h - the HTTP server layer of LTDRS: a thin layer over libmicrohttpd
 * (epoll + thread pool) that owns sockets, limits, the per-request arena,
 * routing from a static table, CORS, deferred (suspended) responses, static
 * files and a server-to-client WebSocket broadcaster.
 *
 * Deliberately not here: anything about BigchainDB, JSON parsing or
 * transactions.  The API module (api.c) owns the route table and decides how
 * error bodies look (see http_config.error_fn).
 *
 * Threading: handlers run on libmicrohttpd's worker threads and must not
 * block.  Work that waits for another thread (mode=commit) defers the
 * response with http_defer() and finishes it later with http_complete*()
 * from any thread.  http_ws_broadcast() may be called from any thread.
 *
 * Memory (STYLE rule 11): everything a request needs lives in req->arena,
 * which is released in exactly one place, the request-completion hook.  The
 * response body is a struct buf owned by the response until it is handed to
 * libmicrohttpd without copying.
 */
#ifndef LTD_HTTP_H
#define LTD_HTTP_H

#include <sys/socket.h>

#include "ltd.h"
#include "err.h"

/* ---- named limits (rule 10): fixed ones here, tunable ones in http_config ---- */
enum {
    http_args_max = 64,                 /* query arguments per request; more -> 400 */
    http_params_max = 8,                /* {param} segments per route pattern */
    http_pattern_bytes_max = 256,       /* one route pattern */
    http_routes_max = 256,              /* rows of one route table */
    http_ws_control_bytes_max = 125,    /* RFC 6455 control-frame payload */
    http_ws_frame_in_bytes_max = 65536, /* one client data frame; more -> close 1009 */
    http_ws_queue_frames_max = 1024,    /* frames queued for one subscriber */
    http_content_type_bytes_max = 96,   /* content type given to http_complete() */
};

/* Methods are bits so that a path's allowed methods form a mask (405 Allow). */
enum http_method {
    HTTP_GET = 1 << 0,
    HTTP_HEAD = 1 << 1,
    HTTP_POST = 1 << 2,
    HTTP_PUT = 1 << 3,
    HTTP_DELETE = 1 << 4,
    HTTP_PATCH = 1 << 5,
    HTTP_OPTIONS = 1 << 6,
    HTTP_OTHER = 1 << 7, /* any other token; never routable */
};

enum http_route_flags {
    /* No Access-Control-* headers on this route's responses and no CORS
     * preflight answer (for cookie-authenticated LTDRS routes). */
    HTTP_ROUTE_NO_CORS = 1 << 0,
    /* GET upgrades to an RFC 6455 WebSocket that receives the frames given to
     * http_ws_broadcast() for this route's pattern.  fn may be NULL; if set it
     * runs first and may refuse the upgrade by setting resp->status. */
    HTTP_ROUTE_WEBSOCKET = 1 << 1,
};

/* A name/value pair: query argument or path parameter.  All strings are
 * NUL-terminated and live in the request arena. */
struct http_kv {
    const char *name;
    const char *value;
    size_t value_len; /* bytes in value (never contains NUL) */
};

/* One incoming request.  Everything is borrowed and valid only until the
 * handler returns (or, for a deferred request, until the handler returns:
 * the completing thread must not touch req). */
struct http_req {
    enum http_method method;
    const char *method_str;       /* as sent (GET, POST, ...) */
    const char *target;           /* raw request-target incl. query, for logs */
    const char *path;             /* percent-decoded path without query; no NUL, no dot segments */
    size_t path_len;              /* bytes in path */
    const struct http_kv *args;   /* decoded query arguments in request order, repeats kept */
    size_t n_args;                /* entries in args (<= http_args_max) */
    const struct http_kv *params; /* {param} values of the matched route; "*" for a prefix route */
    size_t n_params;              /* entries in params */
    const char *body;             /* request body, NUL-terminated ("" when none) */
    size_t body_len;              /* bytes in body (<= config.body_bytes_max) */
    uint64_t id;                  /* request id for logs, unique per server */
    const struct http_route *route; /* matched row; NULL for layer-generated errors */
    struct arena arena;             /* per-request memory, freed by the completion hook */
    void *priv_;                    /* private to http.c */
};

/* An extra response header (list lives in the request arena). */
struct http_header {
    struct http_header *next;
    const char *name;
    const char *value;
};

/* The response a handler fills in.  Defaults: status 200, Content-Type
 * application/json, empty body. */
struct http_resp {
    int status;                  /* 0 = not set (sent as 200) */
    const char *content_type;    /* NULL = application/json; borrowed: static or arena */
    struct buf body;             /* owned by the response; sent without copying */
    struct http_header *headers; /* extra headers, in order; see http_resp_header() */
    bool close;                  /* close the connection after this response */
    int fd_;                     /* private: file being sent, -1 if none */
    uint64_t fd_size_;           /* private: its size */
    void *priv_;                 /* private to http.c */
};

typedef void (*http_handler_fn)(void *app, struct http_req *req, struct http_resp *resp);

/* One row of the route table (STYLE rule 3).  pattern: "/literal/{name}/..."
 * where "{name}" matches one non-empty segment, "{name:uint}" one segment of
 * 1-20 decimal digits, and a final "*" segment matches the rest of the path
 * (also empty) as parameter "*".  A trailing slash is optional on every
 * route.  Rows are tried in order; the first row whose pattern and method
 * match wins; HEAD falls back to the GET row.  A path that matches some row
 * but no row of the method gets 405 with an Allow header, OPTIONS gets the
 * CORS preflight answer, and a path matching no row gets 404. */
struct http_route {
    enum http_method method; /* exactly one bit, not HTTP_OTHER */
    const char *pattern;     /* borrowed; must outlive the server */
    http_handler_fn fn;      /* NULL only with HTTP_ROUTE_WEBSOCKET */
    unsigned flags;          /* enum http_route_flags */
};

/* Renders an error produced by the layer itself (404, 405, 400 on a
 * malformed request, 413, 503, deferred 504/503) into resp.  req may be
 * partly filled: path is NULL when the request-target did not parse.  Must
 * set resp->status or it becomes ltd_err_http(code).  Runs on a worker
 * thread; must not block. */
typedef void (*http_error_fn)(void *app, const struct http_req *req, struct http_resp *resp,
                              enum ltd_err code, const char *detail);

struct http_config {
    const char *listen;          /* "127.0.0.1:9984", "[::1]:9984", "localhost:0"; port 0 = any */
    unsigned threads;            /* worker threads; 0 = number of CPUs */
    unsigned connections_max;    /* open connections; the next max(16, connections_max / 8)
                                  * are accepted only to answer 503 + close, beyond that
                                  * libmicrohttpd closes new connections at once */
    unsigned timeout_ms;         /* idle connection timeout (rounded up to seconds) */
    size_t body_bytes_max;       /* request body; more -> 413 naming this limit, then the
                                  * connection is closed.  A larger Content-Length: read
                                  * and discarded up to 2 x this, then 413 (answered at
                                  * once with Expect: 100-continue or above 2 x this);
                                  * a larger chunked body: 413 once it ends (the excess
                                  * is discarded, not stored), or the connection is closed
                                  * after another body_bytes_max */
    size_t header_bytes_max;     /* request line + headers; more -> 414/431 by MHD */
    size_t url_bytes_max;        /* request-target; more -> 400 */
    unsigned deferred_max;       /* deferred requests in flight; more -> 503 */
    unsigned defer_ms_max;       /* default and upper bound of a deferral; then 504 */
    unsigned ws_subscribers_max; /* WebSocket subscribers; more -> 503 */
    size_t ws_queue_bytes_max;   /* bytes queued for one subscriber before it is dropped */
    http_error_fn error_fn;      /* NULL = http_reply_error() */
    bool quiet;                  /* suppress warn-level log lines (tests) */
};

/* Counters for a status endpoint; read without locking (each is atomic). */
struct http_stats {
    uint64_t requests;         /* responses queued */
    uint64_t status_4xx;       /* of which 4xx */
    uint64_t status_5xx;       /* of which 5xx */
    uint64_t connections_open; /* TCP connections now open (incl. WebSockets) */
    uint64_t deferred_open;    /* deferred requests not yet finished */
    uint64_t deferred_expired; /* deferrals ended by timeout (504) */
    uint64_t deferred_gone;    /* deferrals whose client went away first */
    uint64_t ws_subscribers;   /* WebSocket subscribers now connected */
    uint64_t ws_dropped;       /* subscribers dropped for being slow */
};

/* A deferred request, passed by value to another thread.  Stale handles are
 * harmless: completing one returns LTD_E_NOT_FOUND. */
struct http_defer {
    struct http_server *server;
    uint32_t slot;
    uint32_t gen;
};

struct http_server;

/* ---- server lifecycle ---- */

/* Fills *cfg with the defaults: 127.0.0.1:9984, threads = CPUs,
 * connections_max 1024, timeout 30 s, body 1 MiB, headers 16 KiB, URL 8 KiB,
 * deferred 1024 for at most 30 s, 256 WebSocket subscribers with 4 MiB
 * queues. */
void http_config_init(struct http_config *cfg);

/* Starts serving.  [in] cfg is copied; routes (n_routes rows) and the strings
 * they point to are borrowed and must outlive the server; app is passed to
 * every handler.  Returns the server (free with http_stop), or NULL with
 * eb set to LTD_E_USAGE (bad address, config or route table) or LTD_E_IO
 * (bind/listen failed, thread creation failed). */
struct http_server *http_start(const struct http_config *cfg, const struct http_route *routes,
                               size_t n_routes, void *app, struct ltd_errbuf *eb);

/* Stops accepting, answers every deferred request 503, closes every
 * WebSocket (close code 1001), waits for the workers and frees the server.
 * Afterwards no http_defer handle of this server may be used: stop the
 * threads that complete deferred requests first.  NULL is a no-op. */
void http_stop(struct http_server *srv);

/* The bound TCP port (useful after listening on port 0). */
uint16_t http_port(const struct http_server *srv);

/* [out] *out = a snapshot of the counters. */
void http_stats_get(const struct http_server *srv, struct http_stats *out);

/* ---- request accessors (borrowed results, valid while the handler runs) ---- */

/* First query argument called name (decoded), or NULL. */
const char *http_query(const struct http_req *req, const char *name);

/* Appends to out, comma-separated, the names of query arguments that are not
 * in allowed[0..n_allowed) (each name once, in request order) and returns how
 * many distinct unknown names there were.  For strict endpoints. */
size_t http_query_unknown(const struct http_req *req, const char *const *allowed, size_t n_allowed,
                          struct buf *out);

/* Value of path parameter name ("id" for "{id}", "*" for a prefix route), or NULL. */
const char *http_param(const struct http_req *req, const char *name);

/* Request header by case-insensitive name (first occurrence), or NULL. */
const char *http_header(const struct http_req *req, const char *name);

/* Client address as text ("127.0.0.1", "::1"); in the arena; "?" if unknown. */
const char *http_client_addr(struct http_req *req);

/* ---- building responses ---- */

/* Adds an extra header (copied into the request arena).  Returns LTD_OK, or
 * LTD_E_USAGE (nothing added) if name is not an HTTP token or value holds
 * CR, LF or other control characters. */
enum ltd_err http_resp_header(struct http_resp *resp, const char *name, const char *value);

/* Replaces the response with status and the JSON text json (copied). */
void http_reply_json(struct http_resp *resp, int status, const char *json);

/* Replaces the response with BigchainDB's error shape
 * {"message":"<message>","status":N} plus flask.jsonify's trailing newline
 * (message JSON-escaped, UTF-8 kept). */
void http_reply_error_bdb(struct http_resp *resp, int status, const char *message);

/* Replaces the response with LTDRS's error shape
 * {"code":N,"error":"<LTD_E_NAME>","hint":"<hint>","message":"<detail or hint>"}
 * and the status ltd_err_http(code).  detail may be NULL. */
void http_reply_error(struct http_resp *resp, enum ltd_err code, const char *detail);

/* Appends s[0..n) to out as the inside of a JSON string: ", \ and control
 * characters escaped (\u00XX lowercase), valid UTF-8 passed through, each
 * invalid UTF-8 byte replaced by U+FFFD. */
void http_json_escape(struct buf *out, const char *s, size_t n);

/* Serves the regular file relpath (decoded, relative, e.g. http_param(req,
 * "*")) below root_dir.  An empty relpath or one ending in "/" means
 * "index.html" there.  Refuses (404, never revealing why) dot segments,
 * dot files, backslashes, '%', control characters, absolute paths, and any
 * symlink resolving outside root_dir; sets Content-Type from the extension,
 * ETag, Cache-Control (no-cache for HTML, 1 hour otherwise),
 * X-Content-Type-Options, and answers a matching If-None-Match with 304.
 * Returns LTD_OK (response set up) or LTD_E_NOT_FOUND / LTD_E_IO after
 * having written the error reply itself; the handler just returns. */
enum ltd_err http_send_file(struct http_resp *resp, const char *root_dir, const char *relpath);

/* ---- deferred responses ---- */

/* Defers the response: after the handler returns the connection is
 * suspended until http_complete*() is called, the client goes away, the
 * deferral times out (504 LTD_E_HTTP_TIMEOUT through error_fn) after
 * timeout_ms (0 or more than config.defer_ms_max = defer_ms_max), or the
 * server stops (503).  Returns LTD_OK with *out set; or LTD_E_HTTP_OVERLOAD
 * after having written a 503 reply (too many deferred requests, or the
 * server is stopping) and the handler just returns. */
LTD_MUST_CHECK enum ltd_err http_defer(struct http_req *req, struct http_resp *resp,
                                       unsigned timeout_ms, struct http_defer *out);

/* Completes a deferred request from any thread with status (200..599,
 * asserted), content_type
 * (NULL = application/json; copied, at most http_content_type_bytes_max - 1
 * bytes) and body[0..n) (copied).  Returns LTD_OK, or LTD_E_NOT_FOUND if the
 * request is already finished (completed, timed out, client gone). */
enum ltd_err http_complete(struct http_defer h, int status, const char *content_type,
                           const void *body, size_t n);

/* Like http_complete() but the reply is rendered by config.error_fn (or
 * http_reply_error) on the worker thread; detail is copied, may be NULL. */
enum ltd_err http_complete_error(struct http_defer h, enum ltd_err code, const char *detail);

/* ---- WebSocket broadcast ---- */

/* Queues text[0..n) (valid UTF-8, the caller's duty) as one text frame to
 * every subscriber of the WebSocket route whose pattern is path.  Never
 * blocks on a socket: a subscriber whose queue would exceed
 * config.ws_queue_bytes_max or http_ws_queue_frames_max is dropped.  Returns
 * the number of subscribers the frame was queued for. */
size_t http_ws_broadcast(struct http_server *srv, const char *path, const char *text, size_t n);

/* ---- pure helpers, exported for tests and fuzzing ---- */

/* Parses an origin-form request-target target[0..n) ("/p%61th?a=1&b")
 * into *path (decoded, in arena a), *path_len and the decoded query
 * arguments *args / *n_args (arena).  Path decoding is strict: bad %-escapes,
 * %00 or control characters, "." or ".." segments, and raw bytes <= 0x20 or
 * 0x7f or '#' give LTD_E_HTTP_BAD_REQUEST.  Query decoding is lenient like
 * werkzeug ('+' is space, a bad %-escape stays literal) but a decoded NUL or
 * more than http_args_max arguments gives LTD_E_HTTP_BAD_ARG.  On failure
 * the outputs are cleared and the message goes to eb (may be NULL). */
LTD_MUST_CHECK enum ltd_err http_parse_target(struct arena *a, const char *target, size_t n,
                                              const char **path, size_t *path_len,
                                              const struct http_kv **args, size_t *n_args,
                                              struct ltd_errbuf *eb);

/* Checks a route table (see struct http_route).  Returns LTD_OK or
 * LTD_E_USAGE with the offending row named in eb. */
LTD_MUST_CHECK enum ltd_err http_routes_check(const struct http_route *routes, size_t n,
                                              struct ltd_errbuf *eb);

/* Finds the route for method m and the decoded path[0..len).  Returns the
 * winning row (params captured into arena a as *params / *n_params) or NULL;
 * *allow is the mask of methods of every row whose pattern matches the path
 * (0 = unknown path).  HEAD matches GET rows. */
const struct http_route *http_route_find(const struct http_route *routes, size_t n,
                                         enum http_method m, const char *path, size_t len,
                                         struct arena *a, const struct http_kv **params,
                                         size_t *n_params, unsigned *allow);

/* Returns true if the decoded relative path is acceptable to http_send_file:
 * no leading '/', no "." / ".." / dot-file segments, no empty inner
 * segments, no '\\', '%', ':' or control characters, at most 1024 bytes. */
bool http_static_path_ok(const char *relpath);

/* Content type for a file name from its extension ("text/html; charset=utf-8",
 * ...; "application/octet-stream" if unknown).  Static string. */
const char *http_mime_type(const char *name);

/* Parses "host:port" (IPv4 literal or "localhost") or "[v6]:port".  Returns
 * LTD_OK with *ss / *len set, or LTD_E_USAGE with eb set. */
LTD_MUST_CHECK enum ltd_err http_listen_parse(const char *s, struct sockaddr_storage *ss,
                                              socklen_t *len, struct ltd_errbuf *eb);

/* Writes the Sec-WebSocket-Accept value for key (28 characters + NUL). */
void http_ws_accept_key(const char *key, char out[29]);

#endif
