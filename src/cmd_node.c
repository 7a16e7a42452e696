/*
 * cmd_node.c - `ltdrs init`, `ltdrs serve` and `ltdrs verify`: make a data
 * directory with its genesis, run the node, audit a data directory.
 *
 * init generates the school admin's key pair (printed once and written to
 * a 0600 file the operator moves off the server) and the node's own key
 * (DIR/node.key, 0600, used to sign block heads in a cluster), and writes
 * the canonical genesis record to DIR/genesis.json; `init --genesis FILE`
 * makes a data directory from another node's genesis.json instead (no admin
 * key: it belongs to the first node's operator), for a cluster member.
 * serve --etcd joins a cluster; verify --cluster compares the heads every
 * node published.  serve never writes any user key.  Not here: the node
 * itself (node.c, node_cluster.c, api.c).
 */
#include "cmd.h"

#include "api.h"
#include "codec.h"
#include "node.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ----------------------------------------------------------------- init */

static const char init_usage[] =
    "usage: ltdrs init [--data DIR] [--admin-key FILE] [--force-key]\n"
    "       ltdrs init [--data DIR] --genesis FILE\n"
    "\n"
    "Creates a ledger in DIR (default ./data): a random chain id, the genesis\n"
    "record with the school admin's public key, and block 0.  The admin key pair\n"
    "is generated here, printed once, and written to FILE (default DIR/admin.key,\n"
    "mode 0600): move it off the server.  The genesis record is also written to\n"
    "DIR/genesis.json: copy it to the other nodes of a cluster.\n"
    "\n"
    "With --genesis, the ledger is made from that genesis record (another node's\n"
    "genesis.json) and no admin key is generated: the directory can then join\n"
    "that node's cluster (ltdrs serve --etcd).  Either way DIR/node.key, this\n"
    "node's own key (it signs the block heads the node publishes), is made.\n";

enum { I_DATA, I_ADMIN_KEY, I_FORCE_KEY, I_GENESIS };
static const struct cli_opt init_opts[] = {
    [I_DATA] = {"data", 's', "DIR", "data directory (default ./data)"},
    [I_ADMIN_KEY] = {"admin-key", 's', "FILE", "where to write the admin key file"},
    [I_FORCE_KEY] = {"force-key", 'f', NULL, "replace an existing admin key file"},
    [I_GENESIS] = {"genesis", 's', "FILE", "make the ledger from this genesis record"},
};

static int
write_node_key(const char *prog, const char *dir)
{
    struct ltd_seed seed;
    struct ltd_pubkey pk;
    char text[256];
    char path[4096];
    codec_ed25519_keypair(&pk, &seed);
    size_t n = cli_format_key(&seed, &pk, text, sizeof text);
    snprintf(path, sizeof path, "%s/node.key", dir);
    int rc = cli_write_out(prog, path, text, n, CLI_WRITE_SECRET | CLI_WRITE_EXCL);
    codec_wipe(&seed, sizeof seed);
    codec_wipe(text, sizeof text);
    return rc;
}

enum { genesis_file_bytes_max = 4096 };

/* Writes DIR/genesis.json (the canonical record and a newline). */
static int
write_genesis(const char *prog, const char *dir, const struct node_genesis *g)
{
    struct buf b;
    buf_init(&b);
    node_genesis_text(g, &b);
    buf_addc(&b, '\n');
    char path[4096];
    snprintf(path, sizeof path, "%s/genesis.json", dir);
    int rc = cli_write_out(prog, path, b.p, b.len, 0);
    buf_release(&b);
    return rc;
}

/* init --genesis FILE: a cluster member's data directory. */
static int
init_from(const char *prog, const char *dir, const char *file)
{
    FILE *f = fopen(file, "rb");
    if (f == NULL)
        return cli_error(CLI_EXIT_IO, prog, "cannot open '%s': %s", file, strerror(errno));
    char text[genesis_file_bytes_max + 1];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    if (n > genesis_file_bytes_max)
        return cli_error(CLI_EXIT_INVALID, prog, "'%s' is too large for a genesis record", file);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct node_genesis g;
    if (node_init_from(dir, text, n, &g, &eb) != LTD_OK)
        return cli_error(cli_exit_for(eb.code), prog, "%s: %s", file, eb.msg);
    int rc;
    if ((rc = write_node_key(prog, dir)) || (rc = write_genesis(prog, dir, &g)))
        return rc;
    char b58[48];
    codec_b58_encode32(g.admin.b, b58);
    printf("ledger created in %s from %s\nchain id:         %s\nadmin public key: %s\n", dir, file,
           g.chain_id, b58);
    return CLI_EXIT_OK;
}

