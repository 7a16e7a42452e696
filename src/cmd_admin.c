/*
 * cmd_admin.c - `ltdrs admin <subcommand>`: what the school's office does,
 * from a shell: import a roster (activation codes out), certify
 * departments, approve or reject applications, revoke tickets, unbind
 * student numbers, publish announcements, and the all-students report.
 *
 * Every write is an LTDRS record (docs/ltdrs-records.md) built and signed
 * here with the admin key file from `ltdrs init`, then posted to the node
 * in commit mode; the node checks every rule and its refusal ("Invalid
 * transaction (NotAdmin): ...") is shown as is.  The key is read once and
 * wiped on every way out; activation codes are written only to a 0600 file
 * and wiped from memory.
 *
 * This file also holds the helpers the three staff commands share (cmd.h,
 * "staff commands"): opening a node client, posting a record, fetching a
 * transaction, reading a CSV of student numbers.
 *
 * Not here: the rules (the node enforces them; local checks only catch
 * typing mistakes early), HTTP (net.c).
 */
#include "cmd.h"

#include "codec.h"
#include "ltdrs.h"
#include "net.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ================================================= shared staff helpers */

int
cli_node_open(const char *prog, const char *url, struct net **out)
{
    struct net_config cfg;
    net_config_init(&cfg);
    cfg.base_url = url ? url : CLI_NODE_DEFAULT;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (net_new(&cfg, out, &eb) != LTD_OK)
        return cli_error(CLI_EXIT_USAGE, prog, "--node: %s", eb.msg);
    return CLI_EXIT_OK;
}

int
cli_node_error(const char *prog, const struct ltd_errbuf *eb)
{
    int code = cli_exit_for(eb->code);
    cli_error(code, prog, "%s", eb->msg[0] ? eb->msg : ltd_err_hint(eb->code));
    return code;
}

enum ltd_err
cli_post_tx(struct net *n, const struct tx *t, struct net_resp *r, struct ltd_errbuf *eb)
{
    LTD_ASSERT(t->has_id);
    struct buf b;
    buf_init(&b);
    tx_serialize(t, &b);
    enum ltd_err e = net_post_json(n, "/api/v1/transactions?mode=commit", b.p, b.len, r, eb);
    buf_release(&b);
    return e;
}

int
cli_post_record(const char *prog, struct net *n, struct arena *a, const struct ltd_seed *seed,
                const struct ltd_pubkey *pk, struct cjson *data, const struct ltd_pubkey *to,
                uint64_t amount, char txid[65])
{
    LTD_ASSERT(data != NULL && data->type == CJSON_OBJECT);
    LTD_ASSERT(amount >= 1);
    uint8_t rnd[8];
    char nonce[17];
    codec_random(rnd, sizeof rnd);
    hex_encode(nonce, rnd, sizeof rnd);
    struct cjson *meta = cjson_new_object(a);
    cjson_obj_set(a, meta, "nonce", cjson_new_stringz(a, nonce));
    struct tx_new_output o = {cc_details_ed25519(a, to ? to : pk), amount};
    struct tx t;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (tx_build_create(a, pk, 1, data, meta, &o, 1, &t, &eb) != LTD_OK ||
        tx_sign(a, &t, seed, NULL, false, NULL, &eb) != LTD_OK)
        return cli_error_eb(prog, "building the record", &eb);
    LTD_ASSERT(t.has_id);
    struct net_resp r;
    net_resp_init(&r);
    int rc = CLI_EXIT_OK;
    if (cli_post_tx(n, &t, &r, &eb) != LTD_OK)
        rc = cli_node_error(prog, &eb);
    else
        memcpy(txid, t.id_hex, 65);
    net_resp_release(&r);
    return rc;
}

int
cli_fetch_json(const char *prog, struct net *n, const char *path, struct arena *a,
               struct cjson **out)
{
    *out = NULL;
    struct net_resp r;
    net_resp_init(&r);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    int rc = CLI_EXIT_OK;
    if (net_get(n, path, &r, &eb) != LTD_OK)
        rc = cli_node_error(prog, &eb);
    else if (cjson_parse(a, r.body.p ? r.body.p : "", r.body.len, NULL, out, &eb) != LTD_OK)
        rc = cli_error(CLI_EXIT_NET, prog, "GET %s%s: the answer is not JSON: %s", net_base_url(n),
                       path, eb.msg);
    net_resp_release(&r);
    return rc;
}

int
cli_fetch_tx(const char *prog, const char *what, struct net *n, const char *id, struct arena *a,
             struct tx *t)
{
    memset(t, 0, sizeof *t);
    struct buf path;
    buf_init(&path);
    buf_addf(&path, "/api/v1/transactions/%s", id);
    struct net_resp r;
    net_resp_init(&r);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    int rc = CLI_EXIT_OK;
    enum ltd_err e = net_get(n, path.p, &r, &eb);
    if (e == LTD_E_HTTP_NOT_FOUND)
        rc = cli_error(CLI_EXIT_INVALID, prog, "%s: no transaction %s on the node %s", what, id,
                       net_base_url(n));
    else if (e != LTD_OK)
        rc = cli_node_error(prog, &eb);
    else if (tx_parse(a, r.body.p ? r.body.p : "", r.body.len, 0, t, &eb) != LTD_OK)
        rc = cli_error(CLI_EXIT_NET, prog,
                       "%s: the node sent a transaction that does not parse: %s", what, eb.msg);
    net_resp_release(&r);
    buf_release(&path);
    return rc;
}

int
cli_parse_txid(const char *prog, const char *what, const char *s, char out[65])
{
    size_t n = strlen(s);
    bool ok = n == 64;
    for (size_t i = 0; ok && i < 64; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c + 32);
        ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        out[i] = c;
    }
    out[64] = 0;
    if (!ok)
        return cli_error(CLI_EXIT_USAGE, prog,
                         "%s: '%.70s' is not a transaction id (64 hex digits)", what, s);
    return CLI_EXIT_OK;
}

/* Length of the UTF-8 sequence at p (strict: no overlongs, surrogates or
 * code points above U+10FFFF), 0 if malformed. */
static size_t
utf8_seq(const unsigned char *p, size_t left)
{
    unsigned c = p[0];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || n > left)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 2 && c < 0xc2) || (n == 3 && c == 0xe0 && p[1] < 0xa0) ||
        (n == 3 && c == 0xed && p[1] >= 0xa0) || (n == 4 && c == 0xf0 && p[1] < 0x90) ||
        (n == 4 && (c > 0xf4 || (c == 0xf4 && p[1] >= 0x90))))
        return 0;
    return n;
}

