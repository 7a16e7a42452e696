/*
 * cmd_tx.c - `ltdrs tx create|transfer|sign|verify`: build, sign and check
 * BigchainDB 2.0 transactions offline, from and to JSON files.
 *
 * Everything goes through tx.c: the builders produce the same canonical
 * JSON the drivers and the server hash, tx_sign co-signs (earlier
 * signatures are kept, so a 2-of-2 output is spent by two `tx sign` runs),
 * and verify runs the reference checks in the reference order, then our
 * stricter ones.  A TRANSFER names outputs of other transactions, which are
 * given as files (--input / --input-tx); without them verify says which
 * checks it had to skip.
 *
 * Not here: anything that needs the ledger (does the spent output exist,
 * is it unspent) - that is the server's job.  Nested thresholds cannot be
 * written on the command line (--to-threshold is one m-of-n level).
 */
#include "cmd.h"

#include "codec.h"

#include <string.h>

static const char tx_usage[] =
    "usage: ltdrs tx <subcommand> [options]\n"
    "\n"
    "Builds, signs and verifies BigchainDB 2.0 transactions offline.  Every\n"
    "subcommand prints the transaction as canonical JSON (or to --out FILE).\n"
    "Run 'ltdrs tx <subcommand> --help' for its options.\n"
    "\nsubcommands:\n";

static const char create_usage[] =
    "usage: ltdrs tx create --key KEYFILE [--asset JSON|@FILE] [--metadata JSON|@FILE]\n"
    "                       [--to PUBKEY[:AMOUNT]]... [--to-threshold "
    "M:PK1,PK2[,...][:AMOUNT]]...\n"
    "                       [--unsigned] [--out FILE]\n"
    "\n"
    "Builds a CREATE issued by the key's public key and signs it with the key.\n"
    "--asset is the asset's data object, --metadata the metadata object (null\n"
    "when absent).  Outputs follow the order of --to/--to-threshold; an output\n"
    "without AMOUNT holds 1.  Default: one output of amount 1 to the issuer.\n";

static const char transfer_usage[] =
    "usage: ltdrs tx transfer --input TXFILE[:INDEX]... (--to PUBKEY[:AMOUNT] |\n"
    "                         --to-threshold M:PK1,PK2[,...][:AMOUNT])...\n"
    "                         [--metadata JSON|@FILE] [--key KEYFILE]... [--out FILE]\n"
    "\n"
    "Spends output INDEX (default 0) of each transaction file; all must be of one\n"
    "asset.  The outputs must add up to the inputs; one output may leave out its\n"
    "AMOUNT and gets the rest.  Signs with every --key given; an output that\n"
    "needs more keys (2-of-2) stays partially signed with a null id until\n"
    "'ltdrs tx sign' adds the others.\n";

static const char sign_usage[] =
    "usage: ltdrs tx sign --key KEYFILE... [--input-tx TXFILE]... [--out FILE] [TX.json|-]\n"
    "\n"
    "Adds the key's signatures to the transaction (standard input by default),\n"
    "keeping the signatures it already has.  A TRANSFER needs the transactions\n"
    "whose outputs it spends (--input-tx).  The id is set once every input is\n"
    "complete; until then it stays null and a note says what is missing.\n";

static const char verify_usage[] =
    "usage: ltdrs tx verify [--input-tx TXFILE]... [TX.json|-]\n"
    "\n"
    "Checks a transaction offline: JSON, schema, id, signatures and LTDRS's\n"
    "stricter rules; for a TRANSFER also, given the spent transactions with\n"
    "--input-tx, conditions, owners, asset ids and amounts.  Prints 'ok <id>'\n"
    "(exit 0), or 'invalid (<BigchainDB error type>): <message>' or\n"
    "'incomplete: ...' (exit 1).  Skipped checks are listed on stderr.\n";

enum { C_KEY, C_ASSET, C_METADATA, C_TO, C_TO_THRESHOLD, C_UNSIGNED, C_OUT };
static const struct cli_opt create_opts[] = {
    [C_KEY] = {"key", 's', "KEYFILE", "issuer's key file (required)"},
    [C_ASSET] = {"asset", 's', "JSON|@FILE", "asset data object (default null)"},
    [C_METADATA] = {"metadata", 's', "JSON|@FILE", "metadata object (default null)"},
    [C_TO] = {"to", 'm', "PUBKEY[:AMOUNT]", "an output to one key"},
    [C_TO_THRESHOLD] = {"to-threshold", 'm', "M:PK1,PK2[:AMOUNT]", "an M-of-N output"},
    [C_UNSIGNED] = {"unsigned", 'f', NULL, "do not sign (the key file may be public-only)"},
    [C_OUT] = {"out", 's', "FILE", "write here instead of stdout"},
};

enum { T_INPUT, T_TO, T_TO_THRESHOLD, T_METADATA, T_KEY, T_OUT };
static const struct cli_opt transfer_opts[] = {
    [T_INPUT] = {"input", 'm', "TXFILE[:INDEX]", "an output to spend (required)"},
    [T_TO] = {"to", 'm', "PUBKEY[:AMOUNT]", "an output to one key"},
    [T_TO_THRESHOLD] = {"to-threshold", 'm', "M:PK1,PK2[:AMOUNT]", "an M-of-N output"},
    [T_METADATA] = {"metadata", 's', "JSON|@FILE", "metadata object (default null)"},
    [T_KEY] = {"key", 'm', "KEYFILE", "sign with this key"},
    [T_OUT] = {"out", 's', "FILE", "write here instead of stdout"},
};

