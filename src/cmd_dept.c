/*
 * cmd_dept.c - `ltdrs dept <subcommand>`: what a student department (学生
 * 部门) does, from a shell: register, apply for an activity's tickets,
 * distribute them to students, close the activity, see its status.
 *
 * distribute is the long one.  It reads the student numbers, asks the node
 * which are registered, unknown or already hold a ticket of the activity
 * (/ltdrs/api/v1/students/keys), prints that preview, then hands out the
 * department's unspent ticket outputs of the activity
 * (/ltdrs/api/v1/activities/<id>/outputs) in TRANSFERs of --batch
 * students: one 2-of-2 {student key, department key} output of amount 1 per
 * student (in that order), the change back to the department, metadata
 * {"ltdrs":"distribution","v":1,"students":[...]} in output order, signed
 * with the department key and committed one after the other (each spends
 * the previous one's change).  When the node refuses a batch because of
 * one student (StudentAlreadyHasTicket, StudentKeyMismatch,
 * StudentNotRegistered: things that changed since the preview), the batch
 * is split in halves until that student is isolated, so everyone else
 * still gets a ticket.  Running it again with the same file is safe:
 * students who already hold a ticket are skipped.
 *
 * Not here: the rules (the node enforces them).
 */
#include "cmd.h"

#include "codec.h"
#include "ltdrs.h"
#include "net.h"
#include "query.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char dept_usage[] =
    "usage: ltdrs dept <subcommand> [options]\n"
    "\n"
    "A department's tools.  Writes are records signed with the department key\n"
    "and committed on the node (default " CLI_NODE_DEFAULT ").  Record ids go to\n"
    "standard output; what happened to stderr.\n"
    "Run 'ltdrs dept <subcommand> --help' for its options.\n"
    "\nexit codes: 0 done, 1 refused by the node or input rejected, 2 usage,\n"
    "3 file I/O, 4 node unreachable or failing\n"
    "\nsubcommands:\n";

enum {
    dist_batch_default = 100,
    dist_batch_max = tx_outputs_max - 1, /* room for the change output */
    dist_inputs_max = 200,               /* department outputs spent by one batch */
    dist_input_retries_max = 20,         /* refetches per batch after DoubleSpend and
                                            InputDoesNotExist (another run spent them) */
    dist_retry_wait_ms_max = 1000,       /* backoff between those refetches */
    dist_listed_max = 10000,             /* students listed one by one in the summary */
    progress_line_ms = 2000,             /* periodic lines when stderr is not a TTY */
};

#define NODE_OPT CLI_NODE_OPT
#define KEY_OPT CLI_KEY_OPT("the department key file (required)")
static const char dept_key[] = "the department key"; /* for "--key KEYFILE is required" */

static long long
int_of(const struct cjson *o, const char *k)
{
    const struct cjson *v = cjson_get(o, k);
    if (v != NULL && (v->type == CJSON_INT || v->type == CJSON_STRING))
        return strtoll(v->str, NULL, 10);
    return 0;
}

/* ------------------------------------------------------------- register */

static const char register_usage[] =
    "usage: ltdrs dept register --name NAME --contact CONTACT --key-out FILE [--force]\n"
    "                           [--node URL]\n"
    "\n"
    "Makes the department's key pair, writes it to FILE (mode 0600; whoever\n"
    "holds it acts for the department) and files the department record.\n"
    "Prints the record id: the school admin certifies it with\n"
    "'ltdrs admin certify ID --approve'.\n";

enum { R_NODE, R_NAME, R_CONTACT, R_KEY_OUT, R_FORCE };
static const struct cli_opt register_opts[] = {
    [R_NODE] = NODE_OPT,
    [R_NAME] = {"name", 's', "NAME", "the department's name, e.g. 学习部 (required)"},
    [R_CONTACT] = {"contact", 's', "CONTACT", "who to contact: name, phone, e-mail (required)"},
    [R_KEY_OUT] = {"key-out", 's', "FILE", "where to write the new key (required)"},
    [R_FORCE] = {"force", 'f', NULL, "replace FILE if it exists"},
};

static int
dept_register(int argc, char **argv)
{
    static const char prog[] = "ltdrs dept register";
    struct cli_args args;
    struct net *n = NULL;
    struct arena a;
    arena_init(&a);
    bool done;
    int rc = cli_parse_or_help(prog, register_usage, register_opts, ARRAY_LEN(register_opts), 0,
                               argc, argv, &args, &done);
    if (rc || done)
        goto out;
    const char *name = args.val[R_NAME].s, *contact = args.val[R_CONTACT].s;
    const char *path = args.val[R_KEY_OUT].s;
    if (name == NULL || contact == NULL || path == NULL) {
        rc = cli_error(CLI_EXIT_USAGE, prog, "--name, --contact and --key-out are required");
        goto out;
    }
    if ((rc = cli_text_arg(prog, "--name", name, ltdrs_name_bytes_max, false, false)) ||
        (rc = cli_text_arg(prog, "--contact", contact, ltdrs_name_bytes_max, false, false)) ||
        (rc = cli_node_open(prog, args.val[R_NODE].s, &n)))
        goto out;
    struct cjson *data = cli_record(&a, "department");
    cli_set_str(&a, data, "name", name);
    cli_set_str(&a, data, "contact", contact);
    struct ltd_pubkey pk;
    char txid[65], b58[48];
    rc = cli_register_key(prog, n, &a, path, args.val[R_FORCE].set, data, &pk, txid);
    if (rc == CLI_EXIT_OK) {
        codec_b58_encode32(pk.b, b58);
        fprintf(stderr,
                "%s: department '%s' registered, waiting for certification; public key %s, "
                "key file '%s'\n%s: the school admin certifies it with: ltdrs admin certify %s "
                "--approve\n",
                prog, name, b58, path, prog, txid);
    }
out:
    net_free(n);
    arena_release(&a);
    cli_args_release(&args);
    return rc;
}

/* ---------------------------------------------------------------- apply */