int
cli_text_arg(const char *prog, const char *what, const char *s, size_t max, bool may_be_empty,
             bool multiline)
{
    size_t n = strlen(s);
    if (n == 0 && !may_be_empty)
        return cli_error(CLI_EXIT_USAGE, prog, "%s must not be empty", what);
    if (n > max)
        return cli_error(CLI_EXIT_USAGE, prog, "%s is %zu bytes long; at most %zu are allowed",
                         what, n, max);
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0)
            return cli_error(CLI_EXIT_USAGE, prog, "%s is not valid UTF-8 (byte %zu)", what, i);
        if (k == 1 && (p[i] < 0x20 || p[i] == 0x7f) &&
            !(multiline && (p[i] == '\n' || p[i] == '\t')))
            return cli_error(CLI_EXIT_USAGE, prog, "%s contains a control character (byte %zu)",
                             what, i);
        i += k;
    }
    return CLI_EXIT_OK;
}

/* ---- login ---- */

/* scheme://host[:port] of the node URL: the origin the node derives from
 * the Host header curl sends. */
static void
url_origin(const char *base, char *out, size_t cap)
{
    const char *p = strstr(base, "://");
    size_t n = strlen(base);
    if (p) {
        const char *slash = strchr(p + 3, '/');
        if (slash)
            n = (size_t)(slash - base);
    }
    snprintf(out, cap, "%.*s", (int)n, base);
}

static bool
hex64(const char *s)
{
    if (s == NULL || strlen(s) != 64)
        return false;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* POST /login/challenge; the challenge (hex) into ch. */
static int
login_challenge(const char *prog, struct net *n, const char *origin, char ch[65])
{
    struct net_resp r;
    net_resp_init(&r);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct arena a;
    arena_init(&a);
    struct cjson *root = NULL;
    int rc = CLI_EXIT_OK;
    if (net_post_json(n, "/ltdrs/api/v1/login/challenge", "{}", 2, &r, &eb) != LTD_OK) {
        rc = cli_node_error(prog, &eb);
        goto out;
    }
    const struct cjson *c = NULL, *m = NULL;
    if (cjson_parse(&a, r.body.p ? r.body.p : "", r.body.len, NULL, &root, &eb) == LTD_OK &&
        root->type == CJSON_OBJECT) {
        c = cjson_get(root, "challenge");
        m = cjson_get(root, "message");
    }
    if (c == NULL || !cjson_is_string(c) || !hex64(c->str)) {
        rc = cli_error(CLI_EXIT_NET, prog, "login: the node sent no usable challenge");
        goto out;
    }
    memcpy(ch, c->str, 65);
    struct buf want;
    buf_init(&want);
    buf_addf(&want, "ltdrs-login:v1:%s:%s", origin, ch);
    if (cjson_is_string(m) && strcmp(m->str, want.p) != 0)
        rc = cli_error(CLI_EXIT_INVALID, prog,
                       "login: the node expects the text '%.200s' but this client is bound to "
                       "origin %s; use the node's own URL with --node",
                       m->str, origin);
    buf_release(&want);
out:
    arena_release(&a);
    net_resp_release(&r);
    return rc;
}

int
cli_login(const char *prog, struct net *n, const struct ltd_seed *seed, const struct ltd_pubkey *pk,
          char role[16])
{
    char origin[net_base_url_bytes_max + 1], ch[65];
    url_origin(net_base_url(n), origin, sizeof origin);
    int rc = login_challenge(prog, n, origin, ch);
    if (rc)
        return rc;
    struct buf msg, body;
    buf_init(&msg);
    buf_init(&body);
    buf_addf(&msg, "ltdrs-login:v1:%s:%s", origin, ch);
    struct ltd_sig sig;
    codec_ed25519_sign(seed, (const uint8_t *)msg.p, msg.len, &sig);
    char sighex[129], b58[48];
    hex_encode(sighex, sig.b, 64);
    codec_b58_encode32(pk->b, b58);
    buf_addf(&body, "{\"public_key\":\"%s\",\"challenge\":\"%s\",\"signature\":\"%s\"}", b58, ch,
             sighex);
    struct net_resp r;
    net_resp_init(&r);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    struct arena a;
    arena_init(&a);
    struct cjson *root = NULL;
    if (net_post_json(n, "/ltdrs/api/v1/login", body.p, body.len, &r, &eb) != LTD_OK) {
        rc = cli_node_error(prog, &eb);
        goto out;
    }
    const struct cjson *csrf = NULL, *ro = NULL;
    if (cjson_parse(&a, r.body.p ? r.body.p : "", r.body.len, NULL, &root, &eb) == LTD_OK &&
        root->type == CJSON_OBJECT) {
        csrf = cjson_get(root, "csrf_token");
        ro = cjson_get(root, "role");
    }
    if (csrf == NULL || !cjson_is_string(csrf) || csrf->len == 0 || csrf->len > 128 ||
        strspn(csrf->str, "0123456789abcdefABCDEF-_") != csrf->len) {
        rc = cli_error(CLI_EXIT_NET, prog, "login: the node's answer has no usable CSRF token");
        goto out;
    }
    net_set_header(n, "X-CSRF-Token", csrf->str);
    codec_wipe((void *)csrf->str, csrf->len);
    if (role)
        snprintf(role, 16, "%s", cjson_is_string(ro) ? ro->str : "none");
out:
    arena_release(&a);
    net_resp_release(&r);
    codec_wipe(sighex, sizeof sighex);
    buf_release(&msg);
    buf_release(&body);
    return rc;
}

void
cli_logout(struct net *n)
{
    struct net_resp r;
    net_resp_init(&r);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    (void)!net_post_json(n, "/ltdrs/api/v1/logout", "{}", 2, &r, &eb);
    net_set_header(n, "X-CSRF-Token", NULL);
    net_resp_release(&r);
}

/* ---- CSV of student numbers ---- */

/* The first field of a CSV line (quotes stripped, blanks trimmed). */
static void
first_field(const char *s, size_t n, const char **f, size_t *fl)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i < n && s[i] == '"') {
        size_t j = i + 1;
        while (j < n && s[j] != '"')
            j++;
        *f = s + i + 1;
        *fl = j - i - 1;
    } else {
        size_t j = i;
        while (j < n && s[j] != ',' && s[j] != ';' && s[j] != '\t')
            j++;
        *f = s + i;
        *fl = j - i;
    }
    while (*fl > 0 && ((*f)[*fl - 1] == ' ' || (*f)[*fl - 1] == '\t'))
        (*fl)--;
    while (*fl > 0 && (**f == ' ' || **f == '\t')) {
        (*f)++;
        (*fl)--;
    }
}

