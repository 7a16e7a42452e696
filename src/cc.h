/*
 * cc.h - crypto-conditions (draft-thomas-crypto-conditions-03) as
 * BigchainDB uses them: ed25519-sha-256 and threshold-sha-256 (m-of-n,
 * nested), plus preimage-sha-256 fulfillments and generic condition
 * binaries so that the official test vectors can be checked.
 *
 * Three representations and the maps between them:
 *   - struct cc_condition: type, fingerprint, cost, subtypes.  Encoded as
 *     DER (`A4 27 80 20 ...`) or as a URI (`ni:///sha-256;...?fpt=...`).
 *   - struct cc_details: the JSON `details` object of a transaction output
 *     (only ed25519 and threshold).
 *   - struct cc_fulfillment: a DER-decoded fulfillment tree, possibly
 *     partial (threshold nodes carry fulfilled children and condition-only
 *     children).
 *
 * The DER decoder is strict: definite lengths only, minimal length forms
 * (short form below 128, 0x81 for 128..255, 0x82 for 256..65535, no 0x80),
 * exact sizes for keys/signatures/fingerprints, minimal INTEGERs, no
 * trailing bytes, depth limited by cc_depth_max.  The encoder sorts SET OF
 * elements as DER requires.
 *
 * Not here: transactions, base58 of details keys is done by the JSON maps
 * below but nothing here reads a clock or does I/O.  All trees live in a
 * caller-supplied arena.
 */
#ifndef LTD_CC_H
#define LTD_CC_H

#include "cjson.h"
#include "err.h"
#include "ltd.h"

enum cc_type {
    CC_PREIMAGE = 0,
    CC_PREFIX = 1,
    CC_THRESHOLD = 2,
    CC_RSA = 3,
    CC_ED25519 = 4,
};

enum { cc_ed25519_cost = 131072, cc_threshold_child_cost = 1024 };

struct cc_condition {
    uint8_t type;                /* enum cc_type */
    struct ltd_hash fingerprint; /* SHA-256 of the fingerprint contents */
    uint64_t cost;
    uint32_t subtypes; /* bit n set = type n appears below (compound types only) */
};

struct cc_details {
    uint8_t type;             /* CC_ED25519 or CC_THRESHOLD */
    struct ltd_pubkey pubkey; /* CC_ED25519 */
    uint32_t threshold;       /* CC_THRESHOLD: 1..cc_threshold_max */
    uint32_t n_sub;           /* CC_THRESHOLD: number of subconditions */
    struct cc_details **sub;  /* CC_THRESHOLD: in JSON order */
};

struct cc_fulfillment {
    uint8_t type;             /* CC_ED25519, CC_THRESHOLD or CC_PREIMAGE */
    struct ltd_pubkey pubkey; /* CC_ED25519 */
    struct ltd_sig sig;       /* CC_ED25519 */
    const uint8_t *preimage;  /* CC_PREIMAGE, arena-owned */
    size_t preimage_len;
    uint32_t n_ful;              /* CC_THRESHOLD: fulfilled children (= threshold) */
    struct cc_fulfillment **ful; /* CC_THRESHOLD */
    uint32_t n_cond;             /* CC_THRESHOLD: condition-only children */
    struct cc_condition *cond;   /* CC_THRESHOLD */
};

/* A signature made by one key, used to build fulfillments from details. */
struct cc_signer {
    struct ltd_pubkey pk;
    struct ltd_sig sig;
};

/* ---- conditions ---- */

/* DER binary of a condition (e.g. 41 bytes for ed25519), appended to out. */
void cc_condition_encode(const struct cc_condition *c, struct buf *out);
/* Strict DER decode of a condition binary (any of the five types).
 * LTD_E_CC_DER / LTD_E_CC_TYPE (unknown type or subtype bit); *out zeroed
 * on failure. */
LTD_MUST_CHECK enum ltd_err cc_condition_decode(const uint8_t *der, size_t n,
                                                struct cc_condition *out, struct ltd_errbuf *eb);
/* `ni:///sha-256;<b64url fp>?fpt=<type>&cost=<n>[&subtypes=a,b]` (subtypes in
 * alphabetical order, only for compound types), appended to out.  Compound
 * types always carry `&subtypes=`, even with an empty list, as both
 * reference libraries print it. */
void cc_condition_uri(const struct cc_condition *c, struct buf *out);
/* Parses a condition URI (strict: the exact shape cc_condition_uri writes;
 * cost is canonical decimal up to UINT64_MAX).  LTD_E_CC_URI otherwise. */
LTD_MUST_CHECK enum ltd_err cc_condition_from_uri(const char *uri, size_t n,
                                                  struct cc_condition *out, struct ltd_errbuf *eb);
bool cc_condition_eq(const struct cc_condition *a, const struct cc_condition *b);
/* Name of a type ("ed25519-sha-256"), NULL for unknown. */
const char *cc_type_name(unsigned type);