int
cmd_init(int argc, char **argv)
{
    static const char prog[] = "ltdrs init";
    struct cli_args args;
    struct ltd_seed seed;
    struct ltd_pubkey pk;
    char text[256];
    memset(&seed, 0, sizeof seed);
    memset(text, 0, sizeof text);
    int rc = cli_parse(prog, init_opts, ARRAY_LEN(init_opts), 0, argc, argv, &args);
    if (rc || args.help) {
        if (args.help)
            cli_usage(stdout, init_usage, init_opts, ARRAY_LEN(init_opts));
        goto out;
    }
    codec_init();
    const char *dir = args.val[I_DATA].set ? args.val[I_DATA].s : "data";
    if (args.val[I_GENESIS].set) {
        if (args.val[I_ADMIN_KEY].set || args.val[I_FORCE_KEY].set) {
            rc = cli_error(CLI_EXIT_USAGE, prog,
                           "--genesis makes no admin key: drop --admin-key/--force-key");
            goto out;
        }
        rc = init_from(prog, dir, args.val[I_GENESIS].s);
        goto out;
    }
    char keypath[4096];
    if (args.val[I_ADMIN_KEY].set)
        snprintf(keypath, sizeof keypath, "%s", args.val[I_ADMIN_KEY].s);
    else
        snprintf(keypath, sizeof keypath, "%s/admin.key", dir);
    codec_ed25519_keypair(&pk, &seed);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct node_genesis g;
    if (node_init(dir, &pk, &g, &eb) != LTD_OK) {
        rc = cli_error(cli_exit_for(eb.code), prog, "%s", eb.msg);
        goto out;
    }
    size_t n = cli_format_key(&seed, &pk, text, sizeof text);
    unsigned flags = CLI_WRITE_SECRET | (args.val[I_FORCE_KEY].set ? 0u : (unsigned)CLI_WRITE_EXCL);
    if ((rc = cli_write_out(prog, keypath, text, n, flags)) || (rc = write_node_key(prog, dir)) ||
        (rc = write_genesis(prog, dir, &g)))
        goto out;
    char b58[48];
    codec_b58_encode32(pk.b, b58);
    printf("ledger created in %s\nchain id:         %s\n"
           "admin public key: %s\nadmin key file:   %s (mode 0600; move it off this server)\n"
           "admin key (shown once):\n%.*s",
           dir, g.chain_id, b58, keypath, (int)n, text);
out:
    codec_wipe(&seed, sizeof seed);
    codec_wipe(text, sizeof text);
    cli_args_release(&args);
    return rc;
}

/* ---------------------------------------------------------------- serve */

static const char serve_usage[] =
    "usage: ltdrs serve [--data DIR] [--listen HOST:PORT] [options]\n"
    "       ltdrs serve --etcd URL[,URL...] [--data DIR] [--listen HOST:PORT] [options]\n"
    "\n"
    "Serves the ledger in DIR (default ./data) with BigchainDB's HTTP API v1 on\n"
    "HOST:PORT (default 127.0.0.1:9984), the WebSocket stream at\n"
    "/api/v1/streams/valid_transactions and the web UI.  Stops on SIGINT/SIGTERM\n"
    "after the block in progress.\n"
    "\n"
    "With --etcd the node is a member of a cluster: transactions are ordered by\n"
    "that etcd cluster, every member applies all of them, and members compare\n"
    "their signed block heads.  Every member's DIR comes from the same genesis\n"
    "(ltdrs init --genesis); a node with another genesis is refused.\n";