static bool
is_header(const char *f, size_t n)
{
    static const char *const names[] = {"sid", "student_number", "student", "学号"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (strlen(names[i]) == n && strncasecmp(f, names[i], n) == 0)
            return true;
    return false;
}

static uint64_t
sid_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Open addressing over indices into out->sid; returns the index of an
 * equal number already kept, or UINT32_MAX after inserting idx. */
static uint32_t
sid_set_add(uint32_t *slots, size_t mask, const struct cli_sids *s, uint32_t idx)
{
    size_t i = sid_hash(s->sid[idx]) & mask;
    for (size_t probe = 0; probe <= mask; probe++, i = (i + 1) & mask) {
        if (slots[i] == 0) {
            slots[i] = idx + 1;
            return UINT32_MAX;
        }
        if (strcmp(s->sid[slots[i] - 1], s->sid[idx]) == 0)
            return slots[i] - 1;
    }
    LTD_ASSERT(!"sid set sized for every row");
    return UINT32_MAX;
}

static void
print_bad_sid(const char *path, uint32_t line, const char *f, size_t n)
{
    char shown[48];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 40; i++)
        shown[k++] = (unsigned char)f[i] < 0x20 ? '?' : f[i];
    shown[k] = 0;
    fprintf(stderr, "%s:%u: '%s%s' is not a student number (1-32 characters of 0-9 A-Z a-z _ -)\n",
            path, line, shown, n > 40 ? "..." : "");
}

/* Handles one line; returns false when the row limit is reached. */
static bool
sids_line(const char *path, const char *s, size_t n, uint32_t line, bool *first,
          struct cli_sids *out, uint32_t *slots, size_t mask)
{
    if (n > 0 && s[n - 1] == '\r')
        n--;
    const char *f;
    size_t fl;
    first_field(s, n, &f, &fl);
    if (fl == 0 && (n == 0 || strspn(s, " \t,;") == n))
        return true; /* blank */
    if (n > 0 && s[0] == '#')
        return true;
    bool was_first = *first;
    *first = false;
    if (was_first && is_header(f, fl))
        return true;
    if (out->n + out->n_bad + out->n_dup >= cli_sid_csv_rows_max)
        return false;
    char sid[ltdrs_sid_bytes_max + 1];
    if (fl == 0 || fl > ltdrs_sid_bytes_max || memchr(f, 0, fl) != NULL) {
        print_bad_sid(path, line, f, fl);
        out->n_bad++;
        return true;
    }
    memcpy(sid, f, fl);
    sid[fl] = 0;
    if (!ltdrs_sid_ok(sid)) {
        print_bad_sid(path, line, f, fl);
        out->n_bad++;
        return true;
    }
    out->sid[out->n] = xstrdup(sid);
    out->line[out->n] = line;
    uint32_t prev = sid_set_add(slots, mask, out, out->n);
    if (prev != UINT32_MAX) {
        fprintf(stderr, "%s:%u: student number %s is repeated (first on line %u); kept once\n",
                path, line, sid, out->line[prev]);
        free(out->sid[out->n]);
        out->n_dup++;
        return true;
    }
    out->n++;
    return true;
}

int
cli_read_sids(const char *prog, const char *path, struct cli_sids *out)
{
    memset(out, 0, sizeof *out);
    LTD_ASSERT(path != NULL);
    struct buf b;
    buf_init(&b);
    int rc = cli_read_file(prog, "student numbers", path, cli_sid_csv_bytes_max, &b);
    if (rc) {
        buf_release(&b);
        return rc;
    }
    const char *p = b.p ? b.p : "";
    size_t len = b.len;
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        p += 3;
        len -= 3;
    }
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += p[i] == '\n';
    size_t rows = lines < cli_sid_csv_rows_max ? lines : cli_sid_csv_rows_max;
    size_t cap = 16;
    while (cap < 2 * rows)
        cap <<= 1;
    uint32_t *slots = xcalloc(cap, sizeof *slots);
    out->sid = xcalloc(rows, sizeof *out->sid);
    out->line = xcalloc(rows, sizeof *out->line);
    const char *shown = strcmp(path, "-") == 0 ? "<stdin>" : path;
    bool first = true, room = true;
    uint32_t line = 0;
    for (size_t i = 0; i < len && room;) {
        const char *nl = memchr(p + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (p + i)) : len - i;
        room = sids_line(shown, p + i, n, ++line, &first, out, slots, cap - 1);
        i += n + 1;
    }
    free(slots);
    buf_release(&b);
    if (!room)
        rc = cli_error(CLI_EXIT_INVALID, prog, "'%s' has more than %d rows", shown,
                       (int)cli_sid_csv_rows_max);
    else if (out->n + out->n_bad + out->n_dup == 0)
        rc = cli_error(CLI_EXIT_INVALID, prog, "'%s' lists no student number", shown);
    if (rc)
        cli_sids_release(out);
    return rc;
}

void
cli_sids_release(struct cli_sids *s)
{
    for (uint32_t i = 0; s->sid && i < s->n; i++)
        free(s->sid[i]);
    free(s->sid);
    free(s->line);
    memset(s, 0, sizeof *s);
}

/* ======================================================== admin commands */

static const char admin_usage[] =
    "usage: ltdrs admin <subcommand> [--node URL] --key KEYFILE [options]\n"
    "\n"
    "The school admin's tools.  Each write is a record signed with the admin key\n"
    "(the file `ltdrs init` wrote) and committed on the node (default " CLI_NODE_DEFAULT ").\n"
    "Record ids go to standard output, one per line; what happened to stderr.\n"
    "Run 'ltdrs admin <subcommand> --help' for its options.\n"
    "\nexit codes: 0 done, 1 refused by the node or input rejected, 2 usage,\n"
    "3 file I/O, 4 node unreachable or failing\n"
    "\nsubcommands:\n";

/* Every admin option table starts with these two (cli_session_run finds
 * them by index). */
#define NODE_KEY_OPTS CLI_NODE_OPT, CLI_KEY_OPT("the admin key file (required)")
static const char admin_key[] = "the admin key file"; /* for "--key KEYFILE is required" */

/* The n-th positional argument or a usage error naming it. */
static int
need_pos(const struct cli_session *ad, uint32_t i, const char *name, const char **out)
{
    *out = "";
    if (ad->args.n_pos <= i)
        return cli_error(CLI_EXIT_USAGE, ad->prog, "missing %s (see '%s --help')", name, ad->prog);
    *out = ad->args.pos[i];
    return CLI_EXIT_OK;
}

/* The first positional argument: a transaction id, called name in errors. */
static int
txid_pos(const struct cli_session *ad, const char *name, char hex[65])
{
    const char *id = NULL;
    int rc = need_pos(ad, 0, name, &id);
    return rc ? rc : cli_parse_txid(ad->prog, name, id, hex);
}

