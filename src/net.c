/*
 * net.c - the staff commands' HTTP client over libcurl (see net.h).
 *
 * One CURL easy handle per client: libcurl keeps the connection alive
 * between requests on the same handle, so a distribution of hundreds of
 * batches pays for one TCP connect.  The cookie engine is on (in memory
 * only, never written to disk) so that a session cookie set by the login
 * answer goes with every later request.  Bodies are collected into a
 * struct buf with a hard size limit.
 *
 * Not here: JSON beyond reading an error message, exit codes, printing.
 */
#include "net.h"

#include "cjson.h"
#include "codec.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct net_header {
    char *name;  /* owned */
    char *value; /* owned; wiped on replace and free (may be a CSRF token) */
};

struct net {
    char base[net_base_url_bytes_max + 1]; /* without trailing '/' */
    struct net_config cfg;
    CURL *h;                                      /* kept for keep-alive */
    struct net_header hdr[net_extra_headers_max]; /* extra request headers */
    size_t n_hdr;
};

/* Where an answer is collected, bounded by max. */
struct sink {
    struct buf *b;
    size_t max;
    bool overflow;
};

void
net_config_init(struct net_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->connect_timeout_ms = net_connect_timeout_ms;
    cfg->request_timeout_ms = net_request_timeout_ms;
    cfg->response_bytes_max = net_response_bytes_max;
}

static bool
url_ok(const char *u, size_t n, const char **why)
{
    size_t skip = strncmp(u, "http://", 7) == 0 ? 7 : strncmp(u, "https://", 8) == 0 ? 8 : 0;
    *why = NULL;
    if (skip == 0)
        *why = "it must start with http:// or https://";
    else if (n <= skip || u[skip] == '/')
        *why = "it has no host";
    else if (n > net_base_url_bytes_max)
        *why = "it is too long";
    else if (strpbrk(u, "?# \t\r\n") != NULL)
        *why = "it must not contain a query, a fragment or spaces";
    return *why == NULL;
}

enum ltd_err
net_new(const struct net_config *cfg, struct net **out, struct ltd_errbuf *eb)
{
    *out = NULL;
    LTD_ASSERT(cfg->base_url != NULL);
    LTD_ASSERT(cfg->connect_timeout_ms > 0 && cfg->request_timeout_ms > 0);
    const char *u = cfg->base_url;
    size_t n = strlen(u);
    while (n > 0 && u[n - 1] == '/')
        n--;
    const char *why = NULL;
    if (!url_ok(u, n, &why))
        return ltd_fail(eb, LTD_E_USAGE, "node URL '%.100s': %s", u, why);
    struct net *c = xcalloc(1, sizeof *c);
    memcpy(c->base, u, n);
    c->base[n] = 0;
    c->cfg = *cfg;
    c->cfg.base_url = c->base;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    c->h = curl_easy_init();
    LTD_ASSERT(c->h != NULL);
    curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c->h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
    curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, (long)cfg->request_timeout_ms);
    curl_easy_setopt(c->h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->h, CURLOPT_COOKIEFILE, ""); /* cookie engine on, jar in memory */
    curl_easy_setopt(c->h, CURLOPT_USERAGENT, "ltdrs-cli");
    *out = c;
    return LTD_OK;
}

static void
header_wipe(struct net_header *h)
{
    if (h->value)
        codec_wipe(h->value, strlen(h->value));
    free(h->name);
    free(h->value);
    h->name = h->value = NULL;
}

void
net_free(struct net *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->n_hdr; i++)
        header_wipe(&n->hdr[i]);
    curl_easy_cleanup(n->h);
    free(n);
    curl_global_cleanup();
}

const char *
net_base_url(const struct net *n)
{
    return n->base;
}

static bool
header_text_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

void
net_set_header(struct net *n, const char *name, const char *value)
{
    LTD_ASSERT(header_text_ok(name) && strchr(name, ':') == NULL);
    LTD_ASSERT(value == NULL || header_text_ok(value));
    size_t i = 0;
    while (i < n->n_hdr && strcasecmp(n->hdr[i].name, name) != 0)
        i++;
    if (i < n->n_hdr) {
        header_wipe(&n->hdr[i]);
        n->hdr[i] = n->hdr[--n->n_hdr];
    }
    if (value == NULL)
        return;
    LTD_ASSERT(n->n_hdr < net_extra_headers_max);
    n->hdr[n->n_hdr].name = xstrdup(name);
    n->hdr[n->n_hdr].value = xstrdup(value);
    n->n_hdr++;
}

