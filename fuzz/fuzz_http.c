/*
 * fuzz_http.c - libFuzzer target for the parsing code of src/http.c that is
 * ours, not libmicrohttpd's: request-target parsing (strict path decoding,
 * dot-segment refusal, lenient query decoding), route matching against a
 * BigchainDB-like table, the static-file path check, JSON escaping and the
 * listen-address parser.  The input is used as a request-target.
 *
 * Properties checked (not just "no crash"):
 *   - an accepted path starts with '/', has no NUL, no control byte and no
 *     "." / ".." segment, and path_len == strlen(path);
 *   - re-encoding the decoded path byte by byte and parsing again gives the
 *     same path (decoding is exact);
 *   - query values are NUL-free and value_len == strlen(value);
 *   - a found route is found again, its method is in the allow mask, and
 *     its parameters are non-empty, slash-free (except "*") and digits-only
 *     for {name:uint};
 *   - http_static_path_ok() never accepts "..", a leading '/', '\\' or '%';
 *   - http_json_escape() output has no raw control byte or bare quote and is
 *     valid UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_handler(void *app, struct http_req *req, struct http_resp *resp)
{
    (void)app;
    (void)req;
    (void)resp;
}

static const struct http_route routes[] = {
    {HTTP_GET, "/", fuzz_handler, 0},
    {HTTP_GET, "/api/v1/", fuzz_handler, 0},
    {HTTP_GET, "/api/v1/transactions/{transaction_id}", fuzz_handler, 0},
    {HTTP_GET, "/api/v1/transactions", fuzz_handler, 0},
    {HTTP_POST, "/api/v1/transactions", fuzz_handler, 0},
    {HTTP_GET, "/api/v1/outputs", fuzz_handler, 0},
    {HTTP_GET, "/api/v1/blocks/{height:uint}", fuzz_handler, 0},
    {HTTP_GET, "/api/v1/blocks", fuzz_handler, 0},
    {HTTP_GET, "/api/v1/assets/", fuzz_handler, 0},
    {HTTP_GET, "/api/v1/streams/valid_transactions", NULL, HTTP_ROUTE_WEBSOCKET},
    {HTTP_PUT, "/ltdrs/{kind}/{id}", fuzz_handler, HTTP_ROUTE_NO_CORS},
    {HTTP_GET, "/static/*", fuzz_handler, 0},
    {HTTP_GET, "/*", fuzz_handler, 0},
};

#define FUZZ_CHECK(c)                                                                              \
    do {                                                                                           \
        if (!(c))                                                                                  \
            ltd_assert_fail(#c, __FILE__, __LINE__);                                               \
    } while (0)

static void
check_utf8_json(const struct buf *b)
{
    const unsigned char *s = (const unsigned char *)b->p;
    for (size_t i = 0; i < b->len;) {
        unsigned char c = s[i];
        FUZZ_CHECK(c >= 0x20);
        if (c == '\\') {
            FUZZ_CHECK(i + 1 < b->len);
            i += 2;
            continue;
        }
        FUZZ_CHECK(c != '"');
        size_t l = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        FUZZ_CHECK(c < 0x80 || c >= 0xc2);
        FUZZ_CHECK(i + l <= b->len);
        for (size_t k = 1; k < l; k++)
            FUZZ_CHECK((s[i + k] & 0xc0) == 0x80);
        i += l;
    }
}

static void
check_static(const char *rel)
{
    if (!http_static_path_ok(rel))
        return;
    FUZZ_CHECK(rel[0] != '/' && rel[0] != '.'); /* no absolute path, no dot segment */
    FUZZ_CHECK(strstr(rel, "/.") == NULL && strstr(rel, "//") == NULL);
    FUZZ_CHECK(strchr(rel, '\\') == NULL && strchr(rel, '%') == NULL);
}