enum { S_KEY, S_INPUT_TX, S_OUT };
static const struct cli_opt sign_opts[] = {
    [S_KEY] = {"key", 'm', "KEYFILE", "sign with this key (required)"},
    [S_INPUT_TX] = {"input-tx", 'm', "TXFILE", "a transaction whose output is spent"},
    [S_OUT] = {"out", 's', "FILE", "write here instead of stdout"},
};

enum { V_INPUT_TX };
static const struct cli_opt verify_opts[] = {
    [V_INPUT_TX] = {"input-tx", 'm', "TXFILE", "a transaction whose output is spent"},
};

static const char create_prog[] = "ltdrs tx create";
static const char transfer_prog[] = "ltdrs tx transfer";
static const char sign_prog[] = "ltdrs tx sign";
static const char verify_prog[] = "ltdrs tx verify";

/* ------------------------------------------------------------ helpers */

/* One output as given on the command line. */
struct out_spec {
    struct cc_details *details;
    uint64_t amount;
    bool has_amount;
};

/* The transactions given with --input-tx. */
struct spent_set {
    uint32_t n;
    struct tx *txs;     /* arena */
    const char **paths; /* borrowed from argv */
    bool *used;         /* arena; set when an input refers to it */
};

static void
u128_text(unsigned __int128 v, char out[48])
{
    char tmp[48];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (unsigned)(v % 10));
        v /= 10;
    } while (v && n < sizeof tmp - 1);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = 0;
}

static bool
all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

/* A small decimal (threshold, output index): 1..9 digits, <= max. */
static bool
small_uint(const char *s, size_t n, uint32_t max, uint32_t *out)
{
    if (!all_digits(s, n) || n > 9 || (n > 1 && s[0] == '0'))
        return false;
    uint32_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = x * 10 + (uint32_t)(s[i] - '0');
    if (x > max)
        return false;
    *out = x;
    return true;
}

/* PUBKEY[:AMOUNT] */
static int
parse_to(const char *prog, const char *s, struct arena *a, struct out_spec *o)
{
    const char *colon = strrchr(s, ':');
    size_t klen = colon ? (size_t)(colon - s) : strlen(s);
    struct ltd_pubkey pk;
    int rc = cli_parse_pubkey(prog, "--to", s, klen, &pk);
    if (rc)
        return rc;
    if (colon) {
        if ((rc = cli_parse_amount(prog, "--to", colon + 1, strlen(colon + 1), &o->amount)))
            return rc;
        o->has_amount = true;
    }
    o->details = cc_details_ed25519(a, &pk);
    return CLI_EXIT_OK;
}

/* The comma-separated keys of --to-threshold, as ed25519 leaves. */
static int
parse_key_list(const char *prog, const char *s, size_t n, struct arena *a,
               struct cc_details ***subs_out, uint32_t *n_out)
{
    enum {
        threshold_keys_max = tx_keys_max < cc_subconditions_max ? tx_keys_max : cc_subconditions_max
    };
    struct ltd_pubkey keys[threshold_keys_max];
    uint32_t nk = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != ',')
            continue;
        if (nk == threshold_keys_max)
            return cli_error(CLI_EXIT_USAGE, prog, "--to-threshold: more than %d keys",
                             (int)threshold_keys_max);
        int rc = cli_parse_pubkey(prog, "--to-threshold", s + start, i - start, &keys[nk]);
        if (rc)
            return rc;
        for (uint32_t k = 0; k < nk; k++)
            if (memcmp(keys[k].b, keys[nk].b, 32) == 0)
                return cli_error(CLI_EXIT_USAGE, prog, "--to-threshold: key '%.*s' listed twice",
                                 (int)(i - start), s + start);
        nk++;
        start = i + 1;
    }
    struct cc_details **subs = arena_alloc(a, sizeof(struct cc_details *) * nk);
    for (uint32_t k = 0; k < nk; k++)
        subs[k] = cc_details_ed25519(a, &keys[k]);
    *subs_out = subs;
    *n_out = nk;
    return CLI_EXIT_OK;
}

/* M:PK1,PK2[,...][:AMOUNT] */
static int
parse_to_threshold(const char *prog, const char *s, struct arena *a, struct out_spec *o)
{
    const char *c1 = strchr(s, ':');
    uint32_t m = 0;
    if (c1 == NULL || !small_uint(s, (size_t)(c1 - s), cc_threshold_max, &m) || m == 0)
        return cli_error(CLI_EXIT_USAGE, prog,
                         "--to-threshold: '%.80s' is not M:PK1,PK2[,...][:AMOUNT] with M from 1 "
                         "to %d",
                         s, (int)cc_threshold_max);
    const char *keys = c1 + 1;
    const char *c2 = strchr(keys, ':');
    size_t klen = c2 ? (size_t)(c2 - keys) : strlen(keys);
    int rc;
    if (c2) {
        if ((rc = cli_parse_amount(prog, "--to-threshold", c2 + 1, strlen(c2 + 1), &o->amount)))
            return rc;
        o->has_amount = true;
    }
    struct cc_details **subs = NULL;
    uint32_t n = 0;
    if ((rc = parse_key_list(prog, keys, klen, a, &subs, &n)))
        return rc;
    if (m > n)
        return cli_error(CLI_EXIT_USAGE, prog, "--to-threshold: threshold %u exceeds the %u keys",
                         m, n);
    o->details = cc_details_threshold(a, m, n, subs);
    return CLI_EXIT_OK;
}

