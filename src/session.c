/*
 * session.c - challenges, login and sessions of session.h.
 *
 * Two bounded tables under one mutex: challenges (id = the 32 challenge
 * bytes) and sessions (id = the 32 session-id bytes).  Each is a chained
 * hash table plus a list in insertion order; since every entry of a table
 * lives equally long, insertion order is expiry order, so expiring is
 * popping from the old end and eviction (table full) drops the oldest.
 *
 * Consuming a challenge is "find and unlink" under the mutex, after the
 * signature has been checked outside it: of concurrent logins with the same
 * challenge exactly one finds it.  A wrong signature does not consume the
 * challenge (a typo in a key file should not force a new round trip);
 * a challenge presented from another origin is consumed (it is tainted).
 *
 * Not here: HTTP routing, which roles may call what (api_ltdrs.c).
 */
#include "session.h"

#include "codec.h"
#include "ltdrs.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct entry {
    uint8_t id[32];      /* challenge bytes or session id (secret) */
    uint64_t expires_ms; /* wall clock */
    struct entry *hnext; /* bucket chain */
    struct entry *older; /* insertion-order list */
    struct entry *newer;
    char origin[session_origin_bytes_max + 1]; /* challenge: the origin it was issued for */
    struct session_info info;                  /* session: key, role at login, CSRF token */
};

struct table {
    struct entry **bucket; /* n_bucket chains */
    uint32_t n_bucket;     /* power of two */
    uint32_t count;        /* live entries */
    uint32_t max;          /* bound; the oldest is evicted beyond it */
    struct entry *oldest;  /* list ends */
    struct entry *newest;
};

struct sessions {
    struct session_config cfg; /* copied */
    struct store *st;          /* borrowed: roles come from the ledger */
    struct ltd_pubkey admin;   /* genesis admin key */
    pthread_mutex_t lock;      /* guards both tables */
    struct table chal;
    struct table sess;
};

static const char login_prefix[] = "ltdrs-login:v1:";

/* ---------------------------------------------------------------- tables */

static void
table_init(struct table *t, uint32_t max)
{
    LTD_ASSERT(max >= 1);
    memset(t, 0, sizeof *t);
    t->n_bucket = 16;
    while (t->n_bucket < max && t->n_bucket < (1u << 24))
        t->n_bucket <<= 1;
    t->bucket = xcalloc(t->n_bucket, sizeof(struct entry *));
    t->max = max;
}

static struct entry **
chain_of(struct table *t, const uint8_t id[32])
{
    uint32_t x;
    memcpy(&x, id, sizeof x);
    return &t->bucket[x & (t->n_bucket - 1)];
}

static struct entry *
table_find(struct table *t, const uint8_t id[32])
{
    for (struct entry *e = *chain_of(t, id); e; e = e->hnext)
        if (sodium_memcmp(e->id, id, 32) == 0)
            return e;
    return NULL;
}

static void
entry_free(struct entry *e)
{
    sodium_memzero(e, sizeof *e);
    free(e);
}

static void
table_unlink(struct table *t, struct entry *e)
{
    struct entry **pp = chain_of(t, e->id);
    while (*pp != e) {
        LTD_ASSERT(*pp != NULL); /* e is in its chain */
        pp = &(*pp)->hnext;
    }
    *pp = e->hnext;
    if (e->older)
        e->older->newer = e->newer;
    else
        t->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        t->newest = e->older;
    LTD_ASSERT(t->count > 0);
    t->count--;
}

/* Drops expired entries from the old end (insertion order = expiry order). */
static void
table_drop_oldest(struct table *t)
{
    struct entry *e = t->oldest;
    LTD_ASSERT(e != NULL);
    LTD_ASSERT(e->older == NULL); /* the list end */
    table_unlink(t, e);
    entry_free(e);
}

static void
table_expire(struct table *t, uint64_t now)
{
    while (t->oldest && t->oldest->expires_ms <= now)
        table_drop_oldest(t);
}

static void
table_insert(struct table *t, struct entry *e)
{
    if (t->count >= t->max) /* full: evict the oldest */
        table_drop_oldest(t);
    struct entry **chain = chain_of(t, e->id);
    e->hnext = *chain;
    *chain = e;
    e->newer = NULL;
    e->older = t->newest;
    if (t->newest)
        t->newest->newer = e;
    else
        t->oldest = e;
    t->newest = e;
    t->count++;
    LTD_ASSERT(t->count <= t->max);
}

