/*
 * cc.c - crypto-conditions for BigchainDB (see cc.h): strict DER decoding
 * of conditions and fulfillments, canonical DER encoding, condition URIs,
 * the `details` JSON mapping, fingerprints and costs, verification and the
 * construction of fulfillments from signatures.
 *
 * The DER reader walks a (pointer, length) window and never reads past it;
 * every length is checked against what remains before it is used.  Trees
 * live in the caller's arena; temporary arrays for threshold nodes are
 * heap-allocated and freed before returning.  Canonical form is enforced
 * on input (minimal lengths and INTEGERs, BIT STRINGs without trailing zero
 * bits, SET OF elements in DER order) so that decode -> encode reproduces
 * the input bytes exactly.
 *
 * Not here: base64url (codec.c), transactions and the signed message (tx.c).
 */
#include "cc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

enum {
    cc_cond_der_max = 64,       /* one encoded condition (41..54 bytes) */
    cc_der_len_max = 65535,     /* longest DER length we read or write */
    cc_path_bytes_max = 256,    /* field path in details error messages */
    cc_known_types_mask = 0x1f, /* types 0..4 */
};
#define CC_COST_MAX (UINT64_C(1) << 53) /* largest cost accepted in DER */

static const char *const cc_type_names[] = {
    [CC_PREIMAGE] = "preimage-sha-256",   [CC_PREFIX] = "prefix-sha-256",
    [CC_THRESHOLD] = "threshold-sha-256", [CC_RSA] = "rsa-sha-256",
    [CC_ED25519] = "ed25519-sha-256",
};
/* Type ids in alphabetical order of their names (URI subtypes lists). */
static const uint8_t cc_alpha_order[] = {CC_ED25519, CC_PREFIX, CC_PREIMAGE, CC_RSA, CC_THRESHOLD};

const char *
cc_type_name(unsigned type)
{
    return type < ARRAY_LEN(cc_type_names) ? cc_type_names[type] : NULL;
}

static bool
cc_is_compound(unsigned type)
{
    return type == CC_PREFIX || type == CC_THRESHOLD;
}

bool
cc_condition_eq(const struct cc_condition *a, const struct cc_condition *b)
{
    return a->type == b->type && a->cost == b->cost && a->subtypes == b->subtypes &&
           memcmp(a->fingerprint.b, b->fingerprint.b, sizeof a->fingerprint.b) == 0;
}

/* ---- DER writing ---- */

/* Writes a tag and a minimal definite length; returns the bytes written. */
static size_t
der_hdr(uint8_t *o, uint8_t tag, size_t len)
{
    LTD_ASSERT(len <= cc_der_len_max);
    o[0] = tag;
    if (len < 0x80) {
        o[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xff) {
        o[1] = 0x81;
        o[2] = (uint8_t)len;
        return 3;
    }
    o[1] = 0x82;
    o[2] = (uint8_t)(len >> 8);
    o[3] = (uint8_t)len;
    return 4;
}

static size_t
der_hdr_size(size_t len)
{
    return len < 0x80 ? 2 : len <= 0xff ? 3 : 4;
}

static void
der_put_hdr(struct buf *b, uint8_t tag, size_t len)
{
    uint8_t h[4];
    buf_add(b, h, der_hdr(h, tag, len));
}

/* Minimal non-negative two's complement INTEGER content; returns its size. */
static size_t
der_uint_content(uint8_t o[9], uint64_t v)
{
    uint8_t be[9];
    size_t n = 0;
    do {
        be[n++] = (uint8_t)v;
        v >>= 8;
    } while (v);
    if (be[n - 1] & 0x80)
        be[n++] = 0;
    for (size_t i = 0; i < n; i++)
        o[i] = be[n - 1 - i];
    return n;
}

/* BIT STRING content for a set of type bits (bit n = type n from the MSB,
 * trailing zero bits dropped); returns its size. */
static size_t
der_bits_content(uint8_t o[5], uint32_t bits)
{
    if (bits == 0) {
        o[0] = 0;
        return 1;
    }
    unsigned top = 31;
    while (!(bits >> top & 1))
        top--;
    size_t nbytes = top / 8 + 1;
    memset(o, 0, 5);
    o[0] = (uint8_t)(7 - top % 8);
    for (unsigned t = 0; t <= top; t++)
        if (bits >> t & 1)
            o[1 + t / 8] |= (uint8_t)(0x80u >> (t % 8));
    return 1 + nbytes;
}

/* Encodes a condition into o; returns its size (at most cc_cond_der_max). */
static size_t
cond_der(const struct cc_condition *c, uint8_t o[cc_cond_der_max])
{
    uint8_t cost[9], bits[5], body[cc_cond_der_max];
    size_t n = 0;
    LTD_ASSERT(c->type <= CC_ED25519);
    n += der_hdr(body + n, 0x80, 32);
    memcpy(body + n, c->fingerprint.b, 32);
    n += 32;
    size_t cn = der_uint_content(cost, c->cost);
    n += der_hdr(body + n, 0x81, cn);
    memcpy(body + n, cost, cn);
    n += cn;
    if (cc_is_compound(c->type)) {
        size_t bn = der_bits_content(bits, c->subtypes);
        n += der_hdr(body + n, 0x82, bn);
        memcpy(body + n, bits, bn);
        n += bn;
    } else {
        LTD_ASSERT(c->subtypes == 0);
    }
    size_t h = der_hdr(o, (uint8_t)(0xA0 + c->type), n);
    LTD_ASSERT(h + n <= cc_cond_der_max);
    memcpy(o + h, body, n);
    return h + n;
}

void
cc_condition_encode(const struct cc_condition *c, struct buf *out)
{
    uint8_t d[cc_cond_der_max];
    buf_add(out, d, cond_der(c, d));
}

/* DER order of SET OF elements: bytewise, a proper prefix first. */
static int
der_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c != 0)
        return c;
    return an < bn ? -1 : an > bn;
}

/* ---- DER reading ---- */

struct der {
    const uint8_t *p; /* borrowed window */
    size_t n;         /* bytes left in the window */
};

/* Decoding context: where errors go and what offsets are relative to. */
struct dec {
    struct arena *a;       /* where trees go (NULL for a lone condition) */
    const uint8_t *base;   /* start of the input, for offsets in messages */
    struct ltd_errbuf *eb; /* error sink, may be NULL */
    const char *what;      /* "fulfillment" or "condition", for messages */
};

