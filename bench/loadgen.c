/*
 * loadgen.c - load generator for `ltdrs serve`: pre-signed BigchainDB
 * transactions over HTTP/1.1 keep-alive connections, with latency
 * percentiles and error counts by status.
 *
 *   loadgen --url http://127.0.0.1:9984 --n 100000 --conc 128 --mode commit
 *           [--rate R] [--mix 0.2] [--workload-file F] [--keys K] [--seed S]
 *           [--asset-bytes 700] [--gap 10000] [--io-threads 1] [--tag NAME]
 *           [--requests R] [--progress SECONDS]
 *   modes: async | sync | commit   POST /api/v1/transactions?mode=...
 *          outputs                 R (default N) x GET /api/v1/outputs?public_key=K,
 *                                  K a random key of the N-transaction workload
 *          gen                     only make (or check) the workload file
 *   Exit status 1 if any request failed (counts by status are printed).
 *
 * Workload: N transactions signed before any clock starts: CREATEs with
 * about --asset-bytes of asset data, one input, one output; with --mix f a
 * fraction f are TRANSFERs, each spending the output of a CREATE at least
 * --gap positions earlier (so that in closed-loop commit mode the spent
 * output is already committed).  K key pairs come from a seeded generator
 * (key k = SHA-512 expansion of splitmix64(seed, k)); signing uses all
 * CPUs and the result is cached in a file (default
 * /tmp/ltdrs-wl-n<N>-k<K>-m<ppm>-a<bytes>-g<gap>-s<seed>.bin) that later
 * runs reuse; a file given with --workload-file that holds more
 * transactions (same other parameters) is used as a prefix.
 *
 * Sending: --conc connections spread over --io-threads epoll threads, each
 * connection one request at a time (HTTP/1.1 keep-alive, no pipelining).
 * Closed loop by default (as fast as the server answers); with --rate R
 * the i-th request is scheduled at t0 + i/R (open loop) and its latency is
 * measured from the scheduled time, so time spent waiting for a free
 * connection counts (no coordinated omission).
 *
 * Throughput: commit mode = 2xx / time of the last answer.  async/sync:
 * after the last 202, the last accepted id of every connection is polled
 * with GET /api/v1/transactions/{id} until committed (each connection's
 * last transaction was appended to the node's FIFO log after all of that
 * connection's earlier ones, so when all of them are committed every
 * accepted transaction has been applied); throughput = 2xx / time to that.
 *
 * Output: a summary on stdout and `BENCH <tag>_<name>=<value>` lines.
 */
#include "cc.h"
#include "cjson.h"
#include "codec.h"
#include "err.h"
#include "ltd.h"
#include "tx.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum {
    lg_conc_max = 4096,
    lg_io_threads_max = 16,
    lg_gen_threads_max = 64,
    lg_status_max = 600,
    lg_rbuf_min = 16384,
    lg_resp_bytes_max = 64 * 1024 * 1024,
    lg_err_samples_max = 5,
    lg_poll_timeout_s = 300,
    lg_header_bytes = 512,
};

static const char wl_magic[8] = {'L', 'T', 'D', 'W', 'L', '0', '0', '1'};

/* ------------------------------------------------------------- options */

enum mode { M_ASYNC, M_SYNC, M_COMMIT, M_OUTPUTS, M_GEN };

static struct {
    char host[256];
    char port[16];
    uint64_t n;
    uint64_t requests; /* outputs mode: GETs to send (default n) */
    unsigned conc;
    enum mode mode;
    double rate;   /* 0 = closed loop */
    double mix;    /* transfer fraction */
    uint64_t keys; /* 0 = n */
    uint64_t seed;
    unsigned asset_bytes;
    uint64_t gap;
    unsigned io_threads;
    unsigned gen_threads;
    const char *wl_file;
    const char *tag;
    double progress; /* seconds between progress lines on stderr; 0 = none */
} opt;

static const char *const mode_names[] = {"async", "sync", "commit", "outputs", "gen"};

static _Noreturn void die(const char *fmt, ...) LTD_PRINTF(1, 2);

static void
die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t
num_arg(const char *name, const char *v)
{
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end)
        die("--%s: '%s' is not a number", name, v);
    return (uint64_t)x;
}

static void
parse_url(const char *url)
{
    const char *p = url;
    if (strncmp(p, "http://", 7) == 0)
        p += 7;
    const char *colon = strchr(p, ':');
    const char *slash = strchr(p, '/');
    size_t hl = colon ? (size_t)(colon - p) : slash ? (size_t)(slash - p) : strlen(p);
    if (hl == 0 || hl >= sizeof opt.host)
        die("bad --url '%s'", url);
    memcpy(opt.host, p, hl);
    opt.host[hl] = 0;
    if (colon) {
        size_t pl = slash ? (size_t)(slash - colon - 1) : strlen(colon + 1);
        if (pl == 0 || pl >= sizeof opt.port)
            die("bad port in --url '%s'", url);
        memcpy(opt.port, colon + 1, pl);
        opt.port[pl] = 0;
    } else {
        snprintf(opt.port, sizeof opt.port, "80");
    }
}

static void
usage(void)
{
    fputs("usage: loadgen --url http://HOST:PORT --n N --conc C "
          "--mode async|sync|commit|outputs|gen\n"
          "               [--rate R] [--mix F] [--workload-file FILE] [--keys K] [--seed S]\n"
          "               [--asset-bytes B] [--gap G] [--io-threads T] [--gen-threads T]"
          " [--tag NAME]\n"
          "               [--progress SECONDS (per-interval rate on stderr)]\n"
          "               [--requests R (outputs mode: GETs to send; default N)]\n",
          stderr);
    exit(2);
}