/* --reason: at most ltdrs_text_bytes_max of text, lines allowed; NULL is
 * a usage error when required. */
static int
reason_opt(const struct cli_session *ad, const char *reason, bool required)
{
    if (reason == NULL && required)
        return cli_error(CLI_EXIT_USAGE, ad->prog, "--reason TEXT is required");
    if (reason == NULL)
        return CLI_EXIT_OK;
    return cli_text_arg(ad->prog, "--reason", reason, ltdrs_text_bytes_max, false, true);
}

/* ---- activation codes ---- */

enum { code_symbols = 16, code_text_bytes = code_symbols + code_symbols / 4 }; /* 80 bits */

/* A fresh activation code: 16 Crockford base32 symbols (80 random bits) in
 * groups of four, "7K2M-9QXF-T4HB-0ZC8" (no I, L, O, U: easy to read out). */
static void
make_code(char out[code_text_bytes])
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    uint8_t r[10];
    codec_random(r, sizeof r);
    size_t k = 0;
    for (int i = 0; i < code_symbols; i++) {
        int bit = i * 5;
        unsigned v = ((unsigned)r[bit / 8] << 8 | (bit / 8 + 1 < 10 ? r[bit / 8 + 1] : 0u)) >>
                     (11 - bit % 8);
        if (i > 0 && i % 4 == 0)
            out[k++] = '-';
        out[k++] = alphabet[v & 31];
    }
    out[k] = 0;
    LTD_ASSERT(k == code_text_bytes - 1);
    codec_wipe(r, sizeof r);
}

/* "sid,code\n" rows [from, to) of the codes into out. */
static void
codes_csv(const struct cli_sids *s, char (*codes)[code_text_bytes], uint32_t from, uint32_t to,
          struct buf *out)
{
    buf_adds(out, "sid,code\n");
    for (uint32_t i = from; i < to; i++)
        buf_addf(out, "%s,%s\n", s->sid[i], codes[i]);
}

/* Writes the codes file (0600); wipes the text. */
static int
write_codes(const char *prog, const char *path, const struct cli_sids *s,
            char (*codes)[code_text_bytes], uint32_t n, bool excl)
{
    struct buf b;
    buf_init(&b);
    codes_csv(s, codes, 0, n, &b);
    int rc = cli_write_out(prog, path, b.p, b.len,
                           CLI_WRITE_SECRET | (excl ? (unsigned)CLI_WRITE_EXCL : 0u));
    codec_wipe(b.p, b.len);
    buf_release(&b);
    return rc;
}

/* ------------------------------------------------------- roster import */

static const char roster_usage[] =
    "usage: ltdrs admin roster import --key KEYFILE --generation N --codes-out CODES.csv\n"
    "                                 [--batch N] [--force] [--node URL] FILE.csv\n"
    "\n"
    "Puts the student numbers of FILE.csv (first column; an optional header\n"
    "`sid[,name]`; names are not recorded) on the roster, generation N.  Every\n"
    "student gets a fresh activation code (80 random bits, e.g. 7K2M-9QXF-T4HB-0ZC8);\n"
    "the ledger keeps only sha256(sid \":\" code).  CODES.csv (`sid,code`, mode 0600)\n"
    "is written before anything is posted, and cut down to the students actually\n"
    "recorded if a batch is refused.  Hand each student their code out of band.\n"
    "Malformed or repeated numbers are reported with their line and left out\n"
    "(exit 1 after the others are recorded).\n";

enum { R_NODE, R_KEY, R_GENERATION, R_CODES_OUT, R_BATCH, R_FORCE };
static const struct cli_opt roster_opts[] = {
    NODE_KEY_OPTS,
    [R_GENERATION] = {"generation", 's', "N", "roster generation, 1 or more (required)"},
    [R_CODES_OUT] = {"codes-out", 's', "CODES.csv", "where the activation codes go (required)"},
    [R_BATCH] = {"batch", 's', "N", "students per roster record (default and most: 5000)"},
    [R_FORCE] = {"force", 'f', NULL, "replace CODES.csv if it exists"},
};

/* One roster record for rows [from, to). */
static int
post_roster_batch(struct cli_session *ad, uint32_t generation, const struct cli_sids *s,
                  char (*codes)[code_text_bytes], uint32_t from, uint32_t to, char txid[65])
{
    struct arena a;
    arena_init(&a);
    struct cjson *data = cli_record(&a, "roster");
    cjson_obj_set(&a, data, "generation", cjson_new_int(&a, generation));
    struct cjson *list = cjson_new_array(&a);
    for (uint32_t i = from; i < to; i++) {
        uint8_t h[32];
        char hex[65];
        ltdrs_code_hash(s->sid[i], codes[i], h);
        hex_encode(hex, h, 32);
        struct cjson *e = cjson_new_object(&a);
        cli_set_str(&a, e, "sid", s->sid[i]);
        cli_set_str(&a, e, "code_hash", hex);
        cjson_arr_push(&a, list, e);
    }
    cjson_obj_set(&a, data, "students", list);
    int rc = cli_post_record(ad->prog, ad->n, &a, &ad->seed, &ad->pk, data, NULL, 1, txid);
    arena_release(&a);
    return rc;
}

static int
roster_run(struct cli_session *ad, uint32_t generation, uint32_t batch, const char *codes_path,
           const struct cli_sids *s, char (*codes)[code_text_bytes])
{
    int rc = write_codes(ad->prog, codes_path, s, codes, s->n, !ad->args.val[R_FORCE].set);
    if (rc)
        return rc;
    uint32_t done = 0, n_batches = (s->n + batch - 1) / batch;
    for (uint32_t k = 0; k < n_batches; k++) {
        uint32_t to = done + batch < s->n ? done + batch : s->n;
        char txid[65];
        rc = post_roster_batch(ad, generation, s, codes, done, to, txid);
        if (rc) {
            fprintf(stderr,
                    "%s: roster record %u of %u (lines %u-%u) was not recorded; %u students "
                    "were\n",
                    ad->prog, k + 1, n_batches, s->line[done], s->line[to - 1], done);
            int rc2 = write_codes(ad->prog, codes_path, s, codes, done, false);
            if (rc2 == CLI_EXIT_OK)
                fprintf(stderr, "%s: '%s' now holds the codes of the %u recorded students only\n",
                        ad->prog, codes_path, done);
            return rc;
        }
        printf("%s\n", txid);
        fflush(stdout);
        done = to;
        if (n_batches > 1)
            fprintf(stderr, "%s: record %u/%u: %u/%u students\n", ad->prog, k + 1, n_batches, done,
                    s->n);
    }
    fprintf(stderr,
            "%s: %u students on roster generation %u in %u record(s); activation codes in '%s' "
            "(mode 0600)\n",
            ad->prog, s->n, generation, n_batches, codes_path);
    return CLI_EXIT_OK;
}

