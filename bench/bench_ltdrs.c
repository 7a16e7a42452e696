/*
 * bench_ltdrs.c - the LTDRS workload at university scale, through the real
 * node (node_open + node_submit in commit mode from several threads: the
 * same submit path as POST /api/v1/transactions?mode=commit, precheck and
 * applier both run), then the queries behind the LTDRS API (query.h).
 *
 *   BENCH_LTDRS_SCALE=small build/bench/bench_ltdrs   (default)
 *   BENCH_LTDRS_SCALE=full  build/bench/bench_ltdrs
 *
 *   scale   students  activities  tickets (distributed)   departments
 *   small      5,000         100    100,000                       10
 *   full      50,000       1,000  1,000,000                       20
 *
 * Set-up, all through node_submit (every record signed, nothing written
 * with SQL): roster records of up to 5,000 students (admin), one student
 * record per student signed by the student's own new key (pre-signed on
 * all cores, then submitted), departments + certification, one application
 * per activity + the admin's ticket CREATE of (tickets / activities) to the
 * department.  Then the measured part: every activity's tickets are
 * distributed by its department in TRANSFERs of BENCH_LTDRS_BATCH (default
 * 125) 2-of-2 {student, department} outputs + change, each spending the
 * previous change (a chain per activity: in commit mode, transfer k+1 is
 * sent once k is committed; chains run in parallel on BENCH_LTDRS_THREADS
 * submitter threads).  Transfers are built and signed before the clock
 * starts, in waves of 100 activities (memory), on all cores; only the
 * submission time counts for the throughput.  Also reported: the process's
 * CPU time per student record and per distributed ticket during submission
 * (getrusage: submitters' prechecks, the applier, SQLite), which the load of
 * the shared machine disturbs less than wall time; stderr shows it per wave
 * of 100 activities, against the growing ledger.
 *
 * Queries, on the live node after the load: student by number
 * (query_student = GET /ltdrs/api/v1/students/{sid}, BENCH_LTDRS_LOOKUPS
 * random numbers, wall and thread-CPU percentiles) and the all-students
 * report as CSV (query_report_csv = GET /ltdrs/api/v1/students?format=csv,
 * every student; by number, by count, and filtered by one activity).
 *
 * Environment: BENCH_LTDRS_SCALE small|full; BENCH_LTDRS_STUDENTS,
 * _ACTIVITIES, _TICKETS override the scale; BENCH_LTDRS_THREADS (default
 * 16); BENCH_LTDRS_BATCH (default 125, 1..999); BENCH_LTDRS_LOOKUPS
 * (default 5000); BENCH_LTDRS_DIR parent of the data dir (default /tmp);
 * BENCH_LTDRS_KEEP=1 keeps the data dir; BENCH_LTDRS_QUERY_ONLY=DIR measures
 * only the queries, on such a kept ledger.
 *
 * Output: a table, `BENCH name=value` lines and the command.  The machine
 * is shared and noisy: compare ranges across runs.
 */
#include "cc.h"
#include "cjson.h"
#include "codec.h"
#include "err.h"
#include "ltd.h"
#include "ltdrs.h"
#include "node.h"
#include "query.h"
#include "store.h"
#include "tx.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    roster_batch = 5000, /* ltdrs_roster_max */
    wave_activities = 100,
    code_bytes = 10, /* 80 random bits per activation code */
};

struct key {
    struct ltd_pubkey pk;
    struct ltd_seed seed;
};

struct body {
    char *p;
    size_t len;
};

/* ------------------------------------------------------------ config */

static unsigned n_students, n_activities, n_depts, n_threads, batch, n_lookups;
static unsigned long n_tickets;
static unsigned tickets_per_act;
static const char *scale = "small";

static unsigned
env_uint(const char *name, unsigned def)
{
    const char *v = getenv(name);
    if (v == NULL || *v == 0)
        return def;
    char *end;
    unsigned long x = strtoul(v, &end, 10);
    if (*end != 0 || x == 0 || x > 100000000ul) {
        fprintf(stderr, "bench_ltdrs: %s must be a positive number\n", name);
        exit(2);
    }
    return (unsigned)x;
}

static double
now_s(void)
{
    return (double)ltd_mono_ns() / 1e9;
}

static double
thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of the whole process (all threads: submitters, applier,
 * SQLite), user + system. */
static double
proc_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void
loadavg(char *out, size_t cap)
{
    snprintf(out, cap, "?");
    FILE *f = fopen("/proc/loadavg", "r");
    if (f == NULL)
        return;
    double a = 0;
    if (fscanf(f, "%lf", &a) == 1)
        snprintf(out, cap, "%.1f", a);
    fclose(f);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* q-quantile of sorted v[0..n) (nearest rank). */
static double
quantile(const double *v, size_t n, double q)
{
    size_t i = (size_t)(q * (double)n + 0.999999);
    if (i < 1)
        i = 1;
    if (i > n)
        i = n;
    return v[i - 1];
}

static void
die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_ltdrs: %s: %s\n", what, msg);
    exit(1);
}

/* ------------------------------------------------------------ parallel for */

struct par {
    atomic_size_t next;
    size_t n;
    void (*fn)(size_t i, void *ctx);
    void *ctx;
};