static void
parse_args(int argc, char **argv)
{
    parse_url("http://127.0.0.1:9984");
    opt.n = 10000;
    opt.conc = 64;
    opt.mode = M_COMMIT;
    opt.seed = 1;
    opt.asset_bytes = 700;
    opt.gap = 10000;
    opt.io_threads = 1;
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    opt.gen_threads = nc > 0 && nc < lg_gen_threads_max ? (unsigned)nc : 2;
    opt.tag = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            usage();
        if (i + 1 >= argc)
            die("%s needs a value", a);
        const char *v = argv[++i];
        if (strcmp(a, "--url") == 0)
            parse_url(v);
        else if (strcmp(a, "--n") == 0)
            opt.n = num_arg("n", v);
        else if (strcmp(a, "--requests") == 0)
            opt.requests = num_arg("requests", v);
        else if (strcmp(a, "--conc") == 0)
            opt.conc = (unsigned)num_arg("conc", v);
        else if (strcmp(a, "--rate") == 0)
            opt.rate = strtod(v, NULL);
        else if (strcmp(a, "--mix") == 0)
            opt.mix = strtod(v, NULL);
        else if (strcmp(a, "--keys") == 0)
            opt.keys = num_arg("keys", v);
        else if (strcmp(a, "--seed") == 0)
            opt.seed = num_arg("seed", v);
        else if (strcmp(a, "--asset-bytes") == 0)
            opt.asset_bytes = (unsigned)num_arg("asset-bytes", v);
        else if (strcmp(a, "--gap") == 0)
            opt.gap = num_arg("gap", v);
        else if (strcmp(a, "--io-threads") == 0)
            opt.io_threads = (unsigned)num_arg("io-threads", v);
        else if (strcmp(a, "--gen-threads") == 0)
            opt.gen_threads = (unsigned)num_arg("gen-threads", v);
        else if (strcmp(a, "--workload-file") == 0)
            opt.wl_file = v;
        else if (strcmp(a, "--tag") == 0)
            opt.tag = v;
        else if (strcmp(a, "--progress") == 0)
            opt.progress = strtod(v, NULL);
        else if (strcmp(a, "--mode") == 0) {
            size_t k;
            for (k = 0; k < ARRAY_LEN(mode_names); k++)
                if (strcmp(v, mode_names[k]) == 0)
                    break;
            if (k == ARRAY_LEN(mode_names))
                die("--mode: '%s' is not async, sync, commit, outputs or gen", v);
            opt.mode = (enum mode)k;
        } else
            die("unknown option %s", a);
    }
    if (opt.n == 0 || opt.conc == 0 || opt.conc > lg_conc_max)
        die("--n must be > 0 and --conc in 1..%d", lg_conc_max);
    if (opt.io_threads == 0 || opt.io_threads > lg_io_threads_max)
        die("--io-threads in 1..%d", lg_io_threads_max);
    if (opt.io_threads > opt.conc)
        opt.io_threads = opt.conc;
    if (opt.gen_threads == 0 || opt.gen_threads > lg_gen_threads_max)
        die("--gen-threads in 1..%d", lg_gen_threads_max);
    if (opt.mix < 0 || opt.mix > 0.9)
        die("--mix in 0..0.9");
    if (opt.keys == 0)
        opt.keys = opt.n;
    if (opt.tag == NULL)
        opt.tag = mode_names[opt.mode];
    if (opt.requests == 0 || opt.mode != M_OUTPUTS)
        opt.requests = opt.n;
}

/* ------------------------------------------------------------ workload */

struct wl_header {
    char magic[8];
    uint64_t n, keys, seed, gap;
    uint32_t mix_ppm, asset_bytes;
};

struct wl_tx {
    const char *body;
    uint32_t len;
    uint8_t op; /* TX_CREATE / TX_TRANSFER */
    char id[65];
};

struct keypair {
    uint8_t pk[32];
    uint8_t sk[64];
};

static struct {
    struct wl_header h;
    struct ltd_pubkey *pks; /* h.keys */
    struct wl_tx *tx;       /* h.n */
    char *blob;             /* bodies, owned */
    /* generation only */
    struct keypair *kp;
    int64_t *spends;    /* position of the CREATE a TRANSFER spends; -1 for CREATE */
    uint64_t *owner;    /* key index of the output owner */
    struct buf *bodies; /* per transaction */
} wl;

static uint64_t
splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t
mix2(uint64_t a, uint64_t b)
{
    uint64_t s = a * UINT64_C(0x9E3779B97F4A7C15) ^ b;
    splitmix64(&s);
    return splitmix64(&s);
}

static const char *const venues[] = {"图书馆报告厅", "Main Hall B201", "理科楼 301",
                                     "Auditorium East", "学生活动中心二楼"};
static const char *const topics[] = {
    "人工智能与社会治理", "Distributed ledgers in public records", "大学生心理健康讲座",
    "Introduction to cryptographic signatures", "职业生涯规划与就业指导"};

/* asset.data of about `target` bytes of canonical JSON: an activity record
 * (mixed ASCII/UTF-8 text, nested object, array, integers), padded with a
 * description. */
static struct cjson *
make_asset(struct arena *a, uint64_t i, uint64_t r, unsigned target)
{
    char text[8192];
    int n =
        snprintf(text, sizeof text,
                 "{\"kind\":\"lecture-record\",\"serial\":%llu,\"activity\":{\"name\":\"%s #%llu\","
                 "\"venue\":\"%s\",\"start\":\"2024-%02u-%02uT14:00:00+08:00\","
                 "\"end\":\"2024-%02u-%02uT16:00:00+08:00\",\"category\":\"lecture\","
                 "\"tickets\":%u},\"organizer\":{\"department\":\"学习部\",\"contact\":\"dept%llu@"
                 "example.edu.cn\"},\"tags\":[\"综测\",\"lecture\",\"t%llu\"],\"description\":\"",
                 (unsigned long long)i, topics[r % 5], (unsigned long long)(r % 1000),
                 venues[(r >> 8) % 5], (unsigned)(1 + (r >> 16) % 12),
                 (unsigned)(1 + (r >> 20) % 28), (unsigned)(1 + (r >> 16) % 12),
                 (unsigned)(1 + (r >> 20) % 28), (unsigned)(20 + (r >> 24) % 300),
                 (unsigned long long)((r >> 32) % 97), (unsigned long long)(i % 13));
    LTD_ASSERT(n > 0 && (size_t)n < sizeof text);
    size_t len = (size_t)n;
    static const char *const words[] = {"本次讲座面向全校学生开放，",
                                        "签到后发放讲座票。",
                                        "Seats are limited; ",
                                        "please arrive early. ",
                                        "The speaker will take questions. ",
                                        "欢迎参加！"};
    uint64_t s = r;
    size_t want = target > len + 40 ? target - 40 : len;
    while (len < want && len + 64 < sizeof text) {
        const char *w = words[splitmix64(&s) % ARRAY_LEN(words)];
        size_t wl_ = strlen(w);
        memcpy(text + len, w, wl_);
        len += wl_;
    }
    n = snprintf(text + len, sizeof text - len, "ref=%016llx\"}", (unsigned long long)r);
    LTD_ASSERT(n > 0 && (size_t)n < sizeof text - len);
    len += (size_t)n;
    struct cjson *root = NULL;
    LTD_ASSERT(cjson_parse(a, text, len, NULL, &root, NULL) == LTD_OK);
    return root;
}