static int
admin_roster(struct cli_session *ad)
{
    struct cli_sids s;
    memset(&s, 0, sizeof s);
    char(*codes)[code_text_bytes] = NULL;
    int rc = CLI_EXIT_OK;
    const char *action = NULL, *file = NULL;
    uint32_t generation = 0, batch = ltdrs_roster_max;
    if ((rc = need_pos(ad, 0, "the action 'import'", &action)))
        goto out;
    if (strcmp(action, "import") != 0) {
        rc = cli_error(CLI_EXIT_USAGE, ad->prog, "unknown action '%.40s' (only 'import')", action);
        goto out;
    }
    if ((rc = need_pos(ad, 1, "FILE.csv", &file)))
        goto out;
    if (!ad->args.val[R_GENERATION].set || !ad->args.val[R_CODES_OUT].set) {
        rc =
            cli_error(CLI_EXIT_USAGE, ad->prog, "--generation N and --codes-out FILE are required");
        goto out;
    }
    if ((rc = cli_parse_uint(ad->prog, "--generation", ad->args.val[R_GENERATION].s, 999999999,
                             &generation)) ||
        (ad->args.val[R_BATCH].set &&
         (rc = cli_parse_uint(ad->prog, "--batch", ad->args.val[R_BATCH].s, ltdrs_roster_max,
                              &batch))) ||
        (rc = cli_read_sids(ad->prog, file, &s)))
        goto out;
    if (s.n == 0) {
        rc = cli_error(CLI_EXIT_INVALID, ad->prog, "'%s' has no valid student number", file);
        goto out;
    }
    codes = xcalloc(s.n, sizeof *codes);
    for (uint32_t i = 0; i < s.n; i++)
        make_code(codes[i]);
    rc = roster_run(ad, generation, batch, ad->args.val[R_CODES_OUT].s, &s, codes);
    if (rc == CLI_EXIT_OK && s.n_bad + s.n_dup > 0)
        rc = cli_error(CLI_EXIT_INVALID, ad->prog,
                       "%u malformed and %u repeated line(s) were left out (see above)", s.n_bad,
                       s.n_dup);
out:
    if (codes) {
        codec_wipe(codes, sizeof *codes * s.n);
        free(codes);
    }
    cli_sids_release(&s);
    return rc;
}

static const struct cli_session_cmd admin_roster_cmd = {
    "ltdrs admin roster", roster_usage, roster_opts, ARRAY_LEN(roster_opts), 2, admin_key,
    admin_roster};

/* -------------------------------------------------------------- certify */

static const char certify_usage[] =
    "usage: ltdrs admin certify DEPT_RECORD_ID (--approve | --reject) [--reason TEXT]\n"
    "                           --key KEYFILE [--node URL]\n"
    "\n"
    "Decides on a department's registration (its record id is what `ltdrs dept\n"
    "register` printed).  Only certified departments may apply for activities.\n"
    "A rejection needs --reason.\n";

enum { C_NODE, C_KEY, C_APPROVE, C_REJECT, C_REASON };
static const struct cli_opt certify_opts[] = {
    NODE_KEY_OPTS,
    [C_APPROVE] = {"approve", 'f', NULL, "certify the department"},
    [C_REJECT] = {"reject", 'f', NULL, "refuse the department"},
    [C_REASON] = {"reason", 's', "TEXT", "why (required with --reject)"},
};

static int
admin_certify(struct cli_session *ad)
{
    int rc = CLI_EXIT_OK;
    char hex[65];
    bool approve = ad->args.val[C_APPROVE].set, reject = ad->args.val[C_REJECT].set;
    const char *reason = ad->args.val[C_REASON].s;
    if ((rc = txid_pos(ad, "DEPT_RECORD_ID", hex)))
        return rc;
    if (approve == reject)
        return cli_error(CLI_EXIT_USAGE, ad->prog, "give exactly one of --approve and --reject");
    if (reject && reason == NULL)
        return cli_error(CLI_EXIT_USAGE, ad->prog, "--reject needs --reason TEXT");
    if ((rc = reason_opt(ad, reason, false)))
        return rc;
    struct cjson *data = cli_record(&ad->a, "certify");
    cli_set_str(&ad->a, data, "department", hex);
    cli_set_str(&ad->a, data, "decision", approve ? "approved" : "rejected");
    if (reason)
        cli_set_str(&ad->a, data, "reason", reason);
    return cli_session_post(ad, data, NULL, 1, "department %s %s", hex,
                            approve ? "certified" : "rejected");
}

static const struct cli_session_cmd admin_certify_cmd = {
    "ltdrs admin certify", certify_usage, certify_opts, ARRAY_LEN(certify_opts), 1, admin_key,
    admin_certify};

/* -------------------------------------------------------------- approve */

static const char approve_usage[] =
    "usage: ltdrs admin approve APPLICATION_ID [--tickets N] --key KEYFILE [--node URL]\n"
    "\n"
    "Approves a pending application by issuing its tickets: one CREATE of the\n"
    "ticket asset with a single output of N tickets (default: as many as were\n"
    "requested, never more) to the applying department's key.\n";

enum { P_NODE, P_KEY, P_TICKETS };
static const struct cli_opt approve_opts[] = {
    NODE_KEY_OPTS,
    [P_TICKETS] = {"tickets", 's', "N", "tickets to issue (default: the number requested)"},
};

/* The application record's data, checked to be one. */
static int
application_data(struct cli_session *ad, const char *id, struct tx *t, const struct cjson **data)
{
    int rc = cli_fetch_tx(ad->prog, "APPLICATION_ID", ad->n, id, &ad->a, t);
    if (rc)
        return rc;
    const struct cjson *d = t->op == TX_CREATE ? t->asset_data : NULL;
    if (d == NULL || d->type != CJSON_OBJECT ||
        !cjson_string_eq(cjson_get(d, "ltdrs"), "application"))
        return cli_error(CLI_EXIT_INVALID, ad->prog,
                         "APPLICATION_ID: transaction %s is not an application record", id);
    const struct cjson *tk = cjson_get(d, "tickets");
    if (tk == NULL || tk->type != CJSON_INT || t->in[0].n_owners != 1)
        return cli_error(CLI_EXIT_INVALID, ad->prog, "APPLICATION_ID: application %s is malformed",
                         id);
    *data = d;
    return CLI_EXIT_OK;
}