static enum ltd_err
der_fail(const struct dec *x, const uint8_t *at, enum ltd_err code, const char *what)
{
    return ltd_fail(x->eb, code, "%s DER at byte %zu: %s", x->what, (size_t)(at - x->base), what);
}

/* Reads one TLV with a strict definite length: the tag into *tag, the
 * content window into *body; d advances past the element. */
static enum ltd_err
der_next(const struct dec *x, struct der *d, uint8_t *tag, struct der *body)
{
    const uint8_t *p = d->p;
    size_t hdr = 2, len;
    *tag = 0; /* rule 6: outputs are defined even when this fails */
    body->p = NULL;
    body->n = 0;
    if (d->n < 2)
        return der_fail(x, p, LTD_E_CC_DER, "truncated element header");
    if (p[1] < 0x80) {
        len = p[1];
    } else if (p[1] == 0x81) {
        if (d->n < 3)
            return der_fail(x, p, LTD_E_CC_DER, "truncated length");
        len = p[2];
        hdr = 3;
        if (len < 0x80)
            return der_fail(x, p, LTD_E_CC_DER, "non-minimal length (0x81 below 128)");
    } else if (p[1] == 0x82) {
        if (d->n < 4)
            return der_fail(x, p, LTD_E_CC_DER, "truncated length");
        len = (size_t)p[2] << 8 | p[3];
        hdr = 4;
        if (len < 0x100)
            return der_fail(x, p, LTD_E_CC_DER, "non-minimal length (0x82 below 256)");
    } else if (p[1] == 0x80) {
        return der_fail(x, p, LTD_E_CC_DER, "indefinite length");
    } else {
        return der_fail(x, p, LTD_E_CC_DER, "length form longer than 2 bytes");
    }
    if (len > d->n - hdr)
        return der_fail(x, p, LTD_E_CC_DER, "length exceeds the data");
    *tag = p[0];
    body->p = p + hdr;
    body->n = len;
    d->p += hdr + len;
    d->n -= hdr + len;
    return LTD_OK;
}

/* Reads a primitive field with the given tag and exact content size. */
static enum ltd_err
der_fixed(const struct dec *x, struct der *d, uint8_t want, size_t size, uint8_t *out,
          const char *what)
{
    const uint8_t *at = d->p;
    uint8_t tag;
    struct der v;
    enum ltd_err rc = der_next(x, d, &tag, &v);
    if (rc != LTD_OK)
        return rc;
    if (tag != want || v.n != size) {
        char m[96];
        snprintf(m, sizeof m, "expected %s (tag 0x%02x, %zu bytes)", what, want, size);
        return der_fail(x, at, LTD_E_CC_DER, m);
    }
    memcpy(out, v.p, size);
    return LTD_OK;
}

/* Reads an INTEGER field [tag]: minimal, non-negative, at most max. */
static enum ltd_err
der_uint(const struct dec *x, struct der *d, uint8_t want, uint64_t max, uint64_t *out)
{
    const uint8_t *at = d->p;
    uint8_t tag;
    struct der v;
    enum ltd_err rc = der_next(x, d, &tag, &v);
    if (rc != LTD_OK)
        return rc;
    if (tag != want)
        return der_fail(x, at, LTD_E_CC_DER, "expected an INTEGER field");
    if (v.n == 0)
        return der_fail(x, at, LTD_E_CC_DER, "empty INTEGER");
    if (v.p[0] & 0x80)
        return der_fail(x, at, LTD_E_CC_DER, "negative INTEGER");
    if (v.n > 1 && v.p[0] == 0 && !(v.p[1] & 0x80))
        return der_fail(x, at, LTD_E_CC_DER, "non-minimal INTEGER");
    if (v.n > 9 || (v.n == 9 && v.p[0] != 0))
        return der_fail(x, at, LTD_E_CC_DER, "INTEGER too large");
    uint64_t val = 0;
    for (size_t i = 0; i < v.n; i++)
        val = val << 8 | v.p[i];
    if (val > max)
        return der_fail(x, at, LTD_E_CC_DER, "INTEGER too large");
    *out = val;
    return LTD_OK;
}

/* Reads the subtypes BIT STRING [2]: canonical, only known types. */
static enum ltd_err
der_subtypes(const struct dec *x, struct der *d, uint32_t *out)
{
    const uint8_t *at = d->p;
    uint8_t tag;
    struct der v;
    enum ltd_err rc = der_next(x, d, &tag, &v);
    if (rc != LTD_OK)
        return rc;
    if (tag != 0x82 || v.n == 0)
        return der_fail(x, at, LTD_E_CC_DER, "expected the subtypes BIT STRING");
    unsigned unused = v.p[0];
    if (unused > 7 || (v.n == 1 && unused != 0))
        return der_fail(x, at, LTD_E_CC_DER, "bad unused-bits count in BIT STRING");
    *out = 0;
    if (v.n == 1)
        return LTD_OK;
    uint8_t last = v.p[v.n - 1];
    if ((last & ((1u << unused) - 1)) != 0 || !(last >> unused & 1))
        return der_fail(x, at, LTD_E_CC_DER, "BIT STRING not in DER form (trailing bits)");
    if (v.n > 2 || unused < 3)
        return der_fail(x, at, LTD_E_CC_TYPE, "subtypes name an unknown type");
    for (unsigned t = 0; t < 8; t++)
        if (v.p[1] & (0x80u >> t))
            *out |= 1u << t;
    return LTD_OK;
}

/* Type of a CHOICE tag: A0..A4 known, other context-constructed tags are
 * unknown types (LTD_E_CC_TYPE), anything else is malformed. */
static enum ltd_err
der_choice(const struct dec *x, const uint8_t *at, uint8_t tag, unsigned *type)
{
    if (tag >= 0xA0 && tag <= 0xA4) {
        *type = tag - 0xA0u;
        return LTD_OK;
    }
    if (tag > 0xA4 && tag < 0xBF)
        return der_fail(x, at, LTD_E_CC_TYPE, "unknown condition type");
    return der_fail(x, at, LTD_E_CC_DER, "expected a context-specific constructed tag");
}

/* Decodes the condition body of a CHOICE element already split by der_next. */
static enum ltd_err
cond_body(const struct dec *x, const uint8_t *at, uint8_t tag, struct der body,
          struct cc_condition *out)
{
    unsigned type = 0;
    enum ltd_err rc = der_choice(x, at, tag, &type);
    if (rc != LTD_OK)
        return rc;
    memset(out, 0, sizeof *out);
    out->type = (uint8_t)type;
    rc = der_fixed(x, &body, 0x80, 32, out->fingerprint.b, "a 32-byte fingerprint");
    if (rc == LTD_OK)
        rc = der_uint(x, &body, 0x81, CC_COST_MAX, &out->cost);
    if (rc == LTD_OK && cc_is_compound(type))
        rc = der_subtypes(x, &body, &out->subtypes);
    if (rc == LTD_OK && body.n != 0)
        rc = der_fail(x, body.p, LTD_E_CC_DER, "unexpected bytes in condition");
    return rc;
}