static void
table_release(struct table *t)
{
    while (t->oldest)
        table_drop_oldest(t);
    free(t->bucket);
    memset(t, 0, sizeof *t);
}

/* A fresh random id not in the table (collisions are 2^-256 events, but a
 * duplicate would make two entries share an id). */
static void
fresh_id(struct table *t, uint8_t id[32])
{
    for (int i = 0; i < 4; i++) {
        codec_random(id, 32);
        if (table_find(t, id) == NULL)
            return;
    }
    LTD_ASSERT(!"random source repeats itself");
}

/* ------------------------------------------------------------- lifecycle */

void
session_config_init(struct session_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->ttl_ms = SESSION_TTL_MS_DEFAULT;
    cfg->challenge_ttl_ms = session_challenge_ttl_ms;
    cfg->sessions_max = session_sessions_max;
    cfg->challenges_max = session_challenges_max;
}

struct sessions *
sessions_new(const struct session_config *cfg, struct store *st, const struct ltd_pubkey *admin)
{
    LTD_ASSERT(cfg->ttl_ms > 0 && cfg->challenge_ttl_ms > 0);
    LTD_ASSERT(st != NULL);
    struct sessions *ss = xcalloc(1, sizeof *ss);
    ss->cfg = *cfg;
    ss->st = st;
    ss->admin = *admin;
    pthread_mutex_init(&ss->lock, NULL);
    table_init(&ss->chal, cfg->challenges_max);
    table_init(&ss->sess, cfg->sessions_max);
    return ss;
}

void
sessions_free(struct sessions *ss)
{
    if (ss == NULL)
        return;
    table_release(&ss->chal);
    table_release(&ss->sess);
    pthread_mutex_destroy(&ss->lock);
    free(ss);
}

static uint64_t
now_ms(const struct sessions *ss)
{
    return ss->cfg.now_ms ? ss->cfg.now_ms(ss->cfg.now_ctx) : ltd_now_ms();
}

/* --------------------------------------------------------------- origins */

/* Printable ASCII without spaces, 1..max bytes. */
static bool
token_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return false;
    return true;
}

/* Copies the first comma-separated value of s, trimmed, into out. */
static bool
first_value(const char *s, char *out, size_t cap)
{
    if (s == NULL)
        return false;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strcspn(s, ",");
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= cap)
        return false;
    memcpy(out, s, n);
    out[n] = 0;
    return true;
}

static bool
proto_https(const struct session_req *r)
{
    char p[16];
    return first_value(r->fwd_proto, p, sizeof p) && strcasecmp(p, "https") == 0;
}

static bool
host_of(const struct session_req *r, char *out, size_t cap)
{
    const char *h = r->fwd_host ? r->fwd_host : r->host;
    return first_value(h, out, cap) && token_ok(out, session_origin_bytes_max);
}

bool
session_host_origin(const struct session_req *r, char *out, size_t cap)
{
    char host[session_origin_bytes_max + 1];
    if (!host_of(r, host, sizeof host))
        return false;
    int n = snprintf(out, cap, "%s://%s", proto_https(r) ? "https" : "http", host);
    return n > 0 && (size_t)n < cap;
}

bool
session_origin_ok(const struct session_req *r)
{
    if (r->origin == NULL)
        return true;
    char own[session_origin_bytes_max + 16], host[session_origin_bytes_max + 1];
    if (!session_host_origin(r, own, sizeof own))
        return false;
    if (strcasecmp(r->origin, own) == 0)
        return true;
    if (r->fwd_proto != NULL || !host_of(r, host, sizeof host))
        return false;
    /* no X-Forwarded-Proto: a TLS proxy may not have said so */
    return strncasecmp(r->origin, "https://", 8) == 0 && strcasecmp(r->origin + 8, host) == 0;
}

bool
session_request_origin(const struct session_req *r, char *out, size_t cap)
{
    if (r->origin == NULL)
        return session_host_origin(r, out, cap);
    if (!token_ok(r->origin, session_origin_bytes_max) || strlen(r->origin) >= cap)
        return false;
    memcpy(out, r->origin, strlen(r->origin) + 1);
    return true;
}

/* ----------------------------------------------------------------- login */