enum {
    S_DATA,
    S_LISTEN,
    S_WEB,
    S_THREADS,
    S_BLOCK_MAX,
    S_BLOCK_WAIT,
    S_NO_SYNC,
    S_QUEUE_MAX,
    S_ETCD,
    S_NODE_ID,
    S_ADVERTISE,
    S_COMMIT_TIMEOUT,
    S_BATCH_WAIT,
    S_WATCH_LIVENESS,
    S_DECODERS,
};
static const struct cli_opt serve_opts[] = {
    [S_DATA] = {"data", 's', "DIR", "data directory (default ./data)"},
    [S_LISTEN] = {"listen", 's', "HOST:PORT", "listen address (default 127.0.0.1:9984)"},
    [S_WEB] = {"web", 's', "DIR", "web UI directory (default ./web if present)"},
    [S_THREADS] = {"threads", 's', "N", "HTTP worker threads (default: CPUs)"},
    [S_BLOCK_MAX] = {"block-max", 's', "N", "transactions per block (default 2000)"},
    [S_BLOCK_WAIT] = {"block-wait-us", 's', "US", "group-commit wait (default 2000)"},
    [S_NO_SYNC] = {"no-sync", 'f', NULL, "do not fsync blocks (tests only: acks not durable)"},
    [S_QUEUE_MAX] = {"queue-max", 's', "N", "waiting transactions before 503 (default 100000)"},
    [S_ETCD] = {"etcd", 's', "URL[,URL...]", "join the cluster ordered by these etcd members"},
    [S_NODE_ID] = {"node-id", 's', "ID", "cluster node id (default: first 16 hex of the node key)"},
    [S_ADVERTISE] = {"advertise", 's', "URL",
                     "this node's URL in the registry (default from --listen)"},
    [S_COMMIT_TIMEOUT] = {"commit-timeout-ms", 's', "MS",
                          "commit-mode wait before 504 (default 30000)"},
    [S_BATCH_WAIT] = {"batch-wait-ms", 's', "MS",
                      "cluster: let a batch grow this long (default 10)"},
    [S_WATCH_LIVENESS] = {"watch-liveness-ms", 's', "MS",
                          "cluster: etcd watch silence before reconnecting (default 30000)"},
    [S_DECODERS] = {"decoders", 's', "N", "cluster: threads verifying the log (default 2)"},
};

static int
num_opt(const char *prog, const struct cli_val *v, const char *name, unsigned long max,
        unsigned long *out)
{
    if (!v->set)
        return CLI_EXIT_OK;
    char *end = NULL;
    errno = 0;
    unsigned long x = strtoul(v->s, &end, 10);
    if (errno || end == v->s || *end || x > max)
        return cli_error(CLI_EXIT_USAGE, prog, "--%s: '%s' is not a number up to %lu", name, v->s,
                         max);
    *out = x;
    return CLI_EXIT_OK;
}

static int
serve_config(const char *prog, struct cli_args *args, struct node_config *nc,
             struct http_config *hc)
{
    node_config_defaults(nc);
    http_config_init(hc);
    if (args->val[S_DATA].set)
        nc->data_dir = args->val[S_DATA].s;
    if (args->val[S_LISTEN].set)
        hc->listen = args->val[S_LISTEN].s;
    nc->sync_full = !args->val[S_NO_SYNC].set;
    unsigned long v;
    int rc;
    v = hc->threads;
    if ((rc = num_opt(prog, &args->val[S_THREADS], "threads", 256, &v)))
        return rc;
    hc->threads = (unsigned)v;
    v = nc->block_txs_max;
    if ((rc = num_opt(prog, &args->val[S_BLOCK_MAX], "block-max", 100000, &v)))
        return rc;
    nc->block_txs_max = (uint32_t)(v ? v : 1);
    v = nc->block_wait_us;
    if ((rc = num_opt(prog, &args->val[S_BLOCK_WAIT], "block-wait-us", 1000000, &v)))
        return rc;
    nc->block_wait_us = (uint32_t)v;
    v = nc->queue_max;
    if ((rc = num_opt(prog, &args->val[S_QUEUE_MAX], "queue-max", 10000000, &v)))
        return rc;
    nc->queue_max = (uint32_t)v;
    v = nc->commit_timeout_ms;
    if ((rc = num_opt(prog, &args->val[S_COMMIT_TIMEOUT], "commit-timeout-ms", 3600000, &v)))
        return rc;
    nc->commit_timeout_ms = (uint32_t)(v ? v : 1);
    v = nc->batch_wait_ms;
    if ((rc = num_opt(prog, &args->val[S_BATCH_WAIT], "batch-wait-ms", 1000, &v)))
        return rc;
    nc->batch_wait_ms = (uint32_t)v;
    v = nc->watch_liveness_ms;
    if ((rc = num_opt(prog, &args->val[S_WATCH_LIVENESS], "watch-liveness-ms", 3600000, &v)))
        return rc;
    nc->watch_liveness_ms = (uint32_t)(v < 1000 ? 1000 : v);
    v = nc->decoders;
    if ((rc = num_opt(prog, &args->val[S_DECODERS], "decoders", 8, &v)))
        return rc;
    nc->decoders = (uint32_t)(v ? v : 1);
    if (args->val[S_ETCD].set)
        nc->etcd = args->val[S_ETCD].s;
    if (args->val[S_NODE_ID].set)
        nc->node_id = args->val[S_NODE_ID].s;
    bool cluster_only = args->val[S_NODE_ID].set || args->val[S_ADVERTISE].set ||
                        args->val[S_BATCH_WAIT].set || args->val[S_WATCH_LIVENESS].set ||
                        args->val[S_DECODERS].set;
    if (cluster_only && nc->etcd == NULL)
        return cli_error(CLI_EXIT_USAGE, prog,
                         "--node-id, --advertise, --batch-wait-ms, --watch-liveness-ms and "
                         "--decoders need --etcd");
    hc->defer_ms_max = nc->commit_timeout_ms + 5000;
    return CLI_EXIT_OK;
}

