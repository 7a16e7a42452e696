/*
 * interop_check.c - the C half of the interoperability harness with the
 * official JS driver (bigchaindb-driver 4.3.0), run by tests/e2e/10_interop.sh.
 *
 *   interop_check verify FILE.jsonl...
 *       Checks transactions the driver built (tests/js/gen_driver_txs.js).
 *       Each line is {"tx": <tx>, "id": ..., "kind": ..., "canon": ...,
 *       ["expect": ...]}.  The exact text of "tx" (what the driver POSTs) is
 *       cut out of the line and given to tx_parse; the C id must equal the
 *       driver's, the C canonical id preimage must equal the driver's
 *       ("canon") byte for byte, CREATEs must pass tx_verify_create and
 *       TRANSFERs tx_verify_input for every input (the spent outputs are
 *       looked up among earlier lines by id), and both tx_check_strict.
 *       Lines with "expect" state what the reference server answers:
 *       "ok", or a BigchainDB error type ("InvalidHash" must be
 *       LTD_E_TX_HASH; others are compared with ltd_err_bdb_type).
 *   interop_check make N OUT.jsonl SEED
 *       Builds N transactions with the C core (tx_build_create,
 *       tx_build_transfer, tx_sign once per owner) from a seeded PRNG:
 *       random Unicode asset data and metadata restricted to what the
 *       driver canonicalises like the server (doc §2.2), single-key,
 *       2-of-2, 1-of-2 and nested threshold outputs, chains and multi-input
 *       transfers.  Writes {"tx": <canonical tx>, "kind": ..., "spent":
 *       [<spent output>...]} per line for tests/js/verify_c_txs.js, and
 *       checks each transaction with the C verifier as well.
 *
 * Prints one line per failure and ends with "interop: N passed, M failed";
 * exits 1 on any failure.  Not a unit test (tests/test_*.c): it needs
 * files made by node.  Not here: ledger rules (rules.c), HTTP.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc.h"
#include "cjson.h"
#include "codec.h"
#include "err.h"
#include "ltd.h"
#include "tx.h"

enum {
    keys_n = 24,          /* key pool of `make` */
    fail_lines_max = 200, /* failure lines printed before going quiet */
    shown_bytes_max = 48, /* context bytes shown around a canonical difference */
    retries_max = 100,    /* bounded retry loops of the generators */
};

static int n_pass, n_fail, n_fail_shown;

static void LTD_PRINTF(3, 4)
    report_fail(unsigned long lineno, const char *kind, const char *fmt, ...);

/* ------------------------------------------------------------------ PRNG */

/* xoshiro256** seeded through splitmix64 from the text of SEED. */
struct rng {
    uint64_t s[4];
};

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void
rng_seed(struct rng *r, const char *text)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a of the seed text */
    for (const char *p = text; *p; p++)
        h = (h ^ (uint8_t)*p) * UINT64_C(0x100000001b3);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&h);
}

static uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform-ish in [0, n). */
static uint64_t
rng_below(struct rng *r, uint64_t n)
{
    LTD_ASSERT(n > 0);
    return rng_next(r) % n;
}

/* In [lo, hi], inclusive. */
static uint32_t
rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
    LTD_ASSERT(lo <= hi);
    return lo + (uint32_t)rng_below(r, (uint64_t)hi - lo + 1);
}

static double
rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

static bool
rng_chance(struct rng *r, double p)
{
    return rng_unit(r) < p;
}

/* ------------------------------------------------------------ random data */

/* Strings the driver and the server canonicalise alike (doc §2.2).  Control
 * characters whose \u00XX form has only digits (U+0000-U+0007,
 * U+0010-U+0019) print the same in both; U+000B, U+000E, U+000F and
 * U+001A-U+001F do not and are left out. */
/* clang-format off */
static const char *const pieces_any[] = {
    "hello", "BigchainDB", "asset", "x", " ", "  spaced  ", "0", "null", "true", "-",
    "中文", "区块链数据库", "測試", "日本語のテキスト", "한국어", "Ελληνικά", "русский",
    "עברית", "العربية", "हिन्दी", "ไทย", "😀", "🚀", "👍🏽", "👨‍👩‍👧‍👦", "🇩🇪",
    "𝒜𝓑𝒞", "𐍈", "🀄", "\xf4\x8f\xbf\xbd", "e\xcc\x81", "n\xcc\x83", "\xcc\x81",
    "Z\xcd\x91\xcd\x92\xcd\x97", "\xc3\x85", "A\xcc\x8a", "\"", "\\", "\n", "\t", "\r",
    "\b", "\f", "/", "</script>", "\x7f", "\xc2\x80", "\xc2\xa0", "\xe2\x80\xa8",
    "\xe2\x80\xa9", "\xe2\x80\x8b", "\\u0041", "\\n", "'", "`", "{", "}", "[", "]", ":", ",",
    "\x01", "\x07", "\x10", "\x19",
};
/* Values only: U+E000-U+FFFF characters sort differently from astral ones
 * in UTF-16 (driver) and code points (server) when both appear in keys. */
static const char *const pieces_value[] = {
    "\xef\xbb\xbf", "\xef\xbf\xbd", "\xef\xbf\xbf", "\xee\x80\x80", "\xef\xa3\xbf", "｡", "ﬁ",
};
/* clang-format on */