enum ltd_err
cc_condition_decode(const uint8_t *der, size_t n, struct cc_condition *out, struct ltd_errbuf *eb)
{
    struct dec x = {NULL, der, eb, "condition"};
    struct der d = {der, n}, body;
    uint8_t tag;
    enum ltd_err rc = der_next(&x, &d, &tag, &body);
    if (rc == LTD_OK && d.n != 0)
        rc = der_fail(&x, d.p, LTD_E_CC_DER, "trailing bytes after the condition");
    if (rc == LTD_OK)
        rc = cond_body(&x, der, tag, body, out);
    if (rc != LTD_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---- fulfillment decoding ---- */

static enum ltd_err ful_decode(const struct dec *x, struct der *d, unsigned depth,
                               struct cc_fulfillment **out);

/* Counts the elements of a SET OF window, checking their order and the
 * limit on children. */
static enum ltd_err
set_count(const struct dec *x, struct der set, uint32_t *count)
{
    const uint8_t *prev = NULL;
    size_t prevn = 0;
    uint32_t k = 0;
    while (set.n > 0) {
        const uint8_t *at = set.p;
        uint8_t tag;
        struct der body;
        enum ltd_err rc = der_next(x, &set, &tag, &body);
        if (rc != LTD_OK)
            return rc;
        size_t len = (size_t)(set.p - at);
        if (prev && der_cmp(prev, prevn, at, len) > 0)
            return der_fail(x, at, LTD_E_CC_DER, "SET OF elements not in DER order");
        if (++k > cc_subconditions_max)
            return der_fail(x, at, LTD_E_CC_DER, "too many subconditions");
        prev = at;
        prevn = len;
    }
    *count = k;
    return LTD_OK;
}

static enum ltd_err
ful_threshold(const struct dec *x, struct der body, unsigned depth, struct cc_fulfillment *f)
{
    const uint8_t *at = body.p;
    uint8_t t1, t2;
    struct der fset, cset;
    enum ltd_err rc = der_next(x, &body, &t1, &fset);
    if (rc == LTD_OK && t1 != 0xA0)
        rc = der_fail(x, at, LTD_E_CC_DER, "expected subfulfillments [0]");
    at = body.p;
    if (rc == LTD_OK)
        rc = der_next(x, &body, &t2, &cset);
    if (rc == LTD_OK && t2 != 0xA1)
        rc = der_fail(x, at, LTD_E_CC_DER, "expected subconditions [1]");
    if (rc == LTD_OK && body.n != 0)
        rc = der_fail(x, body.p, LTD_E_CC_DER, "unexpected bytes in threshold fulfillment");
    if (rc == LTD_OK)
        rc = set_count(x, fset, &f->n_ful);
    if (rc == LTD_OK)
        rc = set_count(x, cset, &f->n_cond);
    if (rc == LTD_OK && f->n_ful + f->n_cond > cc_subconditions_max)
        rc = der_fail(x, at, LTD_E_CC_DER, "too many subconditions");
    if (rc == LTD_OK && f->n_ful + f->n_cond > 0 && depth + 1 >= cc_depth_max)
        rc = der_fail(x, at, LTD_E_CC_DEPTH, "threshold nested too deeply");
    if (rc != LTD_OK)
        return rc;
    f->ful = arena_alloc(x->a, f->n_ful * sizeof(struct cc_fulfillment *));
    f->cond = arena_alloc(x->a, f->n_cond * sizeof *f->cond);
    for (uint32_t i = 0; i < f->n_ful && rc == LTD_OK; i++)
        rc = ful_decode(x, &fset, depth + 1, &f->ful[i]);
    for (uint32_t i = 0; i < f->n_cond && rc == LTD_OK; i++) {
        const uint8_t *cat = cset.p;
        uint8_t tag;
        struct der cb;
        rc = der_next(x, &cset, &tag, &cb);
        if (rc == LTD_OK)
            rc = cond_body(x, cat, tag, cb, &f->cond[i]);
    }
    return rc;
}

/* Decodes the next fulfillment element of d at the given nesting depth. */
static enum ltd_err
ful_decode(const struct dec *x, struct der *d, unsigned depth, struct cc_fulfillment **out)
{
    const uint8_t *at = d->p;
    uint8_t tag;
    struct der body;
    unsigned type = 0;
    *out = NULL;
    if (depth >= cc_depth_max)
        return der_fail(x, at, LTD_E_CC_DEPTH, "fulfillment nested too deeply");
    enum ltd_err rc = der_next(x, d, &tag, &body);
    if (rc == LTD_OK)
        rc = der_choice(x, at, tag, &type);
    if (rc == LTD_OK && (type == CC_PREFIX || type == CC_RSA))
        rc = der_fail(x, at, LTD_E_CC_TYPE, "unsupported fulfillment type");
    if (rc != LTD_OK)
        return rc;
    struct cc_fulfillment *f = arena_alloc(x->a, sizeof *f);
    f->type = (uint8_t)type;
    if (type == CC_ED25519) {
        rc = der_fixed(x, &body, 0x80, 32, f->pubkey.b, "a 32-byte public key");
        if (rc == LTD_OK)
            rc = der_fixed(x, &body, 0x81, 64, f->sig.b, "a 64-byte signature");
    } else if (type == CC_PREIMAGE) {
        const uint8_t *pat = body.p;
        uint8_t t;
        struct der v;
        rc = der_next(x, &body, &t, &v);
        if (rc == LTD_OK && t != 0x80)
            rc = der_fail(x, pat, LTD_E_CC_DER, "expected preimage [0]");
        if (rc == LTD_OK) {
            f->preimage = (const uint8_t *)arena_memdup(x->a, v.p, v.n);
            f->preimage_len = v.n;
        }
    } else {
        LTD_ASSERT(type == CC_THRESHOLD);
        rc = ful_threshold(x, body, depth, f);
        body.n = 0; /* ful_threshold checks its own trailing bytes */
    }
    if (rc == LTD_OK && body.n != 0)
        rc = der_fail(x, body.p, LTD_E_CC_DER, "unexpected bytes in fulfillment");
    if (rc == LTD_OK)
        *out = f;
    return rc;
}

enum ltd_err
cc_fulfillment_decode(struct arena *a, const uint8_t *der, size_t n, struct cc_fulfillment **out,
                      struct ltd_errbuf *eb)
{
    struct dec x = {a, der, eb, "fulfillment"};
    struct der d = {der, n};
    enum ltd_err rc;
    *out = NULL;
    if (n > cc_der_bytes_max)
        return ltd_fail(eb, LTD_E_CC_DER, "fulfillment of %zu bytes exceeds %d", n,
                        (int)cc_der_bytes_max);
    rc = ful_decode(&x, &d, 0, out);
    if (rc == LTD_OK && d.n != 0) {
        *out = NULL;
        rc = der_fail(&x, d.p, LTD_E_CC_DER, "trailing bytes after the fulfillment");
    }
    return rc;
}

/* ---- fulfillment encoding ---- */

/* An encoded element inside a scratch buffer. */
struct slice {
    size_t off; /* offset in the scratch buffer */
    size_t n;   /* bytes */
    const uint8_t *base;
};

static int
slice_cmp(const void *pa, const void *pb)
{
    const struct slice *a = pa, *b = pb;
    return der_cmp(a->base + a->off, a->n, b->base + b->off, b->n);
}

/* Appends `tag { sorted elements }` where the elements are n slices of scratch. */
static void
der_put_set(struct buf *out, uint8_t tag, struct slice *s, size_t n, const struct buf *scratch)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        s[i].base = (const uint8_t *)scratch->p;
        total += s[i].n;
    }
    if (n > 1)
        qsort(s, n, sizeof *s, slice_cmp);
    der_put_hdr(out, tag, total);
    for (size_t i = 0; i < n; i++)
        buf_add(out, scratch->p + s[i].off, s[i].n);
}