void
session_login_message(const char *origin, const char *challenge_hex, struct buf *out)
{
    buf_adds(out, login_prefix);
    buf_adds(out, origin);
    buf_addc(out, ':');
    buf_adds(out, challenge_hex);
}

void
sessions_challenge(struct sessions *ss, const char *origin, char hex[65], uint64_t *expires_ms)
{
    LTD_ASSERT(token_ok(origin, session_origin_bytes_max)); /* callers validate */
    struct entry *e = xcalloc(1, sizeof *e);
    memcpy(e->origin, origin, strlen(origin) + 1);
    pthread_mutex_lock(&ss->lock);
    uint64_t now = now_ms(ss);
    table_expire(&ss->chal, now);
    fresh_id(&ss->chal, e->id);
    e->expires_ms = now + ss->cfg.challenge_ttl_ms;
    *expires_ms = e->expires_ms;
    hex_encode(hex, e->id, 32);
    table_insert(&ss->chal, e);
    pthread_mutex_unlock(&ss->lock);
}

static bool
lower_hex(const char *s, size_t n)
{
    if (s == NULL || strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* Signature as 128 hex digits or 86 base64url characters. */
static enum ltd_err
sig_decode(const char *s, struct ltd_sig *sig, struct ltd_errbuf *eb)
{
    size_t n = s ? strlen(s) : 0, len = 0;
    if (n == 128) {
        if (!lower_hex(s, 128) || !hex_decode(sig->b, 64, s, 128))
            return ltd_fail(eb, LTD_E_HEX, "signature: invalid hex");
        return LTD_OK;
    }
    if (n == 86) {
        if (codec_b64url_decode(s, n, sig->b, sizeof sig->b, &len) != LTD_OK || len != 64)
            return ltd_fail(eb, LTD_E_BASE64, "signature: invalid base64url");
        return LTD_OK;
    }
    return ltd_fail(eb, LTD_E_HTTP_BAD_REQUEST,
                    "signature must be the 64-byte Ed25519 signature in base64url or hex");
}

/* Parses and verifies the login inputs (no table access). */
static enum ltd_err
login_verify(const char *origin, const char *public_key, const char *challenge,
             const char *signature, uint8_t ch[32], struct ltd_pubkey *key, struct ltd_errbuf *eb)
{
    if (!token_ok(origin, session_origin_bytes_max))
        return ltd_fail(eb, LTD_E_HTTP_BAD_REQUEST, "no usable origin");
    if (!lower_hex(challenge, 64) || !hex_decode(ch, 32, challenge, 64))
        return ltd_fail(eb, LTD_E_HTTP_BAD_REQUEST, "challenge must be 64 lowercase hex");
    if (public_key == NULL)
        return ltd_fail(eb, LTD_E_KEY, "public_key is missing");
    enum ltd_err e = codec_b58_decode32(public_key, strlen(public_key), key->b);
    if (e)
        return ltd_fail(eb, e, "public_key is not a base58 Ed25519 key");
    struct ltd_sig sig;
    if ((e = sig_decode(signature, &sig, eb)))
        return e;
    struct buf msg;
    buf_init(&msg);
    session_login_message(origin, challenge, &msg);
    bool ok = codec_ed25519_verify(key, (const uint8_t *)msg.p, msg.len, &sig);
    buf_release(&msg);
    if (!ok)
        return ltd_fail(
            eb, LTD_E_TX_SIGNATURE,
            "the signature does not verify over \"ltdrs-login:v1:<origin>:<challenge>\"");
    return LTD_OK;
}

/* Finds and removes the challenge; LTD_E_NOT_FOUND if it is not usable. */
static enum ltd_err
challenge_take(struct sessions *ss, const uint8_t ch[32], const char *origin, struct ltd_errbuf *eb)
{
    pthread_mutex_lock(&ss->lock);
    uint64_t now = now_ms(ss);
    table_expire(&ss->chal, now);
    struct entry *e = table_find(&ss->chal, ch);
    bool same_origin = e && strcmp(e->origin, origin) == 0; /* origins are public */
    bool live = e && e->expires_ms > now;
    if (e) {
        table_unlink(&ss->chal, e);
        entry_free(e);
    }
    pthread_mutex_unlock(&ss->lock);
    if (!live)
        return ltd_fail(eb, LTD_E_NOT_FOUND, "unknown, used or expired challenge");
    if (!same_origin)
        return ltd_fail(eb, LTD_E_NOT_FOUND, "the challenge was issued for another origin");
    return LTD_OK;
}

enum ltd_err
sessions_login(struct sessions *ss, const char *origin, const char *public_key,
               const char *challenge, const char *signature, char id_hex[65],
               struct session_info *out, struct ltd_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    id_hex[0] = 0;
    uint8_t ch[32];
    struct ltd_pubkey key;
    struct query_role who;
    enum ltd_err e = login_verify(origin, public_key, challenge, signature, ch, &key, eb);
    if (e == LTD_OK)
        e = challenge_take(ss, ch, origin, eb);
    if (e == LTD_OK)
        e = query_role(ss->st, &ss->admin, &key, &who, eb);
    if (e)
        return e;
    if (who.role == QUERY_ROLE_NONE ||
        (who.role == QUERY_ROLE_DEPARTMENT && who.dept_status == LTDRS_REJECTED))
        return ltd_fail(eb, LTD_E_L_NOT_ALLOWED, "this key has no role on the ledger");
    struct entry *s = xcalloc(1, sizeof *s);
    uint8_t csrf[32];
    codec_random(csrf, sizeof csrf);
    hex_encode(s->info.csrf, csrf, sizeof csrf);
    codec_wipe(csrf, sizeof csrf);
    s->info.who = who;
    s->info.key = key;
    pthread_mutex_lock(&ss->lock);
    uint64_t now = now_ms(ss);
    table_expire(&ss->sess, now);
    fresh_id(&ss->sess, s->id);
    s->expires_ms = now + ss->cfg.ttl_ms;
    s->info.expires_ms = s->expires_ms;
    hex_encode(id_hex, s->id, 32);
    *out = s->info;
    table_insert(&ss->sess, s);
    pthread_mutex_unlock(&ss->lock);
    return LTD_OK;
}

int
session_login_status(enum ltd_err e)
{
    switch (e) {
    case LTD_OK:
        return 200;
    case LTD_E_TX_SIGNATURE:
    case LTD_E_NOT_FOUND:
        return 401;
    case LTD_E_L_NOT_ALLOWED:
        return 403;
    default:
        return ltd_err_http(e);
    }
}

/* -------------------------------------------------------------- sessions */

/* The ltdrs_session values (64 lowercase hex) of a Cookie header. */
static size_t
cookie_ids(const char *cookie, uint8_t ids[][32], size_t cap)
{
    size_t n = 0, name_len = strlen(SESSION_COOKIE);
    const char *p = cookie;
    while (p && *p && n < cap) {
        p += strspn(p, " \t;");
        size_t len = strcspn(p, ";");
        const char *v = p + name_len + 1;
        size_t vlen = len > name_len ? len - name_len - 1 : 0;
        while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            vlen--;
        if (len > name_len && memcmp(p, SESSION_COOKIE, name_len) == 0 && p[name_len] == '=' &&
            vlen == 64 && hex_decode(ids[n], 32, v, 64))
            n++;
        p += len;
    }
    return n;
}

enum ltd_err
sessions_find(struct sessions *ss, const char *cookie, struct session_info *out)
{
    memset(out, 0, sizeof *out);
    uint8_t ids[session_cookie_ids_max][32];
    size_t n = cookie_ids(cookie, ids, session_cookie_ids_max);
    enum ltd_err e = LTD_E_NOT_FOUND;
    pthread_mutex_lock(&ss->lock);
    table_expire(&ss->sess, now_ms(ss));
    for (size_t i = 0; i < n && e != LTD_OK; i++) {
        struct entry *s = table_find(&ss->sess, ids[i]);
        if (s) {
            *out = s->info;
            e = LTD_OK;
        }
    }
    pthread_mutex_unlock(&ss->lock);
    sodium_memzero(ids, sizeof ids);
    return e;
}

bool
sessions_logout(struct sessions *ss, const char *cookie)
{
    uint8_t ids[session_cookie_ids_max][32];
    size_t n = cookie_ids(cookie, ids, session_cookie_ids_max);
    bool live = false;
    pthread_mutex_lock(&ss->lock);
    table_expire(&ss->sess, now_ms(ss));
    for (size_t i = 0; i < n; i++) {
        struct entry *s = table_find(&ss->sess, ids[i]);
        if (s) {
            table_unlink(&ss->sess, s);
            entry_free(s);
            live = true;
        }
    }
    pthread_mutex_unlock(&ss->lock);
    sodium_memzero(ids, sizeof ids);
    return live;
}

size_t
sessions_count(struct sessions *ss)
{
    pthread_mutex_lock(&ss->lock);
    table_expire(&ss->sess, now_ms(ss));
    size_t n = ss->sess.count;
    pthread_mutex_unlock(&ss->lock);
    return n;
}

static bool
state_changing(enum http_method m)
{
    return m == HTTP_POST || m == HTTP_PUT || m == HTTP_PATCH || m == HTTP_DELETE;
}

int
sessions_check(struct sessions *ss, const struct session_req *r, unsigned role_mask,
               struct session_info *out, struct ltd_errbuf *eb)
{
    if (sessions_find(ss, r->cookie, out) != LTD_OK) {
        ltd_fail(eb, LTD_E_L_NOT_ALLOWED, "login required");
        return 401;
    }
    if (state_changing(r->method)) {
        if (!session_origin_ok(r)) {
            ltd_fail(eb, LTD_E_L_NOT_ALLOWED, "cross-origin request refused");
            return 403;
        }
        if (r->csrf == NULL || strlen(r->csrf) != 64 || sodium_memcmp(r->csrf, out->csrf, 64)) {
            ltd_fail(eb, LTD_E_L_NOT_ALLOWED, "missing or wrong X-CSRF-Token");
            return 403;
        }
    }
    struct query_role who;
    enum ltd_err e = query_role(ss->st, &ss->admin, &out->key, &who, eb);
    if (e)
        return ltd_err_http(e);
    if (who.role == QUERY_ROLE_DEPARTMENT && who.dept_status == LTDRS_REJECTED)
        who.role = QUERY_ROLE_NONE;
    out->who = who;
    if (role_mask != 0 && (who.role & role_mask) == 0) {
        ltd_fail(eb, LTD_E_L_NOT_ALLOWED, "the %s role may not do this", query_role_name(who.role));
        return 403;
    }
    return 0;
}

void
sessions_cookie(const struct sessions *ss, const struct session_req *r, const char *id_hex,
                struct buf *out)
{
    if (id_hex)
        buf_addf(out, SESSION_COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%llu", id_hex,
                 (unsigned long long)(ss->cfg.ttl_ms / 1000));
    else
        buf_adds(out, SESSION_COOKIE "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if (ss->cfg.cookie_secure_always || proto_https(r))
        buf_adds(out, "; Secure");
}

/* -------------------------------------------------------------- HTTP glue */

void
session_req_from_http(const struct http_req *req, struct session_req *out)
{
    out->method = req->method;
    out->cookie = http_header(req, "Cookie");
    out->origin = http_header(req, "Origin");
    out->host = http_header(req, "Host");
    out->fwd_host = http_header(req, "X-Forwarded-Host");
    out->fwd_proto = http_header(req, "X-Forwarded-Proto");
    out->csrf = http_header(req, "X-CSRF-Token");
}

void
session_reply_error(struct http_resp *resp, int status, enum ltd_err code, const char *message)
{
    http_reply_error(resp, code, message);
    resp->status = status;
}

int
session_require(struct sessions *ss, struct http_req *req, struct http_resp *resp,
                unsigned role_mask, struct session_info *out)
{
    struct session_req r;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    session_req_from_http(req, &r);
    int status = sessions_check(ss, &r, role_mask, out, &eb);
    if (status >= 500)
        http_reply_error(resp, eb.code, eb.msg);
    else if (status)
        session_reply_error(resp, status, LTD_E_L_NOT_ALLOWED, eb.msg);
    return status;
}

bool
session_peek(struct sessions *ss, struct http_req *req, struct session_info *out)
{
    struct session_req r;
    session_req_from_http(req, &r);
    if (r.cookie == NULL)
        return false;
    r.method = HTTP_GET; /* reading only: no CSRF token needed */
    return sessions_check(ss, &r, 0, out, NULL) == 0 && out->who.role != QUERY_ROLE_NONE;
}

int
session_origin_or_reply(struct http_req *req, struct http_resp *resp)
{
    struct session_req r;
    session_req_from_http(req, &r);
    if (session_origin_ok(&r))
        return 0;
    session_reply_error(resp, 403, LTD_E_L_NOT_ALLOWED, "cross-origin request refused");
    return 403;
}