static void *
par_worker(void *arg)
{
    struct par *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n)
            return NULL;
        p->fn(i, p->ctx);
    }
}

static void
par_for(size_t n, unsigned threads, void (*fn)(size_t, void *), void *ctx)
{
    struct par p;
    atomic_init(&p.next, 0);
    p.n = n;
    p.fn = fn;
    p.ctx = ctx;
    pthread_t *t = xcalloc(threads, sizeof *t);
    for (unsigned i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, par_worker, &p) != 0)
            die("pthread_create", "failed");
    for (unsigned i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    free(t);
}

static unsigned
cpus(void)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c < 1 ? 1u : (unsigned)c;
}

/* ------------------------------------------------------------ the node */

static struct node *node;
static struct key admin;

struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    enum ltd_err result;
    char msg[errmsg_bytes_max];
};

static void
on_done(void *arg, enum ltd_err result, const struct ltd_errbuf *eb, uint64_t height)
{
    (void)height;
    struct waiter *w = arg;
    pthread_mutex_lock(&w->lock);
    w->done = true;
    w->result = result;
    snprintf(w->msg, sizeof w->msg, "%s", eb ? eb->msg : "");
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* Submits one body in commit mode and waits for its block; retries while
 * the node's queue is full.  Dies on any other failure. */
static void
commit(const struct body *b)
{
    for (;;) {
        struct waiter w;
        memset(&w, 0, sizeof w);
        pthread_mutex_init(&w.lock, NULL);
        pthread_cond_init(&w.cond, NULL);
        struct ltd_errbuf eb;
        ltd_errbuf_clear(&eb);
        enum ltd_err e = node_submit(node, b->p, b->len, NODE_COMMIT, on_done, &w, NULL, NULL, &eb);
        if (e == LTD_OK) {
            pthread_mutex_lock(&w.lock);
            while (!w.done)
                pthread_cond_wait(&w.cond, &w.lock);
            pthread_mutex_unlock(&w.lock);
            e = w.result;
            memcpy(eb.msg, w.msg, sizeof eb.msg);
        }
        pthread_mutex_destroy(&w.lock);
        pthread_cond_destroy(&w.cond);
        if (e == LTD_OK)
            return;
        if (e == LTD_E_OVERLOAD) {
            usleep(1000);
            continue;
        }
        char what[80];
        snprintf(what, sizeof what, "submit failed (%s)", ltd_err_name(e));
        die(what, eb.msg);
    }
}

/* Bodies submitted from `threads` threads, each synchronously. */
static void
commit_one(size_t i, void *ctx)
{
    commit(&((struct body *)ctx)[i]);
}

/* Chains: each a list of bodies sent in order, one at a time. */
struct chain {
    struct body *txs;
    unsigned n;
};

static void
commit_chain(size_t i, void *ctx)
{
    struct chain *c = &((struct chain *)ctx)[i];
    for (unsigned k = 0; k < c->n; k++)
        commit(&c->txs[k]);
}

/* ------------------------------------------------------------ records */

/* A CREATE by k of asset data `json` (an LTDRS record), one output of
 * `amount` to `to` (NULL: the signer), metadata {"nonce": n}. */
static struct body
create_body(const struct key *k, const struct ltd_pubkey *to, uint64_t amount, const char *json,
            size_t json_len, uint64_t nonce, char id_hex[65])
{
    struct arena a;
    arena_init(&a);
    struct cjson *data = NULL;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (cjson_parse(&a, json, json_len, NULL, &data, &eb) != LTD_OK)
        die("record JSON", eb.msg);
    struct tx_new_output o = {cc_details_ed25519(&a, to ? to : &k->pk), amount};
    struct cjson *md = cjson_new_object(&a);
    cjson_obj_set(&a, md, "nonce", cjson_new_int(&a, (int64_t)nonce));
    struct tx t;
    if (tx_build_create(&a, &k->pk, 1, data, md, &o, 1, &t, &eb) != LTD_OK ||
        tx_sign(&a, &t, &k->seed, NULL, false, NULL, &eb) != LTD_OK)
        die("building a CREATE", eb.msg);
    struct buf b;
    buf_init(&b);
    tx_serialize(&t, &b);
    if (id_hex)
        memcpy(id_hex, t.id_hex, 65);
    arena_release(&a);
    struct body r;
    r.p = buf_detach(&b, &r.len);
    return r;
}

static void
body_free(struct body *b)
{
    free(b->p);
    b->p = NULL;
}

/* ------------------------------------------------------------ the world */

static struct key *students;
static char (*sids)[16];
static char (*codes)[2 * code_bytes + 1];
static struct key *depts;
static char (*dept_ids)[65];
static char (*app_ids)[65];
static char (*ticket_ids)[65];
static struct body *student_bodies;

static const char *const categories[] = {"学术讲座", "文体活动", "志愿服务", "创新创业",
                                         "心理健康"};
static const char *const venues[] = {"A1 教学楼", "图书馆报告厅", "Main Hall B201",
                                     "学生活动中心二楼", "理科楼 301"};

static void
gen_student(size_t i, void *ctx)
{
    (void)ctx;
    codec_ed25519_keypair(&students[i].pk, &students[i].seed);
    snprintf(sids[i], sizeof sids[i], "S%08zu", i + 1);
    uint8_t r[code_bytes];
    codec_random(r, sizeof r);
    hex_encode(codes[i], r, sizeof r);
}

static void
sign_student(size_t i, void *ctx)
{
    (void)ctx;
    char json[256];
    int n = snprintf(json, sizeof json,
                     "{\"ltdrs\":\"student\",\"v\":1,\"sid\":\"%s\",\"code\":\"%s\",\"name\":"
                     "\"学生%zu\"}",
                     sids[i], codes[i], i + 1);
    student_bodies[i] = create_body(&students[i], NULL, 1, json, (size_t)n, i + 1, NULL);
}

static void
activity_fields(unsigned a, char *out, size_t cap)
{
    /* activities spread over a year, two hours each */
    unsigned day = a % 360, hour = 8 + (a / 360) % 10;
    snprintf(out, cap,
             "\"name\":\"讲座 No.%u 人工智能与社会\",\"start\":\"2024-%02u-%02uT%02u:00:00+08:00\","
             "\"end\":\"2024-%02u-%02uT%02u:00:00+08:00\",\"venue\":\"%s\",\"category\":\"%s\"",
             a + 1, 1 + day / 30, 1 + day % 28, hour, 1 + day / 30, 1 + day % 28, hour + 2,
             venues[a % ARRAY_LEN(venues)], categories[a % ARRAY_LEN(categories)]);
}

/* The students of activity a: i * stride + offset mod S, stride coprime to S,
 * so that tickets_per_act <= S numbers are distinct. */
static unsigned
activity_student(unsigned a, unsigned i)
{
    static const unsigned primes[] = {7919, 104729, 1299709, 15485863, 179424673};
    unsigned long long s = n_students;
    unsigned long long stride = primes[a % ARRAY_LEN(primes)];
    for (;;) { /* gcd(stride, S) == 1: i -> i * stride mod S is one-to-one */
        unsigned long long x = stride, y = s;
        while (y) {
            unsigned long long t = x % y;
            x = y;
            y = t;
        }
        if (x == 1)
            break;
        stride++;
    }
    return (unsigned)(((unsigned long long)i * stride + (unsigned long long)a * 7777) % s);
}

/* The distribution chain of activity a: transfers of `batch` tickets. */
struct wave {
    unsigned first; /* first activity */
    struct chain *chains;
    size_t bytes;
    atomic_size_t total_bytes;
};

static void
build_chain(size_t w_i, void *ctx)
{
    struct wave *w = ctx;
    unsigned a = w->first + (unsigned)w_i;
    const struct key *d = &depts[a % n_depts];
    struct chain *c = &w->chains[w_i];
    c->n = (tickets_per_act + batch - 1) / batch;
    c->txs = xcalloc(c->n, sizeof *c->txs);
    struct ltd_hash asset, prev;
    LTD_ASSERT(hex_decode(asset.b, 32, ticket_ids[a], 64));
    prev = asset;
    uint64_t prev_index = 0, left = tickets_per_act;
    size_t bytes = 0;
    for (unsigned k = 0; k < c->n; k++) {
        struct arena ar;
        arena_init(&ar);
        unsigned m = left < batch ? (unsigned)left : batch;
        bool change = left > m;
        struct tx_new_input in;
        in.txid = prev;
        in.index = prev_index;
        in.details = cc_details_ed25519(&ar, &d->pk);
        struct tx_new_output *o = arena_alloc(&ar, sizeof *o * (m + 1));
        struct cjson *md = cjson_new_object(&ar), *list = cjson_new_array(&ar);
        cjson_obj_set(&ar, md, "ltdrs", cjson_new_stringz(&ar, "distribution"));
        cjson_obj_set(&ar, md, "v", cjson_new_int(&ar, 1));
        for (unsigned j = 0; j < m; j++) {
            unsigned s = activity_student(a, (unsigned)(tickets_per_act - left) + j);
            struct cc_details **subs = arena_alloc(&ar, sizeof *subs * 2);
            subs[0] = cc_details_ed25519(&ar, &students[s].pk);
            subs[1] = cc_details_ed25519(&ar, &d->pk);
            o[j].details = cc_details_threshold(&ar, 2, 2, subs);
            o[j].amount = 1;
            cjson_arr_push(&ar, list, cjson_new_stringz(&ar, sids[s]));
        }
        if (change) {
            o[m].details = cc_details_ed25519(&ar, &d->pk);
            o[m].amount = left - m;
        }
        cjson_obj_set(&ar, md, "students", list);
        struct tx t;
        struct ltd_errbuf eb;
        ltd_errbuf_clear(&eb);
        const struct cc_details *sp[1] = {in.details};
        if (tx_build_transfer(&ar, &asset, &in, 1, md, o, m + (change ? 1u : 0u), &t, &eb) !=
                LTD_OK ||
            tx_sign(&ar, &t, &d->seed, sp, false, NULL, &eb) != LTD_OK)
            die("building a distribution", eb.msg);
        struct buf b;
        buf_init(&b);
        tx_serialize(&t, &b);
        bytes += b.len;
        c->txs[k].p = buf_detach(&b, &c->txs[k].len);
        prev = t.id;
        prev_index = m; /* the change output follows the student outputs */
        left -= m;
        arena_release(&ar);
    }
    atomic_fetch_add(&w->total_bytes, bytes);
}

/* ------------------------------------------------------------ output */

struct row {
    char name[64];
    char value[64];
    char note[96];
};
static struct row rows[64];
static int n_rows;

static void LTD_PRINTF(3, 4) row(const char *name, const char *note, const char *fmt, ...)
{
    LTD_ASSERT(n_rows < (int)ARRAY_LEN(rows));
    struct row *r = &rows[n_rows++];
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->note, sizeof r->note, "%s", note);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->value, sizeof r->value, fmt, ap);
    va_end(ap);
}