static void ful_encode(const struct cc_fulfillment *f, struct buf *out);

static void
ful_encode_threshold(const struct cc_fulfillment *f, struct buf *out)
{
    struct buf scratch, body;
    buf_init(&scratch);
    buf_init(&body);
    size_t n = (size_t)f->n_ful + f->n_cond;
    struct slice *s = xcalloc(n ? n : 1, sizeof *s);
    for (uint32_t i = 0; i < f->n_ful; i++) {
        s[i].off = scratch.len;
        ful_encode(f->ful[i], &scratch);
        s[i].n = scratch.len - s[i].off;
    }
    for (uint32_t i = 0; i < f->n_cond; i++) {
        s[f->n_ful + i].off = scratch.len;
        cc_condition_encode(&f->cond[i], &scratch);
        s[f->n_ful + i].n = scratch.len - s[f->n_ful + i].off;
    }
    der_put_set(&body, 0xA0, s, f->n_ful, &scratch);
    der_put_set(&body, 0xA1, s + f->n_ful, f->n_cond, &scratch);
    der_put_hdr(out, 0xA2, body.len);
    buf_add(out, body.p, body.len);
    free(s);
    buf_release(&body);
    buf_release(&scratch);
}

static void
ful_encode(const struct cc_fulfillment *f, struct buf *out)
{
    if (f->type == CC_ED25519) {
        uint8_t d[102];
        size_t k = der_hdr(d, 0xA4, 100);
        k += der_hdr(d + k, 0x80, 32);
        memcpy(d + k, f->pubkey.b, 32);
        k += 32;
        k += der_hdr(d + k, 0x81, 64);
        memcpy(d + k, f->sig.b, 64);
        k += 64;
        LTD_ASSERT(k == sizeof d);
        buf_add(out, d, k);
    } else if (f->type == CC_PREIMAGE) {
        size_t inner = der_hdr_size(f->preimage_len) + f->preimage_len;
        der_put_hdr(out, 0xA0, inner);
        der_put_hdr(out, 0x80, f->preimage_len);
        buf_add(out, f->preimage, f->preimage_len);
    } else {
        LTD_ASSERT(f->type == CC_THRESHOLD);
        ful_encode_threshold(f, out);
    }
}

void
cc_fulfillment_encode(const struct cc_fulfillment *f, struct buf *out)
{
    ful_encode(f, out);
}

/* Encoded size of a fulfillment, saturating at SIZE_MAX / 4 (sizes above
 * cc_der_bytes_max are refused by the builder before encoding). */
static size_t
ful_size(const struct cc_fulfillment *f)
{
    const size_t cap = SIZE_MAX / 4;
    if (f->type == CC_ED25519)
        return 102;
    if (f->type == CC_PREIMAGE) {
        size_t inner = der_hdr_size(f->preimage_len) + f->preimage_len;
        return der_hdr_size(inner) + inner;
    }
    size_t fs = 0, cs = 0;
    for (uint32_t i = 0; i < f->n_ful && fs < cap; i++)
        fs += ful_size(f->ful[i]);
    for (uint32_t i = 0; i < f->n_cond && cs < cap; i++) {
        uint8_t d[cc_cond_der_max];
        cs += cond_der(&f->cond[i], d);
    }
    if (fs >= cap || cs >= cap)
        return cap;
    size_t body = der_hdr_size(fs) + fs + der_hdr_size(cs) + cs;
    return der_hdr_size(body) + body;
}

/* ---- fingerprints, costs, subtypes ---- */

/* A child of a threshold node, reduced to what its parent needs. */
struct cc_child {
    uint8_t der[cc_cond_der_max]; /* condition binary */
    uint8_t n;                    /* bytes in der */
    uint8_t type;
    uint32_t subtypes;
    uint64_t cost;
};

static void
child_set(struct cc_child *ch, const struct cc_condition *c)
{
    ch->n = (uint8_t)cond_der(c, ch->der);
    ch->type = c->type;
    ch->subtypes = c->subtypes;
    ch->cost = c->cost;
}

static int
child_cost_desc(const void *pa, const void *pb)
{
    const struct cc_child *a = pa, *b = pb;
    return a->cost < b->cost ? 1 : a->cost > b->cost ? -1 : 0;
}