/* The --to and --to-threshold values, merged in command-line order. */
static int
collect_outputs(const char *prog, const struct cli_val *to, const struct cli_val *thr,
                struct arena *a, struct out_spec **out, uint32_t *n_out)
{
    uint32_t n = to->n + thr->n;
    if (n > tx_outputs_max)
        return cli_error(CLI_EXIT_USAGE, prog, "more than %d outputs", (int)tx_outputs_max);
    struct out_spec *o = arena_alloc(a, sizeof *o * (n ? n : 1));
    uint32_t i = 0, j = 0;
    for (uint32_t k = 0; k < n; k++) {
        bool take_to = j >= thr->n || (i < to->n && to->at[i] < thr->at[j]);
        int rc = take_to ? parse_to(prog, to->v[i++], a, &o[k])
                         : parse_to_threshold(prog, thr->v[j++], a, &o[k]);
        if (rc)
            return rc;
    }
    *out = o;
    *n_out = n;
    return CLI_EXIT_OK;
}

/* --asset / --metadata: an object, or null; metadata {} is refused as the
 * schema does (minProperties 1). */
static int
object_arg(const char *prog, const char *what, const char *arg, struct arena *a, struct cjson **out)
{
    *out = NULL;
    if (arg == NULL)
        return CLI_EXIT_OK;
    struct cjson *v = NULL;
    int rc = cli_json_arg(prog, what, arg, a, &v);
    if (rc)
        return rc;
    if (v->type == CJSON_NULL)
        return CLI_EXIT_OK;
    if (v->type != CJSON_OBJECT)
        return cli_error(CLI_EXIT_INVALID, prog, "%s: must be a JSON object or null", what);
    if (v->len == 0 && strcmp(what, "--metadata") == 0)
        return cli_error(CLI_EXIT_INVALID, prog,
                         "--metadata: {} is refused by BigchainDB (it needs at least one "
                         "property); leave --metadata out for null");
    *out = v;
    return CLI_EXIT_OK;
}

static int
emit_tx(const char *prog, const struct tx *t, const char *path)
{
    struct buf b;
    buf_init(&b);
    tx_serialize(t, &b);
    buf_addc(&b, '\n');
    int rc = cli_write_out(prog, path, b.p, b.len, 0);
    buf_release(&b);
    return rc;
}

/* Signs t with every key file in keys.  spent as for tx_sign. */
static int
sign_with_keys(const char *prog, const struct cli_val *keys, struct arena *a, struct tx *t,
               const struct cc_details *const *spent, bool allow_partial)
{
    int rc = CLI_EXIT_OK;
    for (uint32_t k = 0; k < keys->n && rc == CLI_EXIT_OK; k++) {
        struct ltd_seed seed;
        struct ltd_pubkey pk;
        struct ltd_errbuf eb;
        ltd_errbuf_clear(&eb);
        rc = cli_read_key(prog, "--key", keys->v[k], &seed, &pk);
        if (rc == CLI_EXIT_OK && tx_sign(a, t, &seed, spent, allow_partial, NULL, &eb) != LTD_OK) {
            char b58[48];
            codec_b58_encode32(pk.b, b58);
            if (eb.code == LTD_E_TX_SIGN_KEY)
                rc = cli_error(CLI_EXIT_INVALID, prog,
                               "--key '%s': key %s owns no input of this transaction", keys->v[k],
                               b58);
            else
                rc = cli_error_eb(prog, "--key", &eb);
        }
        codec_wipe(&seed, sizeof seed);
    }
    return rc;
}

static bool
key_listed(const struct ltd_pubkey *k, const struct ltd_pubkey *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(k->b, set[i].b, 32) == 0)
            return true;
    return false;
}

/* Appends to out why input i is not complete (nothing if it is).  d is the
 * details of what it spends, NULL when unknown. */
