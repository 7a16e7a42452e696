/*
 * tx.c - BigchainDB 2.0 transactions: the stateless checks of the
 * reference's POST pipeline in its order, the id and signing messages over
 * our own canonical writer, signing, and input verification.
 *
 * Schema messages follow jsonschema's wording ("'version' is a required
 * property") and add the path of the offending field, because clients rely
 * on the prefix and people need the field.  Nothing here touches storage:
 * whether a spent output exists or is unspent is decided in rules.c.
 */
#include "tx.h"

#include "codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

/* Error paths such as "inputs[0].fulfills", built for every field whether or
 * not an error needs them: plain copies, as snprintf would truncate, at a
 * tenth of its cost. */
static void
path_cat(char *dst, size_t cap, const char *a, const char *b)
{
    LTD_ASSERT(cap > 0);
    size_t n = 0;
    for (const char *q = a; *q && n + 1 < cap; q++)
        dst[n++] = *q;
    for (const char *q = b; *q && n + 1 < cap; q++)
        dst[n++] = *q;
    dst[n] = 0;
}

static void
path_idx(char *dst, size_t cap, const char *a, unsigned i)
{
    char num[1 + ltd_u64_digits_max + 2]; /* "[" digits "]" NUL */
    num[sizeof num - 2] = ']';
    num[sizeof num - 1] = 0;
    char *p = ltd_u64_text(i, num + 1);
    *--p = '[';
    path_cat(dst, cap, a, p);
}

/* Python-style repr of a JSON value, shortened, for schema messages. */
static void
repr_value(const struct cjson *v, char *out, size_t cap)
{
    enum { repr_chars_max = 80 };
    switch (v->type) {
    case CJSON_NULL:
        snprintf(out, cap, "None");
        return;
    case CJSON_TRUE:
        snprintf(out, cap, "True");
        return;
    case CJSON_FALSE:
        snprintf(out, cap, "False");
        return;
    case CJSON_INT:
    case CJSON_FLOAT:
        snprintf(out, cap, "%.*s", repr_chars_max, v->str);
        return;
    case CJSON_STRING:
        snprintf(out, cap, "'%.*s%s'", (int)(v->len < repr_chars_max ? v->len : repr_chars_max),
                 v->str, v->len > repr_chars_max ? "..." : "");
        return;
    case CJSON_ARRAY:
        snprintf(out, cap, v->len ? "[...]" : "[]");
        return;
    case CJSON_OBJECT:
        snprintf(out, cap, v->len ? "{...}" : "{}");
        return;
    }
    snprintf(out, cap, "?");
}

static enum ltd_err LTD_PRINTF(3, 4)
    schema_fail(struct ltd_errbuf *eb, const char *path, const char *fmt, ...)
{
    char msg[errmsg_bytes_max / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (path && path[0])
        return ltd_fail(eb, LTD_E_TX_SCHEMA, "%s (at %s)", msg, path);
    return ltd_fail(eb, LTD_E_TX_SCHEMA, "%s", msg);
}

static const char *
type_word(enum cjson_type t)
{
    switch (t) {
    case CJSON_OBJECT:
        return "object";
    case CJSON_ARRAY:
        return "array";
    case CJSON_STRING:
        return "string";
    case CJSON_NULL:
        return "null";
    default:
        return "value";
    }
}

static enum ltd_err
want_type(const struct cjson *v, enum cjson_type t, const char *path, struct ltd_errbuf *eb)
{
    if (v->type == t)
        return LTD_OK;
    char r[128];
    repr_value(v, r, sizeof r);
    return schema_fail(eb, path, "%s is not of type '%s'", r, type_word(t));
}

/* Checks that obj has exactly the keys in `keys` (all required). */
static enum ltd_err
want_keys(const struct cjson *obj, const char *const *keys, size_t n, const char *path,
          struct ltd_errbuf *eb)
{
    for (size_t i = 0; i < n; i++)
        if (cjson_get(obj, keys[i]) == NULL)
            return schema_fail(eb, path, "'%s' is a required property", keys[i]);
    for (uint32_t m = 0; m < obj->len; m++) {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++)
            known = obj->members[m].klen == strlen(keys[i]) &&
                    memcmp(obj->members[m].key, keys[i], obj->members[m].klen) == 0;
        if (!known)
            return schema_fail(eb, path,
                               "Additional properties are not allowed ('%.60s' was unexpected)",
                               obj->members[m].key);
    }
    return LTD_OK;
}