/* Signs the single input of t with kp (the fast path of tx_sign: the
 * expanded secret key is kept, so one scalar multiplication per
 * signature), sets the fulfillment and the id. */
static void
sign_single(struct arena *a, struct tx *t, const struct keypair *kp, const struct cc_details *owner)
{
    struct ltd_hash msg;
    tx_signing_messages(t, &msg);
    struct cc_signer s;
    memcpy(s.pk.b, kp->pk, 32);
    LTD_ASSERT(crypto_sign_ed25519_detached(s.sig.b, NULL, msg.b, 32, kp->sk) == 0);
    struct cc_fulfillment *ff = NULL;
    LTD_ASSERT(cc_fulfillment_build(a, owner, &s, 1, false, &ff, NULL) == LTD_OK);
    struct buf der, b64;
    buf_init(&der);
    buf_init(&b64);
    cc_fulfillment_encode(ff, &der);
    codec_b64url_encode((const uint8_t *)der.p, der.len, &b64);
    struct cjson *node = cjson_new_string(a, b64.p, b64.len);
    cjson_obj_set(a, cjson_get(t->root, "inputs")->items[0], "fulfillment", node);
    t->in[0].fulfillment_json = node;
    t->in[0].ff = ff;
    buf_release(&der);
    buf_release(&b64);
    tx_set_id(a, t);
}

static void
gen_create(uint64_t i)
{
    uint64_t k = wl.owner[i];
    const struct keypair *kp = &wl.kp[k];
    struct arena a;
    arena_init(&a);
    struct ltd_pubkey pk;
    memcpy(pk.b, kp->pk, 32);
    uint64_t r = mix2(wl.h.seed, i);
    struct cjson *data = make_asset(&a, i, r, wl.h.asset_bytes);
    struct cjson *meta = cjson_new_object(&a);
    cjson_obj_set(&a, meta, "note", cjson_new_stringz(&a, "issued at the door"));
    struct cc_details *d = cc_details_ed25519(&a, &pk);
    struct tx_new_output o = {d, 1};
    struct tx t;
    LTD_ASSERT(tx_build_create(&a, &pk, 1, data, meta, &o, 1, &t, NULL) == LTD_OK);
    sign_single(&a, &t, kp, d);
    tx_serialize(&t, &wl.bodies[i]);
    memcpy(wl.tx[i].id, t.id_hex, 65);
    wl.tx[i].op = TX_CREATE;
    arena_release(&a);
}

static void
gen_transfer(uint64_t i)
{
    uint64_t p = (uint64_t)wl.spends[i];
    const struct keypair *from = &wl.kp[wl.owner[p]];
    const struct keypair *to = &wl.kp[wl.owner[i]];
    struct arena a;
    arena_init(&a);
    struct ltd_pubkey fpk, tpk;
    memcpy(fpk.b, from->pk, 32);
    memcpy(tpk.b, to->pk, 32);
    struct tx_new_input in;
    LTD_ASSERT(hex_decode(in.txid.b, 32, wl.tx[p].id, 64));
    in.index = 0;
    in.details = cc_details_ed25519(&a, &fpk);
    struct cjson *meta = cjson_new_object(&a);
    cjson_obj_set(&a, meta, "note", cjson_new_stringz(&a, "handed over"));
    cjson_obj_set(&a, meta, "serial", cjson_new_int(&a, (int64_t)i));
    struct tx_new_output o = {cc_details_ed25519(&a, &tpk), 1};
    struct tx t;
    LTD_ASSERT(tx_build_transfer(&a, &in.txid, &in, 1, meta, &o, 1, &t, NULL) == LTD_OK);
    sign_single(&a, &t, from, in.details);
    tx_serialize(&t, &wl.bodies[i]);
    memcpy(wl.tx[i].id, t.id_hex, 65);
    wl.tx[i].op = TX_TRANSFER;
    arena_release(&a);
}

struct gen_job {
    unsigned k, of;
    int phase; /* 0 keys, 1 creates, 2 transfers */
};

static void *
gen_main(void *arg)
{
    const struct gen_job *j = arg;
    if (j->phase == 0) {
        for (uint64_t k = j->k; k < wl.h.keys; k += j->of) {
            uint8_t seed[32];
            uint64_t s = mix2(wl.h.seed ^ UINT64_C(0x6b657973), k);
            for (size_t b = 0; b < 4; b++) {
                uint64_t x = splitmix64(&s);
                memcpy(seed + 8 * b, &x, 8);
            }
            LTD_ASSERT(crypto_sign_ed25519_seed_keypair(wl.kp[k].pk, wl.kp[k].sk, seed) == 0);
            memcpy(wl.pks[k].b, wl.kp[k].pk, 32);
        }
        return NULL;
    }
    for (uint64_t i = j->k; i < wl.h.n; i += j->of) {
        if (j->phase == 1 && wl.spends[i] < 0)
            gen_create(i);
        else if (j->phase == 2 && wl.spends[i] >= 0)
            gen_transfer(i);
    }
    return NULL;
}

static void
run_phase(int phase)
{
    pthread_t th[lg_gen_threads_max];
    struct gen_job jobs[lg_gen_threads_max];
    for (unsigned k = 0; k < opt.gen_threads; k++) {
        jobs[k] = (struct gen_job){k, opt.gen_threads, phase};
        LTD_ASSERT(pthread_create(&th[k], NULL, gen_main, &jobs[k]) == 0);
    }
    for (unsigned k = 0; k < opt.gen_threads; k++)
        pthread_join(th[k], NULL);
}

/* Decides which positions are TRANSFERs and what they spend: position i is
 * a TRANSFER with probability mix if the oldest unspent CREATE is at least
 * gap positions back.  Owners: CREATE i is issued by and pays key i mod K;
 * a TRANSFER pays the key half way round the ring from the spender. */