static void
describe_input(const struct tx *t, uint32_t i, const struct cc_details *d, struct buf *out)
{
    const struct tx_input *in = &t->in[i];
    const char *sep = out->len ? "; " : "";
    if (in->ff == NULL) {
        buf_addf(out, "%sinputs[%u] is not signed", sep, i);
        return;
    }
    struct ltd_pubkey signers[tx_keys_max];
    size_t ns = cc_fulfillment_signers(in->ff, signers, tx_keys_max);
    if (d == NULL) {
        buf_addf(out,
                 "%sinputs[%u] has %zu signature(s); give the spent transaction with "
                 "--input-tx to see which are missing",
                 sep, i, ns);
        return;
    }
    struct cc_condition want, got;
    cc_details_condition(d, &want);
    cc_fulfillment_condition(in->ff, &got);
    if (cc_condition_eq(&want, &got))
        return;
    struct ltd_pubkey keys[tx_keys_max];
    size_t nk = cc_details_pubkeys(d, keys, tx_keys_max);
    buf_addf(out, "%sinputs[%u] needs more signatures (not yet signed by:", sep, i);
    for (size_t k = 0; k < nk && k < tx_keys_max; k++) {
        if (key_listed(&keys[k], signers, ns < tx_keys_max ? ns : tx_keys_max))
            continue;
        char b58[48];
        codec_b58_encode32(keys[k].b, b58);
        buf_addf(out, " %s", b58);
    }
    buf_addc(out, ')');
}

static void
describe_incomplete(const struct tx *t, const struct cc_details *const *spent, struct buf *out)
{
    for (uint32_t i = 0; i < t->n_in; i++)
        describe_input(t, i, spent ? spent[i] : NULL, out);
}

/* Says on stderr why t still has a null id after signing. */
static void
note_incomplete(const char *prog, const struct tx *t, const struct cc_details *const *spent)
{
    LTD_ASSERT(!t->has_id);
    struct buf why;
    buf_init(&why);
    describe_incomplete(t, spent, &why);
    fprintf(stderr, "%s: inputs still incomplete, id stays null: %s\n", prog, why.p ? why.p : "");
    buf_release(&why);
}

/* ---- spent transactions (--input-tx) ---- */

static int
load_spent(const char *prog, const struct cli_val *v, struct arena *a, struct spent_set *s)
{
    memset(s, 0, sizeof *s);
    if (v->n > tx_inputs_max)
        return cli_error(CLI_EXIT_USAGE, prog, "more than %d --input-tx", (int)tx_inputs_max);
    s->txs = arena_alloc(a, sizeof *s->txs * (v->n ? v->n : 1));
    s->used = arena_alloc(a, sizeof *s->used * (v->n ? v->n : 1));
    s->paths = v->v;
    for (uint32_t k = 0; k < v->n; k++) {
        int rc = cli_load_tx(prog, "--input-tx", v->v[k], a, 0, &s->txs[k]);
        if (rc)
            return rc;
        s->n++;
    }
    return CLI_EXIT_OK;
}

static const struct tx *
spent_find(struct spent_set *s, const struct ltd_hash *id)
{
    for (uint32_t k = 0; k < s->n; k++) {
        if (memcmp(s->txs[k].id.b, id->b, 32) == 0) {
            s->used[k] = true;
            return &s->txs[k];
        }
    }
    return NULL;
}

static void
warn_unused_spent(const char *prog, const struct spent_set *s)
{
    for (uint32_t k = 0; k < s->n; k++)
        if (!s->used[k])
            fprintf(stderr, "%s: note: --input-tx '%s' (%s) is not spent by this transaction\n",
                    prog, s->paths[k], s->txs[k].id_hex);
}

/* Per input of t: the details of the output it spends, from s (NULL where
 * s does not have it; always NULL for CREATE unless create_owners). */
static const struct cc_details **
spent_details(const struct tx *t, struct spent_set *s, struct arena *a, bool create_owners)
{
    const struct cc_details **d =
        arena_alloc(a, sizeof(const struct cc_details *) * (t->n_in ? t->n_in : 1));
    for (uint32_t i = 0; i < t->n_in; i++) {
        const struct tx_input *in = &t->in[i];
        if (t->op == TX_CREATE) {
            d[i] = create_owners ? tx_create_owner_details(a, in) : NULL;
            continue;
        }
        const struct tx *st = spent_find(s, &in->fulfills_txid);
        if (st != NULL && in->fulfills_index < st->n_out)
            d[i] = st->out[in->fulfills_index].details;
    }
    return d;
}

/* ----------------------------------------------------------- tx create */

static int
create_build(const struct cli_args *args, struct arena *a, const struct ltd_pubkey *issuer,
             struct tx *t)
{
    struct cjson *asset = NULL, *metadata = NULL;
    int rc = object_arg(create_prog, "--asset", args->val[C_ASSET].s, a, &asset);
    if (rc || (rc = object_arg(create_prog, "--metadata", args->val[C_METADATA].s, a, &metadata)))
        return rc;
    struct out_spec *specs = NULL;
    uint32_t n = 0;
    if ((rc = collect_outputs(create_prog, &args->val[C_TO], &args->val[C_TO_THRESHOLD], a, &specs,
                              &n)))
        return rc;
    struct tx_new_output *outs = arena_alloc(a, sizeof *outs * (n ? n : 1));
    for (uint32_t k = 0; k < n; k++) {
        outs[k].details = specs[k].details;
        outs[k].amount = specs[k].has_amount ? specs[k].amount : 1;
    }
    if (n == 0) {
        outs[0].details = cc_details_ed25519(a, issuer);
        outs[0].amount = 1;
        n = 1;
    }
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (tx_build_create(a, issuer, 1, asset, metadata, outs, n, t, &eb) != LTD_OK)
        return cli_error_eb(create_prog, NULL, &eb);
    return CLI_EXIT_OK;
}