static void
utf8_put(struct buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    LTD_ASSERT(cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF));
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    buf_add(b, u, n);
}

static uint32_t
random_cp(struct rng *r, bool key)
{
    switch (rng_below(r, key ? 4 : 5)) {
    case 0:
        return rng_range(r, 0x20, 0x7e);
    case 1:
        return rng_range(r, 0xa0, 0x7ff);
    case 2:
        return rng_range(r, 0x800, 0xd7ff);
    case 3:
        return rng_range(r, 0x10000, 0x10ffff);
    default:
        return rng_range(r, 0xe000, 0xffff);
    }
}

static void
random_text(struct rng *r, struct buf *b, uint32_t parts_max, bool key)
{
    uint32_t parts = rng_range(r, 0, parts_max);
    for (uint32_t i = 0; i < parts; i++) {
        if (!key && rng_chance(r, 0.02)) {
            buf_add(b, "", 1); /* NUL: prints \u0000 in both; keys may not have it */
        } else if (rng_chance(r, 0.4)) {
            utf8_put(b, random_cp(r, key));
        } else if (!key && rng_chance(r, 0.15)) {
            buf_adds(b, pieces_value[rng_below(r, ARRAY_LEN(pieces_value))]);
        } else {
            buf_adds(b, pieces_any[rng_below(r, ARRAY_LEN(pieces_any))]);
        }
    }
}

/* A key the reference accepts (doc §1.4) and cjson_obj_set can take: no
 * leading '$', no '.', no NUL, not "language". */
static void
random_key(struct rng *r, struct buf *b)
{
    for (int tries = 0; tries < retries_max; tries++) {
        buf_reset(b);
        random_text(r, b, 3, true);
        if (b->len > 0 && (b->p[0] == '$' || memchr(b->p, '.', b->len) != NULL ||
                           memchr(b->p, '\0', b->len) != NULL))
            continue;
        if (b->len == 8 && memcmp(b->p, "language", 8) == 0)
            continue;
        return;
    }
    buf_reset(b);
    buf_adds(b, "k");
}

/* A float that JSON.stringify and Python repr print alike: finite,
 * non-integral, |x| >= 1e-4 (so below 2^52 and in fixed notation for both). */
static struct cjson *
random_float(struct arena *a, struct rng *r)
{
    static const char *const nice[] = {"0.5",    "0.25",    "0.125", "0.1",    "0.2",
                                       "0.3",    "0.75",    "1.5",   "123.25", "3.14159",
                                       "0.0001", "0.00012", "1e-3",  "2.5E2",  "12345678.9"};
    char t[64];
    for (int tries = 0; tries < retries_max; tries++) {
        switch (rng_below(r, 3)) {
        case 0:
            snprintf(t, sizeof t, "%s", nice[rng_below(r, ARRAY_LEN(nice))]);
            break;
        case 1:
            snprintf(t, sizeof t, "%" PRIu32 ".%" PRIu32, rng_range(r, 0, 1000000),
                     rng_range(r, 1, 999));
            break;
        default:
            snprintf(t, sizeof t, "%.17g", rng_unit(r) * pow(10.0, rng_range(r, 0, 18) - 3.0));
            break;
        }
        struct cjson *v = NULL;
        if (cjson_parse(a, t, strlen(t), NULL, &v, NULL) != LTD_OK || v->type != CJSON_FLOAT)
            continue;
        if (fabs(v->num) < 1e-4 || v->num == floor(v->num))
            continue;
        if (rng_chance(r, 0.3)) {
            char neg[66];
            snprintf(neg, sizeof neg, "-%s", t);
            LTD_ASSERT(cjson_parse(a, neg, strlen(neg), NULL, &v, NULL) == LTD_OK);
        }
        return v;
    }
    struct cjson *v = NULL;
    LTD_ASSERT(cjson_parse(a, "0.5", 3, NULL, &v, NULL) == LTD_OK);
    return v;
}

/* Integers JS holds exactly (|v| <= 2^53 - 1). */
static struct cjson *
random_int(struct arena *a, struct rng *r)
{
    static const int64_t edge[] = {0,
                                   -1,
                                   INT64_C(9007199254740991),
                                   INT64_C(-9007199254740991),
                                   INT64_C(4294967296),
                                   INT64_C(1000000000000000)};
    switch (rng_below(r, 4)) {
    case 0:
        return cjson_new_int(a, (int64_t)rng_below(r, 10));
    case 1:
        return cjson_new_int(a, (int64_t)rng_below(r, 2001) - 1000);
    case 2:
        return cjson_new_int(a, (int64_t)rng_below(r, UINT64_C(1) << 53) -
                                    (int64_t)(UINT64_C(1) << 52));
    default:
        return cjson_new_int(a, edge[rng_below(r, ARRAY_LEN(edge))]);
    }
}

static struct cjson *random_object(struct arena *a, struct rng *r, int depth, uint32_t members_min);