static const char apply_usage[] =
    "usage: ltdrs dept apply --key KEYFILE --name NAME --start TIME --end TIME --venue VENUE\n"
    "                        --tickets N --category CATEGORY [--description TEXT]\n"
    "                        [--zone ±HH:MM] [--node URL]\n"
    "\n"
    "Applies for the tickets of an activity.  TIME is ISO 8601 with a zone\n"
    "(2020-06-28T09:00+08:00); without a zone it is taken in --zone (default\n"
    "+08:00), and a bare date means 00:00 for --start and 23:59 for --end.\n"
    "N is 1 to 100000.  Prints the application id.\n";

enum { P_NODE, P_KEY, P_NAME, P_START, P_END, P_VENUE, P_TICKETS, P_CATEGORY, P_DESC, P_ZONE };
static const struct cli_opt apply_opts[] = {
    [P_NODE] = NODE_OPT,
    [P_KEY] = KEY_OPT,
    [P_NAME] = {"name", 's', "NAME", "the activity's name (required)"},
    [P_START] = {"start", 's', "TIME", "when it starts (required)"},
    [P_END] = {"end", 's', "TIME", "when it ends (required)"},
    [P_VENUE] = {"venue", 's', "VENUE", "where (required)"},
    [P_TICKETS] = {"tickets", 's', "N", "tickets requested, 1-100000 (required)"},
    [P_CATEGORY] = {"category", 's', "CATEGORY", "e.g. 学习, 讲座 (required)"},
    [P_DESC] = {"description", 's', "TEXT", "what it is about"},
    [P_ZONE] = {"zone", 's', "±HH:MM", "zone of times given without one (default +08:00)"},
};

static bool
zone_ok(const char *z)
{
    if (strcmp(z, "Z") == 0)
        return true;
    return strlen(z) == 6 && (z[0] == '+' || z[0] == '-') && z[1] >= '0' && z[1] <= '1' &&
           z[2] >= '0' && z[2] <= '9' && z[3] == ':' && z[4] >= '0' && z[4] <= '5' && z[5] >= '0' &&
           z[5] <= '9';
}

/* A time option: as given when it has a zone, else completed with zone. */
static int
time_opt(const char *prog, const char *what, const char *s, const char *zone, bool is_end,
         char out[40], int64_t *sec)
{
    size_t n = strlen(s);
    if (n < 40 && ltdrs_parse_time(s, sec)) {
        memcpy(out, s, n + 1);
        return CLI_EXIT_OK;
    }
    if (n == 10)
        snprintf(out, 40, "%sT%s%s", s, is_end ? "23:59" : "00:00", zone);
    else if (n == 16 || n == 19)
        snprintf(out, 40, "%.10sT%s%s", s, s + 11, zone);
    else
        out[0] = 0;
    if (out[0] && (s[10] == 'T' || s[10] == ' ' || n == 10) && ltdrs_parse_time(out, sec))
        return CLI_EXIT_OK;
    return cli_error(CLI_EXIT_USAGE, prog,
                     "%s: '%.60s' is not a time; write YYYY-MM-DDTHH:MM+08:00 (or a date "
                     "YYYY-MM-DD, or a time without zone, taken in --zone)",
                     what, s);
}

/* The text options of apply, checked in the order of the table. */
static int
apply_texts(struct cli_session *d)
{
    static const struct {
        size_t max;
        int idx;
        bool multiline;
    } t[] = {{ltdrs_name_bytes_max, P_NAME, false},
             {ltdrs_name_bytes_max, P_VENUE, false},
             {ltdrs_name_bytes_max, P_CATEGORY, false},
             {ltdrs_text_bytes_max, P_DESC, true}};
    for (size_t i = 0; i < ARRAY_LEN(t); i++) {
        const struct cli_val *v = &d->args.val[t[i].idx];
        char what[40];
        snprintf(what, sizeof what, "--%s", apply_opts[t[i].idx].name);
        if (!v->set && t[i].idx != P_DESC)
            return cli_error(CLI_EXIT_USAGE, d->prog, "%s is required", what);
        int rc =
            v->set ? cli_text_arg(d->prog, what, v->s, t[i].max, t[i].idx == P_DESC, t[i].multiline)
                   : CLI_EXIT_OK;
        if (rc)
            return rc;
    }
    return CLI_EXIT_OK;
}

static int
dept_apply(struct cli_session *d)
{
    int rc = CLI_EXIT_OK;
    const struct cli_val *v = d->args.val;
    const char *zone = v[P_ZONE].set ? v[P_ZONE].s : "+08:00";
    char start[40], end[40];
    int64_t s0 = 0, s1 = 0;
    uint32_t tickets = 0;
    if ((rc = apply_texts(d)))
        return rc;
    if (!v[P_START].set || !v[P_END].set || !v[P_TICKETS].set)
        return cli_error(CLI_EXIT_USAGE, d->prog, "--start, --end and --tickets are required");
    if (!zone_ok(zone))
        return cli_error(CLI_EXIT_USAGE, d->prog, "--zone: '%.20s' is not Z or ±HH:MM", zone);
    if ((rc = time_opt(d->prog, "--start", v[P_START].s, zone, false, start, &s0)) ||
        (rc = time_opt(d->prog, "--end", v[P_END].s, zone, true, end, &s1)) ||
        (rc = cli_parse_uint(d->prog, "--tickets", v[P_TICKETS].s, ltdrs_tickets_max, &tickets)))
        return rc;
    if (s1 < s0)
        return cli_error(CLI_EXIT_USAGE, d->prog, "--end (%s) is before --start (%s)", end, start);
    struct cjson *data = cli_record(&d->a, "application");
    cli_set_str(&d->a, data, "name", v[P_NAME].s);
    cli_set_str(&d->a, data, "start", start);
    cli_set_str(&d->a, data, "end", end);
    cli_set_str(&d->a, data, "venue", v[P_VENUE].s);
    cjson_obj_set(&d->a, data, "tickets", cjson_new_int(&d->a, tickets));
    cli_set_str(&d->a, data, "category", v[P_CATEGORY].s);
    if (v[P_DESC].set)
        cli_set_str(&d->a, data, "description", v[P_DESC].s);
    rc = cli_session_post(d, data, NULL, 1,
                          "applied for %u tickets for '%s' (%s to %s, %s); waiting for the "
                          "school admin's decision",
                          tickets, v[P_NAME].s, start, end, v[P_VENUE].s);
    return rc;
}