static void
layout(void)
{
    uint64_t n = wl.h.n, next_unspent = 0;
    uint64_t ncreate = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r = mix2(wl.h.seed ^ UINT64_C(0x6c61796f7574), i);
        bool tr = (r % 1000000) < wl.h.mix_ppm;
        while (tr && next_unspent < i && wl.spends[next_unspent] >= 0)
            next_unspent++;
        if (tr && next_unspent + wl.h.gap <= i && wl.spends[next_unspent] < 0) {
            wl.spends[i] = (int64_t)next_unspent;
            wl.owner[i] = (wl.owner[next_unspent] + wl.h.keys / 2 + 1) % wl.h.keys;
            next_unspent++;
        } else {
            wl.spends[i] = -1;
            wl.owner[i] = ncreate++ % wl.h.keys;
        }
    }
}

static void
check_sample(void)
{
    /* A few transactions through the server's own checks: the fast signing
     * path must give exactly what tx_sign would accept. */
    for (uint64_t i = 0; i < wl.h.n && i < 64; i++) {
        struct arena a;
        arena_init(&a);
        struct tx t;
        struct ltd_errbuf eb;
        ltd_errbuf_clear(&eb);
        const struct buf *b = &wl.bodies[i];
        LTD_ASSERT(tx_parse(&a, b->p, b->len, 0, &t, &eb) == LTD_OK);
        LTD_ASSERT(tx_check_strict(&t, &eb) == LTD_OK);
        if (t.op == TX_CREATE) {
            LTD_ASSERT(tx_verify_create(&t, &eb) == LTD_OK);
        }
        arena_release(&a);
    }
}

static void
wl_default_path(char *out, size_t cap)
{
    snprintf(out, cap, "/tmp/ltdrs-wl-n%llu-k%llu-m%u-a%u-g%llu-s%llu.bin",
             (unsigned long long)opt.n, (unsigned long long)opt.keys,
             (unsigned)lround(opt.mix * 1e6), opt.asset_bytes, (unsigned long long)opt.gap,
             (unsigned long long)opt.seed);
}

static void
wl_generate(const char *path)
{
    double t0 = now_s();
    memset(&wl.h, 0, sizeof wl.h);
    memcpy(wl.h.magic, wl_magic, 8);
    wl.h.n = opt.n;
    wl.h.keys = opt.keys;
    wl.h.seed = opt.seed;
    wl.h.gap = opt.gap;
    wl.h.mix_ppm = (uint32_t)lround(opt.mix * 1e6);
    wl.h.asset_bytes = opt.asset_bytes;
    wl.kp = xcalloc(wl.h.keys, sizeof *wl.kp);
    wl.pks = xcalloc(wl.h.keys, sizeof *wl.pks);
    wl.tx = xcalloc(wl.h.n, sizeof *wl.tx);
    wl.spends = xcalloc(wl.h.n, sizeof *wl.spends);
    wl.owner = xcalloc(wl.h.n, sizeof *wl.owner);
    wl.bodies = xcalloc(wl.h.n, sizeof *wl.bodies);
    run_phase(0);
    layout();
    run_phase(1);
    run_phase(2);
    check_sample();
    /* Write to a temporary name, then rename: a half-written cache is never used. */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (f == NULL)
        die("cannot write '%s': %s", tmp, strerror(errno));
    size_t total = 0;
    for (uint64_t i = 0; i < wl.h.n; i++)
        total += wl.bodies[i].len;
    wl.blob = xmalloc(total + 1);
    size_t off = 0;
    bool ok = fwrite(&wl.h, sizeof wl.h, 1, f) == 1 &&
              fwrite(wl.pks, sizeof *wl.pks, wl.h.keys, f) == wl.h.keys;
    for (uint64_t i = 0; ok && i < wl.h.n; i++) {
        uint32_t len = (uint32_t)wl.bodies[i].len;
        ok = fwrite(&len, 4, 1, f) == 1 && fwrite(&wl.tx[i].op, 1, 1, f) == 1 &&
             fwrite(wl.tx[i].id, 64, 1, f) == 1 && fwrite(wl.bodies[i].p, len, 1, f) == 1;
        memcpy(wl.blob + off, wl.bodies[i].p, len);
        wl.tx[i].body = wl.blob + off;
        wl.tx[i].len = len;
        off += len;
        buf_release(&wl.bodies[i]);
    }
    if (fclose(f) != 0 || !ok || rename(tmp, path) != 0) {
        unlink(tmp);
        die("cannot write the workload file '%s'", path);
    }
    sodium_memzero(wl.kp, sizeof *wl.kp * wl.h.keys);
    free(wl.kp);
    free(wl.spends);
    free(wl.owner);
    free(wl.bodies);
    wl.kp = NULL;
    uint64_t ntr = 0;
    for (uint64_t i = 0; i < wl.h.n; i++)
        ntr += wl.tx[i].op == TX_TRANSFER;
    fprintf(stderr,
            "loadgen: generated %llu transactions (%llu TRANSFERs, %llu keys, mean %zu bytes) in "
            "%.1f s on %u threads -> %s\n",
            (unsigned long long)wl.h.n, (unsigned long long)ntr, (unsigned long long)wl.h.keys,
            total / wl.h.n, now_s() - t0, opt.gen_threads, path);
}

/* Loads a cached workload with the same parameters (n may be larger: a
 * prefix of a workload is a workload).  False if absent or different. */