static struct cjson *
random_value(struct arena *a, struct rng *r, int depth)
{
    switch (rng_below(r, depth <= 0 ? 7 : 10)) {
    case 0:
        return cjson_new_null(a);
    case 1:
        return cjson_new_bool(a, rng_chance(r, 0.5));
    case 2:
        return random_int(a, r);
    case 3:
        return random_float(a, r);
    case 4:
    case 5:
    case 6: {
        struct buf b;
        buf_init(&b);
        random_text(r, &b, 6, false);
        struct cjson *s = cjson_new_string(a, b.len ? b.p : "", b.len);
        buf_release(&b);
        return s;
    }
    case 7:
    case 8:
        return random_object(a, r, depth - 1, 0);
    default: {
        struct cjson *arr = cjson_new_array(a);
        uint32_t n = rng_range(r, 0, 5);
        for (uint32_t i = 0; i < n; i++)
            cjson_arr_push(a, arr, random_value(a, r, depth - 1));
        return arr;
    }
    }
}

static struct cjson *
random_object(struct arena *a, struct rng *r, int depth, uint32_t members_min)
{
    static const char *const languages[] = {"english", "de", "none", "russian"};
    struct cjson *obj = cjson_new_object(a);
    uint32_t n = rng_range(r, members_min, 6);
    struct buf k;
    buf_init(&k);
    for (int tries = 0; obj->len < n && tries < retries_max; tries++) {
        random_key(r, &k);
        cjson_obj_set(a, obj, k.len ? k.p : "", random_value(a, r, depth));
    }
    buf_release(&k);
    if (rng_chance(r, 0.05))
        cjson_obj_set(a, obj, "language",
                      cjson_new_stringz(a, languages[rng_below(r, ARRAY_LEN(languages))]));
    return obj;
}

/* ------------------------------------------------------------ keys, locks */

struct keypair {
    struct ltd_seed seed;
    struct ltd_pubkey pk;
};

enum lock_kind { LOCK_ED, LOCK_2OF2, LOCK_1OF2, LOCK_NESTED, LOCK_KINDS };
static const char *const lock_names[LOCK_KINDS] = {"ed", "2of2", "1of2", "nested2of2"};

/* Who may spend an output: the kind and the key indices (k[0] alone, k[0]
 * and k[1], or k[0] and 1-of-(k[1], k[2]) for LOCK_NESTED). */
struct lock {
    enum lock_kind kind;
    uint32_t k[3];
    struct cc_details *d;
};

static void
random_distinct(struct rng *r, uint32_t *k, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        bool dup;
        do {
            k[i] = (uint32_t)rng_below(r, keys_n);
            dup = false;
            for (uint32_t j = 0; j < i; j++)
                dup = dup || k[j] == k[i];
        } while (dup);
    }
}

static struct lock
random_lock(struct arena *a, struct rng *r, const struct keypair *keys)
{
    struct lock l;
    memset(&l, 0, sizeof l);
    double x = rng_unit(r);
    l.kind = x < 0.5 ? LOCK_ED : x < 0.85 ? LOCK_2OF2 : x < 0.95 ? LOCK_1OF2 : LOCK_NESTED;
    random_distinct(r, l.k, 3);
    struct cc_details *e0 = cc_details_ed25519(a, &keys[l.k[0]].pk);
    struct cc_details **two = arena_alloc(a, 2 * sizeof *two);
    two[0] = e0;
    two[1] = cc_details_ed25519(a, &keys[l.k[1]].pk);
    switch (l.kind) {
    case LOCK_ED:
        l.d = e0;
        break;
    case LOCK_2OF2:
        l.d = cc_details_threshold(a, 2, 2, two);
        break;
    case LOCK_1OF2:
        l.d = cc_details_threshold(a, 1, 2, two);
        break;
    default: {
        struct cc_details **inner = arena_alloc(a, 2 * sizeof *inner);
        inner[0] = two[1];
        inner[1] = cc_details_ed25519(a, &keys[l.k[2]].pk);
        two[1] = cc_details_threshold(a, 1, 2, inner);
        l.d = cc_details_threshold(a, 2, 2, two);
        break;
    }
    }
    return l;
}

/* Adds the keys that will sign for lock l to set (a bitmask of key
 * indices): all that are needed, sometimes one more than needed. */
static uint32_t
lock_signers(struct rng *r, const struct lock *l)
{
    uint32_t m = 1u << l->k[0];
    switch (l->kind) {
    case LOCK_ED:
        return m;
    case LOCK_2OF2:
        return m | 1u << l->k[1];
    case LOCK_1OF2:
        if (rng_chance(r, 0.3))
            return m | 1u << l->k[1];
        return rng_chance(r, 0.5) ? m : 1u << l->k[1];
    default:
        if (rng_chance(r, 0.3))
            return m | 1u << l->k[1] | 1u << l->k[2];
        return m | 1u << l->k[rng_chance(r, 0.5) ? 1 : 2];
    }
}

/* ------------------------------------------------------ diagnostics, util */

static void
report_fail(unsigned long lineno, const char *kind, const char *fmt, ...)
{
    va_list ap;
    n_fail_shown++;
    if (n_fail_shown > fail_lines_max) {
        if (n_fail_shown == fail_lines_max + 1)
            printf("(further failure lines suppressed)\n");
        return;
    }
    printf("FAIL line %lu [%s]: ", lineno, kind);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* Appends bytes with non-printable ASCII escaped, for messages. */
static void
add_shown(struct buf *b, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            buf_addf(b, "\\x%02x", c);
        else
            buf_addc(b, (char)c);
    }
}