static int
child_der_cmp(const void *pa, const void *pb)
{
    const struct cc_child *a = pa, *b = pb;
    return der_cmp(a->der, a->n, b->der, b->n);
}

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* The condition of a threshold node over n children (reorders ch). */
static void
threshold_condition(uint32_t threshold, struct cc_child *ch, size_t n, struct cc_condition *out)
{
    LTD_ASSERT(threshold <= n);
    LTD_ASSERT(n <= cc_subconditions_max);
    memset(out, 0, sizeof *out);
    out->type = CC_THRESHOLD;
    qsort(ch, n, sizeof *ch, child_cost_desc);
    uint64_t cost = 0;
    for (size_t i = 0; i < threshold; i++)
        cost = sat_add(cost, ch[i].cost);
    out->cost = sat_add(cost, (uint64_t)cc_threshold_child_cost * n);
    for (size_t i = 0; i < n; i++)
        out->subtypes |= (1u << ch[i].type) | ch[i].subtypes;
    out->subtypes &= ~(1u << CC_THRESHOLD);
    qsort(ch, n, sizeof *ch, child_der_cmp);
    /* 30 { 80 threshold, A1 { sorted condition binaries } } */
    size_t set = 0;
    for (size_t i = 0; i < n; i++)
        set += ch[i].n;
    uint8_t thr[9];
    size_t tn = der_uint_content(thr, threshold);
    size_t body = 2 + tn + der_hdr_size(set) + set;
    struct buf fc;
    buf_init(&fc);
    buf_reserve(&fc, der_hdr_size(body) + body);
    der_put_hdr(&fc, 0x30, body);
    der_put_hdr(&fc, 0x80, tn);
    buf_add(&fc, thr, tn);
    der_put_hdr(&fc, 0xA1, set);
    for (size_t i = 0; i < n; i++)
        buf_add(&fc, ch[i].der, ch[i].n);
    codec_sha256(&out->fingerprint, fc.p, fc.len);
    buf_release(&fc);
}

static void
ed25519_condition(const struct ltd_pubkey *pk, struct cc_condition *out)
{
    uint8_t fc[36] = {0x30, 0x22, 0x80, 0x20};
    memcpy(fc + 4, pk->b, 32);
    memset(out, 0, sizeof *out);
    out->type = CC_ED25519;
    out->cost = cc_ed25519_cost;
    codec_sha256(&out->fingerprint, fc, sizeof fc);
}

void
cc_fulfillment_condition(const struct cc_fulfillment *f, struct cc_condition *out)
{
    if (f->type == CC_ED25519) {
        ed25519_condition(&f->pubkey, out);
        return;
    }
    if (f->type == CC_PREIMAGE) {
        memset(out, 0, sizeof *out);
        out->type = CC_PREIMAGE;
        out->cost = f->preimage_len;
        codec_sha256(&out->fingerprint, f->preimage, f->preimage_len);
        return;
    }
    LTD_ASSERT(f->type == CC_THRESHOLD);
    size_t n = (size_t)f->n_ful + f->n_cond;
    struct cc_child *ch = xcalloc(n ? n : 1, sizeof *ch);
    for (uint32_t i = 0; i < f->n_ful; i++) {
        struct cc_condition c;
        cc_fulfillment_condition(f->ful[i], &c);
        child_set(&ch[i], &c);
    }
    for (uint32_t i = 0; i < f->n_cond; i++)
        child_set(&ch[f->n_ful + i], &f->cond[i]);
    threshold_condition(f->n_ful, ch, n, out);
    free(ch);
}

void
cc_details_condition(const struct cc_details *d, struct cc_condition *out)
{
    if (d->type == CC_ED25519) {
        ed25519_condition(&d->pubkey, out);
        return;
    }
    LTD_ASSERT(d->type == CC_THRESHOLD);
    struct cc_child *ch = xcalloc(d->n_sub ? d->n_sub : 1, sizeof *ch);
    for (uint32_t i = 0; i < d->n_sub; i++) {
        struct cc_condition c;
        cc_details_condition(d->sub[i], &c);
        child_set(&ch[i], &c);
    }
    threshold_condition(d->threshold, ch, d->n_sub, out);
    free(ch);
}

/* ---- URIs ---- */

void
cc_condition_uri(const struct cc_condition *c, struct buf *out)
{
    const char *name = cc_type_name(c->type);
    LTD_ASSERT(name != NULL);
    LTD_ASSERT((c->subtypes & ~(uint32_t)cc_known_types_mask) == 0);
    buf_adds(out, "ni:///sha-256;");
    codec_b64url_encode(c->fingerprint.b, sizeof c->fingerprint.b, out);
    buf_adds(out, "?fpt=");
    buf_adds(out, name);
    buf_adds(out, "&cost=");
    buf_addu64(out, c->cost);
    if (!cc_is_compound(c->type))
        return;
    buf_adds(out, "&subtypes=");
    bool first = true;
    for (size_t i = 0; i < ARRAY_LEN(cc_alpha_order); i++) {
        if (!(c->subtypes >> cc_alpha_order[i] & 1))
            continue;
        if (!first)
            buf_addc(out, ',');
        buf_adds(out, cc_type_names[cc_alpha_order[i]]);
        first = false;
    }
}

/* Matches a literal at *p; advances on success. */
static bool
uri_lit(const char **p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
        return false;
    *p += n;
    return true;
}

/* Index in cc_alpha_order of the type name at *p, which ends at delim or
 * at end; -1 when it is not a known name. */
static int
uri_type(const char **p, const char *end, char delim)
{
    const char *q = *p;
    while (q < end && *q != delim)
        q++;
    for (size_t i = 0; i < ARRAY_LEN(cc_alpha_order); i++) {
        const char *name = cc_type_names[cc_alpha_order[i]];
        if (strlen(name) == (size_t)(q - *p) && memcmp(name, *p, (size_t)(q - *p)) == 0) {
            *p = q;
            return (int)i;
        }
    }
    return -1;
}

/* Canonical decimal (no sign, no leading zero) up to UINT64_MAX. */
static bool
uri_cost(const char **p, const char *end, uint64_t *out)
{
    const char *q = *p;
    uint64_t v = 0;
    while (q < end && *q >= '0' && *q <= '9') {
        unsigned dg = (unsigned)(*q - '0');
        if (v > (UINT64_MAX - dg) / 10)
            return false;
        v = v * 10 + dg;
        q++;
    }
    if (q == *p || (q - *p > 1 && **p == '0'))
        return false;
    *p = q;
    *out = v;
    return true;
}

static enum ltd_err
uri_subtypes(const char *p, const char *end, uint32_t *out)
{
    int prev = -1;
    *out = 0;
    if (p == end)
        return LTD_OK; /* an empty list is what the references print for none */
    for (;;) {
        int i = uri_type(&p, end, ',');
        if (i < 0 || i <= prev)
            return LTD_E_CC_URI;
        *out |= 1u << cc_alpha_order[i];
        prev = i;
        if (p == end)
            return LTD_OK;
        if (*p != ',' || ++p == end)
            return LTD_E_CC_URI;
    }
}