static bool
wl_load(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    struct wl_header h;
    bool ok = fread(&h, sizeof h, 1, f) == 1 && memcmp(h.magic, wl_magic, 8) == 0 && h.n >= opt.n &&
              h.keys == opt.keys && h.seed == opt.seed && h.gap == opt.gap &&
              h.mix_ppm == (uint32_t)lround(opt.mix * 1e6) && h.asset_bytes == opt.asset_bytes;
    if (!ok) {
        fclose(f);
        return false;
    }
    double t0 = now_s();
    wl.h = h;
    wl.h.n = opt.n;
    wl.pks = xcalloc(h.keys, sizeof *wl.pks);
    wl.tx = xcalloc(opt.n, sizeof *wl.tx);
    ok = fread(wl.pks, sizeof *wl.pks, h.keys, f) == h.keys;
    size_t cap = 1 << 20, off = 0;
    wl.blob = xmalloc(cap);
    /* Bodies go into one blob; record offsets first, pointers after. */
    size_t *offs = xcalloc(opt.n, sizeof *offs);
    for (uint64_t i = 0; ok && i < opt.n; i++) {
        uint32_t len = 0;
        ok = fread(&len, 4, 1, f) == 1 && len > 0 && len <= tx_bytes_max &&
             fread(&wl.tx[i].op, 1, 1, f) == 1 && fread(wl.tx[i].id, 64, 1, f) == 1;
        if (!ok)
            break;
        if (off + len + 1 > cap) {
            while (off + len + 1 > cap)
                cap *= 2;
            wl.blob = xrealloc(wl.blob, cap);
        }
        ok = fread(wl.blob + off, len, 1, f) == 1;
        offs[i] = off;
        wl.tx[i].len = len;
        off += len;
    }
    fclose(f);
    for (uint64_t i = 0; ok && i < opt.n; i++)
        wl.tx[i].body = wl.blob + offs[i];
    free(offs);
    if (!ok) {
        fprintf(stderr, "loadgen: '%s' is truncated or corrupt; regenerating\n", path);
        free(wl.pks);
        free(wl.tx);
        free(wl.blob);
        memset(&wl, 0, sizeof wl);
        return false;
    }
    fprintf(stderr, "loadgen: loaded %llu transactions from %s in %.1f s\n",
            (unsigned long long)opt.n, path, now_s() - t0);
    return true;
}

/* ---------------------------------------------------------------- HTTP */

static struct addrinfo *server_ai;

static int
connect_server(void)
{
    int fd = socket(server_ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    if (connect(fd, server_ai->ai_addr, server_ai->ai_addrlen) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Parses one HTTP/1.1 response in p[0..n).  Returns the bytes it takes
 * (0: incomplete, -1: malformed).  Sets status, body (pointer into p or
 * into a decoded copy for chunked), close (server wants to close). */
struct resp {
    int status;
    const char *body;
    size_t body_len;
    bool close;
    struct buf dechunked;
};

static bool
header_is(const char *line, size_t n, const char *name, const char **val)
{
    size_t k = strlen(name);
    if (n < k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return false;
    const char *v = line + k + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    *val = v;
    return true;
}

static long
parse_response(const char *p, size_t n, struct resp *r)
{
    const char *end = memmem(p, n, "\r\n\r\n", 4);
    if (end == NULL)
        return n > 65536 ? -1 : 0;
    size_t hlen = (size_t)(end - p) + 4;
    if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0)
        return -1;
    r->status = (int)strtol(p + 9, NULL, 10);
    r->close = p[7] == '0';
    long clen = -1;
    bool chunked = false;
    const char *line = memchr(p, '\n', hlen);
    while (line && line + 1 < end) {
        line++;
        const char *eol = memchr(line, '\r', (size_t)(end + 2 - line));
        if (eol == NULL)
            break;
        size_t ll = (size_t)(eol - line);
        const char *v;
        if (header_is(line, ll, "content-length", &v))
            clen = strtol(v, NULL, 10);
        else if (header_is(line, ll, "transfer-encoding", &v))
            chunked = strncasecmp(v, "chunked", 7) == 0;
        else if (header_is(line, ll, "connection", &v))
            r->close = strncasecmp(v, "close", 5) == 0 ? true : r->close;
        line = eol + 1;
    }
    if (!chunked) {
        if (clen < 0)
            clen = 0; /* our server always frames responses */
        if ((size_t)clen > lg_resp_bytes_max)
            return -1;
        if (n - hlen < (size_t)clen)
            return 0;
        r->body = p + hlen;
        r->body_len = (size_t)clen;
        return (long)(hlen + (size_t)clen);
    }
    size_t off = hlen;
    buf_reset(&r->dechunked);
    for (;;) {
        const char *crlf = memmem(p + off, n - off, "\r\n", 2);
        if (crlf == NULL)
            return 0;
        unsigned long sz = strtoul(p + off, NULL, 16);
        if (sz > lg_resp_bytes_max)
            return -1;
        off = (size_t)(crlf - p) + 2;
        if (n - off < sz + 2)
            return 0;
        buf_add(&r->dechunked, p + off, sz);
        off += sz + 2;
        if (sz == 0)
            break;
    }
    r->body = r->dechunked.p ? r->dechunked.p : "";
    r->body_len = r->dechunked.len;
    return (long)off;
}

/* A blocking request on its own connection (polling, setup). */
static int
http_get_blocking(int *fd, const char *path, struct buf *body)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (*fd < 0 && (*fd = connect_server()) < 0)
            return -1;
        char req[1024];
        int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, opt.host);
        LTD_ASSERT(n > 0 && (size_t)n < sizeof req);
        if (send(*fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
            close(*fd);
            *fd = -1;
            continue;
        }
        struct buf in;
        buf_init(&in);
        struct resp r;
        memset(&r, 0, sizeof r);
        buf_init(&r.dechunked);
        long used = 0;
        for (;;) {
            buf_reserve(&in, 65536);
            ssize_t k = recv(*fd, in.p + in.len, in.cap - in.len - 1, 0);
            if (k <= 0)
                break;
            in.len += (size_t)k;
            if ((used = parse_response(in.p, in.len, &r)) != 0)
                break;
        }
        int status = -1;
        if (used > 0) {
            status = r.status;
            if (body) {
                buf_reset(body);
                buf_add(body, r.body, r.body_len);
            }
            if (r.close) {
                close(*fd);
                *fd = -1;
            }
        } else {
            close(*fd);
            *fd = -1;
        }
        buf_release(&r.dechunked);
        buf_release(&in);
        if (status >= 0)
            return status;
    }
    return -1;
}

/* ------------------------------------------------------------- sending */

enum cstate { C_IDLE, C_BUSY, C_DONE };

struct conn {
    int fd;
    enum cstate state;
    uint64_t idx;   /* request in flight */
    double t_start; /* latency origin: scheduled (open loop) or send time */
    char hdr[lg_header_bytes];
    size_t hdr_len;
    const char *body;
    size_t body_len;
    size_t sent;
    bool want_out;
    struct buf rb;
    struct resp r;
    int64_t last_ok; /* last accepted request, -1 none */
};

struct err_sample {
    int status;
    char text[200];
};

struct iot {
    unsigned id;
    pthread_t th;
    int ep, tfd;
    struct conn *c;
    unsigned nc;
    uint64_t by_status[lg_status_max]; /* index 0 = connection failure */
    uint64_t done;
    double t_last;
    struct err_sample samples[lg_err_samples_max];
    unsigned n_samples;
};

static struct {
    atomic_uint_fast64_t next;
    atomic_uint_fast64_t answered; /* all threads, for --progress */
    atomic_bool finished;
    double t0;
    double *lat; /* seconds, per request; NAN if failed */
    struct iot *io;
    char mode_path[128];
} run;

static double
sched_time(uint64_t i)
{
    return run.t0 + (double)i / opt.rate;
}

/* Takes the next request index if one is due; UINT64_MAX if none left,
 * UINT64_MAX - 1 if the next is not due yet. */
static uint64_t
take_index(double now)
{
    uint64_t cur = atomic_load(&run.next);
    for (;;) {
        if (cur >= opt.requests)
            return UINT64_MAX;
        if (opt.rate > 0 && sched_time(cur) > now)
            return UINT64_MAX - 1;
        if (atomic_compare_exchange_weak(&run.next, &cur, cur + 1))
            return cur;
    }
}

static void
conn_open(struct iot *t, struct conn *c)
{
    c->fd = connect_server();
    if (c->fd < 0)
        die("connect to %s:%s: %s", opt.host, opt.port, strerror(errno));
    int fl = fcntl(c->fd, F_GETFL);
    fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    LTD_ASSERT(epoll_ctl(t->ep, EPOLL_CTL_ADD, c->fd, &ev) == 0);
    c->want_out = false;
    buf_reset(&c->rb);
}

static void
conn_close(struct iot *t, struct conn *c)
{
    epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
}

static void
set_out(struct iot *t, struct conn *c, bool on)
{
    if (c->want_out == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0u), .data.ptr = c};
    LTD_ASSERT(epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0);
    c->want_out = on;
}