/* Describes where two byte strings first differ. */
static void
describe_diff(const char *c, size_t nc, const char *js, size_t nj, struct buf *out)
{
    size_t i = 0;
    while (i < nc && i < nj && c[i] == js[i])
        i++;
    size_t from = i > shown_bytes_max / 2 ? i - shown_bytes_max / 2 : 0;
    buf_addf(out, "first difference at byte %zu of %zu/%zu: C \"", i, nc, nj);
    add_shown(out, c + from, (nc - from < shown_bytes_max ? nc - from : shown_bytes_max));
    buf_adds(out, "\" vs driver \"");
    add_shown(out, js + from, (nj - from < shown_bytes_max ? nj - from : shown_bytes_max));
    buf_adds(out, "\"");
}

/* The canonical form with "id": null (what the id hashes). */
static void
canonical_id_null(struct arena *a, const struct cjson *root, struct buf *out)
{
    struct cjson *c = cjson_clone(a, root);
    if (c->type == CJSON_OBJECT)
        cjson_obj_set(a, c, "id", cjson_new_null(a));
    cjson_canonical(c, out);
}

/* Skips one JSON value starting at p (which the caller has validated).
 * Returns the first byte after it. */
static const char *
skip_value(const char *p, const char *end)
{
    int depth = 0;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\')
                    p++;
            p++;
        } else if (c == '{' || c == '[') {
            depth++;
            p++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return p;
            depth--;
            p++;
        } else if (c == ',' && depth == 0) {
            return p;
        } else {
            p++;
        }
        if (depth == 0 && (c == '"' || c == '}' || c == ']'))
            return p;
    }
    return p;
}

static const char *
skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Finds the exact text of the value of top-level `key` in the JSON object
 * s[0..n) (already validated by cjson_parse).  Keys are compared raw, so
 * `key` must need no escaping. */
static bool
value_span(const char *s, size_t n, const char *key, const char **vp, size_t *vn)
{
    const char *p = s, *end = s + n;
    size_t kl = strlen(key);
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return false;
    p++;
    for (int guard = 0; guard < json_members_max && p < end; guard++) {
        p = skip_ws(p, end);
        if (p >= end || *p != '"')
            return false;
        const char *k = p + 1;
        const char *kend = skip_value(p, end) - 1; /* at the closing quote */
        p = skip_ws(kend + 1, end);
        if (p >= end || *p != ':')
            return false;
        p = skip_ws(p + 1, end);
        const char *v = p;
        p = skip_value(p, end);
        if ((size_t)(kend - k) == kl && memcmp(k, key, kl) == 0) {
            const char *ve = p;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\n' || ve[-1] == '\t' || ve[-1] == '\r'))
                ve--;
            *vp = v;
            *vn = (size_t)(ve - v);
            return true;
        }
        p = skip_ws(p, end);
        if (p >= end || *p != ',')
            return false;
        p++;
    }
    return false;
}

/* --------------------------------------------------------- tx index by id */

struct entry {
    struct tx t;
    uint8_t *spent; /* one flag per output: spent by an earlier line */
};

struct index {
    struct entry **slot; /* open addressing, cap a power of two */
    size_t cap, n;
};

static size_t
index_pos(const struct index *ix, const struct ltd_hash *id)
{
    uint64_t h;
    memcpy(&h, id->b, sizeof h);
    size_t i = (size_t)h & (ix->cap - 1);
    while (ix->slot[i] != NULL && memcmp(ix->slot[i]->t.id.b, id->b, 32) != 0)
        i = (i + 1) & (ix->cap - 1);
    return i;
}

static struct entry *
index_get(const struct index *ix, const struct ltd_hash *id)
{
    if (ix->cap == 0)
        return NULL;
    return ix->slot[index_pos(ix, id)];
}

static void
index_put(struct index *ix, struct entry *e)
{
    if (2 * (ix->n + 1) > ix->cap) {
        struct index big = {xcalloc(ix->cap ? 2 * ix->cap : 1024, sizeof(struct entry *)),
                            ix->cap ? 2 * ix->cap : 1024, 0};
        for (size_t i = 0; i < ix->cap; i++)
            if (ix->slot[i] != NULL)
                big.slot[index_pos(&big, &ix->slot[i]->t.id)] = ix->slot[i];
        big.n = ix->n;
        free(ix->slot);
        *ix = big;
    }
    size_t i = index_pos(ix, &e->t.id);
    if (ix->slot[i] == NULL)
        ix->n++;
    ix->slot[i] = e;
}

static struct entry *
index_add(struct arena *a, struct index *ix, const struct tx *t)
{
    struct entry *e = arena_alloc(a, sizeof *e);
    e->t = *t;
    e->spent = arena_alloc(a, t->n_out + 1);
    index_put(ix, e);
    return e;
}

/* ------------------------------------------------------------ verification */

/* TRANSFER: every input against the output it spends, plus the in-file
 * ledger facts (exists, unspent, same asset, amounts balance). */