enum ltd_err
cc_condition_from_uri(const char *uri, size_t n, struct cc_condition *out, struct ltd_errbuf *eb)
{
    const char *p = uri, *end = uri + n, *why = "bad prefix";
    size_t fl = 0;
    int ti;
    memset(out, 0, sizeof *out);
    if (!uri_lit(&p, end, "ni:///sha-256;"))
        goto bad;
    why = "bad fingerprint";
    if (end - p < 43 || codec_b64url_decode(p, 43, out->fingerprint.b, 32, &fl) != LTD_OK ||
        fl != 32)
        goto bad;
    p += 43;
    why = "bad fpt";
    if (!uri_lit(&p, end, "?fpt=") || (ti = uri_type(&p, end, '&')) < 0)
        goto bad;
    out->type = cc_alpha_order[ti];
    why = "bad cost";
    if (!uri_lit(&p, end, "&cost=") || !uri_cost(&p, end, &out->cost))
        goto bad;
    why = "bad subtypes";
    if (cc_is_compound(out->type)) {
        if (!uri_lit(&p, end, "&subtypes=") || uri_subtypes(p, end, &out->subtypes) != LTD_OK)
            goto bad;
    } else if (p != end) {
        why = "unexpected text after cost";
        goto bad;
    }
    return LTD_OK;
bad:
    memset(out, 0, sizeof *out);
    return ltd_fail(eb, LTD_E_CC_URI, "condition uri: %s", why);
}

/* ---- details JSON ---- */

/* Parser state: error sink, the field path for messages, depth finding. */
struct dparse {
    struct arena *a;
    struct ltd_errbuf *eb;
    char path[cc_path_bytes_max];
    size_t plen;
    bool too_deep; /* reported after every shape check passed (schema first) */
};

static enum ltd_err LTD_PRINTF(2, 3) details_fail(struct dparse *x, const char *fmt, ...);

static enum ltd_err
details_fail(struct dparse *x, const char *fmt, ...)
{
    char m[errmsg_bytes_max];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return ltd_fail(x->eb, LTD_E_CC_DETAILS, "%s: %s", x->path, m);
}

/* Appends a path segment; returns the old length for path_pop. */
static size_t
path_push(struct dparse *x, const char *seg, long idx)
{
    size_t old = x->plen, room = sizeof x->path - x->plen;
    int k = idx >= 0 ? snprintf(x->path + x->plen, room, "%s[%ld]", seg, idx)
                     : snprintf(x->path + x->plen, room, "%s", seg);
    if (k > 0)
        x->plen += (size_t)k < room ? (size_t)k : room - 1;
    return old;
}

static void
path_pop(struct dparse *x, size_t old)
{
    x->plen = old;
    x->path[old] = 0;
}

/* Copies a JSON key into a printable form for messages. */
static void
key_printable(const struct cjson_member *m, char out[40])
{
    size_t n = m->klen < 36 ? m->klen : 36, o = 0;
    for (size_t i = 0; i < n; i++)
        out[o++] = (m->key[i] >= 0x20 && m->key[i] < 0x7f) ? m->key[i] : '?';
    if (m->klen > n)
        out[o++] = '.', out[o++] = '.';
    out[o] = 0;
}

/* Checks that obj has exactly the keys in `allowed` (NULL-terminated). */
static enum ltd_err
details_keys(struct dparse *x, const struct cjson *obj, const char *const *allowed)
{
    for (uint32_t i = 0; i < obj->len; i++) {
        const struct cjson_member *m = &obj->members[i];
        bool ok = false;
        for (size_t k = 0; allowed[k] && !ok; k++)
            ok = strlen(allowed[k]) == m->klen && memcmp(allowed[k], m->key, m->klen) == 0;
        if (!ok) {
            char kp[40];
            key_printable(m, kp);
            return details_fail(x, "unexpected key '%s'", kp);
        }
    }
    for (size_t k = 0; allowed[k]; k++)
        if (cjson_get(obj, allowed[k]) == NULL)
            return details_fail(x, "missing key '%s'", allowed[k]);
    return LTD_OK;
}

static enum ltd_err
details_ed25519(struct dparse *x, const struct cjson *j, struct cc_details *d)
{
    static const char *const keys[] = {"public_key", "type", NULL};
    enum ltd_err rc = details_keys(x, j, keys);
    if (rc != LTD_OK)
        return rc;
    const struct cjson *pk = cjson_get(j, "public_key");
    size_t old = path_push(x, ".public_key", -1);
    if (pk->type != CJSON_STRING)
        rc = details_fail(x, "must be a string");
    else if ((rc = codec_b58_decode32(pk->str, pk->len, d->pubkey.b)) != LTD_OK)
        rc = details_fail(x, "not a base58 32-byte key (%s)", ltd_err_hint(rc));
    path_pop(x, old);
    d->type = CC_ED25519;
    return rc;
}

static enum ltd_err details_node(struct dparse *x, const struct cjson *j, unsigned depth,
                                 struct cc_details **out);

/* The "threshold" member: an integer literal 1..cc_threshold_max. */
static enum ltd_err
details_threshold_value(struct dparse *x, const struct cjson *t, uint32_t *out)
{
    size_t old = path_push(x, ".threshold", -1);
    enum ltd_err rc = LTD_OK;
    if (t->type != CJSON_INT) {
        rc = details_fail(x, "must be an integer");
    } else if (t->str[0] == '-' || t->len > 3 || strtoul(t->str, NULL, 10) < 1 ||
               strtoul(t->str, NULL, 10) > cc_threshold_max) {
        rc = details_fail(x, "must be between 1 and %d", (int)cc_threshold_max);
    } else {
        *out = (uint32_t)strtoul(t->str, NULL, 10);
    }
    path_pop(x, old);
    return rc;
}

static enum ltd_err
details_threshold(struct dparse *x, const struct cjson *j, unsigned depth, struct cc_details *d)
{
    static const char *const keys[] = {"subconditions", "threshold", "type", NULL};
    enum ltd_err rc = details_keys(x, j, keys);
    if (rc == LTD_OK)
        rc = details_threshold_value(x, cjson_get(j, "threshold"), &d->threshold);
    if (rc != LTD_OK)
        return rc;
    const struct cjson *subs = cjson_get(j, "subconditions");
    size_t old = path_push(x, ".subconditions", -1);
    if (subs->type != CJSON_ARRAY)
        rc = details_fail(x, "must be an array");
    else if (subs->len > cc_subconditions_max)
        rc = details_fail(x, "more than %d subconditions", (int)cc_subconditions_max);
    else if (d->threshold > subs->len)
        rc = details_fail(x, "threshold %u exceeds the %u subconditions", d->threshold, subs->len);
    path_pop(x, old);
    if (rc != LTD_OK)
        return rc;
    d->type = CC_THRESHOLD;
    d->n_sub = subs->len;
    d->sub = arena_alloc(x->a, subs->len * sizeof(struct cc_details *));
    for (uint32_t i = 0; i < subs->len && rc == LTD_OK; i++) {
        old = path_push(x, ".subconditions", (long)i);
        rc = details_node(x, subs->items[i], depth + 1, &d->sub[i]);
        path_pop(x, old);
    }
    return rc;
}

