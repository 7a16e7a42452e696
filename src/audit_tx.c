/*
 * audit_tx.c - the audit's check of one stored transaction, parsing it once.
 *
 * The node stores every body in canonical form, so the canonical text that
 * the id and the signing messages hash is, in the common case, the stored
 * body itself.  The fast path parses the body (tx_parse without the id
 * hash); the parser confirms that the body is byte for byte what
 * cjson_canonical writes for the parsed tree, so tx_parse keeps the text,
 * and tx_text_cuts says where the id and the fulfillments are.  Then it hashes the body with those
 * values spliced to null: the id preimage and the signing preimage share their prefix up to the
 * first fulfillment, which is absorbed once.  No canonical text is written and nothing is allocated
 * per transaction (the arena and hash contexts are reused).
 *
 * Anything unusual (a non-canonical body, a failed check of any kind) goes
 * to the exact path, which is the plain tx_parse / tx_verify_create /
 * tx_check_strict pipeline: it decides the verdict and words the message,
 * so the fast path only ever has to be right when it accepts.
 *
 * Not here: anything that needs other transactions (audit.c, pass 2).
 */
#include "audit_int.h"

#include "codec.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    audit_arena_bytes = 256 * 1024, /* scratch for one parse; larger ones get fresh chunks */
    audit_cuts_small = 9,           /* id + fulfillment cuts kept without the arena */
};

struct audit_txck {
    struct arena a;
    const void *a_chunk; /* the primed chunk that rewinding keeps */
    EVP_MD *sha3;        /* fetched once per thread */
    EVP_MD_CTX *h_id;    /* the id preimage */
    EVP_MD_CTX *h_u;     /* the signing preimage */
    EVP_MD_CTX *h_in;    /* a TRANSFER input's message (h_u + txid + index) */
};

/* ------------------------------------------------------------------ arena */

/* The arena API frees every chunk on release; the audit parses a hundred
 * thousand bodies per second per thread, so it keeps one large chunk and
 * rewinds it (struct arena's fields are public in ltd.h: head, used, total;
 * arena_alloc zeroes what it hands out, so reuse is safe). */
static void
txck_arena_prime(struct audit_txck *k)
{
    arena_init(&k->a);
    (void)arena_alloc(&k->a, audit_arena_bytes);
    k->a_chunk = k->a.head;
    k->a.used = 0;
    k->a.total = 0;
}

static void
txck_arena_rewind(struct audit_txck *k)
{
    if ((const void *)k->a.head == k->a_chunk) {
        k->a.used = 0;
        k->a.total = 0;
        return;
    }
    arena_release(&k->a);
    txck_arena_prime(k);
}

struct audit_txck *
audit_txck_new(void)
{
    struct audit_txck *k = xcalloc(1, sizeof *k);
    txck_arena_prime(k);
    k->sha3 = EVP_MD_fetch(NULL, "SHA3-256", NULL);
    k->h_id = EVP_MD_CTX_new();
    k->h_u = EVP_MD_CTX_new();
    k->h_in = EVP_MD_CTX_new();
    LTD_ASSERT(k->sha3 != NULL);
    LTD_ASSERT(k->h_id != NULL && k->h_u != NULL && k->h_in != NULL);
    return k;
}

void
audit_txck_free(struct audit_txck *k)
{
    if (k == NULL)
        return;
    EVP_MD_CTX_free(k->h_in);
    EVP_MD_CTX_free(k->h_u);
    EVP_MD_CTX_free(k->h_id);
    EVP_MD_free(k->sha3);
    arena_release(&k->a);
    free(k);
}

/* ----------------------------------------------------------------- hashes */

static void
sha3_add(EVP_MD_CTX *c, const void *p, size_t n)
{
    LTD_ASSERT(EVP_DigestUpdate(c, p, n) == 1);
}

static void
sha3_end(EVP_MD_CTX *c, struct ltd_hash *out)
{
    unsigned int n = 0;
    LTD_ASSERT(EVP_DigestFinal_ex(c, out->b, &n) == 1);
    LTD_ASSERT(n == sizeof out->b);
}

/*
 * From the canonical text and its cuts (tx_text_cuts: cut[0] the id, then
 * the n_ff fulfillments): the id (SHA3 of the text with the id null) and,
 * in k->h_u, the unfinished hash of the signing preimage (id and
 * fulfillments null).  Both share the prefix up to the first fulfillment,
 * which is absorbed once.
 */