static bool
check_transfer(const struct tx *t, struct index *ix, unsigned long lineno, const char *kind)
{
    struct ltd_hash *msgs = xcalloc(t->n_in, sizeof *msgs);
    tx_signing_messages(t, msgs);
    unsigned __int128 in_sum = 0;
    bool ok = true;
    for (uint32_t i = 0; i < t->n_in; i++) {
        const struct tx_input *in = &t->in[i];
        struct entry *prev = index_get(ix, &in->fulfills_txid);
        struct ltd_hash one;
        tx_signing_message(t, i, &one);
        if (memcmp(one.b, msgs[i].b, 32) != 0) {
            report_fail(lineno, kind, "input %u: tx_signing_message != tx_signing_messages", i);
            ok = false;
        }
        if (prev == NULL || in->fulfills_index >= prev->t.n_out) {
            report_fail(lineno, kind, "input %u: spent output %s:%" PRIu64 " not in the file", i,
                        in->fulfills_txid_hex, in->fulfills_index);
            ok = false;
            continue;
        }
        const struct tx_output *o = &prev->t.out[in->fulfills_index];
        struct ltd_errbuf eb;
        ltd_errbuf_clear(&eb);
        enum ltd_err e = tx_verify_input(t, i, o->details, &msgs[i], &eb);
        if (e != LTD_OK) {
            report_fail(lineno, kind, "input %u: tx_verify_input: %s: %s", i, ltd_err_name(e),
                        eb.msg);
            ok = false;
        }
        if (prev->spent[in->fulfills_index]) {
            report_fail(lineno, kind, "input %u: output spent twice in the file", i);
            ok = false;
        }
        prev->spent[in->fulfills_index] = 1;
        if (memcmp(prev->t.asset_id.b, t->asset_id.b, 32) != 0) {
            report_fail(lineno, kind, "input %u: spends another asset", i);
            ok = false;
        }
        in_sum += o->amount;
    }
    if (in_sum != t->out_sum) {
        report_fail(lineno, kind, "amounts: inputs %" PRIu64 " != outputs %" PRIu64,
                    (uint64_t)in_sum, (uint64_t)t->out_sum);
        ok = false;
    }
    free(msgs);
    return ok;
}

/* The checks after a successful tx_parse. */
static bool
check_parsed(struct arena *a, const struct tx *t, const struct cjson *line, struct index *ix,
             unsigned long lineno, const char *kind)
{
    bool ok = true;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    const struct cjson *id = cjson_get(line, "id");
    if (id != NULL && !cjson_string_eq(id, t->id_hex)) {
        report_fail(lineno, kind, "C id %s != driver id %s", t->id_hex,
                    cjson_is_string(id) ? id->str : "(not a string)");
        ok = false;
    }
    const struct cjson *canon = cjson_get(line, "canon");
    if (canon != NULL && cjson_is_string(canon)) {
        struct buf c;
        buf_init(&c);
        canonical_id_null(a, t->root, &c);
        if (c.len != canon->len || memcmp(c.p, canon->str, c.len) != 0) {
            struct buf d;
            buf_init(&d);
            describe_diff(c.p, c.len, canon->str, canon->len, &d);
            report_fail(lineno, kind, "canonical id preimage differs: %s", d.p);
            buf_release(&d);
            ok = false;
        }
        buf_release(&c);
    }
    /* tx_serialize must round-trip to the same id. */
    struct buf s;
    buf_init(&s);
    tx_serialize(t, &s);
    struct tx again;
    enum ltd_err e = tx_parse(a, s.p, s.len, 0, &again, &eb);
    if (e != LTD_OK || memcmp(again.id.b, t->id.b, 32) != 0) {
        report_fail(lineno, kind, "tx_serialize does not round-trip: %s: %s", ltd_err_name(e),
                    eb.msg);
        ok = false;
    }
    buf_release(&s);
    ltd_errbuf_clear(&eb);
    if (t->op == TX_CREATE) {
        e = tx_verify_create(t, &eb);
        if (e != LTD_OK) {
            report_fail(lineno, kind, "tx_verify_create: %s: %s", ltd_err_name(e), eb.msg);
            ok = false;
        }
    } else {
        ok = check_transfer(t, ix, lineno, kind) && ok;
    }
    ltd_errbuf_clear(&eb);
    e = tx_check_strict(t, &eb);
    if (e != LTD_OK) {
        report_fail(lineno, kind, "tx_check_strict: %s: %s", ltd_err_name(e), eb.msg);
        ok = false;
    }
    return ok;
}

/* When tx_parse refused a driver transaction: show where the canonical
 * forms part (if the line carries the driver's). */
static void
explain_refusal(struct arena *a, const char *raw, size_t rawlen, const struct cjson *line,
                struct buf *out)
{
    const struct cjson *canon = cjson_get(line, "canon");
    struct cjson *root = NULL;
    if (canon == NULL || !cjson_is_string(canon) ||
        cjson_parse(a, raw, rawlen, NULL, &root, NULL) != LTD_OK)
        return;
    struct buf c;
    buf_init(&c);
    canonical_id_null(a, root, &c);
    buf_adds(out, "; ");
    describe_diff(c.p, c.len, canon->str, canon->len, out);
    buf_release(&c);
}