static int
tx_create(int argc, char **argv)
{
    struct cli_args args;
    struct arena a;
    arena_init(&a);
    struct ltd_seed seed;
    memset(&seed, 0, sizeof seed);
    bool done;
    int rc = cli_parse_or_help(create_prog, create_usage, create_opts, ARRAY_LEN(create_opts), 0,
                               argc, argv, &args, &done);
    if (rc || done)
        goto out;
    if (!args.val[C_KEY].set) {
        rc = cli_error(CLI_EXIT_USAGE, create_prog, "--key KEYFILE is required");
        goto out;
    }
    bool sign = !args.val[C_UNSIGNED].set;
    struct ltd_pubkey pk;
    if ((rc = cli_read_key(create_prog, "--key", args.val[C_KEY].s, sign ? &seed : NULL, &pk)))
        goto out;
    struct tx t;
    if ((rc = create_build(&args, &a, &pk, &t)))
        goto out;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (sign && tx_sign(&a, &t, &seed, NULL, false, NULL, &eb) != LTD_OK) {
        rc = cli_error_eb(create_prog, "--key", &eb);
        goto out;
    }
    rc = emit_tx(create_prog, &t, args.val[C_OUT].s);
out:
    codec_wipe(&seed, sizeof seed);
    arena_release(&a);
    cli_args_release(&args);
    return rc;
}

/* --------------------------------------------------------- tx transfer */

/* What --input values resolve to. */
struct transfer_inputs {
    uint32_t n;
    struct tx_new_input *ins;
    const char **paths;
    struct ltd_hash asset_id;
    unsigned __int128 total;
};

/* TXFILE[:INDEX] -> the loaded transaction and the index. */
static int
load_input(const char *arg, struct arena *a, struct tx *t, const char **path, uint32_t *index)
{
    const char *colon = strrchr(arg, ':');
    *index = 0;
    *path = arg;
    if (colon && all_digits(colon + 1, strlen(colon + 1))) {
        if (!small_uint(colon + 1, strlen(colon + 1), tx_outputs_max, index))
            return cli_error(CLI_EXIT_USAGE, transfer_prog, "--input '%s': bad output index", arg);
        *path = arena_memdup(a, arg, (size_t)(colon - arg));
    }
    int rc = cli_load_tx(transfer_prog, "--input", *path, a, 0, t);
    if (rc)
        return rc;
    if (*index >= t->n_out)
        return cli_error(CLI_EXIT_USAGE, transfer_prog,
                         "--input '%s': transaction %s has %u output(s), no output %u", arg,
                         t->id_hex, t->n_out, *index);
    return CLI_EXIT_OK;
}

static int
check_input(const struct transfer_inputs *ti, uint32_t k, const struct tx *t, const char *arg)
{
    const struct tx_new_input *in = &ti->ins[k];
    for (uint32_t j = 0; j < k; j++)
        if (memcmp(ti->ins[j].txid.b, in->txid.b, 32) == 0 && ti->ins[j].index == in->index)
            return cli_error(CLI_EXIT_USAGE, transfer_prog,
                             "--input '%s': output %s:%llu is already spent by an earlier "
                             "--input",
                             arg, t->id_hex, (unsigned long long)in->index);
    if (k > 0 && memcmp(ti->asset_id.b, cli_tx_asset_id(t)->b, 32) != 0) {
        char a0[65], a1[65];
        hex_encode(a0, ti->asset_id.b, 32);
        hex_encode(a1, cli_tx_asset_id(t)->b, 32);
        return cli_error(CLI_EXIT_INVALID, transfer_prog,
                         "--input '%s': asset %s differs from asset %s of '%s' "
                         "(AssetIdMismatch: all inputs must be of one asset)",
                         arg, a1, a0, ti->paths[0]);
    }
    return CLI_EXIT_OK;
}

static int
load_inputs(const struct cli_val *v, struct arena *a, struct transfer_inputs *ti)
{
    memset(ti, 0, sizeof *ti);
    if (v->n > tx_inputs_max)
        return cli_error(CLI_EXIT_USAGE, transfer_prog, "more than %d --input", (int)tx_inputs_max);
    ti->ins = arena_alloc(a, sizeof *ti->ins * (v->n ? v->n : 1));
    ti->paths = arena_alloc(a, sizeof *ti->paths * (v->n ? v->n : 1));
    for (uint32_t k = 0; k < v->n; k++) {
        struct tx *t = arena_alloc(a, sizeof *t);
        uint32_t index = 0;
        int rc = load_input(v->v[k], a, t, &ti->paths[k], &index);
        if (rc)
            return rc;
        ti->ins[k].txid = t->id;
        ti->ins[k].index = index;
        ti->ins[k].details = t->out[index].details;
        if ((rc = check_input(ti, k, t, v->v[k])))
            return rc;
        if (k == 0)
            ti->asset_id = *cli_tx_asset_id(t);
        ti->total += t->out[index].amount;
        ti->n++;
    }
    return CLI_EXIT_OK;
}