static const struct cli_session_cmd dept_apply_cmd = {
    "ltdrs dept apply", apply_usage, apply_opts, ARRAY_LEN(apply_opts), 0, dept_key, dept_apply};

/* ---------------------------------------------------------------- close */

static const char close_usage[] =
    "usage: ltdrs dept close --key KEYFILE --application ID [--node URL]\n"
    "\n"
    "Closes an approved activity: no ticket of it moves any more and the\n"
    "tickets the department still holds lapse.\n";

enum { C_NODE, C_KEY, C_APPLICATION };
static const struct cli_opt close_opts[] = {
    [C_NODE] = NODE_OPT,
    [C_KEY] = KEY_OPT,
    [C_APPLICATION] = {"application", 's', "ID", "the application id (required)"},
};

static int
dept_close(struct cli_session *d)
{
    int rc = CLI_EXIT_OK;
    char hex[65];
    if (!d->args.val[C_APPLICATION].set)
        return cli_error(CLI_EXIT_USAGE, d->prog, "--application ID is required");
    if ((rc = cli_parse_txid(d->prog, "--application", d->args.val[C_APPLICATION].s, hex)))
        return rc;
    struct cjson *data = cli_record(&d->a, "close");
    cli_set_str(&d->a, data, "application", hex);
    return cli_session_post(d, data, NULL, 1, "activity %s closed", hex);
}

static const struct cli_session_cmd dept_close_cmd = {
    "ltdrs dept close", close_usage, close_opts, ARRAY_LEN(close_opts), 0, dept_key, dept_close};

/* ----------------------------------------------------------- distribute */

static const char distribute_usage[] =
    "usage: ltdrs dept distribute --key KEYFILE --application ID [--batch N] [--preview]\n"
    "                             [--node URL] FILE.csv\n"
    "\n"
    "Gives one ticket of the activity to each student number in FILE.csv\n"
    "(first column; optional header `sid`; \"-\" for standard input).  First\n"
    "prints a preview: who will get a ticket, who already holds one, who is\n"
    "not registered or unknown, and malformed lines; with --preview it stops\n"
    "there.  Then sends the tickets in transactions of N students (default\n"
    "100, at most 999), showing progress on stderr, and ends with a summary:\n"
    "distributed, skipped and why, failed and why.  Running it again with the\n"
    "same file is safe.  Exit 0 when every listed student now holds a ticket,\n"
    "1 when some did not get one or lines were malformed, 4 when the node\n"
    "stopped answering.\n";

enum { X_NODE, X_KEY, X_APPLICATION, X_BATCH, X_PREVIEW };
static const struct cli_opt distribute_opts[] = {
    [X_NODE] = NODE_OPT,
    [X_KEY] = KEY_OPT,
    [X_APPLICATION] = {"application", 's', "ID", "the approved application (required)"},
    [X_BATCH] = {"batch", 's', "N", "students per transaction (default 100, at most 999)"},
    [X_PREVIEW] = {"preview", 'f', NULL, "only show who would get a ticket"},
};

/* What happens to each listed student. */
enum st {
    ST_SEND = 0, /* registered, holds none: gets a ticket */
    ST_HAS,      /* already holds a ticket of this activity (skipped) */
    ST_UNREG,    /* on the roster, not registered yet (skipped) */
    ST_UNKNOWN,  /* not on the roster (skipped) */
    ST_INVALID,  /* the node calls the number invalid (skipped) */
    ST_DONE,     /* got a ticket now */
    ST_FAILED,   /* refused or not sent; why[] says why */
    ST__COUNT
};

/* One department-held ticket output. */
struct dout {
    struct ltd_hash txid;
    uint32_t index;
    uint64_t amount;
};

struct dist {
    struct cli_session *d;
    char app[65];
    struct ltd_hash asset;
    char name[ltdrs_name_bytes_max + 1]; /* activity name for messages */
    struct dout *outs;                   /* department-held outputs we may spend */
    uint32_t n_outs;
    uint64_t remaining;
    struct cli_sids s;
    uint8_t *st;            /* enum st per student */
    struct ltd_pubkey *key; /* student keys (ST_SEND) */
    char **why;             /* ST_FAILED: owned reason */
    uint32_t *todo;         /* indices of ST_SEND students in file order */
    uint32_t n_todo;
    uint32_t n_tx;          /* distribution transactions committed */
    uint32_t processed;     /* of n_todo, for the progress display */
    uint32_t input_retries; /* of the current batch */
    bool short_retried;     /* the current batch was short of tickets once */
    uint64_t last_line_ms;
    bool tty;
};

static void
dist_release(struct dist *x)
{
    for (uint32_t i = 0; x->why && i < x->s.n; i++)
        free(x->why[i]);
    free(x->why);
    free(x->st);
    free(x->key);
    free(x->todo);
    free(x->outs);
    cli_sids_release(&x->s);
}

static void
fail_student(struct dist *x, uint32_t i, const char *why)
{
    x->st[i] = ST_FAILED;
    free(x->why[i]);
    x->why[i] = xstrdup(why);
}

/* Replaces x->outs with the outputs listed by the node. */
static void
keep_outputs(struct dist *x, const struct cjson *list)
{
    free(x->outs);
    x->outs = xcalloc(list->len + 1, sizeof *x->outs);
    x->n_outs = 0;
    x->remaining = 0;
    for (uint32_t i = 0; i < list->len; i++) {
        const struct cjson *o = list->items[i];
        const char *tid = cli_str_of(o, "transaction_id");
        long long idx = int_of(o, "output_index"), amt = int_of(o, "amount");
        struct dout *t = &x->outs[x->n_outs];
        if (strlen(tid) != 64 || !hex_decode(t->txid.b, 32, tid, 64) || idx < 0 || idx > 65535 ||
            amt < 1)
            continue;
        t->index = (uint32_t)idx;
        t->amount = (uint64_t)amt;
        x->remaining += t->amount;
        x->n_outs++;
    }
}