bool
net_cookie(struct net *n, const char *name, char *out, size_t cap)
{
    struct curl_slist *list = NULL;
    bool found = false;
    if (curl_easy_getinfo(n->h, CURLINFO_COOKIELIST, &list) != CURLE_OK)
        return false;
    /* Netscape format: domain, tailmatch, path, secure, expires, name, value. */
    for (struct curl_slist *l = list; l && !found; l = l->next) {
        const char *f = l->data;
        for (int k = 0; k < 5 && f; k++) {
            f = strchr(f, '\t');
            f = f ? f + 1 : NULL;
        }
        const char *tab = f ? strchr(f, '\t') : NULL;
        if (tab == NULL || (size_t)(tab - f) != strlen(name) || memcmp(f, name, strlen(name)))
            continue;
        size_t vlen = strlen(tab + 1);
        if (vlen < cap) {
            memcpy(out, tab + 1, vlen + 1);
            found = true;
        }
    }
    curl_slist_free_all(list);
    return found;
}

void
net_resp_init(struct net_resp *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->body);
    buf_init(&r->headers);
}

void
net_resp_release(struct net_resp *r)
{
    buf_release(&r->body);
    buf_release(&r->headers);
    r->status = 0;
}

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

/* Keeps header lines up to net_headers_bytes_max; more are dropped
 * silently (only the first few matter). */
static size_t
header_write(char *p, size_t size, size_t nmemb, void *arg)
{
    struct buf *b = arg;
    size_t n = size * nmemb;
    if (n >= 5 && strncasecmp(p, "HTTP/", 5) == 0)
        buf_reset(b); /* a new response (after 100 Continue): keep only its headers */
    if (b->len + n <= net_headers_bytes_max)
        buf_add(b, p, n);
    return n;
}

/* ---------------------------------------------------- error messages */

static void
add_sanitized(struct buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        buf_addc(out, c < 0x20 || c == 0x7f ? ' ' : (char)c);
    }
}

void
net_server_message(const struct net_resp *r, struct buf *out)
{
    struct arena a;
    arena_init(&a);
    struct cjson *root = NULL;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    bool done = false;
    if (r->body.len && cjson_parse(&a, r->body.p, r->body.len, NULL, &root, &eb) == LTD_OK &&
        root->type == CJSON_OBJECT) {
        const struct cjson *m = cjson_get(root, "message");
        const struct cjson *hint = cjson_get(root, "hint");
        const struct cjson *err = cjson_get(root, "error");
        if (cjson_is_string(m)) {
            add_sanitized(out, m->str, m->len);
            done = true;
        } else if (m && m->type == CJSON_OBJECT && m->len > 0 &&
                   cjson_is_string(m->members[0].val)) {
            buf_addf(out, "%s: ", m->members[0].key);
            add_sanitized(out, m->members[0].val->str, m->members[0].val->len);
            done = true;
        } else if (cjson_is_string(hint) || cjson_is_string(err)) {
            if (cjson_is_string(err))
                add_sanitized(out, err->str, err->len);
            if (cjson_is_string(err) && cjson_is_string(hint))
                buf_adds(out, ": ");
            if (cjson_is_string(hint))
                add_sanitized(out, hint->str, hint->len);
            done = true;
        }
    }
    if (!done) {
        enum { shown_bytes_max = 200 };
        size_t n = r->body.len < shown_bytes_max ? r->body.len : shown_bytes_max;
        if (n == 0)
            buf_adds(out, "(empty body)");
        else
            add_sanitized(out, r->body.p, n);
    }
    arena_release(&a);
}

bool
net_rule(const struct net_resp *r, char *out, size_t cap)
{
    struct buf m;
    buf_init(&m);
    net_server_message(r, &m);
    static const char prefix[] = "Invalid transaction (";
    bool ok = false;
    if (m.p && strncmp(m.p, prefix, sizeof prefix - 1) == 0) {
        const char *s = m.p + sizeof prefix - 1;
        const char *e = strchr(s, ')');
        if (e && e > s && (size_t)(e - s) < cap) {
            memcpy(out, s, (size_t)(e - s));
            out[e - s] = 0;
            ok = true;
        }
    }
    buf_release(&m);
    return ok;
}