/* Gives the output without an amount the rest; checks the balance. */
static int
balance_outputs(struct out_spec *o, uint32_t n, unsigned __int128 total)
{
    unsigned __int128 given = 0;
    uint32_t open = 0, open_at = 0;
    for (uint32_t k = 0; k < n; k++) {
        if (o[k].has_amount)
            given += o[k].amount;
        else
            open++, open_at = k;
    }
    char in_text[48], out_text[48];
    u128_text(total, in_text);
    u128_text(given, out_text);
    if (open > 1)
        return cli_error(CLI_EXIT_USAGE, transfer_prog,
                         "only one output may leave out its amount (the inputs hold %s)", in_text);
    if (open == 1) {
        if (given >= total)
            return cli_error(CLI_EXIT_USAGE, transfer_prog,
                             "the inputs hold %s and the outputs with an amount already take "
                             "%s: nothing is left for the output without one",
                             in_text, out_text);
        if (total - given > LTD_AMOUNT_MAX)
            return cli_error(CLI_EXIT_USAGE, transfer_prog,
                             "the rest of the %s the inputs hold is more than one output may "
                             "hold (%llu): give every output an amount",
                             in_text, (unsigned long long)LTD_AMOUNT_MAX);
        o[open_at].amount = (uint64_t)(total - given);
        return CLI_EXIT_OK;
    }
    if (given != total)
        return cli_error(CLI_EXIT_USAGE, transfer_prog,
                         "amounts do not balance: the inputs hold %s, the outputs give %s", in_text,
                         out_text);
    return CLI_EXIT_OK;
}

static int
transfer_build(const struct cli_args *args, struct arena *a, const struct transfer_inputs *ti,
               struct tx *t)
{
    struct cjson *metadata = NULL;
    int rc = object_arg(transfer_prog, "--metadata", args->val[T_METADATA].s, a, &metadata);
    if (rc)
        return rc;
    struct out_spec *specs = NULL;
    uint32_t n = 0;
    if ((rc = collect_outputs(transfer_prog, &args->val[T_TO], &args->val[T_TO_THRESHOLD], a,
                              &specs, &n)))
        return rc;
    if ((rc = balance_outputs(specs, n, ti->total)))
        return rc;
    struct tx_new_output *outs = arena_alloc(a, sizeof *outs * n);
    for (uint32_t k = 0; k < n; k++) {
        outs[k].details = specs[k].details;
        outs[k].amount = specs[k].amount;
    }
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (tx_build_transfer(a, &ti->asset_id, ti->ins, ti->n, metadata, outs, n, t, &eb) != LTD_OK)
        return cli_error_eb(transfer_prog, NULL, &eb);
    return CLI_EXIT_OK;
}

static int
tx_transfer(int argc, char **argv)
{
    struct cli_args args;
    struct arena a;
    arena_init(&a);
    bool done;
    int rc = cli_parse_or_help(transfer_prog, transfer_usage, transfer_opts,
                               ARRAY_LEN(transfer_opts), 0, argc, argv, &args, &done);
    if (rc || done)
        goto out;
    if (!args.val[T_INPUT].set || !(args.val[T_TO].set || args.val[T_TO_THRESHOLD].set)) {
        rc = cli_error(CLI_EXIT_USAGE, transfer_prog,
                       "--input and at least one --to or --to-threshold are required");
        goto out;
    }
    struct transfer_inputs ti;
    struct tx t;
    if ((rc = load_inputs(&args.val[T_INPUT], &a, &ti)) ||
        (rc = transfer_build(&args, &a, &ti, &t)))
        goto out;
    const struct cc_details **spent = arena_alloc(&a, sizeof(const struct cc_details *) * ti.n);
    for (uint32_t k = 0; k < ti.n; k++)
        spent[k] = ti.ins[k].details;
    if ((rc = sign_with_keys(transfer_prog, &args.val[T_KEY], &a, &t, spent, true)))
        goto out;
    if (args.val[T_KEY].set && !t.has_id)
        note_incomplete(transfer_prog, &t, spent);
    rc = emit_tx(transfer_prog, &t, args.val[T_OUT].s);
out:
    arena_release(&a);
    cli_args_release(&args);
    return rc;
}

/* ------------------------------------------------------------- tx sign */

/* The spent details every TRANSFER input needs for signing. */
static int
sign_spent(const struct tx *t, struct spent_set *s, struct arena *a, const struct cc_details ***out)
{
    *out = NULL;
    if (t->op == TX_CREATE)
        return CLI_EXIT_OK;
    const struct cc_details **d = spent_details(t, s, a, false);
    for (uint32_t i = 0; i < t->n_in; i++) {
        const struct tx_input *in = &t->in[i];
        if (d[i] != NULL)
            continue;
        const struct tx *st = spent_find(s, &in->fulfills_txid);
        if (st != NULL)
            return cli_error(CLI_EXIT_INVALID, sign_prog,
                             "inputs[%u] spends output %llu of %s, which has only %u output(s)", i,
                             (unsigned long long)in->fulfills_index, in->fulfills_txid_hex,
                             st->n_out);
        return cli_error(CLI_EXIT_USAGE, sign_prog,
                         "inputs[%u] spends transaction %s (output %llu): give it with "
                         "--input-tx TXFILE",
                         i, in->fulfills_txid_hex, (unsigned long long)in->fulfills_index);
    }
    *out = d;
    return CLI_EXIT_OK;
}