static int
admin_approve(struct cli_session *ad)
{
    int rc = CLI_EXIT_OK;
    char hex[65];
    uint32_t n = 0;
    if ((rc = txid_pos(ad, "APPLICATION_ID", hex)) ||
        (ad->args.val[P_TICKETS].set &&
         (rc = cli_parse_uint(ad->prog, "--tickets", ad->args.val[P_TICKETS].s, ltdrs_tickets_max,
                              &n))))
        return rc;
    struct tx app;
    const struct cjson *d = NULL;
    if ((rc = application_data(ad, hex, &app, &d)))
        return rc;
    uint32_t requested = (uint32_t)strtoul(cjson_get(d, "tickets")->str, NULL, 10);
    if (n == 0)
        n = requested;
    if (n > requested)
        return cli_error(CLI_EXIT_USAGE, ad->prog,
                         "--tickets: %u is more than the %u tickets requested", n, requested);
    struct cjson *data = cli_record(&ad->a, "ticket");
    cli_set_str(&ad->a, data, "application", hex);
    static const char *const copied[] = {"name", "start", "end", "venue", "category"};
    for (size_t i = 0; i < ARRAY_LEN(copied); i++) {
        const struct cjson *v = cjson_get(d, copied[i]);
        if (v == NULL)
            return cli_error(CLI_EXIT_INVALID, ad->prog, "application %s has no '%s'", hex,
                             copied[i]);
        cjson_obj_set(&ad->a, data, copied[i], cjson_clone(&ad->a, v));
    }
    const struct ltd_pubkey *dept = &app.in[0].owners[0];
    char b58[48];
    codec_b58_encode32(dept->b, b58);
    return cli_session_post(ad, data, dept, n,
                            "application %s approved: %u tickets issued to department key %s", hex,
                            n, b58);
}

static const struct cli_session_cmd admin_approve_cmd = {
    "ltdrs admin approve", approve_usage, approve_opts, ARRAY_LEN(approve_opts), 1, admin_key,
    admin_approve};

/* --------------------------------------------------------------- reject */

static const char reject_usage[] =
    "usage: ltdrs admin reject APPLICATION_ID --reason TEXT --key KEYFILE [--node URL]\n"
    "\n"
    "Rejects a pending application; the department sees the reason and may\n"
    "file a corrected application.\n";

enum { J_NODE, J_KEY, J_REASON };
static const struct cli_opt reject_opts[] = {
    NODE_KEY_OPTS,
    [J_REASON] = {"reason", 's', "TEXT", "why (required)"},
};

static int
admin_reject(struct cli_session *ad)
{
    int rc = CLI_EXIT_OK;
    const char *reason = ad->args.val[J_REASON].s;
    char hex[65];
    if ((rc = txid_pos(ad, "APPLICATION_ID", hex)))
        return rc;
    if ((rc = reason_opt(ad, reason, true)))
        return rc;
    struct cjson *data = cli_record(&ad->a, "decision");
    cli_set_str(&ad->a, data, "application", hex);
    cli_set_str(&ad->a, data, "decision", "rejected");
    cli_set_str(&ad->a, data, "reason", reason);
    return cli_session_post(ad, data, NULL, 1, "application %s rejected", hex);
}

static const struct cli_session_cmd admin_reject_cmd = {
    "ltdrs admin reject", reject_usage, reject_opts, ARRAY_LEN(reject_opts), 1, admin_key,
    admin_reject};

/* --------------------------------------------------------------- revoke */

static const char revoke_usage[] =
    "usage: ltdrs admin revoke TXID:INDEX --reason TEXT --key KEYFILE [--node URL]\n"
    "\n"
    "Revokes a student-held ticket (named <transaction_id>:<output_index>, as\n"
    "`ltdrs student tickets` and the ticket page show it).  The ticket stops\n"
    "being legal; its history keeps it.\n";

enum { V_NODE, V_KEY, V_REASON };
static const struct cli_opt revoke_opts[] = {
    NODE_KEY_OPTS,
    [V_REASON] = {"reason", 's', "TEXT", "why (required)"},
};

static int
ticket_arg(const char *prog, const char *s, char out[80])
{
    const char *colon = strchr(s, ':');
    char hex[65];
    uint32_t idx = 0;
    if (colon == NULL || colon - s != 64)
        return cli_error(CLI_EXIT_USAGE, prog,
                         "TXID:INDEX: '%.80s' is not <transaction id>:<output index>", s);
    char id[65];
    memcpy(id, s, 64);
    id[64] = 0;
    int rc = cli_parse_txid(prog, "TXID:INDEX", id, hex);
    if (rc)
        return rc;
    if (strcmp(colon + 1, "0") != 0 &&
        (rc = cli_parse_uint(prog, "TXID:INDEX (the index)", colon + 1, 65535, &idx)))
        return rc;
    snprintf(out, 80, "%s:%u", hex, idx);
    return CLI_EXIT_OK;
}

static int
admin_revoke(struct cli_session *ad)
{
    int rc = CLI_EXIT_OK;
    const char *arg = NULL, *reason = ad->args.val[V_REASON].s;
    char ticket[80];
    if ((rc = need_pos(ad, 0, "TXID:INDEX", &arg)) || (rc = ticket_arg(ad->prog, arg, ticket)))
        return rc;
    if ((rc = reason_opt(ad, reason, true)))
        return rc;
    struct cjson *data = cli_record(&ad->a, "revocation");
    cli_set_str(&ad->a, data, "ticket", ticket);
    cli_set_str(&ad->a, data, "reason", reason);
    return cli_session_post(ad, data, NULL, 1, "ticket %s revoked", ticket);
}

static const struct cli_session_cmd admin_revoke_cmd = {
    "ltdrs admin revoke", revoke_usage, revoke_opts, ARRAY_LEN(revoke_opts), 1, admin_key,
    admin_revoke};

/* --------------------------------------------------------------- unbind */

static const char unbind_usage[] =
    "usage: ltdrs admin unbind SID --reason TEXT --codes-out FILE [--force]\n"
    "                          --key KEYFILE [--node URL]\n"
    "\n"
    "Frees a student number from its key (lost key, squatting) and gives it a\n"
    "new activation code, written to FILE as `sid,code` (mode 0600) before the\n"
    "record is posted.  Tickets the old key holds still count for the number.\n";

enum { U_NODE, U_KEY, U_REASON, U_CODES_OUT, U_FORCE };
static const struct cli_opt unbind_opts[] = {
    NODE_KEY_OPTS,
    [U_REASON] = {"reason", 's', "TEXT", "why (required)"},
    [U_CODES_OUT] = {"codes-out", 's', "FILE", "where the new activation code goes (required)"},
    [U_FORCE] = {"force", 'f', NULL, "replace FILE if it exists"},
};

