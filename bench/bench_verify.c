/*
 * bench_verify.c - what checking one BigchainDB CREATE costs here, against
 * the raw cost of the Ed25519 signature inside it.
 *
 *   (a) raw libsodium crypto_sign_ed25519_verify_detached over the 32-byte
 *       signing messages of the transactions below (distinct keys and
 *       signatures);
 *   (b) the whole stateless BigchainDB verification from the JSON bytes:
 *       tx_parse (strict JSON parse, canonical write + SHA3-256 id check,
 *       schema, DER decode) + tx_verify_create (second canonical write +
 *       SHA3 of the signing message + Ed25519) + tx_check_strict;
 *   (c) the stages of (b) separately, on pre-parsed transactions.
 *
 * 20,000 distinct 1-input CREATEs of about 1 KB (realistic asset data with
 * UTF-8 text, built with tx_build_create + tx_sign) are made before any
 * clock starts.  Every figure runs >= BENCH_SECONDS (default 2) per
 * repetition, three repetitions, and the median is reported; (a) and (b)
 * also run on two threads.  Output: a table, then `BENCH name=value` lines
 * for scripts/bench.sh.
 *
 * Not here: storage, HTTP, the node (see bench/loadgen.c).
 */
#include "cc.h"
#include "cjson.h"
#include "codec.h"
#include "err.h"
#include "ltd.h"
#include "tx.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    bench_txs = 20000, /* distinct transactions */
    bench_reps = 3,    /* repetitions per figure; the median is reported */
    bench_threads_max = 2,
    bench_check_every = 64, /* operations between clock reads */
};

static double bench_seconds = 2.0;

/* ------------------------------------------------------------ workload */

static uint64_t
splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static const char *const venues[] = {"图书馆报告厅", "Main Hall B201", "理科楼 301",
                                     "Auditorium East", "学生活动中心二楼"};
static const char *const topics[] = {
    "人工智能与社会治理", "Distributed ledgers in public records", "大学生心理健康讲座",
    "Introduction to cryptographic signatures", "职业生涯规划与就业指导"};

/* About 450 bytes of asset data: what a department's activity record looks
 * like (mixed ASCII and UTF-8, nested object, array, integers). */
static struct cjson *
make_asset(struct arena *a, uint64_t i, uint64_t r)
{
    char text[1024];
    int n = snprintf(
        text, sizeof text,
        "{\"kind\":\"lecture-record\",\"serial\":%llu,\"activity\":{\"name\":\"%s #%llu\","
        "\"venue\":\"%s\",\"start\":\"2024-%02u-%02uT14:00:00+08:00\","
        "\"end\":\"2024-%02u-%02uT16:00:00+08:00\",\"category\":\"lecture\","
        "\"tickets\":%u},\"organizer\":{\"department\":\"学习部\",\"contact\":\"dept%llu@"
        "example.edu.cn\"},\"tags\":[\"综测\",\"lecture\",\"t%llu\"],"
        "\"description\":\"本次讲座面向全校学生开放，签到后发放讲座票。Seats are limited; "
        "please arrive ten minutes early. ref=%016llx\"}",
        (unsigned long long)i, topics[r % 5], (unsigned long long)(r % 1000), venues[(r >> 8) % 5],
        (unsigned)(1 + (r >> 16) % 12), (unsigned)(1 + (r >> 20) % 28),
        (unsigned)(1 + (r >> 16) % 12), (unsigned)(1 + (r >> 20) % 28),
        (unsigned)(20 + (r >> 24) % 300), (unsigned long long)((r >> 32) % 97),
        (unsigned long long)(i % 13), (unsigned long long)r);
    LTD_ASSERT(n > 0 && (size_t)n < sizeof text);
    struct cjson *root = NULL;
    LTD_ASSERT(cjson_parse(a, text, (size_t)n, NULL, &root, NULL) == LTD_OK);
    return root;
}