static int
tx_sign_cmd(int argc, char **argv)
{
    struct cli_args args;
    struct arena a;
    arena_init(&a);
    bool done;
    int rc = cli_parse_or_help(sign_prog, sign_usage, sign_opts, ARRAY_LEN(sign_opts), 1, argc,
                               argv, &args, &done);
    if (rc || done)
        goto out;
    if (!args.val[S_KEY].set) {
        rc = cli_error(CLI_EXIT_USAGE, sign_prog, "--key KEYFILE is required");
        goto out;
    }
    const char *path = args.n_pos ? args.pos[0] : "-";
    struct spent_set s;
    struct tx t;
    const struct cc_details **spent = NULL;
    if ((rc = load_spent(sign_prog, &args.val[S_INPUT_TX], &a, &s)) ||
        (rc = cli_load_tx(sign_prog, "transaction", path, &a, TX_FLAG_UNSIGNED, &t)) ||
        (rc = sign_spent(&t, &s, &a, &spent)))
        goto out;
    warn_unused_spent(sign_prog, &s);
    if ((rc = sign_with_keys(sign_prog, &args.val[S_KEY], &a, &t, spent, true)))
        goto out;
    if (!t.has_id)
        note_incomplete(sign_prog, &t, t.op == TX_CREATE ? spent_details(&t, &s, &a, true) : spent);
    rc = emit_tx(sign_prog, &t, args.val[S_OUT].s);
out:
    arena_release(&a);
    cli_args_release(&args);
    return rc;
}

/* ----------------------------------------------------------- tx verify */

/* Prints "invalid (<Type>): <BigchainDB message>" on stdout. */
static int
print_invalid(const struct ltd_errbuf *eb)
{
    struct buf m;
    buf_init(&m);
    ltd_err_bdb_message(eb, &m);
    const char *type = ltd_err_bdb_type(eb->code);
    char prefix[96];
    snprintf(prefix, sizeof prefix, "Invalid transaction (%s): ", type);
    const char *text = m.p ? m.p : "";
    if (strncmp(text, prefix, strlen(prefix)) == 0)
        text += strlen(prefix);
    printf("invalid (%s): %s\n", type, text);
    fflush(stdout);
    buf_release(&m);
    return CLI_EXIT_INVALID;
}

/* Reference steps 10T-13T against the spent transactions that were given. */
static enum ltd_err
check_spent(const struct tx *t, struct spent_set *s, bool *all_known, struct ltd_errbuf *eb)
{
    for (uint32_t i = 0; i < t->n_in; i++)
        for (uint32_t j = 0; j < i; j++)
            if (memcmp(t->in[i].fulfills_txid.b, t->in[j].fulfills_txid.b, 32) == 0 &&
                t->in[i].fulfills_index == t->in[j].fulfills_index)
                return ltd_fail(eb, LTD_E_TX_DUP_INPUT, "tx \"%s\" spends inputs twice", t->id_hex);
    const struct ltd_hash *asset = NULL;
    unsigned __int128 in_sum = 0;
    *all_known = true;
    for (uint32_t i = 0; i < t->n_in; i++) {
        const struct tx_input *in = &t->in[i];
        const struct tx *st = spent_find(s, &in->fulfills_txid);
        if (st == NULL) {
            *all_known = false;
            continue;
        }
        if (in->fulfills_index >= st->n_out)
            return ltd_fail(eb, LTD_E_OUTPUT_INDEX, "input `%s` has no output %llu",
                            in->fulfills_txid_hex, (unsigned long long)in->fulfills_index);
        if (asset && memcmp(asset->b, cli_tx_asset_id(st)->b, 32) != 0)
            return ltd_fail(eb, LTD_E_ASSET_MISMATCH,
                            "All inputs of all transactions passed need to have the same asset "
                            "id");
        asset = cli_tx_asset_id(st);
        in_sum += st->out[in->fulfills_index].amount;
    }
    if (asset && memcmp(asset->b, t->asset_id.b, 32) != 0)
        return ltd_fail(eb, LTD_E_ASSET_MISMATCH,
                        "The asset id of the input does not match the asset id of the "
                        "transaction");
    if (*all_known && in_sum != t->out_sum) {
        char a_in[48], a_out[48];
        u128_text(in_sum, a_in);
        u128_text(t->out_sum, a_out);
        return ltd_fail(eb, LTD_E_AMOUNT_MISMATCH,
                        "The amount used in the inputs `%s` needs to be same as the amount used "
                        "in the outputs `%s`",
                        a_in, a_out);
    }
    return LTD_OK;
}

/* Reference step 14T, then the strict checks.  Inputs whose spent output
 * is unknown get their signatures checked against the message only; they
 * are listed in skipped. */