static char bench_lines[8192];
static size_t bench_len;

static void LTD_PRINTF(1, 2) bench(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(bench_lines + bench_len, sizeof bench_lines - bench_len, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof bench_lines - bench_len)
        bench_len += (size_t)n;
}

static unsigned long long
dir_bytes(const char *dir)
{
    static const char *const files[] = {"ledger.db", "ledger.db-wal", "ledger.db-shm"};
    unsigned long long total = 0;
    for (size_t i = 0; i < ARRAY_LEN(files); i++) {
        char p[700];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        if (stat(p, &st) == 0)
            total += (unsigned long long)st.st_size;
    }
    return total;
}

/* ------------------------------------------------------------ the load */

struct figs {
    double t_keys, t_roster, t_sign_students, t_students, cpu_students, t_apps;
    double t_build, t_dist, cpu_dist;
    size_t dist_txs, dist_bytes;
};

/* Roster, students, departments, applications, approvals, then the timed
 * distribution, all through node_submit. */
static void
load_ledger(struct figs *fg, unsigned ncpu)
{
    uint64_t nonce = 1000000000;
    /* ---- keys, roster ---- */
    double t0 = now_s();
    students = xcalloc(n_students, sizeof *students);
    sids = xcalloc(n_students, sizeof *sids);
    codes = xcalloc(n_students, sizeof *codes);
    par_for(n_students, ncpu, gen_student, NULL);
    double t_keys = now_s() - t0;

    t0 = now_s();
    unsigned n_roster = (n_students + roster_batch - 1) / roster_batch;
    struct body *roster = xcalloc(n_roster, sizeof *roster);
    for (unsigned r = 0; r < n_roster; r++) {
        struct buf j;
        buf_init(&j);
        buf_adds(&j, "{\"ltdrs\":\"roster\",\"v\":1,\"generation\":1,\"students\":[");
        for (unsigned i = r * roster_batch; i < n_students && i < (r + 1) * roster_batch; i++) {
            uint8_t h[32];
            char hx[65];
            ltdrs_code_hash(sids[i], codes[i], h);
            hex_encode(hx, h, 32);
            buf_addf(&j, "%s{\"sid\":\"%s\",\"code_hash\":\"%s\"}",
                     i == r * roster_batch ? "" : ",", sids[i], hx);
        }
        buf_adds(&j, "]}");
        roster[r] = create_body(&admin, NULL, 1, j.p, j.len, nonce++, NULL);
        buf_release(&j);
    }
    par_for(n_roster, n_threads < n_roster ? n_threads : n_roster, commit_one, roster);
    for (unsigned r = 0; r < n_roster; r++)
        body_free(&roster[r]);
    free(roster);
    double t_roster = now_s() - t0;

    /* ---- student records: pre-sign on all cores, then submit ---- */
    student_bodies = xcalloc(n_students, sizeof *student_bodies);
    t0 = now_s();
    par_for(n_students, ncpu, sign_student, NULL);
    double t_sign_students = now_s() - t0;
    t0 = now_s();
    double c0 = proc_cpu_s();
    par_for(n_students, n_threads, commit_one, student_bodies);
    double t_students = now_s() - t0, cpu_students = proc_cpu_s() - c0;
    for (unsigned i = 0; i < n_students; i++)
        body_free(&student_bodies[i]);
    free(student_bodies);

    /* ---- departments, certification, applications, approvals ---- */
    t0 = now_s();
    depts = xcalloc(n_depts, sizeof *depts);
    dept_ids = xcalloc(n_depts, sizeof *dept_ids);
    struct body *bodies = xcalloc(n_activities > n_depts ? n_activities : n_depts, sizeof *bodies);
    for (unsigned i = 0; i < n_depts; i++) {
        char json[256];
        codec_ed25519_keypair(&depts[i].pk, &depts[i].seed);
        int n = snprintf(json, sizeof json,
                         "{\"ltdrs\":\"department\",\"v\":1,\"name\":\"学生部门 %u\",\"contact\":"
                         "\"dept%u@example.edu.cn\"}",
                         i + 1, i + 1);
        bodies[i] = create_body(&depts[i], NULL, 1, json, (size_t)n, nonce++, dept_ids[i]);
    }
    par_for(n_depts, n_threads, commit_one, bodies);
    for (unsigned i = 0; i < n_depts; i++) {
        char json[256];
        body_free(&bodies[i]);
        int n = snprintf(json, sizeof json,
                         "{\"ltdrs\":\"certify\",\"v\":1,\"department\":\"%s\",\"decision\":"
                         "\"approved\",\"reason\":\"ok\"}",
                         dept_ids[i]);
        bodies[i] = create_body(&admin, NULL, 1, json, (size_t)n, nonce++, NULL);
    }
    par_for(n_depts, n_threads, commit_one, bodies);
    for (unsigned i = 0; i < n_depts; i++)
        body_free(&bodies[i]);
    app_ids = xcalloc(n_activities, sizeof *app_ids);
    ticket_ids = xcalloc(n_activities, sizeof *ticket_ids);
    for (unsigned a = 0; a < n_activities; a++) {
        char json[1024], f[700];
        activity_fields(a, f, sizeof f);
        int n = snprintf(json, sizeof json,
                         "{\"ltdrs\":\"application\",\"v\":1,%s,\"tickets\":%u,\"description\":"
                         "\"面向全校学生，签到后发放讲座票\"}",
                         f, tickets_per_act);
        bodies[a] = create_body(&depts[a % n_depts], NULL, 1, json, (size_t)n, nonce++, app_ids[a]);
    }
    par_for(n_activities, n_threads, commit_one, bodies);
    for (unsigned a = 0; a < n_activities; a++) {
        char json[1024], f[700];
        body_free(&bodies[a]);
        activity_fields(a, f, sizeof f);
        int n = snprintf(json, sizeof json,
                         "{\"ltdrs\":\"ticket\",\"v\":1,\"application\":\"%s\",%s}", app_ids[a], f);
        bodies[a] = create_body(&admin, &depts[a % n_depts].pk, tickets_per_act, json, (size_t)n,
                                nonce++, ticket_ids[a]);
    }
    par_for(n_activities, n_threads, commit_one, bodies);
    for (unsigned a = 0; a < n_activities; a++)
        body_free(&bodies[a]);
    free(bodies);
    double t_apps = now_s() - t0;

    /* ---- distribution: built per wave on all cores, submitted timed ---- */
    double t_build = 0, t_dist = 0, cpu_dist = 0;
    size_t dist_txs = 0, dist_bytes = 0;
    for (unsigned first = 0; first < n_activities; first += wave_activities) {
        struct wave w;
        memset(&w, 0, sizeof w);
        w.first = first;
        unsigned n =
            n_activities - first < wave_activities ? n_activities - first : wave_activities;
        w.chains = xcalloc(n, sizeof *w.chains);
        atomic_init(&w.total_bytes, 0);
        t0 = now_s();
        par_for(n, ncpu, build_chain, &w);
        t_build += now_s() - t0;
        t0 = now_s();
        c0 = proc_cpu_s();
        par_for(n, n_threads < n ? n_threads : n, commit_chain, w.chains);
        double wt = now_s() - t0, wc = proc_cpu_s() - c0;
        t_dist += wt;
        cpu_dist += wc;
        dist_bytes += atomic_load(&w.total_bytes);
        for (unsigned i = 0; i < n; i++) {
            dist_txs += w.chains[i].n;
            for (unsigned k = 0; k < w.chains[i].n; k++)
                body_free(&w.chains[i].txs[k]);
            free(w.chains[i].txs);
        }
        free(w.chains);
        char la[32];
        loadavg(la, sizeof la);
        fprintf(stderr,
                "bench_ltdrs: distributed %lu / %lu tickets: this wave %.0f tickets/s, %.0f us CPU "
                "per ticket, load %s\n",
                (unsigned long)(first + n) * tickets_per_act, n_tickets,
                (double)n * tickets_per_act / wt, 1e6 * wc / ((double)n * tickets_per_act), la);
    }
    *fg = (struct figs){t_keys,  t_roster, t_sign_students, t_students, cpu_students, t_apps,
                        t_build, t_dist,   cpu_dist,        dist_txs,   dist_bytes};
}