static enum ltd_err
details_node(struct dparse *x, const struct cjson *j, unsigned depth, struct cc_details **out)
{
    *out = NULL;
    if (depth > json_depth_max) /* only code-built trees get here: stop recursing */
        return ltd_fail(x->eb, LTD_E_TX_THRESHOLD_DEEP, "%s: threshold nested too deeply", x->path);
    if (depth >= cc_depth_max)
        x->too_deep = true;
    if (j == NULL || j->type != CJSON_OBJECT)
        return details_fail(x, "must be an object");
    const struct cjson *type = cjson_get(j, "type");
    if (type == NULL)
        return details_fail(x, "missing key 'type'");
    struct cc_details *d = arena_alloc(x->a, sizeof *d);
    enum ltd_err rc;
    if (cjson_string_eq(type, "ed25519-sha-256")) {
        rc = details_ed25519(x, j, d);
    } else if (cjson_string_eq(type, "threshold-sha-256")) {
        rc = details_threshold(x, j, depth, d);
    } else {
        size_t old = path_push(x, ".type", -1);
        rc = details_fail(x, "unknown condition type");
        path_pop(x, old);
    }
    if (rc == LTD_OK)
        *out = d;
    return rc;
}

enum ltd_err
cc_details_from_json(struct arena *a, const struct cjson *j, struct cc_details **out,
                     struct ltd_errbuf *eb)
{
    struct dparse x = {.a = a, .eb = eb, .path = "details", .plen = 7};
    enum ltd_err rc = details_node(&x, j, 0, out);
    if (rc == LTD_OK && x.too_deep)
        rc = ltd_fail(eb, LTD_E_TX_THRESHOLD_DEEP, "details: threshold nested deeper than %d",
                      (int)cc_depth_max);
    if (rc != LTD_OK)
        *out = NULL;
    return rc;
}

struct cjson *
cc_details_to_json(struct arena *a, const struct cc_details *d)
{
    struct cjson *o = cjson_new_object(a);
    if (d->type == CC_ED25519) {
        char pk[48];
        codec_b58_encode32(d->pubkey.b, pk);
        cjson_obj_set(a, o, "type", cjson_new_stringz(a, "ed25519-sha-256"));
        cjson_obj_set(a, o, "public_key", cjson_new_stringz(a, pk));
        return o;
    }
    LTD_ASSERT(d->type == CC_THRESHOLD);
    struct cjson *subs = cjson_new_array(a);
    for (uint32_t i = 0; i < d->n_sub; i++)
        cjson_arr_push(a, subs, cc_details_to_json(a, d->sub[i]));
    cjson_obj_set(a, o, "type", cjson_new_stringz(a, "threshold-sha-256"));
    cjson_obj_set(a, o, "threshold", cjson_new_int(a, (int64_t)d->threshold));
    cjson_obj_set(a, o, "subconditions", subs);
    return o;
}

static void
details_keys_walk(const struct cc_details *d, struct ltd_pubkey *keys, size_t cap, size_t *k)
{
    if (d->type == CC_ED25519) {
        if (*k < cap)
            keys[*k] = d->pubkey;
        (*k)++;
        return;
    }
    for (uint32_t i = 0; i < d->n_sub; i++)
        details_keys_walk(d->sub[i], keys, cap, k);
}

size_t
cc_details_pubkeys(const struct cc_details *d, struct ltd_pubkey *keys, size_t cap)
{
    size_t k = 0;
    details_keys_walk(d, keys, cap, &k);
    return k;
}

struct cc_details *
cc_details_ed25519(struct arena *a, const struct ltd_pubkey *pk)
{
    struct cc_details *d = arena_alloc(a, sizeof *d);
    d->type = CC_ED25519;
    d->pubkey = *pk;
    return d;
}

struct cc_details *
cc_details_threshold(struct arena *a, uint32_t threshold, uint32_t n, struct cc_details **subs)
{
    LTD_ASSERT(threshold >= 1 && threshold <= n);
    LTD_ASSERT(n <= cc_subconditions_max);
    struct cc_details *d = arena_alloc(a, sizeof *d);
    d->type = CC_THRESHOLD;
    d->threshold = threshold;
    d->n_sub = n;
    d->sub = arena_alloc(a, n * sizeof(struct cc_details *));
    for (uint32_t i = 0; i < n; i++) {
        LTD_ASSERT(subs[i] != NULL);
        d->sub[i] = subs[i];
    }
    return d;
}

/* ---- verification and inspection ---- */

bool
cc_fulfillment_verify(const struct cc_fulfillment *f, const uint8_t *msg, size_t n)
{
    if (f->type == CC_ED25519)
        return codec_ed25519_verify(&f->pubkey, msg, n, &f->sig);
    if (f->type == CC_PREIMAGE)
        return true; /* the preimage is its own proof; the condition binds it */
    LTD_ASSERT(f->type == CC_THRESHOLD);
    if (f->n_ful == 0)
        return false;
    for (uint32_t i = 0; i < f->n_ful; i++)
        if (!cc_fulfillment_verify(f->ful[i], msg, n))
            return false;
    return true;
}

/* Counts ed25519 leaves and preimages of a tree. */
static void
ful_census(const struct cc_fulfillment *f, size_t *sigs, size_t *preimages)
{
    if (f->type == CC_ED25519)
        (*sigs)++;
    else if (f->type == CC_PREIMAGE)
        (*preimages)++;
    else
        for (uint32_t i = 0; i < f->n_ful; i++)
            ful_census(f->ful[i], sigs, preimages);
}

bool
cc_fulfillment_is_signed(const struct cc_fulfillment *f)
{
    size_t sigs = 0, preimages = 0;
    ful_census(f, &sigs, &preimages);
    return sigs > 0 && preimages == 0;
}