static enum ltd_err
verify_transfer(const struct tx *t, struct spent_set *s, struct arena *a, struct buf *skipped,
                struct ltd_errbuf *eb)
{
    bool all_known = true;
    enum ltd_err e = check_spent(t, s, &all_known, eb);
    if (e)
        return e;
    const struct cc_details **d = spent_details(t, s, a, false);
    struct ltd_hash *msgs = arena_alloc(a, sizeof *msgs * t->n_in);
    tx_signing_messages(t, msgs);
    for (uint32_t i = 0; i < t->n_in; i++) {
        if (d[i] != NULL) {
            if ((e = tx_verify_input(t, i, d[i], &msgs[i], eb)))
                return e;
            continue;
        }
        if (!cc_fulfillment_verify(t->in[i].ff, msgs[i].b, sizeof msgs[i].b))
            return ltd_fail(eb, LTD_E_TX_SIGNATURE, "Transaction signature is invalid.");
        buf_addf(skipped,
                 "%sinputs[%u] (spends %s:%llu): condition and owners of the spent "
                 "output, asset id",
                 skipped->len ? "; " : "", i, t->in[i].fulfills_txid_hex,
                 (unsigned long long)t->in[i].fulfills_index);
    }
    if (!all_known)
        buf_adds(skipped, "; the balance of input and output amounts");
    return tx_check_strict(t, eb);
}

/* A transaction with a null id: say what is missing (or what is wrong). */
static int
verify_incomplete(struct arena *a, struct cjson *root, struct spent_set *s)
{
    struct tx t;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (tx_from_json(a, root, TX_FLAG_UNSIGNED, &t, &eb) != LTD_OK)
        return print_invalid(&eb);
    struct ltd_hash *msgs = arena_alloc(a, sizeof *msgs * t.n_in);
    tx_signing_messages(&t, msgs);
    for (uint32_t i = 0; i < t.n_in; i++)
        if (t.in[i].ff && !cc_fulfillment_verify(t.in[i].ff, msgs[i].b, sizeof msgs[i].b)) {
            ltd_fail(&eb, LTD_E_TX_SIGNATURE, "Transaction signature is invalid. (inputs[%u])", i);
            return print_invalid(&eb);
        }
    struct buf why;
    buf_init(&why);
    describe_incomplete(&t, spent_details(&t, s, a, true), &why);
    printf("incomplete: %s\n", why.len ? why.p
                                       : "every input is signed but the id is null; sign it "
                                         "again with 'ltdrs tx sign' to set the id");
    fflush(stdout);
    buf_release(&why);
    return CLI_EXIT_INVALID;
}

/* Verifies the parsed document; prints the verdict. */
static int
verify_doc(struct arena *a, struct cjson *root, struct spent_set *s)
{
    const struct cjson *id = root->type == CJSON_OBJECT ? cjson_get(root, "id") : NULL;
    if (id != NULL && id->type == CJSON_NULL)
        return verify_incomplete(a, root, s);
    struct tx t;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct buf skipped;
    buf_init(&skipped);
    enum ltd_err e = tx_from_json(a, root, 0, &t, &eb);
    if (e == LTD_OK && t.op == TX_CREATE) {
        if ((e = tx_verify_create(&t, &eb)) == LTD_OK)
            e = tx_check_strict(&t, &eb);
    } else if (e == LTD_OK) {
        e = verify_transfer(&t, s, a, &skipped, &eb);
    }
    int rc = CLI_EXIT_OK;
    if (e != LTD_OK) {
        rc = print_invalid(&eb);
    } else {
        printf("ok %s\n", t.id_hex);
        fflush(stdout);
        if (skipped.len)
            fprintf(stderr, "%s: not checked without --input-tx: %s\n", verify_prog, skipped.p);
        warn_unused_spent(verify_prog, s);
    }
    buf_release(&skipped);
    return rc;
}

static int
tx_verify(int argc, char **argv)
{
    struct cli_args args;
    struct arena a;
    arena_init(&a);
    struct buf body;
    buf_init(&body);
    bool done;
    int rc = cli_parse_or_help(verify_prog, verify_usage, verify_opts, ARRAY_LEN(verify_opts), 1,
                               argc, argv, &args, &done);
    if (rc || done)
        goto out;
    const char *path = args.n_pos ? args.pos[0] : "-";
    struct spent_set s;
    if ((rc = load_spent(verify_prog, &args.val[V_INPUT_TX], &a, &s)) ||
        (rc = cli_read_file(verify_prog, "transaction", path, tx_bytes_max, &body)))
        goto out;
    struct cjson *root = NULL;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (cjson_parse(&a, body.p ? body.p : "", body.len, NULL, &root, &eb) != LTD_OK) {
        rc = print_invalid(&eb);
        goto out;
    }
    rc = verify_doc(&a, root, &s);
out:
    buf_release(&body);
    arena_release(&a);
    cli_args_release(&args);
    return rc;
}

/* ---------------------------------------------------------- dispatch */

static const struct cmd tx_subcommands[] = {
    {"create", tx_create, "build and sign a CREATE", NULL},
    {"transfer", tx_transfer, "spend outputs of transactions given as files", NULL},
    {"sign", tx_sign_cmd, "add a key's signatures (co-signing)", NULL},
    {"verify", tx_verify, "check a transaction offline", NULL},
};

int
cmd_tx(int argc, char **argv)
{
    return cli_dispatch("ltdrs tx", tx_usage, tx_subcommands, ARRAY_LEN(tx_subcommands), argc,
                        argv);
}