/* Loads the department-held outputs of the activity; checks it is ours. */
static int
load_outputs(struct dist *x)
{
    struct cli_session *d = x->d;
    struct buf p;
    buf_init(&p);
    buf_addf(&p, "/ltdrs/api/v1/activities/%s/outputs", x->app);
    struct net_resp r;
    net_resp_init(&r);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct arena a;
    arena_init(&a);
    struct cjson *root = NULL;
    int rc = CLI_EXIT_OK;
    enum ltd_err e = net_get(d->n, p.p, &r, &eb);
    if (e == LTD_E_HTTP_NOT_FOUND) {
        rc = cli_error(CLI_EXIT_INVALID, d->prog,
                       "--application: %s is not an approved application (unknown, pending or "
                       "rejected)",
                       x->app);
        goto out;
    }
    if (e != LTD_OK) {
        rc = cli_node_error(d->prog, &eb);
        goto out;
    }
    const struct cjson *list = NULL, *dk = NULL, *asset = NULL, *closed = NULL;
    if (cjson_parse(&a, r.body.p ? r.body.p : "", r.body.len, NULL, &root, &eb) == LTD_OK &&
        root->type == CJSON_OBJECT) {
        list = cjson_get(root, "outputs");
        dk = cjson_get(root, "department_key");
        asset = cjson_get(root, "asset_id");
        closed = cjson_get(root, "closed");
    }
    struct ltd_pubkey key;
    if (list == NULL || list->type != CJSON_ARRAY || !cjson_is_string(dk) ||
        !cjson_is_string(asset) || asset->len != 64 ||
        !hex_decode(x->asset.b, 32, asset->str, 64) ||
        codec_b58_decode32(dk->str, dk->len, key.b) != LTD_OK) {
        rc = cli_error(CLI_EXIT_NET, d->prog, "GET %s%s: unexpected answer", net_base_url(d->n),
                       p.p);
        goto out;
    }
    if (memcmp(key.b, d->pk.b, 32) != 0) {
        rc = cli_error(CLI_EXIT_INVALID, d->prog,
                       "--application: activity %s belongs to department key %s, not to --key",
                       x->app, dk->str);
        goto out;
    }
    if (closed && closed->type == CJSON_TRUE) {
        rc = cli_error(CLI_EXIT_INVALID, d->prog,
                       "--application: activity %s is closed; its tickets cannot move", x->app);
        goto out;
    }
    keep_outputs(x, list);
out:
    arena_release(&a);
    net_resp_release(&r);
    buf_release(&p);
    return rc;
}

/* Asks the node about the students idx[0..n); sets st[] and key[]. */
static int
classify_chunk(struct dist *x, const uint32_t *idx, uint32_t n)
{
    struct cli_session *d = x->d;
    struct buf body;
    buf_init(&body);
    buf_addf(&body, "{\"activity\":\"%s\",\"sids\":[", x->app);
    for (uint32_t j = 0; j < n; j++) /* student numbers need no JSON escapes */
        buf_addf(&body, "%s\"%s\"", j ? "," : "", x->s.sid[idx[j]]);
    buf_adds(&body, "]}");
    struct net_resp r;
    net_resp_init(&r);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct arena a;
    arena_init(&a);
    struct cjson *root = NULL;
    int rc = CLI_EXIT_OK;
    if (net_post_json(d->n, "/ltdrs/api/v1/students/keys", body.p, body.len, &r, &eb) != LTD_OK)
        rc = cli_node_error(d->prog, &eb);
    else if (cjson_parse(&a, r.body.p ? r.body.p : "", r.body.len, NULL, &root, &eb) != LTD_OK ||
             root->type != CJSON_OBJECT)
        rc =
            cli_error(CLI_EXIT_NET, d->prog, "POST /ltdrs/api/v1/students/keys: unexpected answer");
    for (uint32_t j = 0; rc == CLI_EXIT_OK && j < n; j++) {
        uint32_t i = idx[j];
        const struct cjson *e = cjson_get(root, x->s.sid[i]);
        const char *status = cli_str_of(e, "status"), *key = cli_str_of(e, "key");
        if (strcmp(status, "ok") == 0 &&
            codec_b58_decode32(key, strlen(key), x->key[i].b) == LTD_OK)
            x->st[i] = ST_SEND;
        else if (strcmp(status, "has_ticket") == 0)
            x->st[i] = ST_HAS;
        else if (strcmp(status, "unregistered") == 0)
            x->st[i] = ST_UNREG;
        else if (strcmp(status, "unknown") == 0)
            x->st[i] = ST_UNKNOWN;
        else
            x->st[i] = ST_INVALID;
    }
    arena_release(&a);
    net_resp_release(&r);
    buf_release(&body);
    return rc;
}

/* Asks the node again about every student still waiting (ST_SEND): another
 * run may have served some, a number may have been unbound. */
static int
reclassify(struct dist *x)
{
    uint32_t *idx = xcalloc(query_keys_sids_max, sizeof *idx);
    uint32_t n = 0;
    int rc = CLI_EXIT_OK;
    for (uint32_t i = 0; i <= x->s.n && rc == CLI_EXIT_OK; i++) {
        if (i < x->s.n && x->st[i] == ST_SEND)
            idx[n++] = i;
        if (n == query_keys_sids_max || (i == x->s.n && n > 0)) {
            rc = classify_chunk(x, idx, n);
            n = 0;
        }
    }
    free(idx);
    return rc;
}