/* BENCH_LTDRS_QUERY_ONLY: the students and one activity of an existing
 * ledger made by this benchmark (kept with BENCH_LTDRS_KEEP=1). */
static void
find_ledger(struct store *st)
{
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf b;
    buf_init(&b);
    struct query_report q;
    memset(&q, 0, sizeof q);
    q.pg.page = 1;
    q.pg.per_page = 1;
    if (query_report_json(st, &q, &b, &eb) != LTD_OK)
        die("query_report_json", eb.msg);
    const char *t = strstr(b.p, "\"total\":");
    if (t == NULL || (n_students = (unsigned)strtoul(t + 8, NULL, 10)) == 0)
        die("no students in this ledger", b.p);
    sids = xcalloc(n_students, sizeof *sids);
    for (unsigned i = 0; i < n_students; i++)
        snprintf(sids[i], sizeof sids[i], "S%08u", i + 1);
    buf_reset(&b);
    struct query_filter f;
    memset(&f, 0, sizeof f);
    struct query_page pg = {1, 1};
    if (query_activities(st, &f, &pg, &b, &eb) != LTD_OK)
        die("query_activities", eb.msg);
    const char *id = strstr(b.p, "\"id\":\"");
    n_activities = 1;
    app_ids = xcalloc(1, sizeof *app_ids);
    if (id == NULL || strlen(id) < 6 + 64)
        die("no activity in this ledger", b.p);
    memcpy(app_ids[0], id + 6, 64);
    buf_release(&b);
}

