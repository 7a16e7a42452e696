/*
 * cmd_student.c - `ltdrs student register|tickets`: a student's side from a
 * shell.  register makes a fresh key (written to a 0600 file, never
 * printed) and binds it to the student number with the activation code
 * the school handed out; tickets is the public lookup by student number.
 *
 * Activation codes as `ltdrs admin` makes them (16 Crockford base32
 * symbols in groups of four) are accepted however they were typed: lower
 * case, without dashes, with spaces, O for 0 and I/L for 1 are put back in
 * the issued form before hashing.  Any other code is used exactly as given.
 *
 * Not here: the rules (the node checks the roster, the code hash and that
 * the key is fresh).
 */
#include "cmd.h"

#include "codec.h"
#include "ltdrs.h"
#include "net.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char student_usage[] =
    "usage: ltdrs student <subcommand> [options]\n"
    "\n"
    "A student's tools: register a key for a student number, look up tickets.\n"
    "Run 'ltdrs student <subcommand> --help' for its options.\n"
    "\nexit codes: 0 done, 1 refused by the node or unknown number, 2 usage,\n"
    "3 file I/O, 4 node unreachable or failing\n"
    "\nsubcommands:\n";

/* ------------------------------------------------------------- register */

static const char register_usage[] =
    "usage: ltdrs student register --sid SID --code CODE --key-out FILE [--name NAME]\n"
    "                              [--force] [--node URL]\n"
    "\n"
    "Makes a new key pair, writes it to FILE (mode 0600; keep it: it is your\n"
    "login and signs your tickets' returns) and binds its public key to the\n"
    "student number with the activation code from the school.  CODE \"-\" reads\n"
    "the code from standard input.  Prints the record id.\n";

enum { G_NODE, G_SID, G_CODE, G_KEY_OUT, G_NAME, G_FORCE };
static const struct cli_opt register_opts[] = {
    [G_NODE] = CLI_NODE_OPT,
    [G_SID] = {"sid", 's', "SID", "your student number (required)"},
    [G_CODE] = {"code", 's', "CODE", "your activation code, or - for stdin (required)"},
    [G_KEY_OUT] = {"key-out", 's', "FILE", "where to write your new key (required)"},
    [G_NAME] = {"name", 's', "NAME", "your name, shown with your tickets (optional)"},
    [G_FORCE] = {"force", 'f', NULL, "replace FILE if it exists"},
};

static const char register_prog[] = "ltdrs student register";

/* Puts a code typed loosely back into the issued form "XXXX-XXXX-XXXX-XXXX"
 * when it is one; otherwise copies it trimmed.  out has cap bytes. */
static void
normalize_code(const char *in, char *out, size_t cap)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    char sym[17];
    size_t n = 0;
    bool ours = true;
    for (const char *p = in; *p && ours; p++) {
        char c = (char)toupper((unsigned char)*p);
        if (c == ' ' || c == '-' || c == '\t' || c == '\n' || c == '\r')
            continue; /* \n: a code piped in with --code - */
        if (c == 'O')
            c = '0';
        else if (c == 'I' || c == 'L')
            c = '1';
        ours = n < 16 && strchr(alphabet, c) != NULL && c != 0;
        if (ours)
            sym[n++] = c;
    }
    if (ours && n == 16) {
        snprintf(out, cap, "%.4s-%.4s-%.4s-%.4s", sym, sym + 4, sym + 8, sym + 12);
    } else {
        size_t b = strspn(in, " \t"), e = strlen(in);
        while (e > b &&
               (in[e - 1] == ' ' || in[e - 1] == '\t' || in[e - 1] == '\n' || in[e - 1] == '\r'))
            e--;
        snprintf(out, cap, "%.*s", (int)(e - b), in + b);
    }
    codec_wipe(sym, sizeof sym);
}

/* The code from the option or from standard input. */
static int
read_code(const char *arg, char *out, size_t cap)
{
    char line[256] = {0};
    if (strcmp(arg, "-") == 0) {
        if (fgets(line, sizeof line, stdin) == NULL)
            return cli_error(CLI_EXIT_IO, register_prog, "--code -: nothing on standard input");
        arg = line;
    }
    normalize_code(arg, out, cap);
    codec_wipe(line, sizeof line);
    if (out[0] == 0 || strlen(out) > ltdrs_code_bytes_max)
        return cli_error(CLI_EXIT_USAGE, register_prog,
                         "--code: the activation code must be 1 to %d characters",
                         (int)ltdrs_code_bytes_max);
    return cli_text_arg(register_prog, "--code", out, ltdrs_code_bytes_max, false, false);
}

