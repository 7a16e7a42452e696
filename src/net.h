/*
 * net.h - the small HTTP client the staff commands (`ltdrs admin|dept|student`)
 * use to talk to a node: GET and POST of JSON over libcurl, one easy handle
 * per client so that consecutive requests reuse the keep-alive connection,
 * bounded connect and request times, a bounded response size, an in-memory
 * cookie jar and extra headers for the session API (cookie + CSRF token).
 *
 * Every failure comes back as an enum ltd_err with a message that names the
 * method, the URL and the HTTP status, followed by what the server said:
 * BigchainDB's `message` ("Invalid transaction (NotAdmin): ..."), the
 * LTDRS API's `hint`/`error`, or the start of the body.  The response
 * (status and body) is kept in struct net_resp for callers that look further.
 *
 * Not here: deciding exit codes or printing (cmd_*.c do), retries (a POST
 * whose answer was lost may have been committed: the caller must look it
 * up, never blindly resend), TLS client certificates.  A client is used by
 * one thread at a time.
 */
#ifndef LTD_NET_H
#define LTD_NET_H

#include "err.h"
#include "ltd.h"

/* Named limits (rule 10). */
enum {
    net_url_bytes_max = 2048,                  /* base URL + path + query */
    net_base_url_bytes_max = 512,              /* --node URL */
    net_response_bytes_max = 64 * 1024 * 1024, /* one response body (report CSV) */
    net_headers_bytes_max = 16 * 1024,         /* response headers kept */
    net_extra_headers_max = 8,                 /* headers set with net_set_header */
    net_connect_timeout_ms = 5000,             /* TCP connect */
    net_request_timeout_ms = 120000,           /* whole request (commit mode waits) */
};

struct net;

struct net_config {
    const char *base_url;        /* "http://127.0.0.1:9984" (a trailing '/' is dropped) */
    uint32_t connect_timeout_ms; /* default net_connect_timeout_ms */
    uint32_t request_timeout_ms; /* default net_request_timeout_ms */
    size_t response_bytes_max;   /* default net_response_bytes_max */
};

/* One answer.  body and headers are owned; release with net_resp_release. */
struct net_resp {
    long status;        /* HTTP status; 0 when no answer came */
    struct buf body;    /* the body, NUL-terminated */
    struct buf headers; /* raw response header lines (last response of redirects: none) */
};

enum net_method { NET_GET = 1, NET_POST = 2 };

void net_config_init(struct net_config *cfg);

/*
 * Makes a client for cfg->base_url, which must be http:// or https://
 * followed by a host, at most net_base_url_bytes_max bytes, without query
 * or fragment.  Nothing is connected yet.
 * [out] out  the client; free with net_free.  NULL on failure.
 * Returns LTD_OK or LTD_E_USAGE (message quotes the URL and says why).
 */
LTD_MUST_CHECK enum ltd_err net_new(const struct net_config *cfg, struct net **out,
                                    struct ltd_errbuf *eb);
/* Closes the connection and frees everything (NULL is fine).  Header values
 * set with net_set_header (a CSRF token) are wiped first. */
void net_free(struct net *n);

/* The base URL without trailing '/'; borrowed, valid until net_free. */
const char *net_base_url(const struct net *n);

/* Adds or replaces (by name, case-insensitive) a header sent with every
 * later request, e.g. "X-CSRF-Token".  value NULL removes it.  The name
 * and value are copied; both must be printable ASCII without CR/LF
 * (asserted: callers pass what a server sent only after checking it). */
void net_set_header(struct net *n, const char *name, const char *value);

/* The value of cookie `name` in the client's jar (set by a server with
 * Set-Cookie), copied into out (cap bytes).  False when absent or longer. */
bool net_cookie(struct net *n, const char *name, char *out, size_t cap);

void net_resp_init(struct net_resp *r);
void net_resp_release(struct net_resp *r);

/*
 * Sends one request to base_url + path (path starts with '/', may carry a
 * query already escaped by the caller).  body/len is sent for NET_POST
 * with the given content type (NULL: application/json).  r is reset first.
 * Returns:
 *   LTD_OK                 a 2xx answer (r->status, r->body)
 *   LTD_E_HTTP_NOT_FOUND   404
 *   LTD_E_HTTP_BAD_REQUEST any other 4xx (the server refused the request)
 *   LTD_E_HTTP_OVERLOAD    5xx (the server failed or is busy)
 *   LTD_E_HTTP_TIMEOUT     no answer: cannot connect, connection lost, or
 *                          timed out (err.h has no separate code for an
 *                          unreachable server; the message says which)
 *   LTD_E_TOO_LARGE        the answer exceeded response_bytes_max
 *   LTD_E_USAGE            the URL would exceed net_url_bytes_max
 * The message is "<METHOD> <URL>: HTTP <status>: <server message>" or
 * "<METHOD> <URL>: <transport error>".
 */
LTD_MUST_CHECK enum ltd_err net_request(struct net *n, enum net_method m, const char *path,
                                        const char *body, size_t len, const char *content_type,
                                        struct net_resp *r, struct ltd_errbuf *eb);

/* Shorthands: GET path; POST a JSON body. */
LTD_MUST_CHECK enum ltd_err net_get(struct net *n, const char *path, struct net_resp *r,
                                    struct ltd_errbuf *eb);
LTD_MUST_CHECK enum ltd_err net_post_json(struct net *n, const char *path, const char *body,
                                          size_t len, struct net_resp *r, struct ltd_errbuf *eb);

/* What the server said in an error body, appended to out: BigchainDB's
 * "message" (a string, or the first "<arg>: <text>" of an object), else
 * the LTDRS "hint"/"error", else the first 200 bytes of the body with
 * control characters replaced. */
void net_server_message(const struct net_resp *r, struct buf *out);

/* The BigchainDB error type of a refused transaction, from a message
 * "Invalid transaction (<Type>): ..." in the body, copied into out (cap
 * bytes).  False when the body has no such message. */
bool net_rule(const struct net_resp *r, char *out, size_t cap);

/* Appends s percent-encoded for a query value or path segment (unreserved
 * characters kept, everything else %XX). */
void net_escape(const char *s, struct buf *out);

#endif