/* One line of a driver file.  Returns true when it passed. */
static bool
verify_line(struct arena *a, struct index *ix, const char *text, size_t len, unsigned long lineno)
{
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct cjson *line = NULL;
    if (cjson_parse(a, text, len, NULL, &line, &eb) != LTD_OK || line->type != CJSON_OBJECT) {
        report_fail(lineno, "?", "line is not a JSON object: %s", eb.msg);
        return false;
    }
    const struct cjson *k = cjson_get(line, "kind");
    const char *kind = cjson_is_string(k) ? k->str : "?";
    const struct cjson *x = cjson_get(line, "expect");
    const char *expect = cjson_is_string(x) ? x->str : NULL;
    const char *raw;
    size_t rawlen;
    if (!value_span(text, len, "tx", &raw, &rawlen)) {
        report_fail(lineno, kind, "no \"tx\" member");
        return false;
    }
    struct tx t;
    ltd_errbuf_clear(&eb);
    enum ltd_err e = tx_parse(a, raw, rawlen, 0, &t, &eb);
    if (expect != NULL && strcmp(expect, "ok") != 0) {
        bool want = strcmp(expect, "InvalidHash") == 0
                        ? e == LTD_E_TX_HASH
                        : e != LTD_OK && strcmp(ltd_err_bdb_type(e), expect) == 0;
        if (!want)
            report_fail(lineno, kind, "expected %s, tx_parse gave %s (%s): %s", expect,
                        ltd_err_name(e), ltd_err_bdb_type(e), eb.msg);
        return want;
    }
    if (e != LTD_OK) {
        struct buf why;
        buf_init(&why);
        explain_refusal(a, raw, rawlen, line, &why);
        report_fail(lineno, kind, "tx_parse: %s: %s%s", ltd_err_name(e), eb.msg,
                    why.len ? why.p : "");
        buf_release(&why);
        return false;
    }
    index_add(a, ix, &t);
    return check_parsed(a, &t, line, ix, lineno, kind);
}

static int
cmd_verify(int argc, char **argv)
{
    struct arena a;
    arena_init(&a);
    struct index ix = {NULL, 0, 0};
    for (int f = 0; f < argc; f++) {
        FILE *fp = fopen(argv[f], "r");
        if (fp == NULL) {
            fprintf(stderr, "interop_check: open '%s' failed\n", argv[f]);
            return 2;
        }
        char *text = NULL;
        size_t cap = 0;
        ssize_t n;
        unsigned long lineno = 0;
        while ((n = getline(&text, &cap, fp)) > 0) {
            lineno++;
            size_t len = (size_t)n;
            while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
                len--;
            if (len == 0)
                continue;
            if (verify_line(&a, &ix, text, len, lineno))
                n_pass++;
            else
                n_fail++;
        }
        free(text);
        fclose(fp);
    }
    printf("interop: %d passed, %d failed\n", n_pass, n_fail);
    free(ix.slot);
    arena_release(&a);
    return n_fail || n_pass == 0 ? 1 : 0;
}

/* ------------------------------------------------------------------- make */

struct made {
    struct tx t;        /* parsed back from its canonical text */
    struct lock *locks; /* per output */
};

struct utxo {
    uint32_t made;
    uint32_t index;
};

struct maker {
    struct arena a;
    struct rng r;
    struct keypair keys[keys_n];
    struct made *txs;
    uint32_t n_txs, cap_txs;
    struct utxo *utxos;
    uint32_t n_utxos, cap_utxos;
    FILE *out;
};

/* Splits total into k parts in [1, LTD_AMOUNT_MAX] (k raised if needed). */
static uint32_t
split_amount(struct rng *r, unsigned __int128 total, uint32_t k, uint64_t *parts)
{
    while ((unsigned __int128)k * LTD_AMOUNT_MAX < total)
        k++;
    if (k > total)
        k = (uint32_t)total;
    unsigned __int128 rem = total;
    for (uint32_t i = 0; i + 1 < k; i++) {
        unsigned __int128 left = k - 1 - i;
        unsigned __int128 lo = rem > left * LTD_AMOUNT_MAX ? rem - left * LTD_AMOUNT_MAX : 1;
        unsigned __int128 hi = rem - left < LTD_AMOUNT_MAX ? rem - left : LTD_AMOUNT_MAX;
        parts[i] = (uint64_t)(lo + rng_below(r, (uint64_t)(hi - lo + 1)));
        rem -= parts[i];
    }
    parts[k - 1] = (uint64_t)rem;
    return k;
}

static uint64_t
random_amount(struct rng *r)
{
    double x = rng_unit(r);
    if (x < 0.6)
        return 1;
    if (x < 0.85)
        return rng_range(r, 2, 1000);
    if (x < 0.95)
        return 1 + rng_below(r, LTD_AMOUNT_MAX);
    return LTD_AMOUNT_MAX;
}

static struct cjson *
random_metadata(struct maker *m)
{
    return rng_chance(&m->r, 0.25) ? NULL : random_object(&m->a, &m->r, 3, 1);
}

static void
kind_add_locks(struct buf *kind, const char *label, const struct lock *l, uint32_t n)
{
    buf_addf(kind, "%s[", label);
    for (uint32_t i = 0; i < n; i++)
        buf_addf(kind, "%s%s", i ? "," : "", lock_names[l[i].kind]);
    buf_adds(kind, "]");
}

