/*
 * tx.h - BigchainDB 2.0 transactions: parse with the reference's checks in
 * the reference's order (protocol doc §1.6 steps 1-7), compute the id and
 * the message each input signs (§2.3, §2.4), sign, and verify inputs.
 *
 * Stateless only: nothing here knows whether a spent output exists or was
 * spent (that is rules.c, against a ledger view).  The tree the struct
 * points into is a cjson tree in the caller's arena; tx never frees.
 *
 * Deliberate tightenings over the reference (§1.7), checked by
 * tx_check_strict after the reference checks so that a transaction the
 * reference refuses gets the reference's error first:
 *   - every output's `uri` equals the URI derived from its `details`;
 *   - every output's `public_keys` equals the set of keys in `details`;
 *   - every fulfillment carries at least one Ed25519 signature and no
 *     preimage;
 *   - CREATE: `owners_before` equals the set of keys that signed;
 *   - TRANSFER (tx_verify_input): `owners_before` equals the set of keys in
 *     the spent output's details, and every signer is among them.
 * Plus: amounts with leading zeros are refused (the reference accepts "01"
 * and then serves "1", which breaks the id of what it serves).
 */
#ifndef LTD_TX_H
#define LTD_TX_H

#include "cc.h"
#include "cjson.h"
#include "err.h"
#include "ltd.h"

enum tx_op {
    TX_CREATE = 1,
    TX_TRANSFER = 2,
};

enum tx_flags {
    /* Building/signing: `id` may be null and fulfillments may be null; the
     * id check is skipped. */
    TX_FLAG_UNSIGNED = 1 << 0,
};

struct tx_input {
    uint32_t n_owners;
    struct ltd_pubkey *owners; /* owners_before, decoded, in order */
    bool has_fulfills;         /* TRANSFER */
    struct ltd_hash fulfills_txid;
    char fulfills_txid_hex[65];
    uint64_t fulfills_index;
    struct cjson *fulfillment_json; /* the string (or null) node in the tree */
    struct cc_fulfillment *ff;      /* decoded; NULL while unsigned */
};

struct tx_output {
    uint64_t amount;
    struct cc_details *details;
    struct cc_condition cond; /* derived from details */
    const struct cjson *uri;  /* the uri string node */
    uint32_t n_pubkeys;
    struct ltd_pubkey *pubkeys; /* public_keys, decoded; NULL when JSON null */
    bool pubkeys_null;
};

struct tx {
    struct cjson *root; /* the whole transaction, arena-owned */
    struct ltd_hash id; /* valid when has_id */
    char id_hex[65];
    bool has_id;
    enum tx_op op;
    struct ltd_hash asset_id; /* TRANSFER: asset.id; CREATE: the id */
    struct cjson *asset_data; /* CREATE: asset.data (object or null) */
    struct cjson *metadata;   /* object or null */
    uint32_t n_in;
    struct tx_input *in;
    uint32_t n_out;
    struct tx_output *out;
    unsigned __int128 out_sum; /* sum of output amounts, no wrap */
    /* tx_parse of a body that is exactly its canonical form keeps an arena
     * copy here: the id, the signing messages and tx_serialize then splice
     * it instead of writing the tree again.  NULL otherwise, and dropped by
     * everything that changes the tree (signing, setting the id). */
    const char *text;
    uint32_t text_len;
};

/*
 * Parses a transaction body and runs the stateless reference checks in
 * order: id present (LTD_E_TX_NO_ID), id equals the hash (LTD_E_TX_HASH),
 * schema (LTD_E_TX_SCHEMA, message in jsonschema's words plus the field
 * path), asset/metadata key names (LTD_E_TX_KEY_NAME), `language` values
 * (LTD_E_TX_LANGUAGE), fulfillments parse (LTD_E_TX_FULFILLMENT), output
 * amounts and threshold depth (LTD_E_TX_AMOUNT, LTD_E_TX_THRESHOLD_DEEP).
 * JSON errors come back as LTD_E_JSON_*.
 * [out] out  filled on success; zeroed on failure.
 */
LTD_MUST_CHECK enum ltd_err tx_parse(struct arena *a, const char *body, size_t len, unsigned flags,
                                     struct tx *out, struct ltd_errbuf *eb);
/* The same on an already parsed JSON tree (the tree becomes owned by tx). */
LTD_MUST_CHECK enum ltd_err tx_from_json(struct arena *a, struct cjson *root, unsigned flags,
                                         struct tx *out, struct ltd_errbuf *eb);

