/*
 * ltd.h - project-wide basics: always-on assertions, named limits, fixed-size
 * key/hash types, the allocation wrappers that abort on out-of-memory, a
 * growable byte buffer and a bump arena.
 *
 * Deliberately not here: anything that does I/O or knows about JSON,
 * transactions or storage.  Every module may include this header.
 */
#ifndef LTD_H
#define LTD_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <time.h>

/* ---- assertions (rule 9): never compiled out, never on untrusted input ---- */
_Noreturn void ltd_assert_fail(const char *expr, const char *file, int line);
#define LTD_ASSERT(c) ((c) ? (void)0 : ltd_assert_fail(#c, __FILE__, __LINE__))
#define LTD_MUST_CHECK __attribute__((warn_unused_result))
#define LTD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- named limits (rule 10): one place, qualifier last ---- */
enum {
    json_bytes_max = 16 * 1024 * 1024,   /* largest JSON document we parse */
    json_depth_max = 256,                /* nesting of arrays/objects */
    json_string_bytes_max = 1024 * 1024, /* one string value or key */
    json_members_max = 100000,           /* members of one object / items of one array */
    tx_bytes_max = 1024 * 1024,          /* one transaction body */
    tx_inputs_max = 1000,                /* inputs of one transaction */
    tx_outputs_max = 1000,               /* outputs of one transaction */
    tx_keys_max = 64,                    /* owners_before / public_keys entries */
    cc_depth_max = 100,                  /* threshold nesting (BigchainDB: ThresholdTooDeep) */
    cc_subconditions_max = 256,          /* children of one threshold */
    cc_der_bytes_max = 65536,            /* one fulfillment after base64url decoding */
    cc_threshold_max = 100,              /* details "threshold" upper bound (schema) */
    errmsg_bytes_max = 512,              /* one error message */
};

/* BigchainDB's amount ceiling: 9 * 10^18. */
#define LTD_AMOUNT_MAX UINT64_C(9000000000000000000)

/* ---- fixed-size types (rule 4) ---- */
struct ltd_pubkey {
    uint8_t b[32];
};
struct ltd_seed { /* the 32-byte Ed25519 seed: what drivers call the private key */
    uint8_t b[32];
};
struct ltd_sig {
    uint8_t b[64];
};
struct ltd_hash {
    uint8_t b[32];
};

/* ---- memory: out-of-memory aborts, so call sites never check NULL ---- */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xmemdup(const void *p, size_t n); /* copies n bytes and adds a NUL */

/* Growable buffer.  Always NUL-terminated after any append (p may be NULL
 * while len == 0 and nothing was appended). */
struct buf {
    char *p;    /* owned bytes */
    size_t len; /* used bytes, excluding the terminating NUL */
    size_t cap; /* allocated bytes */
};
void buf_init(struct buf *b);
void buf_release(struct buf *b);
void buf_reset(struct buf *b); /* len = 0, keeps the allocation */
void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_addc(struct buf *b, char c);
void buf_adds(struct buf *b, const char *s);
void buf_addf(struct buf *b, const char *fmt, ...) LTD_PRINTF(2, 3);
void buf_addu64(struct buf *b, uint64_t v); /* decimal, no printf */
/* The decimal digits of v at the end of out (no NUL); returns where they
 * start.  UINT64_MAX has ltd_u64_digits_max digits. */
enum { ltd_u64_digits_max = 20 };
char *ltd_u64_text(uint64_t v, char out[ltd_u64_digits_max]);
/* Takes the bytes out of b (caller frees); b is left empty. */
char *buf_detach(struct buf *b, size_t *len_out);

/* Bump arena: many small allocations freed at once.  Used for parse trees and
 * per-request memory (rule 11). */
struct arena_chunk;
struct arena {
    struct arena_chunk *head; /* newest chunk first */
    size_t used;              /* bytes used in head */
    size_t total;             /* bytes handed out in all chunks */
};
void arena_init(struct arena *a);
void arena_release(struct arena *a);                          /* frees every chunk */
void *arena_alloc(struct arena *a, size_t n);                 /* 16-byte aligned, zeroed */
char *arena_memdup(struct arena *a, const void *p, size_t n); /* adds a NUL */

/* Hex: lowercase encoding; decoding accepts lowercase only when strict. */
void hex_encode(char *out, const uint8_t *in, size_t n); /* writes 2n chars + NUL */
LTD_MUST_CHECK bool hex_decode(uint8_t *out, size_t outlen, const char *in, size_t inlen);

/* Monotonic and wall clocks, for code outside the pure validation core. */
uint64_t ltd_now_ms(void);
uint64_t ltd_mono_ns(void);
/* The absolute time us microseconds from now on clock (CLOCK_REALTIME for
 * pthread_cond_timedwait's default, CLOCK_MONOTONIC for a condition made
 * with that clock). */
struct timespec ltd_deadline(clockid_t clock, uint64_t us);

#endif