/* Writes as much of the request as the socket takes. Returns false on a
 * connection failure. */
static bool
conn_flush(struct iot *t, struct conn *c)
{
    size_t total = c->hdr_len + c->body_len;
    while (c->sent < total) {
        struct iovec iov[2];
        int k = 0;
        if (c->sent < c->hdr_len) {
            iov[k].iov_base = c->hdr + c->sent;
            iov[k++].iov_len = c->hdr_len - c->sent;
            if (c->body_len) {
                iov[k].iov_base = (void *)(uintptr_t)c->body;
                iov[k++].iov_len = c->body_len;
            }
        } else {
            iov[k].iov_base = (void *)(uintptr_t)(c->body + (c->sent - c->hdr_len));
            iov[k++].iov_len = total - c->sent;
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)k};
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_out(t, c, true);
                return true;
            }
            if (errno == EINTR)
                continue;
            return false;
        }
        c->sent += (size_t)w;
    }
    set_out(t, c, false);
    return true;
}

static void
conn_start(struct iot *t, struct conn *c, uint64_t i, double now)
{
    c->idx = i;
    c->t_start = opt.rate > 0 ? sched_time(i) : now;
    c->sent = 0;
    if (opt.mode == M_OUTPUTS) {
        uint64_t k = mix2(opt.seed ^ UINT64_C(0x6f7574), i) % wl.h.keys;
        char b58[48];
        codec_b58_encode32(wl.pks[k].b, b58);
        int n = snprintf(c->hdr, sizeof c->hdr,
                         "GET /api/v1/outputs?public_key=%s HTTP/1.1\r\nHost: %s\r\n\r\n", b58,
                         opt.host);
        LTD_ASSERT(n > 0 && (size_t)n < sizeof c->hdr);
        c->hdr_len = (size_t)n;
        c->body = NULL;
        c->body_len = 0;
    } else {
        const struct wl_tx *x = &wl.tx[i];
        int n = snprintf(c->hdr, sizeof c->hdr,
                         "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                         "Content-Length: %u\r\n\r\n",
                         run.mode_path, opt.host, x->len);
        LTD_ASSERT(n > 0 && (size_t)n < sizeof c->hdr);
        c->hdr_len = (size_t)n;
        c->body = x->body;
        c->body_len = x->len;
    }
    c->state = C_BUSY;
    if (!conn_flush(t, c)) {
        /* Reconnect once and resend: nothing was answered yet. */
        conn_close(t, c);
        conn_open(t, c);
        c->sent = 0;
        if (!conn_flush(t, c))
            die("cannot send to %s:%s", opt.host, opt.port);
    }
}

static void
record(struct iot *t, struct conn *c, int status, const char *body, size_t blen, double now)
{
    int s = status > 0 && status < lg_status_max ? status : 0;
    t->by_status[s]++;
    t->done++;
    atomic_fetch_add_explicit(&run.answered, 1, memory_order_relaxed);
    t->t_last = now;
    bool ok = status >= 200 && status < 300;
    run.lat[c->idx] = ok ? now - c->t_start : NAN;
    if (ok)
        c->last_ok = (int64_t)c->idx;
    if (!ok && t->n_samples < lg_err_samples_max) {
        bool seen = false;
        for (unsigned k = 0; k < t->n_samples; k++)
            seen = seen || t->samples[k].status == status;
        if (!seen) {
            struct err_sample *e = &t->samples[t->n_samples++];
            e->status = status;
            snprintf(e->text, sizeof e->text, "%.*s", (int)(blen < 190 ? blen : 190),
                     body ? body : "");
        }
    }
    c->state = C_IDLE;
}

/* Reads what arrived; completes the request when its response is whole. */
static void
conn_read(struct iot *t, struct conn *c)
{
    for (;;) {
        buf_reserve(&c->rb, lg_rbuf_min);
        ssize_t k = recv(c->fd, c->rb.p + c->rb.len, c->rb.cap - c->rb.len - 1, 0);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            double now = now_s();
            if (c->state == C_BUSY)
                record(t, c, 0, "connection closed by the server", 31, now);
            conn_close(t, c);
            conn_open(t, c);
            return;
        }
        c->rb.len += (size_t)k;
        long used = parse_response(c->rb.p, c->rb.len, &c->r);
        if (used == 0)
            continue;
        double now = now_s();
        if (used < 0 || c->state != C_BUSY) {
            if (c->state == C_BUSY)
                record(t, c, 0, "malformed response", 18, now);
            conn_close(t, c);
            conn_open(t, c);
            return;
        }
        record(t, c, c->r.status, c->r.body, c->r.body_len, now);
        bool close_it = c->r.close;
        size_t rest = c->rb.len - (size_t)used;
        memmove(c->rb.p, c->rb.p + used, rest);
        c->rb.len = rest;
        if (close_it) {
            conn_close(t, c);
            conn_open(t, c);
        }
        return;
    }
}