/* The rows of the load phases. */
static void
load_rows(const struct figs *fg, unsigned ncpu)
{
    char note[96];
    row("keys + activation codes", "all cores", "%.2f s", fg->t_keys);
    snprintf(note, sizeof note, "%u records of <= %d students",
             (n_students + roster_batch - 1) / roster_batch, (int)roster_batch);
    row("roster import (commit)", note, "%.2f s", fg->t_roster);
    snprintf(note, sizeof note, "%u records, %u cores", n_students, ncpu);
    row("student records: pre-sign", note, "%.0f /s", (double)n_students / fg->t_sign_students);
    snprintf(note, sizeof note, "%.1f s, %u threads", fg->t_students, n_threads);
    row("student records: submit (commit)", note, "%.0f /s", (double)n_students / fg->t_students);
    row("student records: node CPU per record", "precheck + apply + store", "%.0f us",
        1e6 * fg->cpu_students / n_students);
    snprintf(note, sizeof note, "%u depts, %u activities", n_depts, n_activities);
    row("departments, applications, approvals", note, "%.2f s", fg->t_apps);
    snprintf(note, sizeof note, "%zu transfers, %.0f MB, %u cores", fg->dist_txs,
             (double)fg->dist_bytes / 1e6, ncpu);
    row("distribution: build + sign", note, "%.0f tickets/s", (double)n_tickets / fg->t_build);
    snprintf(note, sizeof note, "%lu tickets in %.1f s, %zu tx/s", n_tickets, fg->t_dist,
             (size_t)((double)fg->dist_txs / fg->t_dist));
    row("distribution: submit (commit)", note, "%.0f tickets/s", (double)n_tickets / fg->t_dist);
    snprintf(note, sizeof note, "node: precheck + apply + store, all threads");
    row("distribution: node CPU per ticket", note, "%.0f us",
        1e6 * fg->cpu_dist / (double)n_tickets);
    row("  = tickets per CPU-second", "(throughput if the node had one idle core)", "%.0f",
        (double)n_tickets / fg->cpu_dist);
}