struct item {
    char *body; /* signed transaction JSON (canonical) */
    size_t len;
    struct ltd_pubkey pk; /* the signer, for (a) */
    struct ltd_sig sig;
    struct ltd_hash msg; /* the 32-byte signing message */
    struct arena arena;  /* pre-parsed tx for the stage figures */
    struct tx tx;
    struct buf canon; /* scratch for the canonical-write stage */
};

static struct item *items;

static void
build_one(uint64_t i)
{
    uint64_t s = UINT64_C(0x5eed0000) + i;
    struct ltd_seed seed;
    for (size_t k = 0; k < 4; k++) {
        uint64_t x = splitmix64(&s);
        memcpy(seed.b + 8 * k, &x, 8);
    }
    struct ltd_pubkey pk;
    codec_ed25519_seed_pubkey(&seed, &pk);
    struct arena a;
    arena_init(&a);
    struct cjson *data = make_asset(&a, i, splitmix64(&s));
    struct cjson *meta = cjson_new_object(&a);
    cjson_obj_set(&a, meta, "note", cjson_new_stringz(&a, "issued at the door"));
    struct tx_new_output o = {cc_details_ed25519(&a, &pk), 1};
    struct tx t;
    LTD_ASSERT(tx_build_create(&a, &pk, 1, data, meta, &o, 1, &t, NULL) == LTD_OK);
    LTD_ASSERT(tx_sign(&a, &t, &seed, NULL, false, NULL, NULL) == LTD_OK);
    struct buf b;
    buf_init(&b);
    tx_serialize(&t, &b);
    struct item *it = &items[i];
    it->body = buf_detach(&b, &it->len);
    tx_signing_messages(&t, &it->msg);
    LTD_ASSERT(t.in[0].ff && t.in[0].ff->type == CC_ED25519);
    it->pk = t.in[0].ff->pubkey;
    it->sig = t.in[0].ff->sig;
    arena_release(&a);
    codec_wipe(&seed, sizeof seed);
    arena_init(&it->arena);
    LTD_ASSERT(tx_parse(&it->arena, it->body, it->len, 0, &it->tx, NULL) == LTD_OK);
    buf_init(&it->canon);
    buf_reserve(&it->canon, 2048);
}

struct build_job {
    uint64_t from, to;
};

static void *
build_range(void *arg)
{
    const struct build_job *j = arg;
    for (uint64_t i = j->from; i < j->to; i++)
        build_one(i);
    return NULL;
}

static void
build_all(void)
{
    items = xcalloc(bench_txs, sizeof *items);
    pthread_t th[bench_threads_max];
    struct build_job jobs[bench_threads_max];
    for (int k = 0; k < bench_threads_max; k++) {
        jobs[k].from = (uint64_t)bench_txs * (uint64_t)k / bench_threads_max;
        jobs[k].to = (uint64_t)bench_txs * (uint64_t)(k + 1) / bench_threads_max;
        LTD_ASSERT(pthread_create(&th[k], NULL, build_range, &jobs[k]) == 0);
    }
    for (int k = 0; k < bench_threads_max; k++)
        pthread_join(th[k], NULL);
}

/* ---------------------------------------------------------- operations */

/* One operation on item i; returns false if it failed (a bug: abort). */
typedef bool (*op_fn)(size_t i);

static bool
op_raw_verify(size_t i)
{
    const struct item *it = &items[i];
    return crypto_sign_ed25519_verify_detached(it->sig.b, it->msg.b, 32, it->pk.b) == 0;
}

/* (b): the whole stateless pipeline from bytes, with its own arena as the
 * node does per request. */
static bool
op_full(size_t i)
{
    const struct item *it = &items[i];
    struct arena a;
    arena_init(&a);
    struct tx t;
    bool ok = tx_parse(&a, it->body, it->len, 0, &t, NULL) == LTD_OK &&
              tx_verify_create(&t, NULL) == LTD_OK && tx_check_strict(&t, NULL) == LTD_OK;
    arena_release(&a);
    return ok;
}

static bool
op_json_parse(size_t i)
{
    const struct item *it = &items[i];
    struct arena a;
    arena_init(&a);
    struct cjson *root = NULL;
    bool ok = cjson_parse(&a, it->body, it->len, NULL, &root, NULL) == LTD_OK;
    arena_release(&a);
    return ok;
}

