/*
 * kidx.h - an in-memory multimap from a 64-bit key to 64-bit values, kept
 * in insertion order per key.
 *
 * The store keeps two of them instead of two random-key SQLite indexes:
 * transaction id prefix -> seq, and public key prefix -> output key.  A
 * random-key B-tree dirties one page per insert (about 4 KB of WAL each);
 * these maps cost a hash probe and 16 bytes per value, and are rebuilt at
 * open from one compact row per block (table block_keys).
 *
 * Keys are prefixes of hashes or public keys, so one key may map to values
 * of different full ids: callers confirm every candidate against the
 * stored row.  Values are appended in ascending order per map (seqs and
 * output keys grow), and only the newest values can be removed (the
 * rollback of an open block), so every list is a stack.
 *
 * Thread safety: none inside; the store wraps both maps in one rwlock.
 * Not here: persistence (store.c) or any knowledge of what keys mean.
 */
#ifndef LTD_KIDX_H
#define LTD_KIDX_H

#include <stddef.h>
#include <stdint.h>

struct kidx_slot;
struct kidx_entry;

struct kidx {
    struct kidx_slot *slots; /* open addressing, linear probing */
    uint32_t n_slots;        /* power of two, 0 before the first add */
    uint32_t n_keys;         /* distinct keys ever added (slots in use) */
    struct kidx_entry *ents; /* values in insertion order */
    uint32_t n_ents, cap_ents;
};

enum {
    kidx_values_max = UINT32_MAX - 1, /* values one map holds */
    kidx_none = UINT32_MAX,           /* "no entry" link */
};

void kidx_init(struct kidx *m);
void kidx_release(struct kidx *m);
/* Appends value to key's list. */
void kidx_add(struct kidx *m, uint64_t key, uint64_t value);
/* The number of values held: a mark for kidx_truncate. */
uint32_t kidx_mark(const struct kidx *m);
/* Removes every value added after mark was taken (newest first). */
void kidx_truncate(struct kidx *m, uint32_t mark);
/* Writes up to max of key's values, newest first, into out; returns how
 * many key has in all (may exceed max: call again with more room). */
size_t kidx_get(const struct kidx *m, uint64_t key, uint64_t *out, size_t max);
/* Bytes of memory held (for stats). */
size_t kidx_bytes(const struct kidx *m);

#endif