/* ------------------------------------------------------------ main */

int
main(void)
{
    codec_init();
    scale = getenv("BENCH_LTDRS_SCALE") ? getenv("BENCH_LTDRS_SCALE") : "small";
    bool full = strcmp(scale, "full") == 0;
    if (!full && strcmp(scale, "small") != 0) {
        fprintf(stderr, "bench_ltdrs: BENCH_LTDRS_SCALE must be small or full\n");
        return 2;
    }
    n_students = env_uint("BENCH_LTDRS_STUDENTS", full ? 50000 : 5000);
    n_activities = env_uint("BENCH_LTDRS_ACTIVITIES", full ? 1000 : 100);
    n_tickets = env_uint("BENCH_LTDRS_TICKETS", full ? 1000000 : 100000);
    n_threads = env_uint("BENCH_LTDRS_THREADS", 16);
    batch = env_uint("BENCH_LTDRS_BATCH", 125);
    n_lookups = env_uint("BENCH_LTDRS_LOOKUPS", 5000);
    n_depts = full ? 20 : 10;
    if (n_depts > n_activities)
        n_depts = n_activities;
    tickets_per_act = (unsigned)(n_tickets / n_activities);
    if (tickets_per_act < 1 || tickets_per_act > n_students ||
        tickets_per_act > ltdrs_tickets_max || batch >= tx_outputs_max) {
        fprintf(stderr,
                "bench_ltdrs: need 1 <= tickets/activities <= students (and <= %d), "
                "batch < %d\n",
                (int)ltdrs_tickets_max, (int)tx_outputs_max);
        return 2;
    }
    n_tickets = (unsigned long)tickets_per_act * n_activities;
    unsigned ncpu = cpus();
    /* the command that reproduces this run */
    char overrides[300] = "";
    static const char *const knobs[] = {"BENCH_LTDRS_STUDENTS", "BENCH_LTDRS_ACTIVITIES",
                                        "BENCH_LTDRS_TICKETS", "BENCH_LTDRS_LOOKUPS"};
    for (size_t i = 0; i < ARRAY_LEN(knobs); i++)
        if (getenv(knobs[i]) && *getenv(knobs[i])) {
            size_t used = strlen(overrides);
            snprintf(overrides + used, sizeof overrides - used, "%s=%.12s ", knobs[i],
                     getenv(knobs[i]));
            if (i < 3)
                scale = "custom";
        }

    const char *qdir = getenv("BENCH_LTDRS_QUERY_ONLY");
    bool qonly = qdir != NULL && *qdir != 0;
    const char *parent = getenv("BENCH_LTDRS_DIR") ? getenv("BENCH_LTDRS_DIR") : "/tmp";
    char tmpl[512] = "", dir[600];
    if (qonly) {
        snprintf(dir, sizeof dir, "%.500s", qdir);
        scale = "query-only";
    } else {
        snprintf(tmpl, sizeof tmpl, "%.400s/ltdrs-bench-ltdrs.XXXXXX", parent);
        if (mkdtemp(tmpl) == NULL)
            die("mkdtemp", tmpl);
        snprintf(dir, sizeof dir, "%s/d", tmpl);
    }

    char load0[32];
    loadavg(load0, sizeof load0);
    if (qonly)
        printf("bench_ltdrs: queries only, on the ledger in %s; cpus=%u load=%s\n", dir, ncpu,
               load0);
    else
        printf("bench_ltdrs: scale=%s students=%u activities=%u tickets=%lu (%u per activity) "
               "departments=%u batch=%u submit-threads=%u cpus=%u load=%s\n",
               scale, n_students, n_activities, n_tickets, tickets_per_act, n_depts, batch,
               n_threads, ncpu, load0);
    fflush(stdout);

    codec_ed25519_keypair(&admin.pk, &admin.seed);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (!qonly && node_init(dir, &admin.pk, NULL, &eb) != LTD_OK)
        die("node_init", eb.msg);
    struct node_config cfg;
    node_config_defaults(&cfg);
    cfg.data_dir = dir;
    if (node_open(&cfg, &node, &eb) != LTD_OK)
        die("node_open", eb.msg);
    double t_all = now_s();

    struct figs fg;
    memset(&fg, 0, sizeof fg);
    if (qonly)
        find_ledger(node_store(node));
    else
        load_ledger(&fg, ncpu);
    double t_setup = now_s() - t_all;
    struct node_stats ns;
    node_stats(node, &ns);

    /* ---- check one activity's figures ---- */
    struct store *st = node_store(node);
    if (!qonly) {
        struct buf b;
        buf_init(&b);
        struct ltd_hash app;
        LTD_ASSERT(hex_decode(app.b, 32, app_ids[n_activities - 1], 64));
        if (query_activity(st, &app, true, NULL, &b, &eb) != LTD_OK)
            die("query_activity", eb.msg);
        char want[64];
        snprintf(want, sizeof want, "\"distributed\":%u", tickets_per_act);
        if (strstr(b.p, want) == NULL)
            die("the last activity is not fully distributed", b.p);
        buf_release(&b);
    }

    /* ---- student lookups ---- */
    double *wall = xcalloc(n_lookups, sizeof *wall), *cpu = xcalloc(n_lookups, sizeof *cpu);
    uint64_t rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)time(NULL);
    size_t resp_bytes = 0;
    struct buf b;
    buf_init(&b);
    for (unsigned i = 0; i < n_lookups; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        unsigned s = (unsigned)(rng % n_students);
        buf_reset(&b);
        double tc0 = thread_cpu_s(), w0 = now_s();
        if (query_student(st, sids[s], &b, &eb) != LTD_OK)
            die("query_student", eb.msg);
        wall[i] = (now_s() - w0) * 1e3;
        cpu[i] = (thread_cpu_s() - tc0) * 1e3;
        resp_bytes += b.len;
    }
    qsort(wall, n_lookups, sizeof *wall, cmp_double);
    qsort(cpu, n_lookups, sizeof *cpu, cmp_double);

    /* ---- the all-students report as CSV ---- */
    enum { reps = 5 };
    struct {
        const char *name;
        enum query_sort sort;
        bool desc;
        bool by_app;
        double t[reps], c[reps]; /* wall, thread CPU (ms) */
        size_t bytes, rows;
    } rep[] = {{"report_csv_by_sid", QUERY_SORT_SID, false, false, {0}, {0}, 0, 0},
               {"report_csv_by_count", QUERY_SORT_COUNT, true, false, {0}, {0}, 0, 0},
               {"report_csv_activity", QUERY_SORT_SID, false, true, {0}, {0}, 0, 0}};
    for (int k = 0; k < reps; k++)
        for (size_t r = 0; r < ARRAY_LEN(rep); r++) {
            struct query_report q;
            memset(&q, 0, sizeof q);
            q.sort = rep[r].sort;
            q.desc = rep[r].desc;
            q.pg.page = 1;
            q.pg.per_page = 100;
            if (rep[r].by_app) {
                q.f.has_app = true;
                LTD_ASSERT(hex_decode(q.f.app.b, 32, app_ids[0], 64));
            }
            buf_reset(&b);
            double w0 = now_s(), rc0 = thread_cpu_s();
            if (query_report_csv(st, &q, &b, &eb) != LTD_OK)
                die("query_report_csv", eb.msg);
            rep[r].t[k] = (now_s() - w0) * 1e3;
            rep[r].c[k] = (thread_cpu_s() - rc0) * 1e3;
            rep[r].bytes = b.len;
            rep[r].rows = 0;
            for (size_t i = 0; i < b.len; i++)
                rep[r].rows += b.p[i] == '\n';
            rep[r].rows -= 1; /* header */
        }
    buf_release(&b);
    for (size_t r = 0; r < ARRAY_LEN(rep); r++) {
        qsort(rep[r].t, reps, sizeof rep[r].t[0], cmp_double);
        qsort(rep[r].c, reps, sizeof rep[r].c[0], cmp_double);
    }
    if (rep[0].rows != n_students)
        die("report", "the CSV does not have one row per student");

    unsigned long long db = dir_bytes(dir);
    node_close(node);

    /* ---- report ---- */
    double tps = (double)n_tickets / fg.t_dist;
    char note[96];
    if (!qonly)
        load_rows(&fg, ncpu);
    snprintf(note, sizeof note, "wall; max %.2f; %.1f KB/answer", wall[n_lookups - 1],
             (double)resp_bytes / n_lookups / 1024);
    row("student lookup p50 / p99 (ms)", note, "%.2f / %.2f", quantile(wall, n_lookups, 0.5),
        quantile(wall, n_lookups, 0.99));
    snprintf(note, sizeof note, "thread CPU; %u lookups", n_lookups);
    row("student lookup p50 / p99 CPU (ms)", note, "%.2f / %.2f", quantile(cpu, n_lookups, 0.5),
        quantile(cpu, n_lookups, 0.99));
    const char *rlabel[] = {"report CSV all, by sid (ms)", "report CSV all, by count (ms)",
                            "report CSV one activity (ms)"};
    for (size_t r = 0; r < ARRAY_LEN(rep); r++) {
        snprintf(note, sizeof note, "wall median / max, CPU median, of %d; %zu rows, %.2f MB", reps,
                 rep[r].rows, (double)rep[r].bytes / 1e6);
        row(rlabel[r], note, "%.0f / %.0f; %.0f", rep[r].t[reps / 2], rep[r].t[reps - 1],
            rep[r].c[reps / 2]);
    }
    snprintf(note, sizeof note, "%llu blocks, %llu tx", (unsigned long long)ns.blocks,
             (unsigned long long)ns.committed);
    if (!qonly)
        row("whole run / database size", note, "%.0f s / %.0f MB", t_setup, (double)db / 1e6);

    printf("\n  %-38s %-18s %s\n", "figure", "value", "notes");
    for (int i = 0; i < n_rows; i++)
        printf("  %-38s %-18s %s\n", rows[i].name, rows[i].value, rows[i].note);
    double p99 = quantile(wall, n_lookups, 0.99), rep_ms = rep[0].t[reps / 2];
    char load1[32];
    loadavg(load1, sizeof load1);
    printf("\n  load average at start / end: %s / %s on %u CPUs (shared machine)\n", load0, load1,
           ncpu);
    printf("  goals: student lookup p99 < 10 ms: %s (%.2f ms); all-students report < 1 s: %s "
           "(%.0f ms)\n",
           p99 < 10 ? "MET" : "MISSED", p99, rep_ms < 1000 ? "MET" : "MISSED", rep_ms);

    bench("BENCH ltdrs_scale=%s\n", scale);
    bench("BENCH ltdrs_students=%u\n", n_students);
    if (!qonly) {
        bench("BENCH ltdrs_activities=%u\nBENCH ltdrs_tickets=%lu\n", n_activities, n_tickets);
        bench("BENCH ltdrs_student_sign_per_s=%.0f\n", (double)n_students / fg.t_sign_students);
        bench("BENCH ltdrs_student_register_per_s=%.0f\n", (double)n_students / fg.t_students);
        bench("BENCH ltdrs_student_register_cpu_us=%.0f\n", 1e6 * fg.cpu_students / n_students);
        bench("BENCH ltdrs_distribution_tickets_per_s=%.0f\n", tps);
        bench("BENCH ltdrs_distribution_tx_per_s=%.1f\n", (double)fg.dist_txs / fg.t_dist);
        bench("BENCH ltdrs_distribution_cpu_us_per_ticket=%.1f\n",
              1e6 * fg.cpu_dist / (double)n_tickets);
    }
    bench("BENCH ltdrs_student_lookup_p50_ms=%.3f\n", quantile(wall, n_lookups, 0.5));
    bench("BENCH ltdrs_student_lookup_p99_ms=%.3f\n", p99);
    bench("BENCH ltdrs_student_lookup_max_ms=%.3f\n", wall[n_lookups - 1]);
    bench("BENCH ltdrs_student_lookup_p99_cpu_ms=%.3f\n", quantile(cpu, n_lookups, 0.99));
    for (size_t r = 0; r < ARRAY_LEN(rep); r++)
        bench("BENCH ltdrs_%s_ms=%.1f\nBENCH ltdrs_%s_max_ms=%.1f\nBENCH ltdrs_%s_cpu_ms=%.1f\n",
              rep[r].name, rep[r].t[reps / 2], rep[r].name, rep[r].t[reps - 1], rep[r].name,
              rep[r].c[reps / 2]);
    bench("BENCH ltdrs_db_mb=%.0f\n", (double)db / 1e6);
    if (!qonly)
        bench("BENCH ltdrs_run_s=%.0f\n", t_setup);
    printf("\n%s", bench_lines);
    if (qonly)
        printf("command: BENCH_LTDRS_QUERY_ONLY=%s %sbuild/bench/bench_ltdrs\n", dir, overrides);
    else
        printf("command: BENCH_LTDRS_SCALE=%s %sBENCH_LTDRS_THREADS=%u BENCH_LTDRS_BATCH=%u "
               "build/bench/bench_ltdrs\n",
               full ? "full" : "small", overrides, n_threads, batch);

    if (qonly) {
        /* an existing ledger: left as it was */
    } else if (getenv("BENCH_LTDRS_KEEP") == NULL) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_ltdrs: could not remove %s\n", tmpl);
    } else {
        printf("data dir kept: %s\n", dir);
    }
    free(wall);
    free(cpu);
    return 0;
}