static int
classify(struct dist *x)
{
    x->st = xcalloc(x->s.n + 1, sizeof *x->st);
    x->key = xcalloc(x->s.n + 1, sizeof *x->key);
    x->why = xcalloc(x->s.n + 1, sizeof *x->why);
    x->todo = xcalloc(x->s.n + 1, sizeof *x->todo);
    int rc = reclassify(x); /* every student starts as ST_SEND (0) */
    if (rc)
        return rc;
    for (uint32_t i = 0; i < x->s.n; i++)
        if (x->st[i] == ST_SEND)
            x->todo[x->n_todo++] = i;
    return CLI_EXIT_OK;
}

static uint32_t
count_st(const struct dist *x, enum st s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < x->s.n; i++)
        n += x->st[i] == s;
    return n;
}

static void
print_preview(const struct dist *x)
{
    printf("activity %s%s%s%s: %llu ticket(s) held by the department\n", x->app,
           x->name[0] ? " (" : "", x->name, x->name[0] ? ")" : "",
           (unsigned long long)x->remaining);
    printf("  will get a ticket:       %u\n", count_st(x, ST_SEND));
    printf("  already hold one:        %u\n", count_st(x, ST_HAS));
    printf("  not registered yet:      %u\n", count_st(x, ST_UNREG));
    printf("  unknown (not on roster): %u\n", count_st(x, ST_UNKNOWN) + count_st(x, ST_INVALID));
    printf("  malformed lines:         %u\n", x->s.n_bad);
    printf("  repeated lines:          %u\n", x->s.n_dup);
    if (count_st(x, ST_SEND) > x->remaining)
        printf("  not enough tickets: the last %llu will get none\n",
               (unsigned long long)(count_st(x, ST_SEND) - x->remaining));
    fflush(stdout);
}

/* The activity's name, for messages (best effort). */
static void
load_name(struct dist *x)
{
    struct buf p;
    buf_init(&p);
    buf_addf(&p, "/ltdrs/api/v1/activities/%s", x->app);
    struct net_resp r;
    net_resp_init(&r);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct arena a;
    arena_init(&a);
    struct cjson *root = NULL;
    if (net_get(x->d->n, p.p, &r, &eb) == LTD_OK &&
        cjson_parse(&a, r.body.p ? r.body.p : "", r.body.len, NULL, &root, &eb) == LTD_OK)
        snprintf(x->name, sizeof x->name, "%s", cli_str_of(root, "name"));
    arena_release(&a);
    net_resp_release(&r);
    buf_release(&p);
}

/* ---- progress ---- */