static int
admin_unbind(struct cli_session *ad)
{
    char code[code_text_bytes] = {0};
    int rc = CLI_EXIT_OK;
    const char *sid = NULL, *reason = ad->args.val[U_REASON].s, *path = ad->args.val[U_CODES_OUT].s;
    if ((rc = need_pos(ad, 0, "SID", &sid)))
        return rc;
    if (!ltdrs_sid_ok(sid))
        return cli_error(CLI_EXIT_USAGE, ad->prog,
                         "SID: '%.40s' is not a student number (1-32 characters "
                         "of 0-9 A-Z a-z _ -)",
                         sid);
    if (reason == NULL || path == NULL)
        return cli_error(CLI_EXIT_USAGE, ad->prog,
                         "--reason TEXT and --codes-out FILE are required");
    if ((rc = reason_opt(ad, reason, true)))
        return rc;
    make_code(code);
    struct buf csv;
    buf_init(&csv);
    buf_addf(&csv, "sid,code\n%s,%s\n", sid, code);
    rc = cli_write_out(ad->prog, path, csv.p, csv.len,
                       CLI_WRITE_SECRET |
                           (ad->args.val[U_FORCE].set ? 0u : (unsigned)CLI_WRITE_EXCL));
    codec_wipe(csv.p, csv.len);
    buf_release(&csv);
    if (rc == CLI_EXIT_OK) {
        uint8_t h[32];
        char hex[65];
        ltdrs_code_hash(sid, code, h);
        hex_encode(hex, h, 32);
        struct cjson *data = cli_record(&ad->a, "unbind");
        cli_set_str(&ad->a, data, "sid", sid);
        cli_set_str(&ad->a, data, "reason", reason);
        cli_set_str(&ad->a, data, "code_hash", hex);
        rc = cli_session_post(ad, data, NULL, 1, "%s unbound; the new activation code is in '%s'",
                              sid, path);
        if (rc == CLI_EXIT_INVALID && unlink(path) == 0)
            fprintf(stderr, "%s: removed '%s' (the code was not recorded)\n", ad->prog, path);
    }
    codec_wipe(code, sizeof code);
    return rc;
}

static const struct cli_session_cmd admin_unbind_cmd = {
    "ltdrs admin unbind", unbind_usage, unbind_opts, ARRAY_LEN(unbind_opts), 1, admin_key,
    admin_unbind};

/* ------------------------------------------------------------- announce */

static const char announce_usage[] =
    "usage: ltdrs admin announce --title T --text X [--link URL] [--application ID]\n"
    "                            --key KEYFILE [--node URL]\n"
    "\n"
    "Publishes an announcement on the student side, optionally about one\n"
    "activity (its application id).\n";

enum { N_NODE, N_KEY, N_TITLE, N_TEXT, N_LINK, N_APPLICATION };
static const struct cli_opt announce_opts[] = {
    NODE_KEY_OPTS,
    [N_TITLE] = {"title", 's', "T", "title, at most 200 bytes (required)"},
    [N_TEXT] = {"text", 's', "X", "text, at most 2000 bytes (required)"},
    [N_LINK] = {"link", 's', "URL", "an http(s) link"},
    [N_APPLICATION] = {"application", 's', "ID", "the activity it is about"},
};

static int
admin_announce(struct cli_session *ad)
{
    int rc = CLI_EXIT_OK;
    const char *title = ad->args.val[N_TITLE].s, *text = ad->args.val[N_TEXT].s;
    const char *link = ad->args.val[N_LINK].s, *app = ad->args.val[N_APPLICATION].s;
    char hex[65];
    if (title == NULL || text == NULL)
        return cli_error(CLI_EXIT_USAGE, ad->prog, "--title and --text are required");
    if ((rc = cli_text_arg(ad->prog, "--title", title, ltdrs_name_bytes_max, false, false)) ||
        (rc = cli_text_arg(ad->prog, "--text", text, ltdrs_text_bytes_max, false, true)) ||
        (link && (rc = cli_text_arg(ad->prog, "--link", link, 500, false, false))) ||
        (app && (rc = cli_parse_txid(ad->prog, "--application", app, hex))))
        return rc;
    if (link && strncmp(link, "https://", 8) != 0 && strncmp(link, "http://", 7) != 0)
        return cli_error(CLI_EXIT_USAGE, ad->prog,
                         "--link: '%.80s' is not an http:// or https:// URL", link);
    struct cjson *data = cli_record(&ad->a, "announcement");
    cli_set_str(&ad->a, data, "title", title);
    cli_set_str(&ad->a, data, "text", text);
    if (link)
        cli_set_str(&ad->a, data, "link", link);
    if (app)
        cli_set_str(&ad->a, data, "application", hex);
    return cli_session_post(ad, data, NULL, 1, "announcement published");
}

static const struct cli_session_cmd admin_announce_cmd = {
    "ltdrs admin announce", announce_usage, announce_opts, ARRAY_LEN(announce_opts), 0, admin_key,
    admin_announce};

/* --------------------------------------------------------------- report */

static const char report_usage[] =
    "usage: ltdrs admin report [--csv FILE] [--department ID] [--category C]\n"
    "                          [--activity ID] [--sort sid|count] [--desc] [--nonzero]\n"
    "                          --key KEYFILE [--node URL]\n"
    "\n"
    "Logs in with the admin key (the node's session API) and prints the\n"
    "all-students report: legal tickets per student under the filters, then a\n"
    "total line.  With --csv, writes the node's CSV export (sid,name,legal_tickets)\n"
    "to FILE (\"-\": standard output) instead.\n";

enum { T_NODE, T_KEY, T_CSV, T_DEPARTMENT, T_CATEGORY, T_ACTIVITY, T_SORT, T_DESC, T_NONZERO };
static const struct cli_opt report_opts[] = {
    NODE_KEY_OPTS,
    [T_CSV] = {"csv", 's', "FILE", "write the CSV export here (\"-\": stdout)"},
    [T_DEPARTMENT] = {"department", 's', "ID", "only tickets of this department (record id)"},
    [T_CATEGORY] = {"category", 's', "C", "only tickets of activities of this category"},
    [T_ACTIVITY] = {"activity", 's', "ID", "only tickets of this activity (application id)"},
    [T_SORT] = {"sort", 's', "sid|count", "order by student number (default) or count"},
    [T_DESC] = {"desc", 'f', NULL, "descending order"},
    [T_NONZERO] = {"nonzero", 'f', NULL, "only students with at least one legal ticket"},
};