static void
check_route(struct arena *a, const char *path, size_t plen)
{
    static const enum http_method methods[] = {HTTP_GET, HTTP_POST, HTTP_HEAD, HTTP_PUT};
    for (size_t m = 0; m < ARRAY_LEN(methods); m++) {
        const struct http_kv *params;
        size_t np;
        unsigned allow;
        const struct http_route *r = http_route_find(routes, ARRAY_LEN(routes), methods[m], path,
                                                     plen, a, &params, &np, &allow);
        if (r == NULL)
            continue;
        unsigned want = methods[m] == HTTP_HEAD ? (unsigned)HTTP_GET : (unsigned)methods[m];
        FUZZ_CHECK(r->method == (enum http_method)want || r->method == methods[m]);
        FUZZ_CHECK(allow & (unsigned)r->method);
        FUZZ_CHECK(np <= http_params_max + 1);
        for (size_t i = 0; i < np; i++) {
            FUZZ_CHECK(strlen(params[i].value) == params[i].value_len);
            if (strcmp(params[i].name, "*") == 0) {
                check_static(params[i].value);
                continue;
            }
            FUZZ_CHECK(params[i].value_len > 0 && strchr(params[i].value, '/') == NULL);
            if (strcmp(params[i].name, "height") == 0)
                FUZZ_CHECK(strspn(params[i].value, "0123456789") == params[i].value_len);
        }
        const struct http_kv *p2;
        size_t np2;
        unsigned allow2;
        FUZZ_CHECK(http_route_find(routes, ARRAY_LEN(routes), methods[m], path, plen, a, &p2, &np2,
                                   &allow2) == r);
        FUZZ_CHECK(np2 == np && allow2 == allow);
    }
}

/* Percent-encodes every byte of path except unreserved characters and '/'. */
static char *
reencode(const char *path, size_t n, size_t *out_n)
{
    static const char hex[] = "0123456789ABCDEF";
    char *o = malloc(3 * n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '/' || c == '-' || c == '_' || c == '~') {
            o[k++] = (char)c;
        } else {
            o[k++] = '%';
            o[k++] = hex[c >> 4];
            o[k++] = hex[c & 15];
        }
    }
    o[k] = 0;
    *out_n = k;
    return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    char *t = xmemdup(data, size);
    struct arena a;
    arena_init(&a);
    const char *path;
    size_t plen, n;
    const struct http_kv *args;
    if (http_parse_target(&a, t, size, &path, &plen, &args, &n, NULL) == LTD_OK) {
        FUZZ_CHECK(path[0] == '/' && strlen(path) == plen);
        for (size_t i = 0; i < plen; i++)
            FUZZ_CHECK((unsigned char)path[i] >= 0x20 && path[i] != 0x7f);
        for (const char *seg = path; seg; seg = strchr(seg + 1, '/'))
            FUZZ_CHECK(strcmp(seg, "/.") != 0 && strncmp(seg, "/./", 3) != 0 &&
                       strcmp(seg, "/..") != 0 && strncmp(seg, "/../", 4) != 0);
        FUZZ_CHECK(n <= http_args_max);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(strlen(args[i].value) == args[i].value_len);
        size_t en;
        char *enc = reencode(path, plen, &en);
        const char *path2;
        size_t plen2, n2;
        const struct http_kv *args2;
        FUZZ_CHECK(http_parse_target(&a, enc, en, &path2, &plen2, &args2, &n2, NULL) == LTD_OK);
        FUZZ_CHECK(plen2 == plen && memcmp(path2, path, plen) == 0 && n2 == 0);
        free(enc);
        check_route(&a, path, plen);
    } else {
        FUZZ_CHECK(path == NULL && args == NULL && n == 0);
    }
    check_static(t);
    struct buf b;
    buf_init(&b);
    http_json_escape(&b, t, size);
    check_utf8_json(&b);
    buf_release(&b);
    struct sockaddr_storage ss;
    socklen_t sl;
    if (http_listen_parse(t, &ss, &sl, NULL) == LTD_OK)
        FUZZ_CHECK(sl > 0 && (ss.ss_family == AF_INET || ss.ss_family == AF_INET6));
    (void)http_mime_type(t);
    arena_release(&a);
    free(t);
    return 0;
}