static void
progress(struct dist *x, bool last)
{
    uint64_t now = ltd_now_ms();
    uint32_t done = count_st(x, ST_DONE);
    if (x->tty) {
        enum { width = 30 };
        uint32_t fill = x->n_todo ? (uint32_t)((uint64_t)x->processed * width / x->n_todo) : width;
        char bar[width + 1];
        for (uint32_t i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        fprintf(stderr, "\r[%s] %u/%u students, %u ticket(s) sent, %u transaction(s)", bar,
                x->processed, x->n_todo, done, x->n_tx);
        if (last)
            fputc('\n', stderr);
        fflush(stderr);
        return;
    }
    if (last || now - x->last_line_ms >= progress_line_ms) {
        fprintf(stderr, "%s: %u/%u students processed, %u ticket(s) sent in %u transaction(s)\n",
                x->d->prog, x->processed, x->n_todo, done, x->n_tx);
        x->last_line_ms = now;
    }
}

/* ---- one batch ---- */

/* B_STUDENT: refused because of one student (split the batch); B_INPUTS:
 * the spent outputs changed under us (refetch); B_SHORT: fewer tickets
 * left than students (another run took them: refetch); B_REFUSED: refused for a
 * reason that concerns every batch (stop, exit 1); B_FATAL: no usable
 * answer (stop, exit 4). */
enum batch_result { B_OK, B_STUDENT, B_INPUTS, B_SHORT, B_REFUSED, B_FATAL };

static bool
student_rule(const char *rule)
{
    static const char *const rules[] = {"StudentAlreadyHasTicket", "StudentKeyMismatch",
                                        "StudentNotRegistered", "BadStudentNumber"};
    for (size_t i = 0; i < ARRAY_LEN(rules); i++)
        if (strcmp(rule, rules[i]) == 0)
            return true;
    return false;
}

/* The inputs for k tickets: department outputs in order until they cover k. */
static uint32_t
pick_inputs(const struct dist *x, uint32_t k, uint64_t *sum)
{
    uint32_t n = 0;
    *sum = 0;
    while (n < x->n_outs && n < dist_inputs_max && *sum < k)
        *sum += x->outs[n++].amount;
    return n;
}

/* Builds and signs the distribution of the k students sel[]. */
static enum ltd_err
build_batch(struct dist *x, struct arena *a, const uint32_t *sel, uint32_t k, uint32_t n_in,
            uint64_t sum, struct tx *t, struct ltd_errbuf *eb)
{
    struct tx_new_input *ins = arena_alloc(a, sizeof *ins * n_in);
    const struct cc_details **spent =
        arena_alloc(a, n_in * sizeof *spent); /* NOLINT(bugprone-sizeof-expression): pointers */
    struct cc_details *dept = cc_details_ed25519(a, &x->d->pk);
    for (uint32_t i = 0; i < n_in; i++) {
        ins[i].txid = x->outs[i].txid;
        ins[i].index = x->outs[i].index;
        ins[i].details = dept;
        spent[i] = dept;
    }
    struct tx_new_output *outs = arena_alloc(a, sizeof *outs * (k + 1));
    struct cjson *meta = cli_record(a, "distribution");
    struct cjson *list = cjson_new_array(a);
    for (uint32_t j = 0; j < k; j++) {
        uint32_t i = sel[j];
        struct cc_details *subs[2] = {cc_details_ed25519(a, &x->key[i]), dept}; /* copied */
        outs[j].details = cc_details_threshold(a, 2, 2, subs);
        outs[j].amount = 1;
        cjson_arr_push(a, list, cjson_new_stringz(a, x->s.sid[i]));
    }
    cjson_obj_set(a, meta, "students", list);
    uint32_t n_out = k;
    if (sum > k) {
        outs[n_out].details = dept;
        outs[n_out++].amount = sum - k;
    }
    enum ltd_err e = tx_build_transfer(a, &x->asset, ins, n_in, meta, outs, n_out, t, eb);
    if (e == LTD_OK)
        e = tx_sign(a, t, &x->d->seed, spent, false, NULL, eb);
    return e;
}

/* After a committed batch: its inputs are gone, its change is ours. */
static void
spend_inputs(struct dist *x, uint32_t n_in, const struct tx *t, uint32_t k, uint64_t sum)
{
    memmove(x->outs, x->outs + n_in, sizeof *x->outs * (x->n_outs - n_in));
    x->n_outs -= n_in;
    x->remaining -= k;
    if (sum > k) {
        memmove(x->outs + 1, x->outs, sizeof *x->outs * x->n_outs);
        x->outs[0].txid = t->id;
        x->outs[0].index = k;
        x->outs[0].amount = sum - k;
        x->n_outs++;
    }
}

/* Whether a transaction whose answer was lost is on the ledger. */
static bool
committed_anyway(struct dist *x, const char *id)
{
    struct buf p;
    buf_init(&p);
    buf_addf(&p, "/api/v1/transactions/%s", id);
    struct net_resp r;
    net_resp_init(&r);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    bool ok = false;
    for (int attempt = 0; attempt < 3 && !ok; attempt++) {
        if (attempt)
            sleep(1);
        ok = net_get(x->d->n, p.p, &r, &eb) == LTD_OK;
    }
    net_resp_release(&r);
    buf_release(&p);
    return ok;
}

/* Sends the students of todo[lo, hi) still waiting (none: B_OK); *msg
 * gets the refusal and rule (64 bytes) the rule the node named, if any. */
static enum batch_result
send_batch(struct dist *x, uint32_t lo, uint32_t hi, struct buf *msg, char rule[64])
{
    struct arena a;
    arena_init(&a);
    uint32_t *sel = arena_alloc(&a, sizeof *sel * (hi - lo));
    uint32_t k = 0;
    for (uint32_t j = lo; j < hi; j++)
        if (x->st[x->todo[j]] == ST_SEND)
            sel[k++] = x->todo[j];
    uint64_t sum = 0;
    uint32_t n_in = pick_inputs(x, k, &sum);
    rule[0] = 0;
    if (k == 0) {
        arena_release(&a);
        return B_OK;
    }
    if (sum < k) {
        buf_addf(msg, "the department holds only %llu ticket(s) of this activity now",
                 (unsigned long long)x->remaining);
        arena_release(&a);
        return B_SHORT;
    }
    struct tx t;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct net_resp r;
    net_resp_init(&r);
    enum batch_result res = B_OK;
    if (build_batch(x, &a, sel, k, n_in, sum, &t, &eb) != LTD_OK) {
        buf_addf(msg, "building the transaction failed: %s", eb.msg);
        res = B_FATAL;
        goto out;
    }
    enum ltd_err e = cli_post_tx(x->d->n, &t, &r, &eb);
    if (e == LTD_OK || (r.status == 0 && committed_anyway(x, t.id_hex))) {
        spend_inputs(x, n_in, &t, k, sum);
        x->n_tx++;
        goto out;
    }
    if (r.status == 0) {
        buf_addf(msg, "%s; whether transaction %s was committed is unknown", eb.msg, t.id_hex);
        res = B_FATAL;
        goto out;
    }
    if (r.status < 400 || r.status >= 500) {
        buf_adds(msg, eb.msg); /* names the URL and the status */
        res = B_FATAL;
        goto out;
    }
    net_server_message(&r, msg);
    if (!net_rule(&r, rule, 64))
        res = B_REFUSED;
    else if (student_rule(rule))
        res = B_STUDENT;
    else if (strcmp(rule, "DoubleSpend") == 0 || strcmp(rule, "InputDoesNotExist") == 0)
        res = B_INPUTS;
    else
        res = B_REFUSED;
out:
    net_resp_release(&r);
    arena_release(&a);
    return res;
}

/* Backoff before retry n (1, 2, ...): grows, with jitter, so that two runs
 * racing for the same outputs do not keep colliding. */
static void
retry_wait(uint32_t n)
{
    uint32_t r = 0;
    codec_random(&r, sizeof r);
    uint32_t ms = 50 * n + r % 100;
    if (ms > dist_retry_wait_ms_max)
        ms = dist_retry_wait_ms_max;
    usleep(ms * 1000u);
}

/* After B_INPUTS or B_SHORT: waits, refetches the department's outputs
 * and the waiting students' statuses, and says whether to try the batch
 * again (bounded; B_SHORT once).  *rc gets a failed refetch's code. */
static bool
retry_batch(struct dist *x, enum batch_result res, int *rc)
{
    if (res != B_INPUTS && res != B_SHORT)
        return false;
    if (x->input_retries >= dist_input_retries_max || (res == B_SHORT && x->short_retried))
        return false;
    x->input_retries++;
    x->short_retried = res == B_SHORT;
    if (res == B_INPUTS)
        retry_wait(x->input_retries);
    *rc = load_outputs(x);
    if (*rc == CLI_EXIT_OK)
        *rc = reclassify(x);
    return *rc == CLI_EXIT_OK;
}

/* Marks todo[lo, hi) failed with why. */
static void
fail_range(struct dist *x, uint32_t lo, uint32_t hi, const char *why)
{
    for (uint32_t j = lo; j < hi; j++)
        if (x->st[x->todo[j]] == ST_SEND)
            fail_student(x, x->todo[j], why);
}

/* A batch of students: todo[lo, hi). */
struct range {
    uint32_t lo, hi;
};

/* Sends everything; splits refused batches to isolate the student at
 * fault.  Returns CLI_EXIT_NET when it had to stop (the rest are marked
 * failed), else CLI_EXIT_OK. */
static int
send_all(struct dist *x, uint32_t batch)
{
    uint32_t n = x->n_todo < x->remaining ? x->n_todo : (uint32_t)x->remaining;
    fail_range(x, n, x->n_todo, "no ticket left for this student");
    uint32_t n_batches = (n + batch - 1) / batch;
    size_t cap = (size_t)n_batches + 2 * 32 + 2;
    struct range *stack = xcalloc(cap, sizeof *stack);
    size_t top = 0;
    for (uint32_t b = n_batches; b-- > 0;) {
        stack[top].lo = b * batch;
        stack[top++].hi = (b + 1) * batch < n ? (b + 1) * batch : n;
    }
    int rc = CLI_EXIT_OK;
    struct buf msg;
    buf_init(&msg);
    while (top > 0) {
        uint32_t lo = stack[top - 1].lo, hi = stack[top - 1].hi;
        top--;
        buf_reset(&msg);
        char rule[64] = "";
        enum batch_result res = send_batch(x, lo, hi, &msg, rule);
        if (retry_batch(x, res, &rc)) {
            top++; /* the same range again, with fresh outputs and statuses */
            continue;
        }
        x->input_retries = 0;
        x->short_retried = false;
        if (res == B_OK) {
            for (uint32_t j = lo; j < hi; j++)
                if (x->st[x->todo[j]] == ST_SEND)
                    x->st[x->todo[j]] = ST_DONE;
        } else if (res == B_STUDENT && hi - lo > 1) {
            LTD_ASSERT(top + 2 <= cap);
            uint32_t mid = lo + (hi - lo) / 2;
            stack[top] = (struct range){mid, hi};
            stack[top + 1] = (struct range){lo, mid};
            top += 2;
            continue;
        } else if (res == B_STUDENT && strcmp(rule, "StudentAlreadyHasTicket") == 0) {
            x->st[x->todo[lo]] = ST_HAS; /* got one since the preview (another run) */
        } else if (res == B_STUDENT) {
            fail_student(x, x->todo[lo], msg.p ? msg.p : "refused");
        } else {
            fprintf(stderr, "%s%s: stopped: %s\n", x->tty ? "\n" : "", x->d->prog,
                    msg.p ? msg.p : "?");
            fail_range(x, lo, n, msg.p ? msg.p : "not sent");
            if (rc == CLI_EXIT_OK)
                rc = res == B_FATAL ? CLI_EXIT_NET : CLI_EXIT_INVALID;
            x->processed = n;
            break;
        }
        x->processed += hi - lo;
        progress(x, false);
    }
    progress(x, true);
    buf_release(&msg);
    free(stack);
    return rc;
}

static void
print_list(const struct dist *x, enum st s, const char *why)
{
    uint32_t shown = 0;
    for (uint32_t i = 0; i < x->s.n; i++) {
        if (x->st[i] != s)
            continue;
        if (shown++ == dist_listed_max) {
            printf("    ...\n");
            break;
        }
        printf("    %-20s %s\n", x->s.sid[i], why ? why : x->why[i]);
    }
}

static int
print_summary(const struct dist *x)
{
    uint32_t done = count_st(x, ST_DONE), has = count_st(x, ST_HAS), unreg = count_st(x, ST_UNREG);
    uint32_t unknown = count_st(x, ST_UNKNOWN), invalid = count_st(x, ST_INVALID);
    uint32_t failed = count_st(x, ST_FAILED);
    printf("distributed: %u ticket(s) in %u transaction(s)\n", done, x->n_tx);
    printf("skipped: %u\n", has + unreg + unknown + invalid);
    print_list(x, ST_HAS, "already holds a ticket of this activity");
    print_list(x, ST_UNREG, "not registered yet (has not bound a key to the number)");
    print_list(x, ST_UNKNOWN, "unknown student number (not on the roster)");
    print_list(x, ST_INVALID, "the node refuses this student number");
    printf("failed: %u\n", failed);
    print_list(x, ST_FAILED, NULL);
    if (x->s.n_bad + x->s.n_dup)
        printf("not read: %u malformed and %u repeated line(s) (listed above on stderr)\n",
               x->s.n_bad, x->s.n_dup);
    printf("tickets left with the department: %llu\n", (unsigned long long)x->remaining);
    fflush(stdout);
    return failed + unreg + unknown + invalid + x->s.n_bad > 0 ? CLI_EXIT_INVALID : CLI_EXIT_OK;
}

static int
dept_distribute(struct cli_session *d)
{
    struct dist x;
    memset(&x, 0, sizeof x);
    x.d = d;
    int rc = CLI_EXIT_OK;
    uint32_t batch = dist_batch_default;
    if (!d->args.val[X_APPLICATION].set || d->args.n_pos != 1) {
        rc = cli_error(CLI_EXIT_USAGE, d->prog, "--application ID and FILE.csv are required");
        goto out;
    }
    if ((rc = cli_parse_txid(d->prog, "--application", d->args.val[X_APPLICATION].s, x.app)) ||
        (d->args.val[X_BATCH].set &&
         (rc = cli_parse_uint(d->prog, "--batch", d->args.val[X_BATCH].s, dist_batch_max,
                              &batch))) ||
        (rc = cli_read_sids(d->prog, d->args.pos[0], &x.s)) || (rc = load_outputs(&x)))
        goto out;
    load_name(&x);
    if ((rc = classify(&x)))
        goto out;
    print_preview(&x);
    if (d->args.val[X_PREVIEW].set)
        goto out;
    x.tty = isatty(STDERR_FILENO) == 1;
    x.last_line_ms = ltd_now_ms();
    int rc_send = x.n_todo ? send_all(&x, batch) : CLI_EXIT_OK;
    rc = print_summary(&x);
    if (rc_send)
        rc = rc_send;
out:
    dist_release(&x);
    return rc;
}

static const struct cli_session_cmd dept_distribute_cmd = {"ltdrs dept distribute",
                                                           distribute_usage,
                                                           distribute_opts,
                                                           ARRAY_LEN(distribute_opts),
                                                           1,
                                                           dept_key,
                                                           dept_distribute};

/* --------------------------------------------------------------- status */

static const char status_usage[] =
    "usage: ltdrs dept status --key KEYFILE [--node URL]\n"
    "\n"
    "Shows the department (certification and its reason), then every\n"
    "application with its status, reason and ticket figures: requested,\n"
    "approved, distributed, remaining, returned, revoked.  Logs in with the\n"
    "key (the node's session API) to see pending and rejected applications.\n";

enum { S_NODE, S_KEY };
static const struct cli_opt status_opts[] = {
    [S_NODE] = NODE_OPT,
    [S_KEY] = KEY_OPT,
};

static void
print_tickets(const struct cjson *t)
{
    printf("      tickets: requested %lld, approved %lld, distributed %lld, remaining %lld, "
           "returned %lld, revoked %lld, legal %lld, lapsed %lld\n",
           int_of(t, "requested"), int_of(t, "approved"), int_of(t, "distributed"),
           int_of(t, "remaining"), int_of(t, "returned"), int_of(t, "revoked"), int_of(t, "legal"),
           int_of(t, "lapsed"));
}

static void
print_application(const struct cjson *app)
{
    const struct cjson *closed = cjson_get(app, "closed");
    printf("  %s\n", cli_str_of(app, "id"));
    printf("      %s  [%s%s]\n", cli_str_of(app, "name"), cli_str_of(app, "status"),
           closed && closed->type == CJSON_TRUE ? ", closed" : "");
    printf("      %s - %s, %s, %s\n", cli_str_of(app, "start"), cli_str_of(app, "end"),
           cli_str_of(app, "venue"), cli_str_of(app, "category"));
    if (cli_str_of(app, "reason")[0])
        printf("      reason: %s\n", cli_str_of(app, "reason"));
    print_tickets(cjson_get(app, "tickets"));
}

/* The role of the key: must be a department. */
static int
status_role(struct cli_session *d, struct cjson **role)
{
    char b58[48];
    codec_b58_encode32(d->pk.b, b58);
    struct buf p;
    buf_init(&p);
    buf_addf(&p, "/ltdrs/api/v1/keys/%s/role", b58);
    int rc = cli_fetch_json(d->prog, d->n, p.p, &d->a, role);
    buf_release(&p);
    if (rc == CLI_EXIT_OK && strcmp(cli_str_of(*role, "role"), "department") != 0)
        rc = cli_error(CLI_EXIT_INVALID, d->prog,
                       "--key: key %s is not a department's (its role: %s)", b58,
                       cli_str_of(*role, "role")[0] ? cli_str_of(*role, "role") : "none");
    return rc;
}

static int
status_applications(struct cli_session *d)
{
    enum { per_page = 1000 };
    int rc = CLI_EXIT_OK;
    long long shown = 0, total = 1;
    for (uint32_t page = 1; rc == CLI_EXIT_OK && shown < total && page <= 1000; page++) {
        char p[128];
        snprintf(p, sizeof p, "/ltdrs/api/v1/applications?status=all&page=%u&per_page=%d", page,
                 per_page);
        struct cjson *root = NULL;
        if ((rc = cli_fetch_json(d->prog, d->n, p, &d->a, &root)))
            break;
        const struct cjson *list = cjson_get(root, "applications");
        total = int_of(root, "total");
        if (list == NULL || list->type != CJSON_ARRAY || list->len == 0)
            break;
        for (uint32_t i = 0; i < list->len; i++)
            print_application(list->items[i]);
        shown += list->len;
    }
    if (rc == CLI_EXIT_OK && shown == 0)
        printf("  no applications yet\n");
    return rc;
}

static int
dept_status(struct cli_session *d)
{
    int rc = CLI_EXIT_OK;
    struct cjson *role = NULL, *stats = NULL;
    if ((rc = status_role(d, &role)))
        return rc;
    printf("department %s\n  id %s, %s\n", cli_str_of(role, "name"), cli_str_of(role, "department"),
           strcmp(cli_str_of(role, "status"), "approved") == 0 ? "certified"
                                                               : cli_str_of(role, "status"));
    if (strcmp(cli_str_of(role, "status"), "rejected") == 0)
        return CLI_EXIT_OK; /* a rejected department cannot log in */
    char r[16];
    if ((rc = cli_login(d->prog, d->n, &d->seed, &d->pk, r)))
        return rc;
    char p[160];
    snprintf(p, sizeof p, "/ltdrs/api/v1/departments/%s/stats", cli_str_of(role, "department"));
    struct net_resp resp;
    net_resp_init(&resp);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (net_get(d->n, p, &resp, &eb) == LTD_OK &&
        cjson_parse(&d->a, resp.body.p, resp.body.len, NULL, &stats, &eb) == LTD_OK) {
        const struct cjson *apps = cjson_get(stats, "applications");
        printf("  applications: %lld (pending %lld, approved %lld, rejected %lld)\n",
               int_of(apps, "total"), int_of(apps, "pending"), int_of(apps, "approved"),
               int_of(apps, "rejected"));
        print_tickets(cjson_get(stats, "tickets"));
    }
    net_resp_release(&resp);
    printf("applications:\n");
    rc = status_applications(d);
    cli_logout(d->n);
    return rc;
}

static const struct cli_session_cmd dept_status_cmd = {
    "ltdrs dept status", status_usage, status_opts, ARRAY_LEN(status_opts), 0, dept_key,
    dept_status};

/* ------------------------------------------------------------- dispatch */

static const struct cmd dept_subcommands[] = {
    {"register", dept_register, "make the department's key and file its record", NULL},
    {"apply", NULL, "apply for an activity's tickets", &dept_apply_cmd},
    {"distribute", NULL, "give tickets to the students of a CSV file", &dept_distribute_cmd},
    {"close", NULL, "close an activity (its remaining tickets lapse)", &dept_close_cmd},
    {"status", NULL, "applications, their status and remaining tickets", &dept_status_cmd},
};

int
cmd_dept(int argc, char **argv)
{
    return cli_dispatch("ltdrs dept", dept_usage, dept_subcommands, ARRAY_LEN(dept_subcommands),
                        argc, argv);
}