static int
student_register(int argc, char **argv)
{
    struct cli_args args;
    char code[ltdrs_code_bytes_max + 16] = {0};
    struct net *n = NULL;
    struct arena a;
    arena_init(&a);
    bool done;
    int rc = cli_parse_or_help(register_prog, register_usage, register_opts,
                               ARRAY_LEN(register_opts), 0, argc, argv, &args, &done);
    if (rc || done)
        goto out;
    const char *sid = args.val[G_SID].s, *path = args.val[G_KEY_OUT].s;
    const char *name = args.val[G_NAME].s;
    if (sid == NULL || args.val[G_CODE].s == NULL || path == NULL) {
        rc = cli_error(CLI_EXIT_USAGE, register_prog, "--sid, --code and --key-out are required");
        goto out;
    }
    if (!ltdrs_sid_ok(sid)) {
        rc = cli_error(
            CLI_EXIT_USAGE, register_prog,
            "--sid: '%.40s' is not a student number (1-32 characters of 0-9 A-Z a-z _ -)", sid);
        goto out;
    }
    if ((name &&
         (rc = cli_text_arg(register_prog, "--name", name, ltdrs_name_bytes_max, false, false))) ||
        (rc = read_code(args.val[G_CODE].s, code, sizeof code)) ||
        (rc = cli_node_open(register_prog, args.val[G_NODE].s, &n)))
        goto out;
    struct cjson *data = cli_record(&a, "student");
    cli_set_str(&a, data, "sid", sid);
    cli_set_str(&a, data, "code", code);
    if (name)
        cli_set_str(&a, data, "name", name);
    struct ltd_pubkey pk;
    char txid[65], b58[48];
    rc = cli_register_key(register_prog, n, &a, path, args.val[G_FORCE].set, data, &pk, txid);
    codec_b58_encode32(pk.b, b58);
    if (rc == CLI_EXIT_OK)
        fprintf(stderr, "%s: %s registered with public key %s; key file '%s' (keep it safe)\n",
                register_prog, sid, b58, path);
    else if (rc != CLI_EXIT_INVALID && rc != CLI_EXIT_IO) /* 3: no key file was written */
        fprintf(stderr,
                "%s: the key in '%s' may or may not be registered; check with "
                "'ltdrs student tickets %s'\n",
                register_prog, path, sid);
out:
    codec_wipe(code, sizeof code);
    arena_release(&a); /* the code in the record is public once posted: no wipe needed */
    net_free(n);
    cli_args_release(&args);
    return rc;
}

/* -------------------------------------------------------------- tickets */

static const char tickets_usage[] =
    "usage: ltdrs student tickets SID [--json] [--node URL]\n"
    "\n"
    "Looks up a student number (public): registration, the number of legal\n"
    "tickets, and every ticket with its activity, department, validity and\n"
    "ticket id (<transaction_id>:<output_index>).\n";

enum { K_NODE, K_JSON };
static const struct cli_opt tickets_opts[] = {
    [K_NODE] = CLI_NODE_OPT,
    [K_JSON] = {"json", 'f', NULL, "print the node's JSON as is"},
};

static const char tickets_prog[] = "ltdrs student tickets";

static void
print_ticket(const struct cjson *t)
{
    const struct cjson *act = cjson_get(t, "activity"), *dept = cjson_get(t, "department");
    const struct cjson *legal = cjson_get(t, "legal");
    bool ok = legal && legal->type == CJSON_TRUE;
    printf("  %s %s\n", ok ? "[legal]  " : "[not legal]", cli_str_of(act, "name"));
    printf("      when:       %s - %s\n", cli_str_of(act, "start"), cli_str_of(act, "end"));
    printf("      venue:      %s\n", cli_str_of(act, "venue"));
    printf("      category:   %s\n", cli_str_of(act, "category"));
    printf("      department: %s\n", cli_str_of(dept, "name"));
    if (!ok)
        printf("      why not:    %s\n", cli_str_of(t, "why_not"));
    printf("      ticket:     %s\n", cli_str_of(t, "ticket"));
    const struct cjson *h = cjson_get(t, "history");
    for (uint32_t i = 0; h && h->type == CJSON_ARRAY && i < h->len; i++) {
        const struct cjson *e = h->items[i], *height = cjson_get(e, "height");
        const char *reason = cli_str_of(e, "reason");
        printf("      %-11s %s (block %s)%s%s\n", i == 0 ? "history:" : "", cli_str_of(e, "event"),
               height && height->type == CJSON_INT ? height->str : "?", reason[0] ? ": " : "",
               reason);
    }
}