static void
hash_tx_text(struct audit_txck *k, const char *p, size_t len, const struct tx_cut *cut,
             uint32_t n_ff, struct ltd_hash *id)
{
    LTD_ASSERT(cut[0].end <= len);
    LTD_ASSERT(EVP_DigestInit_ex2(k->h_id, k->sha3, NULL) == 1);
    sha3_add(k->h_id, p, cut[0].at);
    sha3_add(k->h_id, "null", 4);
    size_t split = n_ff ? cut[1].at : len;
    LTD_ASSERT(split >= cut[0].end);
    sha3_add(k->h_id, p + cut[0].end, split - cut[0].end);
    LTD_ASSERT(EVP_MD_CTX_copy_ex(k->h_u, k->h_id) == 1);
    sha3_add(k->h_id, p + split, len - split);
    sha3_end(k->h_id, id);
    size_t pos = split;
    for (uint32_t i = 1; i <= n_ff; i++) {
        LTD_ASSERT(cut[i].at >= pos);
        sha3_add(k->h_u, p + pos, cut[i].at - pos);
        sha3_add(k->h_u, "null", 4);
        pos = cut[i].end;
    }
    sha3_add(k->h_u, p + pos, len - pos);
}

/* The signing message of every input (tx_signing_messages' definition),
 * from the unfinished signing-preimage hash in k->h_u. */
static void
signing_messages(struct audit_txck *k, const struct tx *t, struct ltd_hash *msgs)
{
    if (t->op == TX_CREATE) {
        struct ltd_hash h;
        sha3_end(k->h_u, &h);
        for (uint32_t i = 0; i < t->n_in; i++)
            msgs[i] = h;
        return;
    }
    for (uint32_t i = 0; i < t->n_in; i++) {
        char idx[ltd_u64_digits_max];
        const char *d = ltd_u64_text(t->in[i].fulfills_index, idx);
        LTD_ASSERT(EVP_MD_CTX_copy_ex(k->h_in, k->h_u) == 1);
        sha3_add(k->h_in, t->in[i].fulfills_txid_hex, 64);
        sha3_add(k->h_in, d, (size_t)(idx + sizeof idx - d));
        sha3_end(k->h_in, &msgs[i]);
    }
}

/* ------------------------------------------------------------------ locks */

static void
sort_keys(struct ltd_pubkey *keys, size_t *n)
{
    for (size_t i = 1; i < *n; i++) /* insertion sort: at most tx_keys_max keys */
        for (size_t j = i; j > 0 && memcmp(keys[j - 1].b, keys[j].b, 32) > 0; j--) {
            struct ltd_pubkey x = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = x;
        }
    size_t m = 0;
    for (size_t i = 0; i < *n; i++)
        if (m == 0 || memcmp(keys[m - 1].b, keys[i].b, 32) != 0)
            keys[m++] = keys[i];
    *n = m;
}

/* BLAKE2b-128 of the condition and of the sorted set of keys. */
static void
lock_of(const struct cc_condition *c, struct ltd_pubkey *keys, size_t n, struct audit_lock *out)
{
    static const char tag[] = "ltdrs audit lock v1";
    sort_keys(keys, &n);
    uint8_t head[1 + 8 + 4 + 32 + 4];
    head[0] = c->type;
    for (int i = 0; i < 8; i++)
        head[1 + i] = (uint8_t)(c->cost >> (8 * i));
    for (int i = 0; i < 4; i++) {
        head[9 + i] = (uint8_t)(c->subtypes >> (8 * i));
        head[45 + i] = (uint8_t)((uint32_t)n >> (8 * i));
    }
    memcpy(head + 13, c->fingerprint.b, 32);
    crypto_generichash_state st;
    LTD_ASSERT(crypto_generichash_init(&st, NULL, 0, sizeof out->b) == 0);
    crypto_generichash_update(&st, (const uint8_t *)tag, sizeof tag);
    crypto_generichash_update(&st, head, sizeof head);
    crypto_generichash_update(&st, (const uint8_t *)keys, n * sizeof *keys);
    LTD_ASSERT(crypto_generichash_final(&st, out->b, sizeof out->b) == 0);
}

/* An output's lock; too many keys gives a value no input lock takes. */
static void
output_lock(const struct tx_output *o, struct audit_lock *out)
{
    struct ltd_pubkey keys[tx_keys_max];
    size_t n = cc_details_pubkeys(o->details, keys, tx_keys_max);
    if (n > tx_keys_max) {
        memset(out->b, 0x00, sizeof out->b);
        return;
    }
    lock_of(&o->cond, keys, n, out);
}