/* SHA3-256 of the canonical form with "id": null (fulfillments included). */
void tx_compute_id(const struct tx *t, struct ltd_hash *out);
/* The 32-byte message input i signs: SHA3-256(U [|| txid || index]) where U
 * is the canonical form with id and every fulfillment null. */
void tx_signing_message(const struct tx *t, uint32_t i, struct ltd_hash *out);
/* All inputs' messages at once (one canonical write); out has n_in slots. */
void tx_signing_messages(const struct tx *t, struct ltd_hash *out);
/* Canonical serialization of the whole transaction. */
void tx_serialize(const struct tx *t, struct buf *out);

/* Where t->text holds the values the id (cut[0]) and the signing messages
 * (also cut[1 + i] for input i's fulfillment) replace by null: [at, end),
 * in text order.  cut has room for 1 (+ n_in with fulfillments).  False
 * when there is no text or one of them is not a plain string. */
struct tx_cut {
    uint32_t at, end;
};
bool tx_text_cuts(const struct tx *t, bool fulfillments, struct tx_cut *cut);

/* CREATE (step 9C): every fulfillment validates against its message.
 * LTD_E_TX_SIGNATURE otherwise. */
LTD_MUST_CHECK enum ltd_err tx_verify_create(const struct tx *t, struct ltd_errbuf *eb);
/* TRANSFER input i (step 14T + tightening): the fulfillment's derived
 * condition equals the one of `spent` (the details of the output it spends)
 * and it validates against msg; owners_before matches spent's keys. */
LTD_MUST_CHECK enum ltd_err tx_verify_input(const struct tx *t, uint32_t i,
                                            const struct cc_details *spent,
                                            const struct ltd_hash *msg, struct ltd_errbuf *eb);
/* The stateless tightenings listed in the file comment. */
LTD_MUST_CHECK enum ltd_err tx_check_strict(const struct tx *t, struct ltd_errbuf *eb);

/* ---- building and signing ---- */

struct tx_new_output {
    const struct cc_details *details;
    uint64_t amount;
};

struct tx_new_input {
    struct ltd_hash txid;             /* the transaction whose output is spent */
    uint64_t index;                   /* its output index */
    const struct cc_details *details; /* that output's details (owners) */
};

/* CREATE with one input owned by `issuers` (n >= 1), asset data (object or
 * NULL for JSON null), metadata (object or NULL) and outputs.  The result is
 * unsigned (id null, fulfillment null). */
LTD_MUST_CHECK enum ltd_err tx_build_create(struct arena *a, const struct ltd_pubkey *issuers,
                                            uint32_t n_issuers, struct cjson *asset_data,
                                            struct cjson *metadata,
                                            const struct tx_new_output *outs, uint32_t n_out,
                                            struct tx *out, struct ltd_errbuf *eb);
/* TRANSFER of the given outputs of asset `asset_id`. Unsigned. */
LTD_MUST_CHECK enum ltd_err tx_build_transfer(struct arena *a, const struct ltd_hash *asset_id,
                                              const struct tx_new_input *ins, uint32_t n_in,
                                              struct cjson *metadata,
                                              const struct tx_new_output *outs, uint32_t n_out,
                                              struct tx *out, struct ltd_errbuf *eb);

/*
 * Adds signatures by `seed` to every input it can sign.  `spent[i]` gives
 * the details of the output input i spends (NULL for CREATE inputs, whose
 * owners are the owners_before as ed25519 leaves or an n-of-n threshold).
 * Signatures already in an input's fulfillment are kept (co-signing), so
 * a 2-of-2 output is spent by calling this once per owner.  With
 * `allow_partial`, an input whose threshold is not yet met keeps a partial
 * fulfillment; otherwise it stays null.  Sets the id when every input is
 * complete.  Returns LTD_E_TX_SIGN_KEY if the key signed nothing.
 * [out] n_signed (may be NULL) number of inputs this key signed.
 */
LTD_MUST_CHECK enum ltd_err tx_sign(struct arena *a, struct tx *t, const struct ltd_seed *seed,
                                    const struct cc_details *const *spent, bool allow_partial,
                                    uint32_t *n_signed, struct ltd_errbuf *eb);
/* Recomputes and stores the id (after the last signature). */
void tx_set_id(struct arena *a, struct tx *t);

/* Details of a CREATE input's owners as the reference builds them: one key
 * → an ed25519 leaf; several → an n-of-n threshold. */
struct cc_details *tx_create_owner_details(struct arena *a, const struct tx_input *in);

#endif