static bool
op_tx_parse(size_t i)
{
    const struct item *it = &items[i];
    struct arena a;
    arena_init(&a);
    struct tx t;
    bool ok = tx_parse(&a, it->body, it->len, 0, &t, NULL) == LTD_OK;
    arena_release(&a);
    return ok;
}

static bool
op_canonical(size_t i)
{
    struct item *it = &items[i];
    buf_reset(&it->canon);
    cjson_canonical(it->tx.root, &it->canon);
    return it->canon.len == it->len;
}

static bool
op_sha3(size_t i)
{
    const struct item *it = &items[i];
    struct ltd_hash h;
    codec_sha3_256(&h, it->body, it->len);
    return h.b[0] != 0 || h.b[1] != 0 || h.b[2] != 0;
}

static bool
op_id(size_t i)
{
    const struct item *it = &items[i];
    struct ltd_hash h;
    tx_compute_id(&it->tx, &h);
    return memcmp(h.b, it->tx.id.b, 32) == 0;
}

static bool
op_sigmsg(size_t i)
{
    const struct item *it = &items[i];
    struct ltd_hash h;
    tx_signing_messages(&it->tx, &h);
    return memcmp(h.b, it->msg.b, 32) == 0;
}

static bool
op_fulfillment_decode(size_t i)
{
    const struct item *it = &items[i];
    const struct cjson *f = it->tx.in[0].fulfillment_json;
    uint8_t der[256];
    size_t n = 0;
    struct arena a;
    arena_init(&a);
    struct cc_fulfillment *ff = NULL;
    bool ok = codec_b64url_decode(f->str, f->len, der, sizeof der, &n) == LTD_OK &&
              cc_fulfillment_decode(&a, der, n, &ff, NULL) == LTD_OK;
    arena_release(&a);
    return ok;
}

static bool
op_verify_create(size_t i)
{
    return tx_verify_create(&items[i].tx, NULL) == LTD_OK;
}

static bool
op_strict(size_t i)
{
    return tx_check_strict(&items[i].tx, NULL) == LTD_OK;
}

/* ------------------------------------------------------------- harness */

struct run {
    op_fn fn;
    int threads;
    atomic_bool go, stop;
    atomic_int ready;
};

struct worker {
    struct run *r;
    size_t from, to; /* items this thread cycles through */
    uint64_t ops;
    double cpu; /* thread CPU seconds while measuring */
    bool failed;
};

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double
thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->r;
    atomic_fetch_add(&r->ready, 1);
    while (!atomic_load(&r->go))
        ;
    size_t i = w->from;
    uint64_t ops = 0;
    double c0 = thread_cpu_s();
    for (;;) {
        for (int k = 0; k < bench_check_every; k++) {
            if (!r->fn(i))
                w->failed = true;
            if (++i == w->to)
                i = w->from;
        }
        ops += bench_check_every;
        if (atomic_load_explicit(&r->stop, memory_order_relaxed))
            break;
    }
    w->ops = ops;
    w->cpu = thread_cpu_s() - c0;
    return NULL;
}

/* Operations per second of fn on `threads` threads over >= bench_seconds;
 * *cpu_us = CPU microseconds per operation (immune to time stolen by other
 * processes on a shared machine). */