static void
input_lock(const struct tx_input *in, struct audit_lock *out)
{
    struct ltd_pubkey keys[tx_keys_max];
    if (in->ff == NULL || in->n_owners > tx_keys_max) {
        memset(out->b, 0xff, sizeof out->b);
        return;
    }
    struct cc_condition c;
    cc_fulfillment_condition(in->ff, &c);
    memcpy(keys, in->owners, sizeof *keys * in->n_owners);
    lock_of(&c, keys, in->n_owners, out);
}

/* ---------------------------------------------------------------- records */

static void
grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return;
    uint32_t c = *cap ? *cap : 256;
    while (c < need) {
        LTD_ASSERT(c <= UINT32_MAX / 2);
        c *= 2;
    }
    *p = xrealloc(*p, (size_t)c * elem);
    *cap = c;
}

static struct audit_rec *
rec_add(struct audit_chunk *ch, const struct store_cursor_tx *row)
{
    grow((void **)&ch->rec, &ch->cap_rec, ch->n_rec + 1, sizeof *ch->rec);
    struct audit_rec *r = &ch->rec[ch->n_rec++];
    memset(r, 0, sizeof *r);
    r->id = row->id;
    r->seq = row->seq;
    r->height = row->height;
    r->out_first = ch->n_out;
    r->in_first = ch->n_in;
    return r;
}

/* Appends t's record (outputs with their locks, TRANSFER inputs). */
static void
rec_add_tx(struct audit_chunk *ch, const struct store_cursor_tx *row, const struct tx *t)
{
    struct audit_rec *r = rec_add(ch, row);
    r->id = t->id;
    r->asset = t->asset_id;
    r->op = (uint8_t)t->op;
    r->parsed = true;
    r->n_out = t->n_out;
    grow((void **)&ch->out, &ch->cap_out, ch->n_out + t->n_out, sizeof *ch->out);
    for (uint32_t i = 0; i < t->n_out; i++) {
        struct audit_out *o = &ch->out[ch->n_out++];
        o->amount = t->out[i].amount;
        o->spent = false;
        output_lock(&t->out[i], &o->lock);
    }
    if (t->op != TX_TRANSFER)
        return;
    r->n_in = t->n_in;
    grow((void **)&ch->in, &ch->cap_in, ch->n_in + t->n_in, sizeof *ch->in);
    for (uint32_t i = 0; i < t->n_in; i++) {
        struct audit_in *in = &ch->in[ch->n_in++];
        in->txid = t->in[i].fulfills_txid;
        in->index = t->in[i].fulfills_index;
        input_lock(&t->in[i], &in->lock);
    }
}

/* ------------------------------------------------------------- the checks */

/* Every signature of t against msgs (TRANSFER: only the fulfillment's own
 * signatures; the spent condition is pass 2's). */
static bool
signatures_ok(const struct tx *t, const struct ltd_hash *msgs)
{
    for (uint32_t i = 0; i < t->n_in; i++)
        if (t->in[i].ff == NULL || !cc_fulfillment_verify(t->in[i].ff, msgs[i].b, 32))
            return false;
    return true;
}

/*
 * The fast path: true when the transaction passes every check of the exact
 * path, and then its record is appended; false (nothing appended) whenever
 * anything differs from the common case, the exact path then decides.
 */
static bool
check_fast(struct audit_txck *k, const struct store_cursor_tx *row, struct audit_chunk *ch)
{
    struct tx t;
    /* the id is hashed here, with the signing preimage, not by tx_parse */
    if (!row->id_ok || tx_parse(&k->a, row->body, row->len, TX_FLAG_UNSIGNED, &t, NULL) != LTD_OK ||
        t.text == NULL)
        return false;
    const struct cjson *idv = cjson_get(t.root, "id");
    if (idv == NULL || idv->type != CJSON_STRING || idv->len != 64)
        return false;
    for (uint32_t i = 0; i < t.n_in; i++)
        if (t.in[i].ff == NULL)
            return false;
    struct tx_cut small[audit_cuts_small];
    struct tx_cut *cut = small;
    if (t.n_in + 1 > audit_cuts_small)
        cut = arena_alloc(&k->a, sizeof *cut * (t.n_in + 1));
    if (!tx_text_cuts(&t, true, cut))
        return false;
    hash_tx_text(k, t.text, t.text_len, cut, t.n_in, &t.id);
    hex_encode(t.id_hex, t.id.b, 32);
    if (memcmp(t.id_hex, idv->str, 64) != 0 || memcmp(t.id.b, row->id.b, 32) != 0)
        return false;
    t.has_id = true;
    if (t.op == TX_CREATE)
        t.asset_id = t.id;
    struct ltd_hash *msgs = arena_alloc(&k->a, sizeof *msgs * t.n_in);
    signing_messages(k, &t, msgs);
    if (!signatures_ok(&t, msgs) || tx_check_strict(&t, NULL) != LTD_OK)
        return false;
    rec_add_tx(ch, row, &t);
    return true;
}

