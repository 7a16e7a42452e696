/*
 * fuzz_json.c - libFuzzer target for cjson_parse and the canonical writer.
 *
 * Properties checked on every input (abort on violation):
 *  - a failure carries its code in the errbuf and a message "at byte N: ...";
 *  - canonical(parse(canonical(x))) == canonical(x) (the canonical form is a
 *    fixed point), and a clone canonicalises to the same bytes;
 *  - whatever parses under tight limits also parses under the defaults and
 *    gives the same canonical bytes (limits only ever reject).
 * Built by `make fuzz` with clang -fsanitize=fuzzer, and by the Makefile's
 * replay target with fuzz/replay.c for `make test`.
 */
#include "cjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static _Noreturn void
fz_violation(const char *what, const struct buf *b)
{
    fprintf(stderr, "fuzz_json: %s\n", what);
    if (b != NULL && b->p != NULL)
        fprintf(stderr, "canonical: %.*s\n", (int)(b->len > 2000 ? 2000 : b->len), b->p);
    abort();
}

static void
fz_check_failure(enum ltd_err e, const struct ltd_errbuf *eb, const struct cjson *v)
{
    if (v != NULL)
        fz_violation("failed parse left *out set", NULL);
    if (eb->code != e || e < LTD_E_JSON_SYNTAX || e > LTD_E_JSON_TRAILING)
        fz_violation("failed parse with a wrong or missing error code", NULL);
    if (strncmp(eb->msg, "at byte ", 8) != 0)
        fz_violation("error message does not start with the byte offset", NULL);
}

/* canonical(parse(c1)) must equal c1, and so must canonical(clone(v)). */
static void
fz_check_fixed_point(struct arena *a, const struct cjson *v, const struct buf *c1)
{
    struct ltd_errbuf eb;
    struct cjson *w = NULL;
    struct buf c2, c3;
    buf_init(&c2);
    buf_init(&c3);
    ltd_errbuf_clear(&eb);
    if (cjson_parse(a, c1->p, c1->len, NULL, &w, &eb) != LTD_OK) {
        fprintf(stderr, "fuzz_json: reparse failed: %s\n", eb.msg);
        fz_violation("canonical output does not parse", c1);
    }
    cjson_canonical(w, &c2);
    if (c2.len != c1->len || memcmp(c2.p, c1->p, c1->len) != 0)
        fz_violation("canonical(parse(canonical(x))) != canonical(x)", c1);
    cjson_canonical(cjson_clone(a, v), &c3);
    if (c3.len != c1->len || memcmp(c3.p, c1->p, c1->len) != 0)
        fz_violation("canonical(clone(x)) != canonical(x)", c1);
    buf_release(&c3);
    buf_release(&c2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct cjson_limits tight = {
        .bytes_max = 4096, .depth_max = 4, .string_bytes_max = 16, .members_max = 8};
    struct arena a;
    struct ltd_errbuf eb;
    struct cjson *v = NULL, *t = NULL;
    struct buf c1, ct;
    arena_init(&a);
    buf_init(&c1);
    buf_init(&ct);
    ltd_errbuf_clear(&eb);
    bool canonical = false;
    enum ltd_err e = cjson_parse_canon(&a, (const char *)data, size, NULL, &v, &canonical, &eb);
    if (e != LTD_OK) {
        fz_check_failure(e, &eb, v);
        if (canonical)
            fz_violation("a failed parse called canonical", NULL);
    } else {
        cjson_canonical(v, &c1);
        fz_check_fixed_point(&a, v, &c1);
        if (canonical != (c1.len == size && memcmp(c1.p, data, size) == 0))
            fz_violation("canonical verdict differs from the writer", &c1);
    }
    ltd_errbuf_clear(&eb);
    enum ltd_err et = cjson_parse(&a, (const char *)data, size, &tight, &t, &eb);
    if (et != LTD_OK) {
        fz_check_failure(et, &eb, t);
    } else {
        if (e != LTD_OK)
            fz_violation("parses under tight limits but not under the defaults", NULL);
        cjson_canonical(t, &ct);
        if (ct.len != c1.len || memcmp(ct.p, c1.p, c1.len) != 0)
            fz_violation("tight and default limits give different trees", &ct);
    }
    buf_release(&ct);
    buf_release(&c1);
    arena_release(&a);
    return 0;
}