/* ---- details (the JSON of a transaction output's condition) ---- */

/*
 * Parses `details` JSON.  Strict shape: ed25519 = exactly {type, public_key}
 * with a base58 32-byte key; threshold = exactly {type, threshold,
 * subconditions} with 1 <= threshold <= n_sub, threshold <= cc_threshold_max.
 * Returns LTD_E_CC_DETAILS (message names the field and path, e.g.
 * "details.subconditions[1].public_key: ..."; a key that is not canonical
 * base58 of 32 bytes is also LTD_E_CC_DETAILS), LTD_E_TX_THRESHOLD_DEEP when
 * nesting exceeds cc_depth_max (a node at depth >= cc_depth_max, as
 * BigchainDB counts; reported only when the shape is otherwise valid, as
 * the reference validates the schema first).
 */
LTD_MUST_CHECK enum ltd_err cc_details_from_json(struct arena *a, const struct cjson *j,
                                                 struct cc_details **out, struct ltd_errbuf *eb);
/* The details as a JSON tree (keys: type, public_key | type, threshold, subconditions). */
struct cjson *cc_details_to_json(struct arena *a, const struct cc_details *d);
/* The condition that details describe. */
void cc_details_condition(const struct cc_details *d, struct cc_condition *out);
/* Every ed25519 key in the details, depth-first in JSON order (duplicates
 * kept).  Writes at most cap keys; returns the total number found. */
size_t cc_details_pubkeys(const struct cc_details *d, struct ltd_pubkey *keys, size_t cap);
/* Ed25519 leaf / threshold constructors for code that builds outputs. */
struct cc_details *cc_details_ed25519(struct arena *a, const struct ltd_pubkey *pk);
struct cc_details *cc_details_threshold(struct arena *a, uint32_t threshold, uint32_t n,
                                        struct cc_details **subs);

/* ---- fulfillments ---- */

/* Strict DER decode of a fulfillment (ed25519, threshold, preimage; others
 * are LTD_E_CC_TYPE).  LTD_E_CC_DER for malformed input (also: more than
 * cc_der_bytes_max bytes, SET OF elements out of DER order, a cost above
 * 2^53), LTD_E_CC_DEPTH beyond cc_depth_max.  *out is NULL on failure; what
 * was allocated stays in the arena. */
LTD_MUST_CHECK enum ltd_err cc_fulfillment_decode(struct arena *a, const uint8_t *der, size_t n,
                                                  struct cc_fulfillment **out,
                                                  struct ltd_errbuf *eb);
/* DER of a fulfillment, SET OF elements sorted, appended to out. */
void cc_fulfillment_encode(const struct cc_fulfillment *f, struct buf *out);
/* The condition a fulfillment fulfills (threshold := number of fulfilled
 * children; the condition set is the fulfilled children's conditions plus
 * the listed ones). */
void cc_fulfillment_condition(const struct cc_fulfillment *f, struct cc_condition *out);
/* True iff every signature and preimage in the tree is valid for msg and
 * every threshold node has at least one fulfilled child.  Pure: no I/O. */
LTD_MUST_CHECK bool cc_fulfillment_verify(const struct cc_fulfillment *f, const uint8_t *msg,
                                          size_t n);
/* True iff the tree contains at least one ed25519 signature and no
 * preimage (BigchainDB tightening: a fulfillment must be signed). */
bool cc_fulfillment_is_signed(const struct cc_fulfillment *f);
/* Keys of the signed ed25519 leaves, depth-first; at most cap written,
 * returns total. */
size_t cc_fulfillment_signers(const struct cc_fulfillment *f, struct ltd_pubkey *keys, size_t cap);
/* Collects (key, signature) of every signed ed25519 leaf. */
size_t cc_fulfillment_signatures(const struct cc_fulfillment *f, struct cc_signer *out, size_t cap);

/*
 * Builds a fulfillment for `d` from the given signatures: an ed25519 leaf is
 * fulfilled when a signer has its key; a threshold node keeps the first
 * `threshold` fulfillable children in cheapest-first stable order as
 * fulfillments and lists the rest as conditions (as both reference
 * libraries do).  LTD_E_CC_THRESHOLD if the signatures do not meet the
 * threshold; with allow_partial, an unmet threshold is built anyway with
 * as many fulfilled children as there are (a partial fulfillment that a
 * co-signer completes later).  Also LTD_E_TX_THRESHOLD_DEEP when d nests
 * deeper than cc_depth_max, LTD_E_TOO_LARGE when the DER would exceed
 * cc_der_bytes_max.  Signatures are not checked here.
 */
LTD_MUST_CHECK enum ltd_err cc_fulfillment_build(struct arena *a, const struct cc_details *d,
                                                 const struct cc_signer *signers, size_t n,
                                                 bool allow_partial, struct cc_fulfillment **out,
                                                 struct ltd_errbuf *eb);

#endif