static enum ltd_err
make_create(struct maker *m, struct tx *t, struct lock **locks_out, struct buf *kind,
            struct ltd_errbuf *eb)
{
    struct rng *r = &m->r;
    uint32_t n_iss = rng_chance(r, 0.05) ? 2 : 1, iss[2];
    random_distinct(r, iss, n_iss);
    uint32_t n_out = rng_chance(r, 0.7) ? 1 : rng_range(r, 2, 4);
    struct lock *locks = arena_alloc(&m->a, n_out * sizeof *locks);
    struct tx_new_output outs[4];
    for (uint32_t i = 0; i < n_out; i++) {
        locks[i] = random_lock(&m->a, r, m->keys);
        outs[i] = (struct tx_new_output){locks[i].d, random_amount(r)};
    }
    double x = rng_unit(r);
    struct cjson *data = x < 0.08   ? NULL
                         : x < 0.11 ? cjson_new_object(&m->a)
                                    : random_object(&m->a, r, 4, 1);
    struct ltd_pubkey pks[2] = {m->keys[iss[0]].pk, m->keys[iss[n_iss - 1]].pk};
    enum ltd_err e =
        tx_build_create(&m->a, pks, n_iss, data, random_metadata(m), outs, n_out, t, eb);
    for (uint32_t i = 0; e == LTD_OK && i < n_iss; i++)
        e = tx_sign(&m->a, t, &m->keys[iss[i]].seed, NULL, n_iss > 1, NULL, eb);
    buf_adds(kind, n_iss > 1 ? "CREATE issuers=2 " : "CREATE ");
    kind_add_locks(kind, "out", locks, n_out);
    *locks_out = locks;
    return e;
}

/* Picks 1-4 unspent outputs of one asset and removes them from the pool. */
static uint32_t
pick_inputs(struct maker *m, struct utxo *picked)
{
    struct rng *r = &m->r;
    uint32_t first =
        rng_chance(r, 0.6)
            ? m->n_utxos - 1 - rng_range(r, 0, m->n_utxos - 1 < 10 ? m->n_utxos - 1 : 10)
            : rng_range(r, 0, m->n_utxos - 1);
    const struct ltd_hash *asset = &m->txs[m->utxos[first].made].t.asset_id;
    uint32_t want = rng_chance(r, 0.7) ? 1 : rng_range(r, 2, 4), n = 0;
    picked[n++] = m->utxos[first];
    m->utxos[first] = m->utxos[--m->n_utxos];
    for (uint32_t i = 0; i < m->n_utxos && n < want; i++) {
        if (memcmp(m->txs[m->utxos[i].made].t.asset_id.b, asset->b, 32) != 0 || !rng_chance(r, 0.5))
            continue;
        picked[n++] = m->utxos[i];
        m->utxos[i--] = m->utxos[--m->n_utxos];
    }
    return n;
}

static enum ltd_err
make_transfer(struct maker *m, struct tx *t, struct lock **locks_out, struct buf *kind,
              const struct cc_details **spent, struct ltd_errbuf *eb)
{
    struct rng *r = &m->r;
    struct utxo picked[4];
    uint32_t n_in = pick_inputs(m, picked);
    struct tx_new_input ins[4];
    struct lock in_locks[4];
    unsigned __int128 total = 0;
    uint32_t signers = 0;
    for (uint32_t i = 0; i < n_in; i++) {
        const struct made *p = &m->txs[picked[i].made];
        const struct tx_output *o = &p->t.out[picked[i].index];
        ins[i] = (struct tx_new_input){p->t.id, picked[i].index, o->details};
        spent[i] = o->details;
        in_locks[i] = p->locks[picked[i].index];
        signers |= lock_signers(r, &in_locks[i]);
        total += o->amount;
    }
    uint64_t parts[8];
    uint32_t n_out = split_amount(r, total, rng_chance(r, 0.6) ? 1 : rng_range(r, 2, 3), parts);
    LTD_ASSERT(n_out <= 4);
    struct lock *locks = arena_alloc(&m->a, n_out * sizeof *locks);
    struct tx_new_output outs[4];
    for (uint32_t i = 0; i < n_out; i++) {
        locks[i] = random_lock(&m->a, r, m->keys);
        outs[i] = (struct tx_new_output){locks[i].d, parts[i]};
    }
    const struct ltd_hash asset = m->txs[picked[0].made].t.asset_id;
    enum ltd_err e =
        tx_build_transfer(&m->a, &asset, ins, n_in, random_metadata(m), outs, n_out, t, eb);
    /* One tx_sign per owner, in a random order, partial until the last. */
    uint32_t start = (uint32_t)rng_below(r, keys_n);
    for (uint32_t j = 0; e == LTD_OK && j < keys_n; j++) {
        uint32_t k = (start + j) % keys_n;
        if (signers & (1u << k))
            e = tx_sign(&m->a, t, &m->keys[k].seed, spent, true, NULL, eb);
    }
    buf_adds(kind, "TRANSFER ");
    kind_add_locks(kind, "in", in_locks, n_in);
    buf_adds(kind, " ");
    kind_add_locks(kind, "out", locks, n_out);
    *locks_out = locks;
    return e;
}

/* Serializes, parses back (as a server would), checks with the C
 * verifier, writes the line and records the outputs as unspent. */