static double
measure_once(op_fn fn, int threads, double *cpu_us)
{
    struct run r;
    r.fn = fn;
    r.threads = threads;
    atomic_init(&r.go, false);
    atomic_init(&r.stop, false);
    atomic_init(&r.ready, 0);
    struct worker w[bench_threads_max];
    pthread_t th[bench_threads_max];
    for (int k = 0; k < threads; k++) {
        w[k].r = &r;
        w[k].from = (size_t)bench_txs * (size_t)k / (size_t)threads;
        w[k].to = (size_t)bench_txs * (size_t)(k + 1) / (size_t)threads;
        w[k].ops = 0;
        w[k].failed = false;
        LTD_ASSERT(pthread_create(&th[k], NULL, worker_main, &w[k]) == 0);
    }
    while (atomic_load(&r.ready) < threads)
        ;
    double t0 = now_s();
    atomic_store(&r.go, true);
    struct timespec nap = {0, 20 * 1000 * 1000};
    while (now_s() - t0 < bench_seconds)
        nanosleep(&nap, NULL);
    atomic_store(&r.stop, true);
    uint64_t ops = 0;
    double cpu = 0;
    for (int k = 0; k < threads; k++) {
        pthread_join(th[k], NULL);
        LTD_ASSERT(!w[k].failed); /* every operation on valid input succeeds */
        ops += w[k].ops;
        cpu += w[k].cpu;
    }
    *cpu_us = 1e6 * cpu / (double)ops;
    double t1 = now_s();
    return (double)ops / (t1 - t0);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct figure {
    const char *key;   /* BENCH name */
    const char *label; /* table text */
    op_fn fn;
    int threads;
    double med, lo, hi;
    double cpu_us; /* median CPU microseconds per operation */
};

static void
finish(struct figure *f, double *v, double *c)
{
    qsort(v, bench_reps, sizeof v[0], cmp_double);
    qsort(c, bench_reps, sizeof c[0], cmp_double);
    f->cpu_us = c[bench_reps / 2];
    f->lo = v[0];
    f->med = v[bench_reps / 2];
    f->hi = v[bench_reps - 1];
    printf("  %-44s %10.0f /s  %8.2f us  %8.2f us  (%.0f..%.0f)\n", f->label, f->med,
           1e6 * f->threads / f->med, f->cpu_us, f->lo, f->hi);
    fflush(stdout);
}

static void
measure(struct figure *f)
{
    double v[bench_reps], c[bench_reps];
    for (int k = 0; k < bench_reps; k++)
        v[k] = measure_once(f->fn, f->threads, &c[k]);
    finish(f, v, c);
}

/* Measures a and b interleaved (a b a b a b) so that both see the same
 * background load; *ratio = median of the paired b/a rate ratios,
 * *ratio_cpu the same from CPU time per operation. */
static void
measure_pair(struct figure *a, struct figure *b, double *ratio, double *ratio_cpu)
{
    double va[bench_reps], ca[bench_reps], vb[bench_reps], cb[bench_reps];
    double r[bench_reps], rc[bench_reps];
    for (int k = 0; k < bench_reps; k++) {
        va[k] = measure_once(a->fn, a->threads, &ca[k]);
        vb[k] = measure_once(b->fn, b->threads, &cb[k]);
        r[k] = vb[k] / va[k];
        rc[k] = ca[k] / cb[k];
    }
    qsort(r, bench_reps, sizeof r[0], cmp_double);
    qsort(rc, bench_reps, sizeof rc[0], cmp_double);
    *ratio = r[bench_reps / 2];
    *ratio_cpu = rc[bench_reps / 2];
    finish(a, va, ca);
    finish(b, vb, cb);
}

int
main(int argc, char **argv)
{
    /* usage: bench_verify [SECONDS [FIGURE]]; FIGURE runs only the figures
     * whose name contains it (for perf record). */
    const char *env = getenv("BENCH_SECONDS");
    const char *only = argc > 2 ? argv[2] : NULL;
    if (argc > 1)
        env = argv[1];
    if (env && strtod(env, NULL) > 0)
        bench_seconds = strtod(env, NULL);
    codec_init();
    double t0 = now_s();
    build_all();
    size_t total = 0;
    for (size_t i = 0; i < bench_txs; i++)
        total += items[i].len;
    printf("bench_verify: %d distinct signed 1-input CREATEs, mean %zu bytes, built in %.1f s;"
           " %d x %.1f s per figure, median shown\n",
           bench_txs, total / bench_txs, now_s() - t0, bench_reps, bench_seconds);
    printf("  %-44s %13s  %11s  %11s  %s\n", "figure", "rate", "wall/op", "CPU/op",
           "(rate min..max)");

    struct figure figs[] = {
        {"raw_verify_1t", "(a) raw ed25519 verify, 1 thread", op_raw_verify, 1, 0, 0, 0, 0},
        {"full_verify_1t", "(b) tx_parse+verify_create+strict, 1 thread", op_full, 1, 0, 0, 0, 0},
        {"stage_json_parse", "(c) cjson_parse only", op_json_parse, 1, 0, 0, 0, 0},
        {"stage_tx_parse", "(c) tx_parse (json+canon+sha3 id+DER)", op_tx_parse, 1, 0, 0, 0, 0},
        {"stage_canonical", "(c) canonical write only", op_canonical, 1, 0, 0, 0, 0},
        {"stage_sha3_1k", "(c) SHA3-256 of the body only", op_sha3, 1, 0, 0, 0, 0},
        {"stage_id", "(c) id only (canonical+SHA3)", op_id, 1, 0, 0, 0, 0},
        {"stage_sigmsg", "(c) signing message (canonical+SHA3)", op_sigmsg, 1, 0, 0, 0, 0},
        {"stage_fulfillment", "(c) base64url+DER fulfillment decode", op_fulfillment_decode, 1, 0,
         0, 0, 0},
        {"stage_verify_create", "(c) tx_verify_create only (msg+ed25519)", op_verify_create, 1, 0,
         0, 0, 0},
        {"stage_strict", "(c) tx_check_strict only", op_strict, 1, 0, 0, 0, 0},
        {"raw_verify_2t", "(a) raw ed25519 verify, 2 threads", op_raw_verify, 2, 0, 0, 0, 0},
        {"full_verify_2t", "(b) whole verification, 2 threads", op_full, 2, 0, 0, 0, 0},
    };
    if (only) { /* some figures only (profiling, paired runs in bench.sh) */
        for (size_t k = 0; k < ARRAY_LEN(figs); k++)
            if (strstr(figs[k].key, only)) {
                measure(&figs[k]);
                printf("BENCH %s=%.0f\nBENCH %s_cpu_us=%.2f\n", figs[k].key, figs[k].med,
                       figs[k].key, figs[k].cpu_us);
            }
        return 0;
    }
    double r1, r1c, r2, r2c;
    measure_pair(&figs[0], &figs[1], &r1, &r1c);
    for (size_t k = 2; k < 11; k++)
        measure(&figs[k]);
    measure_pair(&figs[11], &figs[12], &r2, &r2c);
    printf("  ratio (b)/(a), 1 thread:  %.3f   goal: >= 0.75  %s   (by CPU time: %.3f %s)\n", r1,
           r1 >= 0.75 ? "MET" : "MISSED", r1c, r1c >= 0.75 ? "MET" : "MISSED");
    printf("  ratio (b)/(a), 2 threads: %.3f   (by CPU time: %.3f)\n", r2, r2c);
    printf("  (ratios: median of interleaved pairs a,b,a,b,a,b)\n");
    for (size_t k = 0; k < ARRAY_LEN(figs); k++)
        printf("BENCH %s=%.0f\n", figs[k].key, figs[k].med);
    for (size_t k = 0; k < ARRAY_LEN(figs); k++)
        printf("BENCH %s_us=%.2f\n", figs[k].key, 1e6 * figs[k].threads / figs[k].med);
    for (size_t k = 0; k < ARRAY_LEN(figs); k++)
        printf("BENCH %s_cpu_us=%.2f\n", figs[k].key, figs[k].cpu_us);
    printf("BENCH verify_ratio_1t=%.3f\n", r1);
    printf("BENCH verify_ratio_1t_cpu=%.3f\n", r1c);
    printf("BENCH verify_ratio_2t=%.3f\n", r2);
    printf("BENCH verify_ratio_2t_cpu=%.3f\n", r2c);
    printf("BENCH tx_bytes_mean=%zu\n", total / bench_txs);
    for (size_t i = 0; i < bench_txs; i++) {
        free(items[i].body);
        arena_release(&items[i].arena);
        buf_release(&items[i].canon);
    }
    free(items);
    return 0;
}
