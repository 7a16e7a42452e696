/*
 * ltd.c - the basics declared in ltd.h: assertion failure, allocation
 * wrappers, growable buffers, the bump arena, hex and clocks.
 */
#include "ltd.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
ltd_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "ltdrs: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}

static _Noreturn void
oom(size_t n)
{
    fprintf(stderr, "ltdrs: out of memory allocating %zu bytes\n", n);
    abort();
}

void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom(n);
    return p;
}

void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        oom(n * size);
    return p;
}

void *
xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom(n);
    return q;
}

char *
xstrdup(const char *s)
{
    return xmemdup(s, strlen(s));
}

char *
xmemdup(const void *p, size_t n)
{
    char *q = xmalloc(n + 1);
    if (n)
        memcpy(q, p, n);
    q[n] = 0;
    return q;
}

void
buf_init(struct buf *b)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void
buf_release(struct buf *b)
{
    free(b->p);
    buf_init(b);
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = 0;
}

void
buf_reserve(struct buf *b, size_t extra)
{
    LTD_ASSERT(b->len <= b->cap);
    LTD_ASSERT(b->p != NULL || b->cap == 0);
    if (b->cap - b->len > extra)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len <= extra) {
        LTD_ASSERT(cap < SIZE_MAX / 2);
        cap *= 2;
    }
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}

void
buf_addc(struct buf *b, char c)
{
    buf_reserve(b, 1);
    b->p[b->len++] = c;
    b->p[b->len] = 0;
}

void
buf_adds(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

char *
ltd_u64_text(uint64_t v, char out[ltd_u64_digits_max])
{
    char *p = out + ltd_u64_digits_max;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return p;
}

void
buf_addu64(struct buf *b, uint64_t v)
{
    char tmp[ltd_u64_digits_max];
    const char *p = ltd_u64_text(v, tmp);
    buf_add(b, p, (size_t)(tmp + sizeof tmp - p));
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    LTD_ASSERT(n >= 0);
    if ((size_t)n < sizeof tmp) {
        buf_add(b, tmp, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    int m = vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    LTD_ASSERT(m == n);
    b->len += (size_t)n;
}

char *
buf_detach(struct buf *b, size_t *len_out)
{
    if (b->p == NULL)
        buf_reserve(b, 1), b->p[0] = 0;
    char *p = b->p;
    if (len_out)
        *len_out = b->len;
    buf_init(b);
    return p;
}

/* ---- arena ---- */

struct arena_chunk {
    struct arena_chunk *next;
    size_t size; /* usable bytes in data */
    _Alignas(16) unsigned char data[];
};

enum {
    arena_chunk_bytes_min = 16 * 1024,
    /* Chunks of the minimum size are kept for reuse (a request's arena is
     * made on an HTTP thread and released on the applier): fresh heap
     * cost page faults and heap trimming on every request. */
    arena_cache_chunks_max = 4096,
};

static pthread_mutex_t arena_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct arena_chunk *arena_cache;
static size_t arena_cache_n;

static struct arena_chunk *
chunk_get(size_t size)
{
    struct arena_chunk *c = NULL;
    if (size == arena_chunk_bytes_min) {
        pthread_mutex_lock(&arena_cache_lock);
        c = arena_cache;
        if (c) {
            arena_cache = c->next;
            arena_cache_n--;
        }
        pthread_mutex_unlock(&arena_cache_lock);
    }
    if (c == NULL) {
        c = xmalloc(sizeof *c + size);
        c->size = size;
    }
    LTD_ASSERT(c->size == size);
    return c;
}

static void
chunk_put(struct arena_chunk *c)
{
    if (c->size == arena_chunk_bytes_min) {
        pthread_mutex_lock(&arena_cache_lock);
        bool keep = arena_cache_n < arena_cache_chunks_max;
        if (keep) {
            c->next = arena_cache;
            arena_cache = c;
            arena_cache_n++;
        }
        pthread_mutex_unlock(&arena_cache_lock);
        if (keep)
            return;
    }
    free(c);
}

void
arena_init(struct arena *a)
{
    a->head = NULL;
    a->used = 0;
    a->total = 0;
}

void
arena_release(struct arena *a)
{
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *next = c->next;
        chunk_put(c);
        c = next;
    }
    arena_init(a);
}

void *
arena_alloc(struct arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    LTD_ASSERT(need >= n);
    if (a->head == NULL || a->head->size - a->used < need) {
        size_t size = need > arena_chunk_bytes_min ? need : arena_chunk_bytes_min;
        if (a->head && a->head->size * 2 > size && a->head->size < (1u << 20))
            size = a->head->size * 2;
        struct arena_chunk *c = chunk_get(size);
        c->next = a->head;
        a->head = c;
        a->used = 0;
    }
    void *p = a->head->data + a->used;
    a->used += need;
    a->total += need;
    memset(p, 0, n);
    return p;
}

char *
arena_memdup(struct arena *a, const void *p, size_t n)
{
    char *q = arena_alloc(a, n + 1);
    if (n)
        memcpy(q, p, n);
    q[n] = 0;
    return q;
}

/* ---- hex ---- */

void
hex_encode(char *out, const uint8_t *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool
hex_decode(uint8_t *out, size_t outlen, const char *in, size_t inlen)
{
    if (inlen != 2 * outlen)
        return false;
    for (size_t i = 0; i < outlen; i++) {
        int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

uint64_t
ltd_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct timespec
ltd_deadline(clockid_t clock, uint64_t us)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + us % 1000000u * 1000u;
    ts.tv_sec += (time_t)(us / 1000000u + ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    return ts;
}

uint64_t
ltd_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