static bool
make_finish(struct maker *m, struct tx *built, struct lock *locks, const char *kind,
            const struct cc_details **spent, unsigned long lineno)
{
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf text;
    buf_init(&text);
    tx_serialize(built, &text);
    struct made *md = &m->txs[m->n_txs];
    char *copy = arena_memdup(&m->a, text.p, text.len);
    bool ok = built->has_id;
    if (!ok)
        report_fail(lineno, kind, "tx_sign left the id unset (incomplete fulfillment)");
    enum ltd_err e = tx_parse(&m->a, copy, text.len, 0, &md->t, &eb);
    if (e != LTD_OK) {
        report_fail(lineno, kind, "own tx refused by tx_parse: %s: %s", ltd_err_name(e), eb.msg);
        buf_release(&text);
        return false;
    }
    struct ltd_hash *msgs = xcalloc(md->t.n_in, sizeof *msgs);
    tx_signing_messages(&md->t, msgs);
    for (uint32_t i = 0; i < md->t.n_in && md->t.op == TX_TRANSFER; i++) {
        if ((e = tx_verify_input(&md->t, i, spent[i], &msgs[i], &eb)) != LTD_OK) {
            report_fail(lineno, kind, "own input %u: %s: %s", i, ltd_err_name(e), eb.msg);
            ok = false;
        }
    }
    free(msgs);
    if (md->t.op == TX_CREATE && (e = tx_verify_create(&md->t, &eb)) != LTD_OK) {
        report_fail(lineno, kind, "own CREATE: %s: %s", ltd_err_name(e), eb.msg);
        ok = false;
    }
    if ((e = tx_check_strict(&md->t, &eb)) != LTD_OK) {
        report_fail(lineno, kind, "own tx_check_strict: %s: %s", ltd_err_name(e), eb.msg);
        ok = false;
    }
    fprintf(m->out, "{\"tx\":%s,\"kind\":\"%s\",\"spent\":[", text.p, kind);
    for (uint32_t i = 0; i < md->t.n_in && md->t.op == TX_TRANSFER; i++) {
        const struct tx_input *in = &md->t.in[i];
        uint32_t j = 0;
        while (j < m->n_txs && memcmp(m->txs[j].t.id.b, in->fulfills_txid.b, 32) != 0)
            j++;
        LTD_ASSERT(j < m->n_txs);
        const struct made *p = &m->txs[j];
        struct buf o;
        buf_init(&o);
        cjson_canonical(cjson_at(cjson_get(p->t.root, "outputs"), (uint32_t)in->fulfills_index),
                        &o);
        fprintf(m->out, "%s%s", i ? "," : "", o.p);
        buf_release(&o);
    }
    fprintf(m->out, "]}\n");
    buf_release(&text);
    md->locks = locks;
    for (uint32_t i = 0; i < md->t.n_out; i++) {
        if (m->n_utxos == m->cap_utxos) {
            m->cap_utxos = m->cap_utxos ? 2 * m->cap_utxos : 256;
            m->utxos = xrealloc(m->utxos, m->cap_utxos * sizeof *m->utxos);
        }
        m->utxos[m->n_utxos++] = (struct utxo){m->n_txs, i};
    }
    m->n_txs++;
    return ok;
}

static int
cmd_make(unsigned long n, const char *path, const char *seed)
{
    struct maker m;
    memset(&m, 0, sizeof m);
    arena_init(&m.a);
    rng_seed(&m.r, seed);
    for (int i = 0; i < keys_n; i++) {
        for (size_t b = 0; b < sizeof m.keys[i].seed.b; b++)
            m.keys[i].seed.b[b] = (uint8_t)rng_next(&m.r);
        codec_ed25519_seed_pubkey(&m.keys[i].seed, &m.keys[i].pk);
    }
    m.out = fopen(path, "w");
    if (m.out == NULL) {
        fprintf(stderr, "interop_check: open '%s' failed\n", path);
        return 2;
    }
    m.cap_txs = (uint32_t)n;
    m.txs = xcalloc(n, sizeof *m.txs);
    for (unsigned long lineno = 1; lineno <= n; lineno++) {
        struct ltd_errbuf eb;
        ltd_errbuf_clear(&eb);
        struct buf kind;
        buf_init(&kind);
        struct tx t;
        struct lock *locks = NULL;
        const struct cc_details *spent[4] = {NULL, NULL, NULL, NULL};
        enum ltd_err e = m.n_utxos > 0 && rng_chance(&m.r, 0.6)
                             ? make_transfer(&m, &t, &locks, &kind, spent, &eb)
                             : make_create(&m, &t, &locks, &kind, &eb);
        if (e != LTD_OK) {
            report_fail(lineno, kind.p, "build/sign: %s: %s", ltd_err_name(e), eb.msg);
            n_fail++;
        } else if (make_finish(&m, &t, locks, kind.p, spent, lineno)) {
            n_pass++;
        } else {
            n_fail++;
        }
        buf_release(&kind);
    }
    fclose(m.out);
    codec_wipe(m.keys, sizeof m.keys);
    printf("interop: %d passed, %d failed (made %" PRIu32 " -> %s)\n", n_pass, n_fail, m.n_txs,
           path);
    free(m.txs);
    free(m.utxos);
    arena_release(&m.a);
    return n_fail || n_pass == 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
    codec_init();
    if (argc >= 3 && strcmp(argv[1], "verify") == 0)
        return cmd_verify(argc - 2, argv + 2);
    if (argc == 5 && strcmp(argv[1], "make") == 0) {
        char *end;
        unsigned long n = strtoul(argv[2], &end, 10);
        if (*end == '\0' && n > 0 && n <= 1000000)
            return cmd_make(n, argv[3], argv[4]);
    }
    fprintf(stderr, "usage: interop_check verify FILE.jsonl...\n"
                    "       interop_check make N OUT.jsonl SEED\n");
    return 2;
}
