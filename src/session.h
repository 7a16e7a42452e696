/*
 * session.h - LTDRS login and sessions (domain page §2; threats C2-C5).
 *
 * Login: the server hands out a random single-use challenge bound to the
 * origin it was asked from; the browser signs the UTF-8 text
 * "ltdrs-login:v1:<origin>:<challenge>" with Ed25519 (never a 32-byte
 * digest, so a login signature can never be a transaction signature); the
 * server checks the signature over that text, consumes the challenge
 * (exactly one of concurrent attempts wins), derives the role from the
 * ledger and opens a session: a random 256-bit id in an HttpOnly,
 * SameSite=Strict cookie, and a CSRF token that every state-changing
 * cookie-authenticated request must echo in X-CSRF-Token.
 *
 * Everything is in memory: a restart logs everyone out (acceptable for a
 * school office; sessions are cheap to re-open).  Both tables (challenges,
 * sessions) are bounded; when full, the oldest entry is evicted.  Secrets
 * (session ids, CSRF tokens) are compared with sodium_memcmp and wiped
 * before their memory is freed.  The hash bucket of a session id is
 * chosen from the id's first bytes; the time that takes reveals nothing
 * useful about a 256-bit random id.
 *
 * Roles are re-derived from the ledger on every authenticated request
 * (two primary-key lookups), so an unbound student key or a rejected
 * department loses its rights at once, not at session expiry.
 *
 * HTTPS: the node speaks plain HTTP; behind a TLS proxy the proxy must set
 * X-Forwarded-Proto: https (and keep Host, or set X-Forwarded-Host).  The
 * cookie then gets `Secure`.  These headers are trusted: a browser cannot
 * add them to a cross-origin request without a CORS preflight, which LTDRS
 * routes never grant, and a client forging them only hurts itself.
 *
 * Split: a core that works on plain strings (struct session_req), tested
 * in isolation, and thin HTTP glue (session_require and friends).
 *
 * Not here: the routes (api_ltdrs.c), role lookups (query.c).
 */
#ifndef LTD_SESSION_H
#define LTD_SESSION_H

#include "err.h"
#include "http.h"
#include "ltd.h"
#include "query.h"
#include "store.h"

/* Named limits and defaults (rule 10). */
enum {
    session_challenge_ttl_ms = 2 * 60 * 1000, /* domain §2: two minutes */
    session_sessions_max = 10000,             /* open sessions; oldest evicted */
    session_challenges_max = 10000,           /* outstanding challenges; oldest evicted */
    session_origin_bytes_max = 256,           /* an Origin / Host value */
    session_cookie_ids_max = 4,               /* ltdrs_session values tried per request */
    session_body_bytes_max = 4096,            /* login request body */
};
#define SESSION_TTL_MS_DEFAULT (UINT64_C(8) * 3600 * 1000) /* 8 hours, absolute */
#define SESSION_COOKIE "ltdrs_session"

typedef uint64_t (*session_clock_fn)(void *ctx);

struct session_config {
    uint64_t ttl_ms;           /* session lifetime from login (not sliding) */
    uint64_t challenge_ttl_ms; /* challenge lifetime */
    uint32_t sessions_max;     /* bound of the session table */
    uint32_t challenges_max;   /* bound of the challenge table */
    bool cookie_secure_always; /* add Secure even without X-Forwarded-Proto: https */
    session_clock_fn now_ms;   /* wall clock in ms; NULL = ltd_now_ms (tests inject one) */
    void *now_ctx;             /* passed to now_ms */
};

/* Fills the defaults above. */
void session_config_init(struct session_config *cfg);

struct sessions;

/* Creates the tables.  st (the ledger, for roles) and admin (the genesis
 * admin key, copied) must outlive the result.  Free with sessions_free. */
struct sessions *sessions_new(const struct session_config *cfg, struct store *st,
                              const struct ltd_pubkey *admin);
/* Wipes and frees every entry and the tables.  NULL is a no-op. */
void sessions_free(struct sessions *ss);

/* The facts of a request the session logic needs (borrowed strings; NULL
 * when the header is absent). */
struct session_req {
    enum http_method method;
    const char *cookie;    /* Cookie */
    const char *origin;    /* Origin */
    const char *host;      /* Host */
    const char *fwd_host;  /* X-Forwarded-Host (first value is used) */
    const char *fwd_proto; /* X-Forwarded-Proto ("https" makes the cookie Secure) */
    const char *csrf;      /* X-CSRF-Token */
};

/* A session as handlers see it (a copy; no pointer into the table). */
struct session_info {
    struct query_role who; /* role from the ledger, re-derived per request */
    struct ltd_pubkey key; /* the logged-in public key */
    uint64_t expires_ms;   /* wall-clock expiry */
    char csrf[65];         /* the CSRF token (hex), for the login/session replies */
};

/* ---- origins (C2) ---- */

/* scheme "://" host of the server as the client addressed it: scheme from
 * X-Forwarded-Proto (default http), host from X-Forwarded-Host or Host.
 * False when there is no usable host. */