static void
arm_timer(struct iot *t, double when)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    double w = when > 0 ? when : 0;
    its.it_value.tv_sec = (time_t)w;
    its.it_value.tv_nsec = (long)((w - (double)(time_t)w) * 1e9);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1;
    timerfd_settime(t->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Gives work to idle connections; returns false when nothing is left and
 * every connection of this thread is idle. */
static bool
dispatch(struct iot *t)
{
    double now = now_s();
    bool busy = false, exhausted = false, waiting = false;
    for (unsigned k = 0; k < t->nc; k++) {
        struct conn *c = &t->c[k];
        if (c->state == C_IDLE && !exhausted && !waiting) {
            uint64_t i = take_index(now);
            if (i == UINT64_MAX)
                exhausted = true;
            else if (i == UINT64_MAX - 1)
                waiting = true;
            else
                conn_start(t, c, i, now);
        }
        busy = busy || c->state == C_BUSY;
    }
    if (waiting) {
        uint64_t nx = atomic_load(&run.next);
        if (nx < opt.requests)
            arm_timer(t, sched_time(nx));
    }
    return busy || !exhausted || waiting;
}

static void *
io_main(void *arg)
{
    struct iot *t = arg;
    struct epoll_event evs[256];
    while (dispatch(t)) {
        int n = epoll_wait(t->ep, evs, (int)ARRAY_LEN(evs), 1000);
        for (int k = 0; k < n; k++) {
            if (evs[k].data.ptr == NULL) {
                uint64_t x;
                ssize_t r = read(t->tfd, &x, sizeof x);
                (void)r;
                continue;
            }
            struct conn *c = evs[k].data.ptr;
            if (c->fd < 0)
                continue;
            if (evs[k].events & EPOLLOUT) {
                if (!conn_flush(t, c)) {
                    record(t, c, 0, "send failed", 11, now_s());
                    conn_close(t, c);
                    conn_open(t, c);
                    continue;
                }
            }
            if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                conn_read(t, c);
        }
    }
    return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double
pct(const double *v, size_t n, double p)
{
    if (n == 0)
        return NAN;
    size_t k = (size_t)ceil(p * (double)n) - 1;
    if (k >= n)
        k = n - 1;
    return v[k];
}

/* async/sync: waits until the last accepted transaction of every
 * connection is committed; returns the time it was seen, or -1. */
static double
wait_committed(void)
{
    int fd = -1;
    double deadline = now_s() + lg_poll_timeout_s;
    struct timespec nap = {0, 2 * 1000 * 1000};
    for (unsigned k = 0; k < opt.io_threads; k++) {
        struct iot *t = &run.io[k];
        for (unsigned j = 0; j < t->nc; j++) {
            if (t->c[j].last_ok < 0)
                continue;
            char path[128];
            snprintf(path, sizeof path, "/api/v1/transactions/%s", wl.tx[t->c[j].last_ok].id);
            for (;;) {
                int st = http_get_blocking(&fd, path, NULL);
                if (st == 200)
                    break;
                if (now_s() > deadline) {
                    fprintf(stderr, "loadgen: %s not committed after %d s (last status %d)\n", path,
                            lg_poll_timeout_s, st);
                    if (fd >= 0)
                        close(fd);
                    return -1;
                }
                nanosleep(&nap, NULL);
            }
        }
    }
    double t = now_s();
    if (fd >= 0)
        close(fd);
    return t;
}

static void
bench_line(const char *name, int decimals, double v)
{
    printf("BENCH %s_%s=%.*f\n", opt.tag, name, decimals, v);
}

/* --progress: answered requests per interval, so that a slowdown as the
 * ledger grows (or a checkpoint stall) shows up as a time series. */
static void *
progress_main(void *arg)
{
    (void)arg;
    uint64_t last = 0;
    double t_last = run.t0;
    while (!atomic_load(&run.finished)) {
        struct timespec nap = {(time_t)opt.progress,
                               (long)((opt.progress - (double)(time_t)opt.progress) * 1e9)};
        nanosleep(&nap, NULL);
        double t = now_s();
        uint64_t a = atomic_load(&run.answered);
        fprintf(stderr, "progress t=%.1f answered=%llu rate=%.0f/s\n", t - run.t0,
                (unsigned long long)a, (double)(a - last) / (t - t_last));
        last = a;
        t_last = t;
    }
    return NULL;
}

static int
send_all(void)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int gai = getaddrinfo(opt.host, opt.port, &hints, &server_ai);
    if (gai != 0)
        die("cannot resolve %s: %s", opt.host, gai_strerror(gai));
    snprintf(run.mode_path, sizeof run.mode_path, "/api/v1/transactions?mode=%s",
             mode_names[opt.mode]);
    run.lat = xmalloc(sizeof *run.lat * opt.requests);
    for (uint64_t i = 0; i < opt.requests; i++)
        run.lat[i] = NAN;
    run.io = xcalloc(opt.io_threads, sizeof *run.io);
    for (unsigned k = 0; k < opt.io_threads; k++) {
        struct iot *t = &run.io[k];
        t->id = k;
        t->nc = opt.conc / opt.io_threads + (k < opt.conc % opt.io_threads ? 1u : 0u);
        t->c = xcalloc(t->nc, sizeof *t->c);
        t->ep = epoll_create1(EPOLL_CLOEXEC);
        t->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        LTD_ASSERT(t->ep >= 0 && t->tfd >= 0);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        LTD_ASSERT(epoll_ctl(t->ep, EPOLL_CTL_ADD, t->tfd, &ev) == 0);
        for (unsigned j = 0; j < t->nc; j++) {
            struct conn *c = &t->c[j];
            buf_init(&c->rb);
            buf_init(&c->r.dechunked);
            c->last_ok = -1;
            c->state = C_IDLE;
            conn_open(t, c);
        }
    }
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    atomic_init(&run.next, 0);
    atomic_init(&run.answered, 0);
    atomic_init(&run.finished, false);
    run.t0 = now_s();
    pthread_t prog;
    if (opt.progress > 0)
        LTD_ASSERT(pthread_create(&prog, NULL, progress_main, NULL) == 0);
    for (unsigned k = 0; k < opt.io_threads; k++)
        LTD_ASSERT(pthread_create(&run.io[k].th, NULL, io_main, &run.io[k]) == 0);
    for (unsigned k = 0; k < opt.io_threads; k++)
        pthread_join(run.io[k].th, NULL);
    getrusage(RUSAGE_SELF, &ru1);
    atomic_store(&run.finished, true);
    if (opt.progress > 0)
        pthread_join(prog, NULL);
    double t_last = run.t0;
    uint64_t by_status[lg_status_max];
    memset(by_status, 0, sizeof by_status);
    for (unsigned k = 0; k < opt.io_threads; k++) {
        struct iot *t = &run.io[k];
        if (t->t_last > t_last)
            t_last = t->t_last;
        for (int s = 0; s < lg_status_max; s++)
            by_status[s] += t->by_status[s];
    }
    uint64_t ok = 0, errs = 0;
    for (int s = 0; s < lg_status_max; s++) {
        if (s >= 200 && s < 300)
            ok += by_status[s];
        else
            errs += by_status[s];
    }
    double t_commit = t_last;
    if (opt.mode == M_ASYNC || opt.mode == M_SYNC) {
        double tc = wait_committed();
        t_commit = tc > 0 ? tc : NAN;
    }
    double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
                 (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) * 1e-6 +
                 (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                 (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) * 1e-6;
    size_t nl = 0;
    for (uint64_t i = 0; i < opt.requests; i++)
        if (!isnan(run.lat[i]))
            run.lat[nl++] = run.lat[i];
    qsort(run.lat, nl, sizeof *run.lat, cmp_double);
    double wall = t_last - run.t0;
    double rate_done = wall > 0 ? (double)ok / wall : 0;
    double rate_commit = (t_commit - run.t0) > 0 ? (double)ok / (t_commit - run.t0) : NAN;
    double mean = 0;
    for (size_t i = 0; i < nl; i++)
        mean += run.lat[i];
    mean = nl ? mean / (double)nl : NAN;

    char loop[64];
    if (opt.rate > 0)
        snprintf(loop, sizeof loop, "open-loop rate=%.0f/s", opt.rate);
    else
        snprintf(loop, sizeof loop, "closed-loop");
    printf("loadgen %s: n=%llu conc=%u %s mix=%.2f io-threads=%u url=http://%s:%s\n",
           mode_names[opt.mode], (unsigned long long)opt.requests, opt.conc, loop, opt.mix,
           opt.io_threads, opt.host, opt.port);
    printf("  answered: %llu ok, %llu errors in %.2f s -> %.0f ok/s\n", (unsigned long long)ok,
           (unsigned long long)errs, wall, rate_done);
    if (opt.mode == M_ASYNC || opt.mode == M_SYNC)
        printf("  all accepted committed after %.2f s -> %.0f committed tx/s\n", t_commit - run.t0,
               rate_commit);
    printf("  latency of ok requests (ms): p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f"
           "  mean %.2f%s\n",
           1e3 * pct(run.lat, nl, 0.5), 1e3 * pct(run.lat, nl, 0.9), 1e3 * pct(run.lat, nl, 0.99),
           1e3 * pct(run.lat, nl, 0.999), nl ? 1e3 * run.lat[nl - 1] : NAN, 1e3 * mean,
           opt.rate > 0 ? " (from scheduled send time)" : "");
    printf("  loadgen CPU: %.2f s (%.0f%% of one core)\n", cpu, wall > 0 ? 100 * cpu / wall : 0);
    printf("  status counts:");
    for (int s = 0; s < lg_status_max; s++)
        if (by_status[s])
            printf(" %d:%llu", s, (unsigned long long)by_status[s]);
    printf("%s\n", by_status[0] ? "  (0 = connection failure)" : "");
    for (unsigned k = 0; k < opt.io_threads; k++)
        for (unsigned j = 0; j < run.io[k].n_samples; j++)
            printf("  sample %d: %s\n", run.io[k].samples[j].status, run.io[k].samples[j].text);

    bench_line("n", 0, (double)opt.requests);
    bench_line("ok", 0, (double)ok);
    bench_line("errors", 0, (double)errs);
    for (int s = 0; s < lg_status_max; s++)
        if (by_status[s] && (s < 200 || s >= 300)) {
            char name[32];
            snprintf(name, sizeof name, "status_%d", s);
            bench_line(name, 0, (double)by_status[s]);
        }
    bench_line("seconds", 3, wall);
    bench_line(opt.mode == M_OUTPUTS ? "req_per_s" : "answered_per_s", 0, rate_done);
    if (opt.mode == M_COMMIT)
        bench_line("committed_per_s", 0, rate_done);
    if (opt.mode == M_ASYNC || opt.mode == M_SYNC) {
        bench_line("commit_seconds", 3, t_commit - run.t0);
        bench_line("committed_per_s", 0, rate_commit);
    }
    bench_line("p50_ms", 3, 1e3 * pct(run.lat, nl, 0.5));
    bench_line("p99_ms", 3, 1e3 * pct(run.lat, nl, 0.99));
    bench_line("p999_ms", 3, 1e3 * pct(run.lat, nl, 0.999));
    bench_line("max_ms", 3, nl ? 1e3 * run.lat[nl - 1] : NAN);
    bench_line("loadgen_cpu_pct", 0, wall > 0 ? 100 * cpu / wall : 0);
    freeaddrinfo(server_ai);
    return errs ? 1 : 0;
}

int
main(int argc, char **argv)
{
    parse_args(argc, argv);
    codec_init();
    char path[4096];
    if (opt.wl_file)
        snprintf(path, sizeof path, "%s", opt.wl_file);
    else
        wl_default_path(path, sizeof path);
    if (!wl_load(path)) {
        if (opt.mode == M_OUTPUTS)
            fprintf(stderr, "loadgen: no workload in '%s' to take keys from; generating\n", path);
        wl_generate(path);
    }
    if (opt.mode == M_GEN) {
        printf("BENCH %s_workload_n=%llu\n", opt.tag, (unsigned long long)wl.h.n);
        return 0;
    }
    int rc = send_all();
    fflush(stdout);
    return rc;
}