void
net_escape(const char *s, struct buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        if (keep) {
            buf_addc(out, (char)*p);
        } else {
            buf_addc(out, '%');
            buf_addc(out, hex[*p >> 4]);
            buf_addc(out, hex[*p & 15]);
        }
    }
}

/* --------------------------------------------------------- requests */

static enum ltd_err
status_error(long status, const char *method, const char *url, const struct net_resp *r,
             struct ltd_errbuf *eb)
{
    struct buf m;
    buf_init(&m);
    net_server_message(r, &m);
    enum ltd_err code = status == 404  ? LTD_E_HTTP_NOT_FOUND
                        : status < 500 ? LTD_E_HTTP_BAD_REQUEST
                                       : LTD_E_HTTP_OVERLOAD;
    enum ltd_err e = ltd_fail(eb, code, "%s %s: HTTP %ld: %s", method, url, status, m.p);
    buf_release(&m);
    return e;
}

static enum ltd_err
transport_error(CURLcode cc, const char *method, const char *url, const char *detail,
                struct ltd_errbuf *eb)
{
    const char *what = detail[0] ? detail : curl_easy_strerror(cc);
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return ltd_fail(eb, LTD_E_HTTP_TIMEOUT, "%s %s: no answer in time (%s)", method, url, what);
    if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
        return ltd_fail(eb, LTD_E_HTTP_TIMEOUT, "%s %s: node unreachable (%s)", method, url, what);
    return ltd_fail(eb, LTD_E_HTTP_TIMEOUT, "%s %s: %s", method, url, what);
}

/* The request headers: content type, no 100-continue, the extra ones. */
static struct curl_slist *
request_headers(const struct net *n, const char *content_type)
{
    struct curl_slist *l = NULL;
    struct buf h;
    buf_init(&h);
    buf_addf(&h, "Content-Type: %s", content_type ? content_type : "application/json");
    l = curl_slist_append(l, h.p);
    l = curl_slist_append(l, "Expect:");
    l = curl_slist_append(l, "Accept: application/json");
    for (size_t i = 0; i < n->n_hdr; i++) {
        buf_reset(&h);
        buf_addf(&h, "%s: %s", n->hdr[i].name, n->hdr[i].value);
        l = curl_slist_append(l, h.p);
        codec_wipe(h.p, h.len);
    }
    buf_release(&h);
    LTD_ASSERT(l != NULL);
    return l;
}

enum ltd_err
net_request(struct net *n, enum net_method m, const char *path, const char *body, size_t len,
            const char *content_type, struct net_resp *r, struct ltd_errbuf *eb)
{
    LTD_ASSERT(path != NULL && path[0] == '/');
    LTD_ASSERT(m == NET_GET || m == NET_POST);
    buf_reset(&r->body);
    buf_reset(&r->headers);
    r->status = 0;
    const char *method = m == NET_GET ? "GET" : "POST";
    char url[net_url_bytes_max + 1];
    int ul = snprintf(url, sizeof url, "%s%s", n->base, path);
    if (ul < 0 || (size_t)ul >= sizeof url)
        return ltd_fail(eb, LTD_E_USAGE, "%s %s%.60s...: URL longer than %d bytes", method, n->base,
                        path, (int)net_url_bytes_max);
    struct sink s = {&r->body, n->cfg.response_bytes_max, false};
    char detail[CURL_ERROR_SIZE] = {0};
    struct curl_slist *hl = request_headers(n, content_type);
    CURL *h = n->h;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_write);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
    if (m == NET_POST) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    CURLcode cc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(hl);
    if (s.overflow)
        return ltd_fail(eb, LTD_E_TOO_LARGE, "%s %s: answer larger than %zu bytes", method, url,
                        n->cfg.response_bytes_max);
    if (cc != CURLE_OK)
        return transport_error(cc, method, url, detail, eb);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->status >= 200 && r->status < 300)
        return LTD_OK;
    return status_error(r->status, method, url, r, eb);
}

enum ltd_err
net_get(struct net *n, const char *path, struct net_resp *r, struct ltd_errbuf *eb)
{
    return net_request(n, NET_GET, path, NULL, 0, NULL, r, eb);
}

enum ltd_err
net_post_json(struct net *n, const char *path, const char *body, size_t len, struct net_resp *r,
              struct ltd_errbuf *eb)
{
    return net_request(n, NET_POST, path, body, len, NULL, r, eb);
}