static bool
is_hex64(const struct cjson *v)
{
    if (v->type != CJSON_STRING || v->len != 64)
        return false;
    for (uint32_t i = 0; i < 64; i++) {
        char c = v->str[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

static enum ltd_err
want_hex64(const struct cjson *v, struct ltd_hash *out, const char *path, struct ltd_errbuf *eb)
{
    if (!is_hex64(v)) {
        char r[128];
        repr_value(v, r, sizeof r);
        return schema_fail(eb, path, "%s does not match '^[0-9a-f]{64}$'", r);
    }
    bool ok = hex_decode(out->b, 32, v->str, 64);
    LTD_ASSERT(ok);
    return LTD_OK;
}

static enum ltd_err
want_pubkeys(struct arena *a, const struct cjson *arr, const char *path, uint32_t *n_out,
             struct ltd_pubkey **keys_out, struct ltd_errbuf *eb)
{
    enum ltd_err e = want_type(arr, CJSON_ARRAY, path, eb);
    if (e)
        return e;
    if (arr->len > tx_keys_max)
        return schema_fail(eb, path, "[...] is too long (more than %d keys)", (int)tx_keys_max);
    struct ltd_pubkey *keys = arena_alloc(a, sizeof *keys * (arr->len ? arr->len : 1));
    for (uint32_t i = 0; i < arr->len; i++) {
        const struct cjson *k = arr->items[i];
        if (k->type != CJSON_STRING || codec_b58_decode32(k->str, k->len, keys[i].b) != LTD_OK) {
            char r[128];
            repr_value(k, r, sizeof r);
            char p[96];
            path_idx(p, sizeof p, path, i);
            return schema_fail(eb, p, "%s is not a valid base58 public key", r);
        }
    }
    *n_out = arr->len;
    *keys_out = keys;
    return LTD_OK;
}

/* Parses a non-negative JSON integer without overflow. */
static bool
int_to_u64(const struct cjson *v, uint64_t max, uint64_t *out)
{
    if (v->type != CJSON_INT || v->len == 0 || v->len > 20 || v->str[0] == '-')
        return false;
    uint64_t x = 0;
    for (uint32_t i = 0; i < v->len; i++) {
        unsigned d = (unsigned)(v->str[i] - '0');
        if (d > 9 || x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    if (x > max)
        return false;
    *out = x;
    return true;
}

/* ------------------------------------------------------- id and messages */

/* Finds the member slot holding `key` in obj (NULL if absent). */
static struct cjson_member *
member_slot(const struct cjson *obj, const char *key)
{
    if (obj == NULL || obj->type != CJSON_OBJECT)
        return NULL;
    size_t kl = strlen(key);
    for (uint32_t i = 0; i < obj->len; i++)
        if (obj->members[i].klen == kl && memcmp(obj->members[i].key, key, kl) == 0)
            return &obj->members[i];
    return NULL;
}

/* Canonical text of root with "id" (and, with null_fulfillments, every
 * input's "fulfillment") temporarily replaced by null. */
static void
canonical_with_nulls(struct cjson *root, bool null_fulfillments, struct buf *out)
{
    struct cjson_member *idm = member_slot(root, "id");
    struct cjson *saved_id = idm ? idm->val : NULL;
    if (idm)
        idm->val = &cjson_null_value;
    struct cjson *inputs = cjson_get(root, "inputs");
    uint32_t n = (null_fulfillments && inputs && inputs->type == CJSON_ARRAY) ? inputs->len : 0;
    struct cjson *saved_small[8];
    struct cjson **saved = n <= 8 ? saved_small : xmalloc(sizeof(struct cjson *) * n);
    for (uint32_t i = 0; i < n; i++) {
        struct cjson_member *fm = member_slot(inputs->items[i], "fulfillment");
        saved[i] = fm ? fm->val : NULL;
        if (fm)
            fm->val = &cjson_null_value;
    }
    cjson_canonical(root, out);
    for (uint32_t i = 0; i < n; i++) {
        struct cjson_member *fm = member_slot(inputs->items[i], "fulfillment");
        if (fm)
            fm->val = saved[i];
    }
    if (saved != saved_small)
        free(saved);
    if (idm)
        idm->val = saved_id;
}

/* ------------------------------------------------ the canonical text */

/* The cut of string v in text when its text is exactly '"' v->str '"' (a
 * canonical parse's STRING without escapes); false otherwise. */
static bool
string_cut(const struct cjson *v, const char *text, uint32_t len, struct tx_cut *out)
{
    if (v == NULL || v->type != CJSON_STRING)
        return false;
    uint64_t end = (uint64_t)v->at + v->len + 2;
    if (end > len || text[v->at] != '"' || text[end - 1] != '"' ||
        memcmp(text + v->at + 1, v->str, v->len) != 0)
        return false;
    *out = (struct tx_cut){v->at, (uint32_t)end};
    return true;
}

bool
tx_text_cuts(const struct tx *t, bool fulfillments, struct tx_cut *cut)
{
    if (t->text == NULL || !string_cut(cjson_get(t->root, "id"), t->text, t->text_len, &cut[0]))
        return false;
    for (uint32_t i = 1; fulfillments && i <= t->n_in; i++)
        if (!string_cut(t->in[i - 1].fulfillment_json, t->text, t->text_len, &cut[i]) ||
            cut[i].at < cut[i - 1].end) /* text order: "id" < "inputs", then array order */
            return false;
    return true;
}

/* Appends t->text with the id and, with fulfillments, every input's
 * fulfillment replaced by null: canonical_with_nulls' bytes, spliced.
 * False (nothing appended) when a value is not a plain string. */
static bool
text_with_nulls(const struct tx *t, bool fulfillments, struct buf *out)
{
    if (t->text == NULL)
        return false;
    enum { cuts_small = 9 };
    struct tx_cut small[cuts_small];
    uint32_t n = 1 + (fulfillments ? t->n_in : 0);
    struct tx_cut *cut = n <= cuts_small ? small : xmalloc(sizeof *cut * n);
    bool ok = tx_text_cuts(t, fulfillments, cut);
    if (ok) {
        uint32_t pos = 0;
        for (uint32_t i = 0; i < n; i++) {
            buf_add(out, t->text + pos, cut[i].at - pos);
            buf_add(out, "null", 4);
            pos = cut[i].end;
        }
        buf_add(out, t->text + pos, t->text_len - pos);
    }
    if (cut != small)
        free(cut);
    return ok;
}

static void
hash_root_id_null(struct cjson *root, struct ltd_hash *out)
{
    struct buf canon;
    buf_init(&canon);
    buf_reserve(&canon, 2048);
    canonical_with_nulls(root, false, &canon);
    codec_sha3_256(out, canon.p, canon.len);
    buf_release(&canon);
}

void
tx_compute_id(const struct tx *t, struct ltd_hash *out)
{
    LTD_ASSERT(t->root != NULL);
    if (t->text) {
        struct buf canon;
        buf_init(&canon);
        buf_reserve(&canon, t->text_len + 8);
        bool spliced = text_with_nulls(t, false, &canon);
        if (spliced)
            codec_sha3_256(out, canon.p, canon.len);
        buf_release(&canon);
        if (spliced)
            return;
    }
    hash_root_id_null(t->root, out);
}

void
tx_signing_messages(const struct tx *t, struct ltd_hash *out)
{
    LTD_ASSERT(t->root != NULL);
    struct buf tls_canon;
    buf_init(&tls_canon);
    buf_reserve(&tls_canon, t->text ? t->text_len + 8 * (t->n_in + 1) : 2048);
    if (!text_with_nulls(t, true, &tls_canon))
        canonical_with_nulls(t->root, true, &tls_canon);
    if (t->op == TX_CREATE) {
        struct ltd_hash h;
        codec_sha3_256(&h, tls_canon.p, tls_canon.len);
        for (uint32_t i = 0; i < t->n_in; i++)
            out[i] = h;
    } else {
        struct codec_sha3 *h = codec_sha3_new();
        for (uint32_t i = 0; i < t->n_in; i++) {
            char idx[ltd_u64_digits_max];
            const char *d = ltd_u64_text(t->in[i].fulfills_index, idx);
            codec_sha3_begin(h);
            codec_sha3_update(h, tls_canon.p, tls_canon.len);
            codec_sha3_update(h, t->in[i].fulfills_txid_hex, 64);
            codec_sha3_update(h, d, (size_t)(idx + sizeof idx - d));
            codec_sha3_end(h, &out[i]);
        }
        codec_sha3_free(h);
    }
    buf_release(&tls_canon);
}

void
tx_signing_message(const struct tx *t, uint32_t i, struct ltd_hash *out)
{
    LTD_ASSERT(i < t->n_in);
    struct ltd_hash small[4];
    struct ltd_hash *all = t->n_in <= 4 ? small : xmalloc(sizeof *all * t->n_in);
    tx_signing_messages(t, all);
    *out = all[i];
    if (all != small)
        free(all);
}

void
tx_serialize(const struct tx *t, struct buf *out)
{
    LTD_ASSERT(t->root != NULL);
    if (t->text)
        buf_add(out, t->text, t->text_len);
    else
        cjson_canonical(t->root, out);
}

/* --------------------------------------------------------------- parsing */

static enum ltd_err
check_id(struct cjson *root, unsigned flags, struct tx *t, struct ltd_errbuf *eb)
{
    struct cjson *idv = cjson_get(root, "id");
    if (idv == NULL)
        return ltd_fail(eb, LTD_E_TX_NO_ID, "No transaction id found!");
    if (flags & TX_FLAG_UNSIGNED) {
        if (idv->type == CJSON_NULL)
            return LTD_OK;
        if (!is_hex64(idv))
            return schema_fail(eb, "id", "id must be null or 64 lowercase hex characters");
        return LTD_OK; /* recomputed when signed */
    }
    struct ltd_hash h;
    tx_compute_id(t, &h); /* t->root is root; t->text, if any, its text */
    char hex[65];
    hex_encode(hex, h.b, 32);
    if (idv->type == CJSON_STRING && idv->len == 64 && memcmp(idv->str, hex, 64) == 0) {
        t->id = h;
        memcpy(t->id_hex, hex, 65);
        t->has_id = true;
        return LTD_OK;
    }
    char shown[96];
    if (idv->type == CJSON_STRING)
        snprintf(shown, sizeof shown, "%.80s", idv->str);
    else
        repr_value(idv, shown, sizeof shown);
    return ltd_fail(eb, LTD_E_TX_HASH,
                    "The transaction's id '%s' isn't equal to the hash of its body, i.e. it's "
                    "not valid.",
                    shown);
}

static enum ltd_err
parse_top(struct cjson *root, struct tx *t, struct ltd_errbuf *eb)
{
    static const char *const keys[] = {"asset",     "id",      "inputs", "metadata",
                                       "operation", "outputs", "version"};
    enum ltd_err e = want_keys(root, keys, ARRAY_LEN(keys), "", eb);
    if (e)
        return e;
    struct cjson *ver = cjson_get(root, "version");
    if (!cjson_string_eq(ver, "2.0")) {
        char r[128];
        repr_value(ver, r, sizeof r);
        return schema_fail(eb, "version", "%s does not match '^2\\\\.0$'", r);
    }
    struct cjson *op = cjson_get(root, "operation");
    if (cjson_string_eq(op, "CREATE")) {
        t->op = TX_CREATE;
    } else if (cjson_string_eq(op, "TRANSFER")) {
        t->op = TX_TRANSFER;
    } else {
        char r[128];
        repr_value(op, r, sizeof r);
        return schema_fail(eb, "operation", "%s is not one of ['CREATE', 'TRANSFER']", r);
    }
    struct cjson *md = cjson_get(root, "metadata");
    if (md->type != CJSON_NULL) {
        if ((e = want_type(md, CJSON_OBJECT, "metadata", eb)))
            return e;
        if (md->len == 0)
            return schema_fail(eb, "metadata", "{} does not have enough properties");
    }
    t->metadata = md;
    return LTD_OK;
}

static enum ltd_err
parse_asset(struct cjson *root, struct tx *t, struct ltd_errbuf *eb)
{
    struct cjson *asset = cjson_get(root, "asset");
    enum ltd_err e = want_type(asset, CJSON_OBJECT, "asset", eb);
    if (e)
        return e;
    if (t->op == TX_CREATE) {
        static const char *const keys[] = {"data"};
        if ((e = want_keys(asset, keys, 1, "asset", eb)))
            return e;
        struct cjson *data = cjson_get(asset, "data");
        if (data->type != CJSON_NULL && data->type != CJSON_OBJECT)
            return want_type(data, CJSON_OBJECT, "asset.data", eb);
        t->asset_data = data;
        return LTD_OK;
    }
    static const char *const keys[] = {"id"};
    if ((e = want_keys(asset, keys, 1, "asset", eb)))
        return e;
    return want_hex64(cjson_get(asset, "id"), &t->asset_id, "asset.id", eb);
}

static enum ltd_err
parse_fulfills(struct tx_input *in, const struct cjson *f, enum tx_op op, const char *path,
               struct ltd_errbuf *eb)
{
    char p[96];
    if (op == TX_CREATE) {
        if (f->type != CJSON_NULL) {
            char r[128];
            repr_value(f, r, sizeof r);
            path_cat(p, sizeof p, path, ".fulfills");
            return schema_fail(eb, p, "%s is not of type 'null'", r);
        }
        return LTD_OK;
    }
    path_cat(p, sizeof p, path, ".fulfills");
    enum ltd_err e = want_type(f, CJSON_OBJECT, p, eb);
    if (e)
        return e;
    static const char *const keys[] = {"output_index", "transaction_id"};
    if ((e = want_keys(f, keys, 2, p, eb)))
        return e;
    path_cat(p, sizeof p, path, ".fulfills.transaction_id");
    const struct cjson *txid = cjson_get(f, "transaction_id");
    if ((e = want_hex64(txid, &in->fulfills_txid, p, eb)))
        return e;
    memcpy(in->fulfills_txid_hex, txid->str, 64);
    in->fulfills_txid_hex[64] = 0;
    const struct cjson *idx = cjson_get(f, "output_index");
    path_cat(p, sizeof p, path, ".fulfills.output_index");
    if (!int_to_u64(idx, (UINT64_C(1) << 53), &in->fulfills_index)) {
        char r[128];
        repr_value(idx, r, sizeof r);
        if (idx->type == CJSON_INT && idx->str[0] == '-')
            return schema_fail(eb, p, "%s is less than the minimum of 0", r);
        return schema_fail(eb, p, "%s is not a valid output index (integer 0..2^53)", r);
    }
    in->has_fulfills = true;
    return LTD_OK;
}

static enum ltd_err
parse_input(struct arena *a, struct tx *t, uint32_t i, unsigned flags, struct ltd_errbuf *eb)
{
    (void)flags;
    struct cjson *inputs = cjson_get(t->root, "inputs");
    struct cjson *iv = inputs->items[i];
    struct tx_input *in = &t->in[i];
    char path[48];
    path_idx(path, sizeof path, "inputs", i);
    enum ltd_err e = want_type(iv, CJSON_OBJECT, path, eb);
    if (e)
        return e;
    static const char *const keys[] = {"fulfillment", "fulfills", "owners_before"};
    if ((e = want_keys(iv, keys, 3, path, eb)))
        return e;
    char p[96];
    path_cat(p, sizeof p, path, ".owners_before");
    if ((e = want_pubkeys(a, cjson_get(iv, "owners_before"), p, &in->n_owners, &in->owners, eb)))
        return e;
    if (in->n_owners == 0)
        return schema_fail(eb, p, "[] is too short");
    if ((e = parse_fulfills(in, cjson_get(iv, "fulfills"), t->op, path, eb)))
        return e;
    struct cjson *ff = cjson_get(iv, "fulfillment");
    in->fulfillment_json = ff;
    if (ff->type == CJSON_STRING) {
        for (uint32_t k = 0; k < ff->len; k++) {
            char c = ff->str[k];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_')) {
                path_cat(p, sizeof p, path, ".fulfillment");
                return schema_fail(eb, p, "fulfillment does not match '^[a-zA-Z0-9_-]*$'");
            }
        }
    } else if (ff->type != CJSON_NULL && ff->type != CJSON_OBJECT) {
        path_cat(p, sizeof p, path, ".fulfillment");
        return want_type(ff, CJSON_STRING, p, eb);
    }
    return LTD_OK;
}

static enum ltd_err
parse_inputs(struct arena *a, struct tx *t, unsigned flags, struct ltd_errbuf *eb)
{
    struct cjson *inputs = cjson_get(t->root, "inputs");
    enum ltd_err e = want_type(inputs, CJSON_ARRAY, "inputs", eb);
    if (e)
        return e;
    if (inputs->len == 0)
        return schema_fail(eb, "inputs", "[] is too short");
    if (t->op == TX_CREATE && inputs->len > 1)
        return schema_fail(eb, "inputs", "[...] is too long (a CREATE has exactly one input)");
    if (inputs->len > tx_inputs_max)
        return schema_fail(eb, "inputs", "[...] is too long (more than %d inputs)",
                           (int)tx_inputs_max);
    t->n_in = inputs->len;
    t->in = arena_alloc(a, sizeof *t->in * t->n_in);
    for (uint32_t i = 0; i < t->n_in; i++)
        if ((e = parse_input(a, t, i, flags, eb)))
            return e;
    return LTD_OK;
}

/* Parses one output's shape; the amount's range and the threshold depth
 * are reported later (reference step 7) through *deferred. */
static enum ltd_err
parse_output(struct arena *a, struct tx *t, uint32_t i, struct ltd_errbuf *deferred,
             struct ltd_errbuf *eb)
{
    struct cjson *ov = cjson_get(t->root, "outputs")->items[i];
    struct tx_output *o = &t->out[i];
    char path[48], p[96];
    path_idx(path, sizeof path, "outputs", i);
    enum ltd_err e = want_type(ov, CJSON_OBJECT, path, eb);
    if (e)
        return e;
    static const char *const keys[] = {"amount", "condition", "public_keys"};
    if ((e = want_keys(ov, keys, 3, path, eb)))
        return e;
    const struct cjson *amt = cjson_get(ov, "amount");
    path_cat(p, sizeof p, path, ".amount");
    if ((e = want_type(amt, CJSON_STRING, p, eb)))
        return e;
    bool digits = amt->len >= 1 && amt->len <= 20;
    for (uint32_t k = 0; digits && k < amt->len; k++)
        digits = amt->str[k] >= '0' && amt->str[k] <= '9';
    if (!digits) {
        char r[128];
        repr_value(amt, r, sizeof r);
        return schema_fail(eb, p, "%s does not match '^[0-9]{1,20}$'", r);
    }
    struct cjson *cond = cjson_get(ov, "condition");
    path_cat(p, sizeof p, path, ".condition");
    if ((e = want_type(cond, CJSON_OBJECT, p, eb)))
        return e;
    static const char *const ckeys[] = {"details", "uri"};
    if ((e = want_keys(cond, ckeys, 2, p, eb)))
        return e;
    o->uri = cjson_get(cond, "uri");
    path_cat(p, sizeof p, path, ".condition.uri");
    if ((e = want_type(o->uri, CJSON_STRING, p, eb)))
        return e;
    if (o->uri->len < 14 || memcmp(o->uri->str, "ni:///sha-256;", 14) != 0)
        return schema_fail(eb, p, "uri does not match '^ni:///sha-256;...'");
    struct ltd_errbuf deb;
    ltd_errbuf_clear(&deb);
    e = cc_details_from_json(a, cjson_get(cond, "details"), &o->details, &deb);
    if (e == LTD_E_TX_THRESHOLD_DEEP) {
        ltd_fail(deferred, e, "%s", "");
    } else if (e) {
        path_cat(p, sizeof p, path, ".condition");
        return schema_fail(eb, p, "%s", deb.msg);
    }
    struct cjson *pks = cjson_get(ov, "public_keys");
    path_cat(p, sizeof p, path, ".public_keys");
    if (pks->type == CJSON_NULL) {
        o->pubkeys_null = true;
    } else if ((e = want_pubkeys(a, pks, p, &o->n_pubkeys, &o->pubkeys, eb))) {
        return e;
    }
    return LTD_OK;
}

static enum ltd_err
parse_outputs(struct arena *a, struct tx *t, struct ltd_errbuf *deferred, struct ltd_errbuf *eb)
{
    struct cjson *outputs = cjson_get(t->root, "outputs");
    enum ltd_err e = want_type(outputs, CJSON_ARRAY, "outputs", eb);
    if (e)
        return e;
    if (outputs->len > tx_outputs_max)
        return schema_fail(eb, "outputs", "[...] is too long (more than %d outputs)",
                           (int)tx_outputs_max);
    if (t->op == TX_TRANSFER && outputs->len == 0)
        return schema_fail(eb, "outputs", "[] is too short");
    t->n_out = outputs->len;
    t->out = arena_alloc(a, sizeof *t->out * (t->n_out ? t->n_out : 1));
    for (uint32_t i = 0; i < t->n_out; i++)
        if ((e = parse_output(a, t, i, deferred, eb)))
            return e;
    return LTD_OK;
}

/* ---- reference steps 4 and 5: key names and `language` values ---- */

static const char *const mongo_languages[] = {
    "danish",    "dutch",      "english",  "finnish", "french",  "german",  "hungarian", "italian",
    "norwegian", "portuguese", "romanian", "russian", "spanish", "swedish", "turkish",   "none",
    "da",        "nl",         "en",       "fi",      "fr",      "de",      "hu",        "it",
    "nb",        "pt",         "ro",       "ru",      "es",      "sv",      "tr"};

static bool
language_ok(const struct cjson *v)
{
    if (v->type != CJSON_STRING)
        return false;
    for (size_t i = 0; i < ARRAY_LEN(mongo_languages); i++)
        if (strlen(mongo_languages[i]) == v->len && memcmp(v->str, mongo_languages[i], v->len) == 0)
            return true;
    return false;
}

static enum ltd_err
check_keys_walk(const struct cjson *v, const char *what, bool language_pass, struct ltd_errbuf *eb)
{
    if (v->type == CJSON_ARRAY) {
        for (uint32_t i = 0; i < v->len; i++) {
            enum ltd_err e = check_keys_walk(v->items[i], what, language_pass, eb);
            if (e)
                return e;
        }
        return LTD_OK;
    }
    if (v->type != CJSON_OBJECT)
        return LTD_OK;
    for (uint32_t i = 0; i < v->len; i++) {
        const struct cjson_member *m = &v->members[i];
        if (!language_pass && (m->klen == 0 ? false
                                            : (m->key[0] == '$' || memchr(m->key, '.', m->klen) ||
                                               memchr(m->key, 0, m->klen)))) {
            return ltd_fail(eb, LTD_E_TX_KEY_NAME,
                            "Invalid key name \"%.100s\" in %s object. The key name cannot "
                            "contain characters \".\", \"$\" or null characters",
                            m->key, what);
        }
        if (language_pass && m->klen == 8 && memcmp(m->key, "language", 8) == 0 &&
            !language_ok(m->val)) {
            char r[128];
            if (m->val->type == CJSON_STRING)
                snprintf(r, sizeof r, "%.100s", m->val->str);
            else
                repr_value(m->val, r, sizeof r);
            return ltd_fail(eb, LTD_E_TX_LANGUAGE,
                            "MongoDB does not support text search for the language \"%s\". If "
                            "you do not understand this error message then please rename key/"
                            "field \"language\" to something else like \"lang\".",
                            r);
        }
        enum ltd_err e = check_keys_walk(m->val, what, language_pass, eb);
        if (e)
            return e;
    }
    return LTD_OK;
}

static enum ltd_err
check_user_data(const struct tx *t, struct ltd_errbuf *eb)
{
    for (int pass = 0; pass < 2; pass++) {
        if (t->asset_data) {
            enum ltd_err e = check_keys_walk(t->asset_data, "asset", pass == 1, eb);
            if (e)
                return e;
        }
        if (t->metadata) {
            enum ltd_err e = check_keys_walk(t->metadata, "metadata", pass == 1, eb);
            if (e)
                return e;
        }
    }
    return LTD_OK;
}

/* ---- reference step 6: fulfillments parse ---- */

static enum ltd_err
decode_fulfillments(struct arena *a, struct tx *t, unsigned flags, struct ltd_errbuf *eb)
{
    for (uint32_t i = 0; i < t->n_in; i++) {
        struct tx_input *in = &t->in[i];
        const struct cjson *f = in->fulfillment_json;
        if (f->type != CJSON_STRING) {
            if ((flags & TX_FLAG_UNSIGNED) && f->type == CJSON_NULL)
                continue;
            return ltd_fail(eb, LTD_E_TX_NOT_SIGNED,
                            "Transaction signature is invalid. (inputs[%u].fulfillment is not "
                            "a signed fulfillment string)",
                            i);
        }
        if (f->len > (cc_der_bytes_max * 4) / 3 + 4)
            return ltd_fail(eb, LTD_E_TX_FULFILLMENT, "Fulfillment URI couldn't been parsed");
        uint8_t *der = arena_alloc(a, f->len + 1);
        size_t n = 0;
        struct ltd_errbuf deb;
        ltd_errbuf_clear(&deb);
        if (codec_b64url_decode(f->str, f->len, der, f->len + 1, &n) != LTD_OK ||
            cc_fulfillment_decode(a, der, n, &in->ff, &deb) != LTD_OK) {
            return ltd_fail(eb, LTD_E_TX_FULFILLMENT, "Fulfillment URI couldn't been parsed");
        }
    }
    return LTD_OK;
}

/* ---- reference step 7: amounts ---- */

static enum ltd_err
check_amounts(struct tx *t, struct ltd_errbuf *eb)
{
    struct cjson *outputs = cjson_get(t->root, "outputs");
    unsigned __int128 sum = 0;
    for (uint32_t i = 0; i < t->n_out; i++) {
        const struct cjson *amt = cjson_get(outputs->items[i], "amount");
        uint64_t x = 0;
        bool ok = true;
        for (uint32_t k = 0; k < amt->len && ok; k++) {
            unsigned d = (unsigned)(amt->str[k] - '0');
            if (x > (UINT64_MAX - d) / 10)
                ok = false;
            else
                x = x * 10 + d;
        }
        if (!ok || x > LTD_AMOUNT_MAX)
            return ltd_fail(eb, LTD_E_TX_AMOUNT, "`amount` must be <= %llu",
                            (unsigned long long)LTD_AMOUNT_MAX);
        if (x == 0)
            return ltd_fail(eb, LTD_E_TX_AMOUNT, "`amount` must be greater than 0");
        if (amt->len > 1 && amt->str[0] == '0')
            return ltd_fail(eb, LTD_E_TX_AMOUNT,
                            "Invalid amount: %.20s (outputs[%u].amount has leading zeros)",
                            amt->str, i);
        t->out[i].amount = x;
        sum += x;
    }
    t->out_sum = sum;
    return LTD_OK;
}

/* tx_from_json; text, when not NULL, is root's canonical text (len bytes,
 * arena-owned). */
static enum ltd_err
from_json(struct arena *a, struct cjson *root, const char *text, size_t len, unsigned flags,
          struct tx *out, struct ltd_errbuf *eb)
{
    LTD_ASSERT(a != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    struct tx t;
    memset(&t, 0, sizeof t);
    t.root = root;
    if (text != NULL && len <= UINT32_MAX) {
        t.text = text;
        t.text_len = (uint32_t)len;
    }
    struct ltd_errbuf deferred;
    ltd_errbuf_clear(&deferred);
    enum ltd_err e;
    if (root == NULL || root->type != CJSON_OBJECT) {
        e = schema_fail(eb, "", "%s is not of type 'object'",
                        root ? type_word(root->type) : "nothing");
        goto out;
    }
    if ((e = check_id(root, flags, &t, eb)))
        goto out;
    if ((e = parse_top(root, &t, eb)) || (e = parse_asset(root, &t, eb)) ||
        (e = parse_inputs(a, &t, flags, eb)) || (e = parse_outputs(a, &t, &deferred, eb)))
        goto out;
    if ((e = check_user_data(&t, eb)))
        goto out;
    if ((e = decode_fulfillments(a, &t, flags, eb)))
        goto out;
    if ((e = check_amounts(&t, eb)))
        goto out;
    if (deferred.code != LTD_OK) {
        e = ltd_fail(eb, deferred.code, "%s", deferred.msg);
        goto out;
    }
    for (uint32_t i = 0; i < t.n_out; i++)
        cc_details_condition(t.out[i].details, &t.out[i].cond);
    if (t.op == TX_CREATE && t.has_id)
        t.asset_id = t.id;
    *out = t;
out:
    return e;
}

enum ltd_err
tx_from_json(struct arena *a, struct cjson *root, unsigned flags, struct tx *out,
             struct ltd_errbuf *eb)
{
    return from_json(a, root, NULL, 0, flags, out, eb);
}

enum ltd_err
tx_parse(struct arena *a, const char *body, size_t len, unsigned flags, struct tx *out,
         struct ltd_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    if (len > tx_bytes_max)
        return ltd_fail(eb, LTD_E_JSON_TOO_LARGE, "transaction of %zu bytes exceeds %d", len,
                        (int)tx_bytes_max);
    struct cjson *root = NULL;
    bool canonical = false;
    enum ltd_err e = cjson_parse_canon(a, body, len, NULL, &root, &canonical, eb);
    if (e)
        return e;
    /* the common case (drivers and this node send canonical bodies): keep
     * the text, so hashing and storing splice it instead of rewriting it */
    const char *text = canonical ? arena_memdup(a, body, len) : NULL;
    return from_json(a, root, text, len, flags, out, eb);
}

/* ---------------------------------------------------------- verification */

enum ltd_err
tx_verify_create(const struct tx *t, struct ltd_errbuf *eb)
{
    LTD_ASSERT(t->op == TX_CREATE);
    LTD_ASSERT(t->n_in == 1);
    const struct tx_input *in = &t->in[0];
    if (in->ff == NULL)
        return ltd_fail(eb, LTD_E_TX_NOT_SIGNED, "Transaction signature is invalid.");
    struct ltd_hash msg;
    tx_signing_messages(t, &msg);
    if (!cc_fulfillment_verify(in->ff, msg.b, sizeof msg.b))
        return ltd_fail(eb, LTD_E_TX_SIGNATURE, "Transaction signature is invalid.");
    return LTD_OK;
}

static bool
key_in(const struct ltd_pubkey *k, const struct ltd_pubkey *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(k->b, set[i].b, 32) == 0)
            return true;
    return false;
}

/* True iff the two key lists hold the same set of keys. */
static bool
same_key_set(const struct ltd_pubkey *a, size_t na, const struct ltd_pubkey *b, size_t nb)
{
    for (size_t i = 0; i < na; i++)
        if (!key_in(&a[i], b, nb))
            return false;
    for (size_t i = 0; i < nb; i++)
        if (!key_in(&b[i], a, na))
            return false;
    return true;
}

enum ltd_err
tx_verify_input(const struct tx *t, uint32_t i, const struct cc_details *spent,
                const struct ltd_hash *msg, struct ltd_errbuf *eb)
{
    LTD_ASSERT(i < t->n_in);
    LTD_ASSERT(spent != NULL);
    const struct tx_input *in = &t->in[i];
    if (in->ff == NULL)
        return ltd_fail(eb, LTD_E_TX_NOT_SIGNED, "Transaction signature is invalid.");
    struct cc_condition want, got;
    cc_details_condition(spent, &want);
    cc_fulfillment_condition(in->ff, &got);
    if (!cc_condition_eq(&want, &got) || !cc_fulfillment_verify(in->ff, msg->b, sizeof msg->b))
        return ltd_fail(eb, LTD_E_TX_SIGNATURE, "Transaction signature is invalid.");
    struct ltd_pubkey keys[tx_keys_max];
    size_t nk = cc_details_pubkeys(spent, keys, tx_keys_max);
    if (nk > tx_keys_max || !same_key_set(in->owners, in->n_owners, keys, nk))
        return ltd_fail(eb, LTD_E_TX_OWNERS,
                        "inputs[%u].owners_before does not list the keys of the output it "
                        "spends",
                        i);
    return LTD_OK;
}

static enum ltd_err
strict_output(const struct tx_output *o, uint32_t i, struct ltd_errbuf *eb)
{
    struct buf uri;
    buf_init(&uri);
    cc_condition_uri(&o->cond, &uri);
    bool same = uri.len == o->uri->len && memcmp(uri.p, o->uri->str, uri.len) == 0;
    buf_release(&uri);
    if (!same)
        return ltd_fail(eb, LTD_E_TX_URI,
                        "outputs[%u].condition.uri is not the URI of outputs[%u].condition."
                        "details",
                        i, i);
    struct ltd_pubkey keys[tx_keys_max];
    size_t nk = cc_details_pubkeys(o->details, keys, tx_keys_max);
    if (o->pubkeys_null || nk > tx_keys_max || !same_key_set(o->pubkeys, o->n_pubkeys, keys, nk))
        return ltd_fail(eb, LTD_E_TX_PUBKEYS,
                        "outputs[%u].public_keys does not list exactly the keys of its "
                        "condition details",
                        i);
    return LTD_OK;
}

enum ltd_err
tx_check_strict(const struct tx *t, struct ltd_errbuf *eb)
{
    for (uint32_t i = 0; i < t->n_out; i++) {
        enum ltd_err e = strict_output(&t->out[i], i, eb);
        if (e)
            return e;
    }
    for (uint32_t i = 0; i < t->n_in; i++) {
        const struct tx_input *in = &t->in[i];
        if (in->ff == NULL)
            return ltd_fail(eb, LTD_E_TX_NOT_SIGNED, "inputs[%u] is not signed", i);
        if (!cc_fulfillment_is_signed(in->ff))
            return ltd_fail(eb, LTD_E_TX_UNSIGNED,
                            "inputs[%u].fulfillment carries no Ed25519 signature", i);
        if (t->op != TX_CREATE)
            continue;
        struct ltd_pubkey signers[tx_keys_max];
        size_t ns = cc_fulfillment_signers(in->ff, signers, tx_keys_max);
        if (ns > tx_keys_max || !same_key_set(in->owners, in->n_owners, signers, ns))
            return ltd_fail(eb, LTD_E_TX_OWNERS,
                            "inputs[%u].owners_before does not match the keys that signed", i);
    }
    return LTD_OK;
}

/* -------------------------------------------------------------- building */

static struct cjson *
pubkey_json(struct arena *a, const struct ltd_pubkey *k)
{
    char s[48];
    codec_b58_encode32(k->b, s);
    return cjson_new_stringz(a, s);
}

static struct cjson *
output_json(struct arena *a, const struct tx_new_output *o)
{
    struct cjson *out = cjson_new_object(a);
    char amt[24];
    snprintf(amt, sizeof amt, "%llu", (unsigned long long)o->amount);
    cjson_obj_set(a, out, "amount", cjson_new_stringz(a, amt));
    struct cjson *cond = cjson_new_object(a);
    cjson_obj_set(a, cond, "details", cc_details_to_json(a, o->details));
    struct cc_condition c;
    cc_details_condition(o->details, &c);
    struct buf uri;
    buf_init(&uri);
    cc_condition_uri(&c, &uri);
    cjson_obj_set(a, cond, "uri", cjson_new_string(a, uri.p, uri.len));
    buf_release(&uri);
    cjson_obj_set(a, out, "condition", cond);
    struct ltd_pubkey keys[tx_keys_max];
    size_t nk = cc_details_pubkeys(o->details, keys, tx_keys_max);
    LTD_ASSERT(nk <= tx_keys_max);
    struct cjson *pks = cjson_new_array(a);
    for (size_t i = 0; i < nk; i++)
        if (!key_in(&keys[i], keys, i)) /* each key once, first-seen order */
            cjson_arr_push(a, pks, pubkey_json(a, &keys[i]));
    cjson_obj_set(a, out, "public_keys", pks);
    return out;
}

static struct cjson *
skeleton(struct arena *a, const char *op, struct cjson *asset, struct cjson *metadata,
         const struct tx_new_output *outs, uint32_t n_out)
{
    struct cjson *root = cjson_new_object(a);
    cjson_obj_set(a, root, "id", cjson_new_null(a));
    cjson_obj_set(a, root, "version", cjson_new_stringz(a, "2.0"));
    cjson_obj_set(a, root, "operation", cjson_new_stringz(a, op));
    cjson_obj_set(a, root, "asset", asset);
    cjson_obj_set(a, root, "metadata", metadata ? metadata : cjson_new_null(a));
    struct cjson *outputs = cjson_new_array(a);
    for (uint32_t i = 0; i < n_out; i++)
        cjson_arr_push(a, outputs, output_json(a, &outs[i]));
    cjson_obj_set(a, root, "outputs", outputs);
    cjson_obj_set(a, root, "inputs", cjson_new_array(a));
    return root;
}

enum ltd_err
tx_build_create(struct arena *a, const struct ltd_pubkey *issuers, uint32_t n_issuers,
                struct cjson *asset_data, struct cjson *metadata, const struct tx_new_output *outs,
                uint32_t n_out, struct tx *out, struct ltd_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    if (n_issuers == 0 || n_issuers > tx_keys_max)
        return ltd_fail(eb, LTD_E_USAGE, "a CREATE needs 1..%d issuers", (int)tx_keys_max);
    struct cjson *asset = cjson_new_object(a);
    cjson_obj_set(a, asset, "data", asset_data ? asset_data : cjson_new_null(a));
    struct cjson *root = skeleton(a, "CREATE", asset, metadata, outs, n_out);
    struct cjson *in = cjson_new_object(a);
    struct cjson *owners = cjson_new_array(a);
    for (uint32_t i = 0; i < n_issuers; i++)
        cjson_arr_push(a, owners, pubkey_json(a, &issuers[i]));
    cjson_obj_set(a, in, "owners_before", owners);
    cjson_obj_set(a, in, "fulfills", cjson_new_null(a));
    cjson_obj_set(a, in, "fulfillment", cjson_new_null(a));
    cjson_arr_push(a, cjson_get(root, "inputs"), in);
    return tx_from_json(a, root, TX_FLAG_UNSIGNED, out, eb);
}

enum ltd_err
tx_build_transfer(struct arena *a, const struct ltd_hash *asset_id, const struct tx_new_input *ins,
                  uint32_t n_in, struct cjson *metadata, const struct tx_new_output *outs,
                  uint32_t n_out, struct tx *out, struct ltd_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    if (n_in == 0 || n_in > tx_inputs_max)
        return ltd_fail(eb, LTD_E_USAGE, "a TRANSFER needs 1..%d inputs", (int)tx_inputs_max);
    char hex[65];
    struct cjson *asset = cjson_new_object(a);
    hex_encode(hex, asset_id->b, 32);
    cjson_obj_set(a, asset, "id", cjson_new_stringz(a, hex));
    struct cjson *root = skeleton(a, "TRANSFER", asset, metadata, outs, n_out);
    struct cjson *inputs = cjson_get(root, "inputs");
    for (uint32_t i = 0; i < n_in; i++) {
        struct cjson *in = cjson_new_object(a);
        struct ltd_pubkey keys[tx_keys_max];
        size_t nk = cc_details_pubkeys(ins[i].details, keys, tx_keys_max);
        LTD_ASSERT(nk <= tx_keys_max);
        struct cjson *owners = cjson_new_array(a);
        for (size_t k = 0; k < nk; k++)
            if (!key_in(&keys[k], keys, k))
                cjson_arr_push(a, owners, pubkey_json(a, &keys[k]));
        cjson_obj_set(a, in, "owners_before", owners);
        struct cjson *f = cjson_new_object(a);
        hex_encode(hex, ins[i].txid.b, 32);
        cjson_obj_set(a, f, "transaction_id", cjson_new_stringz(a, hex));
        LTD_ASSERT(ins[i].index <= INT64_MAX);
        cjson_obj_set(a, f, "output_index", cjson_new_int(a, (int64_t)ins[i].index));
        cjson_obj_set(a, in, "fulfills", f);
        cjson_obj_set(a, in, "fulfillment", cjson_new_null(a));
        cjson_arr_push(a, inputs, in);
    }
    return tx_from_json(a, root, TX_FLAG_UNSIGNED, out, eb);
}

struct cc_details *
tx_create_owner_details(struct arena *a, const struct tx_input *in)
{
    LTD_ASSERT(in->n_owners >= 1);
    if (in->n_owners == 1)
        return cc_details_ed25519(a, &in->owners[0]);
    struct cc_details **subs = arena_alloc(a, sizeof(struct cc_details *) * in->n_owners);
    for (uint32_t i = 0; i < in->n_owners; i++)
        subs[i] = cc_details_ed25519(a, &in->owners[i]);
    return cc_details_threshold(a, in->n_owners, in->n_owners, subs);
}

void
tx_set_id(struct arena *a, struct tx *t)
{
    t->text = NULL; /* the tree changes */
    tx_compute_id(t, &t->id);
    hex_encode(t->id_hex, t->id.b, 32);
    t->has_id = true;
    cjson_obj_set(a, t->root, "id", cjson_new_stringz(a, t->id_hex));
    if (t->op == TX_CREATE)
        t->asset_id = t->id;
}

/* Signs input i with seed if its owners include pk; merges signatures that
 * are already present and still valid.  Returns true if this key signed. */
static bool
sign_input(struct arena *a, struct tx *t, uint32_t i, const struct cc_details *d,
           const struct ltd_seed *seed, const struct ltd_pubkey *pk, const struct ltd_hash *msg,
           bool allow_partial)
{
    struct ltd_pubkey keys[tx_keys_max];
    size_t nk = cc_details_pubkeys(d, keys, tx_keys_max);
    if (nk > tx_keys_max || !key_in(pk, keys, nk))
        return false;
    struct tx_input *in = &t->in[i];
    struct cc_signer signers[tx_keys_max + 1];
    size_t ns = 0;
    if (in->ff) {
        struct cc_signer old[tx_keys_max];
        size_t no = cc_fulfillment_signatures(in->ff, old, tx_keys_max);
        for (size_t k = 0; k < no && k < tx_keys_max; k++)
            if (memcmp(old[k].pk.b, pk->b, 32) != 0 &&
                codec_ed25519_verify(&old[k].pk, msg->b, 32, &old[k].sig))
                signers[ns++] = old[k];
    }
    signers[ns].pk = *pk;
    codec_ed25519_sign(seed, msg->b, 32, &signers[ns].sig);
    ns++;
    struct cc_fulfillment *ff = NULL;
    if (cc_fulfillment_build(a, d, signers, ns, allow_partial, &ff, NULL) != LTD_OK)
        return false;
    struct buf der, b64;
    buf_init(&der);
    buf_init(&b64);
    cc_fulfillment_encode(ff, &der);
    codec_b64url_encode((const uint8_t *)der.p, der.len, &b64);
    struct cjson *node = cjson_new_string(a, b64.p, b64.len);
    t->text = NULL; /* the tree changes */
    cjson_obj_set(a, cjson_get(t->root, "inputs")->items[i], "fulfillment", node);
    in->fulfillment_json = node;
    in->ff = ff;
    buf_release(&der);
    buf_release(&b64);
    return true;
}

enum ltd_err
tx_sign(struct arena *a, struct tx *t, const struct ltd_seed *seed,
        const struct cc_details *const *spent, bool allow_partial, uint32_t *n_signed,
        struct ltd_errbuf *eb)
{
    LTD_ASSERT(t->root != NULL);
    struct ltd_pubkey pk;
    codec_ed25519_seed_pubkey(seed, &pk);
    struct ltd_hash *msgs = xmalloc(sizeof *msgs * t->n_in);
    tx_signing_messages(t, msgs);
    uint32_t signed_now = 0;
    bool complete = true;
    for (uint32_t i = 0; i < t->n_in; i++) {
        const struct cc_details *d =
            (t->op == TX_CREATE || spent == NULL || spent[i] == NULL)
                ? (t->op == TX_CREATE ? tx_create_owner_details(a, &t->in[i]) : NULL)
                : spent[i];
        if (d == NULL) {
            complete = false;
            continue;
        }
        if (sign_input(a, t, i, d, seed, &pk, &msgs[i], allow_partial))
            signed_now++;
        struct cc_condition want, got;
        cc_details_condition(d, &want);
        if (t->in[i].ff == NULL)
            complete = false;
        else if (cc_fulfillment_condition(t->in[i].ff, &got), !cc_condition_eq(&want, &got))
            complete = false;
    }
    free(msgs);
    if (n_signed)
        *n_signed = signed_now;
    if (complete) {
        tx_set_id(a, t);
    } else {
        t->text = NULL; /* the tree changes */
        cjson_obj_set(a, t->root, "id", cjson_new_null(a));
        t->has_id = false;
    }
    if (signed_now == 0)
        return ltd_fail(eb, LTD_E_TX_SIGN_KEY, "the key signs no input of this transaction");
    return LTD_OK;
}