/* The query string of the report's filters (starting with '?'). */
static int
report_query(struct cli_session *ad, struct buf *q)
{
    const struct cli_val *v = ad->args.val;
    char hex[65];
    int rc;
    buf_addc(q, '?'); /* every argument ends with '&': the caller appends the last */
    if (v[T_DEPARTMENT].set) {
        if ((rc = cli_parse_txid(ad->prog, "--department", v[T_DEPARTMENT].s, hex)))
            return rc;
        buf_addf(q, "department=%s&", hex);
    }
    if (v[T_ACTIVITY].set) {
        if ((rc = cli_parse_txid(ad->prog, "--activity", v[T_ACTIVITY].s, hex)))
            return rc;
        buf_addf(q, "activity=%s&", hex);
    }
    if (v[T_CATEGORY].set) {
        if ((rc = cli_text_arg(ad->prog, "--category", v[T_CATEGORY].s, ltdrs_name_bytes_max, false,
                               false)))
            return rc;
        buf_adds(q, "category=");
        net_escape(v[T_CATEGORY].s, q);
        buf_addc(q, '&');
    }
    if (v[T_SORT].set) {
        if (strcmp(v[T_SORT].s, "sid") != 0 && strcmp(v[T_SORT].s, "count") != 0)
            return cli_error(CLI_EXIT_USAGE, ad->prog, "--sort: '%.20s' is not sid or count",
                             v[T_SORT].s);
        buf_addf(q, "sort=%s&", v[T_SORT].s);
    }
    buf_addf(q, "order=%s&", v[T_DESC].set ? "desc" : "asc");
    if (v[T_NONZERO].set)
        buf_adds(q, "nonzero=true&");
    return CLI_EXIT_OK;
}

static int
report_csv(struct cli_session *ad, const char *query, const char *path)
{
    struct buf p;
    buf_init(&p);
    buf_addf(&p, "/ltdrs/api/v1/students%sformat=csv", query);
    struct net_resp r;
    net_resp_init(&r);
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    int rc = CLI_EXIT_OK;
    if (net_get(ad->n, p.p, &r, &eb) != LTD_OK) {
        rc = cli_node_error(ad->prog, &eb);
    } else {
        size_t rows = 0;
        for (size_t i = 0; i < r.body.len; i++)
            rows += r.body.p[i] == '\n';
        rc = cli_write_out(ad->prog, path, r.body.p ? r.body.p : "", r.body.len, 0);
        if (rc == CLI_EXIT_OK && strcmp(path, "-") != 0)
            fprintf(stderr, "%s: %zu students written to '%s'\n", ad->prog, rows ? rows - 1 : 0,
                    path);
    }
    net_resp_release(&r);
    buf_release(&p);
    return rc;
}

/* Prints one page of rows; adds to the totals.  *more when pages remain. */
static int
report_page(struct cli_session *ad, const char *query, uint32_t page, uint64_t tot[3], bool *more)
{
    enum { per_page = 1000 };
    struct buf p;
    buf_init(&p);
    buf_addf(&p, "/ltdrs/api/v1/students%spage=%u&per_page=%d", query, page, per_page);
    struct arena a;
    arena_init(&a);
    struct cjson *root = NULL;
    *more = false;
    int rc = cli_fetch_json(ad->prog, ad->n, p.p, &a, &root);
    const struct cjson *list = rc ? NULL : cjson_get(root, "students");
    const struct cjson *total = rc ? NULL : cjson_get(root, "total");
    if (rc)
        goto out;
    if (list == NULL || list->type != CJSON_ARRAY || total == NULL || total->type != CJSON_INT) {
        rc = cli_error(CLI_EXIT_NET, ad->prog, "GET %s: unexpected answer", p.p);
        goto out;
    }
    for (uint32_t i = 0; i < list->len; i++) {
        const struct cjson *e = list->items[i];
        const struct cjson *sid = cjson_get(e, "sid"), *name = cjson_get(e, "name");
        const struct cjson *n = cjson_get(e, "legal_tickets");
        if (!cjson_is_string(sid) || n == NULL || n->type != CJSON_INT)
            continue;
        uint64_t k = strtoull(n->str, NULL, 10);
        printf("%-20s %8llu  %s\n", sid->str, (unsigned long long)k,
               cjson_is_string(name) ? name->str : "");
        tot[0]++;
        tot[1] += k > 0;
        tot[2] += k;
    }
    *more = (uint64_t)page * per_page < strtoull(total->str, NULL, 10) && list->len > 0;
out:
    arena_release(&a);
    buf_release(&p);
    return rc;
}

static int
admin_report(struct cli_session *ad)
{
    struct buf q;
    buf_init(&q);
    int rc = CLI_EXIT_OK;
    char role[16] = "";
    if ((rc = report_query(ad, &q)) || (rc = cli_login(ad->prog, ad->n, &ad->seed, &ad->pk, role)))
        goto out;
    if (strcmp(role, "admin") != 0) {
        rc = cli_error(CLI_EXIT_INVALID, ad->prog,
                       "--key: this key logs in as '%s', not as the school admin", role);
        goto out;
    }
    if (ad->args.val[T_CSV].set) {
        rc = report_csv(ad, q.p, ad->args.val[T_CSV].s);
    } else {
        uint64_t tot[3] = {0, 0, 0};
        bool more = true;
        printf("%-20s %8s  %s\n", "sid", "legal", "name");
        for (uint32_t page = 1; more && rc == CLI_EXIT_OK && page <= 1000000; page++)
            rc = report_page(ad, q.p, page, tot, &more);
        if (rc == CLI_EXIT_OK)
            printf("students: %llu; with a legal ticket: %llu; legal tickets: %llu\n",
                   (unsigned long long)tot[0], (unsigned long long)tot[1],
                   (unsigned long long)tot[2]);
    }
    cli_logout(ad->n);
out:
    buf_release(&q);
    return rc;
}

static const struct cli_session_cmd admin_report_cmd = {
    "ltdrs admin report", report_usage, report_opts, ARRAY_LEN(report_opts), 0, admin_key,
    admin_report};

/* -------------------------------------------------------------- dispatch */

static const struct cmd admin_subcommands[] = {
    {"roster", NULL, "roster import: student numbers in, activation codes out", &admin_roster_cmd},
    {"certify", NULL, "certify or reject a department", &admin_certify_cmd},
    {"approve", NULL, "approve an application: issue its tickets", &admin_approve_cmd},
    {"reject", NULL, "reject an application with a reason", &admin_reject_cmd},
    {"revoke", NULL, "revoke a student's ticket", &admin_revoke_cmd},
    {"unbind", NULL, "free a student number, with a new activation code", &admin_unbind_cmd},
    {"announce", NULL, "publish an announcement", &admin_announce_cmd},
    {"report", NULL, "all-students report (legal tickets), CSV export", &admin_report_cmd},
};

int
cmd_admin(int argc, char **argv)
{
    return cli_dispatch("ltdrs admin", admin_usage, admin_subcommands, ARRAY_LEN(admin_subcommands),
                        argc, argv);
}