static const char *
default_web_dir(void)
{
    struct stat st;
    if (stat("web/index.html", &st) == 0)
        return "web";
    return NULL;
}

int
cmd_serve(int argc, char **argv)
{
    static const char prog[] = "ltdrs serve";
    struct cli_args args;
    struct node *node = NULL;
    struct api api;
    memset(&api, 0, sizeof api);
    int rc = cli_parse(prog, serve_opts, ARRAY_LEN(serve_opts), 0, argc, argv, &args);
    if (rc || args.help) {
        if (args.help)
            cli_usage(stdout, serve_usage, serve_opts, ARRAY_LEN(serve_opts));
        goto out;
    }
    struct node_config nc;
    struct http_config hc;
    if ((rc = serve_config(prog, &args, &nc, &hc)))
        goto out;
    char keypath[4096], advertise[300];
    snprintf(keypath, sizeof keypath, "%s/node.key", nc.data_dir);
    if ((rc = cli_read_key(prog, "node key", keypath, nc.etcd ? &nc.node_seed : NULL,
                           &api.node_key)))
        goto out;
    if (args.val[S_ADVERTISE].set)
        snprintf(advertise, sizeof advertise, "%s", args.val[S_ADVERTISE].s);
    else
        snprintf(advertise, sizeof advertise, "http://%s", hc.listen);
    nc.advertise_url = advertise;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    /* Block the stop signals in every thread; the main thread waits for them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    enum ltd_err oe = node_open(&nc, &node, &eb);
    codec_wipe(&nc.node_seed, sizeof nc.node_seed);
    if (oe != LTD_OK) {
        rc = cli_error(cli_exit_for(eb.code), prog, "%s", eb.msg);
        goto out;
    }
    api.node = node;
    api.data_dir = nc.data_dir;
    api.web_dir = args.val[S_WEB].set ? args.val[S_WEB].s : default_web_dir();
    api.commit_timeout_ms = nc.commit_timeout_ms;
    if (api_start(&api, &hc, &eb) != LTD_OK) {
        rc = cli_error(CLI_EXIT_IO, prog, "cannot serve on %s: %s", hc.listen, eb.msg);
        goto out;
    }
    printf("ltdrs: serving %s on http://%s/ (chain %.16s..., %s%s%s)\n", nc.data_dir, hc.listen,
           node_genesis(node)->chain_id, nc.sync_full ? "synced commits" : "NOT synced",
           nc.etcd ? ", cluster via etcd " : "", nc.etcd ? nc.etcd : "");
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "ltdrs: stopping on signal %d\n", sig);
out:
    node_close(node); /* first: answers waiting commits while HTTP is up */
    api_stop(&api);
    cli_args_release(&args);
    return rc;
}

/* --------------------------------------------------------------- verify */

static const char verify_usage[] =
    "usage: ltdrs verify [--data DIR] [--threads N]\n"
    "       ltdrs verify --cluster --etcd URL[,URL...] [--data DIR] [--node-id ID]\n"
    "\n"
    "Re-checks the ledger in DIR from genesis: the hash chain of blocks, every\n"
    "transaction id, every signature and every spend.  Names the first bad block\n"
    "and transaction.  Exit 0 when everything checks, 1 when something does not.\n"
    "\n"
    "With --cluster, also compares the signed head every cluster node published in\n"
    "etcd with this copy's block at the same height, naming each node that\n"
    "diverges and the height.  The node id of DIR defaults to the one derived\n"
    "from DIR/node.key.\n";