static void
print_student(const struct cjson *s)
{
    const struct cjson *reg = cjson_get(s, "registered"), *n = cjson_get(s, "legal_tickets");
    const struct cjson *list = cjson_get(s, "tickets");
    bool registered = reg && reg->type == CJSON_TRUE;
    printf("student %s%s%s\n", cli_str_of(s, "sid"), cli_str_of(s, "name")[0] ? "  " : "",
           cli_str_of(s, "name"));
    if (registered)
        printf("  registered, key %s\n", cli_str_of(s, "key"));
    else
        printf("  not registered yet\n");
    printf("  legal tickets: %s\n", n && n->type == CJSON_INT ? n->str : "?");
    uint32_t k = list && list->type == CJSON_ARRAY ? list->len : 0;
    if (k == 0)
        printf("  no tickets\n");
    for (uint32_t i = 0; i < k; i++)
        print_ticket(list->items[i]);
}

static int
student_tickets(int argc, char **argv)
{
    struct cli_args args;
    struct net *n = NULL;
    struct arena a;
    arena_init(&a);
    bool done;
    int rc = cli_parse_or_help(tickets_prog, tickets_usage, tickets_opts, ARRAY_LEN(tickets_opts),
                               1, argc, argv, &args, &done);
    if (rc || done)
        goto out;
    if (args.n_pos != 1) {
        rc = cli_error(CLI_EXIT_USAGE, tickets_prog, "give one student number (see --help)");
        goto out;
    }
    const char *sid = args.pos[0];
    if (!ltdrs_sid_ok(sid)) {
        rc = cli_error(CLI_EXIT_USAGE, tickets_prog,
                       "'%.40s' is not a student number (1-32 characters of 0-9 A-Z a-z _ -)", sid);
        goto out;
    }
    if ((rc = cli_node_open(tickets_prog, args.val[K_NODE].s, &n)))
        goto out;
    struct buf path;
    buf_init(&path);
    buf_addf(&path, "/ltdrs/api/v1/students/%s", sid);
    struct net_resp r;
    net_resp_init(&r);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct cjson *root = NULL;
    enum ltd_err e = net_get(n, path.p, &r, &eb);
    if (e == LTD_E_HTTP_NOT_FOUND)
        rc = cli_error(CLI_EXIT_INVALID, tickets_prog,
                       "student number %s is neither on the roster nor registered", sid);
    else if (e != LTD_OK)
        rc = cli_node_error(tickets_prog, &eb);
    else if (args.val[K_JSON].set)
        rc = cli_write_out(tickets_prog, NULL, r.body.p, r.body.len, 0);
    else if (cjson_parse(&a, r.body.p ? r.body.p : "", r.body.len, NULL, &root, &eb) != LTD_OK ||
             root->type != CJSON_OBJECT)
        rc = cli_error(CLI_EXIT_NET, tickets_prog, "GET %s%s: the answer is not a JSON object",
                       net_base_url(n), path.p);
    else
        print_student(root);
    net_resp_release(&r);
    buf_release(&path);
out:
    net_free(n);
    arena_release(&a);
    cli_args_release(&args);
    return rc;
}

/* ------------------------------------------------------------- dispatch */

static const struct cmd student_subcommands[] = {
    {"register", student_register, "bind a new key to your student number", NULL},
    {"tickets", student_tickets, "look up the tickets of a student number", NULL},
};

int
cmd_student(int argc, char **argv)
{
    return cli_dispatch("ltdrs student", student_usage, student_subcommands,
                        ARRAY_LEN(student_subcommands), argc, argv);
}