bool session_host_origin(const struct session_req *r, char *out, size_t cap);
/* True when the request carries no Origin header or its Origin is the
 * server's own (session_host_origin; without X-Forwarded-Proto both http
 * and https are accepted, for a TLS proxy that does not say so). */
bool session_origin_ok(const struct session_req *r);
/* The origin a login is bound to: the Origin header if present, else
 * session_host_origin.  False when neither is usable. */
bool session_request_origin(const struct session_req *r, char *out, size_t cap);

/* ---- login ---- */

/* Appends "ltdrs-login:v1:<origin>:<challenge_hex>" to out. */
void session_login_message(const char *origin, const char *challenge_hex, struct buf *out);

/* Issues a challenge for origin: [out] hex (64 lowercase hex + NUL),
 * *expires_ms.  Evicts the oldest challenge when the table is full. */
void sessions_challenge(struct sessions *ss, const char *origin, char hex[65],
                        uint64_t *expires_ms);

/*
 * Logs in: public_key (base58), challenge (hex as issued), signature
 * (base64url or hex of the 64-byte Ed25519 signature over the message
 * text for `origin`).  On success returns LTD_OK, the new session id in
 * id_hex and the session in *out.  Errors (outputs cleared):
 *   LTD_E_HTTP_BAD_REQUEST, LTD_E_KEY, LTD_E_BASE58*, LTD_E_BASE64,
 *     LTD_E_HEX  malformed input                                   -> 400
 *   LTD_E_TX_SIGNATURE  the signature does not verify over the text
 *                       (the challenge stays usable)                -> 401
 *   LTD_E_NOT_FOUND     challenge unknown, used, expired or issued
 *                       for another origin (it is consumed)         -> 401
 *   LTD_E_L_NOT_ALLOWED the key has no role on the ledger           -> 403
 *   store errors                                                    -> 5xx
 */
LTD_MUST_CHECK enum ltd_err sessions_login(struct sessions *ss, const char *origin,
                                           const char *public_key, const char *challenge,
                                           const char *signature, char id_hex[65],
                                           struct session_info *out, struct ltd_errbuf *eb);
/* The HTTP status for a sessions_login error (see the list above). */
int session_login_status(enum ltd_err e);

/* ---- sessions ---- */

/* The live session named by an ltdrs_session cookie in the Cookie header
 * (role as stored at login).  LTD_OK or LTD_E_NOT_FOUND (none, unknown,
 * expired). */
LTD_MUST_CHECK enum ltd_err sessions_find(struct sessions *ss, const char *cookie,
                                          struct session_info *out);
/* Ends the session(s) named in the Cookie header; true if one was live. */
bool sessions_logout(struct sessions *ss, const char *cookie);
/* Number of live sessions (for tests and status). */
size_t sessions_count(struct sessions *ss);

/*
 * The whole check for a cookie-authenticated request: a live session
 * (else 401); for POST/PUT/PATCH/DELETE also an acceptable Origin and the
 * session's CSRF token in X-CSRF-Token (else 403); then the role, fresh
 * from the ledger, must be in role_mask (0 = any logged-in key; a rejected
 * department has no role) (else 403).  Returns 0 with *out filled, or the
 * HTTP status with the reason in eb (5xx on store errors).
 */
int sessions_check(struct sessions *ss, const struct session_req *r, unsigned role_mask,
                   struct session_info *out, struct ltd_errbuf *eb);

/* The Set-Cookie value for a new session id (ttl from the config), or for
 * clearing the cookie when id_hex is NULL. */
void sessions_cookie(const struct sessions *ss, const struct session_req *r, const char *id_hex,
                     struct buf *out);

/* ---- HTTP glue ---- */

/* Reads the headers named in struct session_req (borrowed from req). */
void session_req_from_http(const struct http_req *req, struct session_req *out);

/* For handlers: `if (session_require(ss, req, resp, QUERY_ROLE_ADMIN, &si)) return;`
 * Returns 0 when the request may go on (*out filled), else the HTTP status
 * after having written the error reply (401 anonymous, 403 role/CSRF/
 * origin, 5xx store). */
int session_require(struct sessions *ss, struct http_req *req, struct http_resp *resp,
                    unsigned role_mask, struct session_info *out);
/* The optional session of a public request: true and *out filled when a
 * live session with a role comes with it (no CSRF check: for GETs). */
bool session_peek(struct sessions *ss, struct http_req *req, struct session_info *out);
/* For public state-changing requests (login, challenge): 403 unless
 * session_origin_ok.  Returns nonzero after replying. */
int session_origin_or_reply(struct http_req *req, struct http_resp *resp);
/* Writes the LTDRS error shape with an explicit status (401/403): err.h
 * has no codes of its own for these yet, so the body carries `code` (e.g.
 * LTD_E_L_NOT_ALLOWED) and the status says 401 or 403. */
void session_reply_error(struct http_resp *resp, int status, enum ltd_err code,
                         const char *message);

#endif