enum { V_DATA, V_THREADS, V_CLUSTER, V_ETCD, V_NODE_ID };
static const struct cli_opt verify_opts[] = {
    [V_DATA] = {"data", 's', "DIR", "data directory (default ./data)"},
    [V_THREADS] = {"threads", 's', "N", "signature threads (default 2)"},
    [V_CLUSTER] = {"cluster", 'f', NULL, "also compare the heads of the cluster's nodes"},
    [V_ETCD] = {"etcd", 's', "URL[,URL...]", "the cluster's etcd members (with --cluster)"},
    [V_NODE_ID] = {"node-id", 's', "ID", "node id of DIR (with --cluster)"},
};

/* verify --cluster: the heads in etcd against this copy.  Exit 0 or 1. */
static int
verify_cluster(const char *prog, const char *dir, struct cli_args *args)
{
    char id[node_id_text_max] = "";
    if (args->val[V_NODE_ID].set) {
        snprintf(id, sizeof id, "%s", args->val[V_NODE_ID].s);
    } else {
        char keypath[4096];
        struct ltd_pubkey pk;
        snprintf(keypath, sizeof keypath, "%s/node.key", dir);
        if (cli_read_key(prog, "node key", keypath, NULL, &pk) == CLI_EXIT_OK)
            hex_encode(id, pk.b, 8);
    }
    struct node_cluster_report rep;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    enum ltd_err e = node_verify_cluster(dir, args->val[V_ETCD].s, id[0] ? id : NULL, &rep, &eb);
    if (e != LTD_OK) {
        buf_release(&rep.text);
        return cli_error(e == LTD_E_CLUSTER_GENESIS ? CLI_EXIT_INVALID : cli_exit_for(e), prog,
                         "%s", eb.msg);
    }
    fwrite(rep.text.p, 1, rep.text.len, stdout);
    buf_release(&rep.text);
    return rep.divergent ? CLI_EXIT_INVALID : CLI_EXIT_OK;
}

int
cmd_verify(int argc, char **argv)
{
    static const char prog[] = "ltdrs verify";
    struct cli_args args;
    int rc = cli_parse(prog, verify_opts, ARRAY_LEN(verify_opts), 0, argc, argv, &args);
    if (rc || args.help) {
        if (args.help)
            cli_usage(stdout, verify_usage, verify_opts, ARRAY_LEN(verify_opts));
        goto out;
    }
    if (args.val[V_CLUSTER].set != args.val[V_ETCD].set ||
        (args.val[V_NODE_ID].set && !args.val[V_CLUSTER].set)) {
        rc = cli_error(CLI_EXIT_USAGE, prog,
                       "--cluster and --etcd go together (and --node-id "
                       "with them)");
        goto out;
    }
    unsigned long threads = 2;
    if ((rc = num_opt(prog, &args.val[V_THREADS], "threads", 16, &threads)))
        goto out;
    const char *dir = args.val[V_DATA].set ? args.val[V_DATA].s : "data";
    struct node_verify_report rep;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (node_verify_dir(dir, (int)threads, &rep, &eb) != LTD_OK) {
        rc = cli_error(cli_exit_for(eb.code), prog, "%s", eb.msg);
        goto out;
    }
    double rate = rep.seconds > 0 ? (double)rep.txs / rep.seconds : 0;
    if (rep.ok) {
        printf("ok: %llu blocks, %llu transactions verified in %.2f s (%.0f tx/s)\n",
               (unsigned long long)rep.blocks, (unsigned long long)rep.txs, rep.seconds, rate);
    } else {
        printf("BAD: block %lld%s%s: %s\n", (long long)rep.bad_height,
               rep.bad_txid[0] ? ", transaction " : "", rep.bad_txid, rep.message);
        rc = CLI_EXIT_INVALID;
    }
    if (args.val[V_CLUSTER].set) {
        int crc = verify_cluster(prog, dir, &args);
        if (rc == CLI_EXIT_OK)
            rc = crc;
    }
out:
    cli_args_release(&args);
    return rc;
}