static void
ful_sig_walk(const struct cc_fulfillment *f, struct ltd_pubkey *keys, struct cc_signer *sg,
             size_t cap, size_t *k)
{
    if (f->type == CC_ED25519) {
        if (*k < cap && keys)
            keys[*k] = f->pubkey;
        if (*k < cap && sg) {
            sg[*k].pk = f->pubkey;
            sg[*k].sig = f->sig;
        }
        (*k)++;
    } else if (f->type == CC_THRESHOLD) {
        for (uint32_t i = 0; i < f->n_ful; i++)
            ful_sig_walk(f->ful[i], keys, sg, cap, k);
    }
}

size_t
cc_fulfillment_signers(const struct cc_fulfillment *f, struct ltd_pubkey *keys, size_t cap)
{
    size_t k = 0;
    ful_sig_walk(f, keys, NULL, cap, &k);
    return k;
}

size_t
cc_fulfillment_signatures(const struct cc_fulfillment *f, struct cc_signer *out, size_t cap)
{
    size_t k = 0;
    ful_sig_walk(f, NULL, out, cap, &k);
    return k;
}

/* ---- building fulfillments from details and signatures ---- */

enum build_status { BUILD_NONE, BUILD_PARTIAL, BUILD_COMPLETE };

/* One built node: its fulfillment (NULL when nothing is signed below) and
 * its condition (always). */
struct built {
    struct cc_fulfillment *f;
    struct cc_condition cond;
    enum build_status status;
};

struct builder {
    struct arena *a;
    const struct cc_signer *signers;
    size_t n_signers;
    bool partial;
};

static void build_node(const struct builder *b, const struct cc_details *d, struct built *out);

static void
build_leaf(const struct builder *b, const struct cc_details *d, struct built *out)
{
    ed25519_condition(&d->pubkey, &out->cond);
    out->f = NULL;
    out->status = BUILD_NONE;
    for (size_t i = 0; i < b->n_signers; i++) {
        if (memcmp(b->signers[i].pk.b, d->pubkey.b, sizeof d->pubkey.b) != 0)
            continue;
        struct cc_fulfillment *f = arena_alloc(b->a, sizeof *f);
        f->type = CC_ED25519;
        f->pubkey = d->pubkey;
        f->sig = b->signers[i].sig;
        out->f = f;
        out->status = BUILD_COMPLETE;
        return;
    }
}

/* Picks up to `want` children with the given status, cheapest first and
 * stable, marking them in chosen[]; returns how many were picked. */
static uint32_t
build_pick(const struct built *ch, uint32_t n, enum build_status st, uint32_t want, bool *chosen)
{
    uint32_t got = 0;
    while (got < want) {
        uint32_t best = n;
        for (uint32_t i = 0; i < n; i++)
            if (!chosen[i] && ch[i].status == st &&
                (best == n || ch[i].cond.cost < ch[best].cond.cost))
                best = i;
        if (best == n)
            break;
        chosen[best] = true;
        got++;
    }
    return got;
}

static void
build_threshold(const struct builder *b, const struct cc_details *d, struct built *out)
{
    uint32_t n = d->n_sub;
    struct built *ch = xcalloc(n ? n : 1, sizeof *ch);
    struct cc_child *cc = xcalloc(n ? n : 1, sizeof *cc);
    bool *chosen = xcalloc(n ? n : 1, sizeof *chosen);
    for (uint32_t i = 0; i < n; i++) {
        build_node(b, d->sub[i], &ch[i]);
        child_set(&cc[i], &ch[i].cond);
    }
    threshold_condition(d->threshold, cc, n, &out->cond);
    uint32_t k = build_pick(ch, n, BUILD_COMPLETE, d->threshold, chosen);
    out->status = k == d->threshold ? BUILD_COMPLETE : BUILD_NONE;
    if (k < d->threshold && b->partial) {
        k += build_pick(ch, n, BUILD_PARTIAL, d->threshold - k, chosen);
        out->status = k > 0 ? BUILD_PARTIAL : BUILD_NONE;
    }
    out->f = NULL;
    if (out->status != BUILD_NONE || b->partial) {
        struct cc_fulfillment *f = arena_alloc(b->a, sizeof *f);
        f->type = CC_THRESHOLD;
        f->n_ful = k;
        f->n_cond = n - k;
        f->ful = arena_alloc(b->a, k * sizeof(struct cc_fulfillment *));
        f->cond = arena_alloc(b->a, (n - k) * sizeof *f->cond);
        for (uint32_t i = 0, fi = 0, ci = 0; i < n; i++) {
            if (chosen[i])
                f->ful[fi++] = ch[i].f;
            else
                f->cond[ci++] = ch[i].cond;
        }
        out->f = f;
    }
    free(chosen);
    free(cc);
    free(ch);
}

static void
build_node(const struct builder *b, const struct cc_details *d, struct built *out)
{
    if (d->type == CC_ED25519) {
        build_leaf(b, d, out);
        return;
    }
    LTD_ASSERT(d->type == CC_THRESHOLD);
    build_threshold(b, d, out);
}

/* Depth of a details tree, stopping at limit + 1. */
static unsigned
details_depth(const struct cc_details *d, unsigned limit)
{
    unsigned best = 0;
    if (d->type != CC_THRESHOLD || limit == 0)
        return 0;
    for (uint32_t i = 0; i < d->n_sub; i++) {
        unsigned k = 1 + details_depth(d->sub[i], limit - 1);
        best = k > best ? k : best;
    }
    return best;
}

enum ltd_err
cc_fulfillment_build(struct arena *a, const struct cc_details *d, const struct cc_signer *signers,
                     size_t n, bool allow_partial, struct cc_fulfillment **out,
                     struct ltd_errbuf *eb)
{
    struct builder b = {a, signers, n, allow_partial};
    struct built top;
    *out = NULL;
    if (details_depth(d, cc_depth_max) >= cc_depth_max)
        return ltd_fail(eb, LTD_E_TX_THRESHOLD_DEEP, "details: threshold nested deeper than %d",
                        (int)cc_depth_max);
    build_node(&b, d, &top);
    if (top.f == NULL || (top.status != BUILD_COMPLETE && !allow_partial))
        return ltd_fail(eb, LTD_E_CC_THRESHOLD, "the signatures do not meet the threshold");
    size_t size = ful_size(top.f);
    if (size > cc_der_bytes_max)
        return ltd_fail(eb, LTD_E_TOO_LARGE, "fulfillment would take %zu bytes (limit %d)", size,
                        (int)cc_der_bytes_max);
    *out = top.f;
    return LTD_OK;
}