/* The exact path: tx.c's own pipeline, one step at a time, for the verdict
 * and its wording. */
static void
check_exact(const struct store_cursor_tx *row, struct audit_chunk *ch, struct audit_fail *f)
{
    struct arena a;
    arena_init(&a);
    struct tx t;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    int64_t h = (int64_t)row->height;
    if (tx_parse(&a, row->body, row->len, 0, &t, &eb) != LTD_OK) {
        audit_fail_at(f, row->seq, AUDIT_RANK_PARSE, h, &row->id,
                      "stored transaction is invalid: %s", eb.msg);
        (void)rec_add(ch, row);
        goto out;
    }
    if (!row->id_ok || memcmp(t.id.b, row->id.b, 32) != 0) {
        audit_fail_at(f, row->seq, AUDIT_RANK_PARSE, h, &row->id,
                      "stored id differs from the body's id");
        (void)rec_add(ch, row);
        goto out;
    }
    rec_add_tx(ch, row, &t);
    struct ltd_hash *msgs = arena_alloc(&a, sizeof *msgs * t.n_in);
    tx_signing_messages(&t, msgs);
    if (t.op == TX_CREATE && tx_verify_create(&t, &eb) != LTD_OK)
        audit_fail_at(f, row->seq, AUDIT_RANK_SIG, h, &t.id, "signature check failed: %s", eb.msg);
    else if (t.op == TX_TRANSFER && !signatures_ok(&t, msgs))
        audit_fail_at(f, row->seq, AUDIT_RANK_SIG, h, &t.id,
                      "signature check failed: Transaction signature is invalid.");
    else if (tx_check_strict(&t, &eb) != LTD_OK)
        audit_fail_at(f, row->seq, AUDIT_RANK_STRICT, h, &t.id, "signature check failed: %s",
                      eb.msg);
out:
    arena_release(&a);
}

void
audit_tx_check(struct audit_txck *k, const struct store_cursor_tx *row, struct audit_chunk *ch,
               struct audit_fail *f)
{
    LTD_ASSERT(k != NULL && row != NULL);
    uint32_t before = ch->n_rec;
    bool fast = check_fast(k, row, ch);
    txck_arena_rewind(k);
    if (!fast) {
        LTD_ASSERT(ch->n_rec == before);
        check_exact(row, ch, f);
    }
    LTD_ASSERT(ch->n_rec == before + 1);
}

/* ------------------------------------------------------ pass 2's fallback */

/* Reads and parses the transaction with this seq into t (arena a). */
static enum ltd_err
load_tx(struct store *st, struct arena *a, uint64_t seq, struct buf *body, struct tx *t,
        struct ltd_errbuf *eb)
{
    enum ltd_err e = store_tx_body(st, seq, body, NULL, eb);
    if (e)
        return e;
    if (tx_parse(a, body->p, body->len, 0, t, NULL) != LTD_OK)
        return ltd_fail(eb, LTD_E_STORE_CORRUPT, "transaction #%llu no longer parses",
                        (unsigned long long)seq);
    return LTD_OK;
}

enum ltd_err
audit_tx_input_exact(struct store *st, uint64_t seq, uint32_t i, uint64_t src_seq, uint64_t index,
                     struct ltd_errbuf *eb)
{
    struct arena a;
    arena_init(&a);
    struct buf b1, b2;
    buf_init(&b1);
    buf_init(&b2);
    struct tx t, src;
    enum ltd_err e = load_tx(st, &a, seq, &b1, &t, eb);
    if (e == LTD_OK)
        e = load_tx(st, &a, src_seq, &b2, &src, eb);
    if (e)
        goto out;
    if (i >= t.n_in || index >= src.n_out) {
        e = ltd_fail(eb, LTD_E_STORE_CORRUPT, "input %u of #%llu does not match its record", i,
                     (unsigned long long)seq);
        goto out;
    }
    struct ltd_hash *msgs = arena_alloc(&a, sizeof *msgs * t.n_in);
    tx_signing_messages(&t, msgs);
    e = tx_verify_input(&t, i, src.out[index].details, &msgs[i], eb);
out:
    buf_release(&b2);
    buf_release(&b1);
    arena_release(&a);
    return e;
}
