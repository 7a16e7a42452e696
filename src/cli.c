/*
 * cli.c - helpers shared by the cmd_*.c files (declared in cmd.h): option
 * parsing from a table (and the --help answer), subcommand dispatch, bounded
 * whole-file reads, atomic writes, key files, argument decoding, error lines
 * that name the option or field at fault, and the staff commands' session:
 * options, key and node client opened in one call and released in one.
 *
 * Library code: nothing here exits.  Each helper prints at most one error
 * line (prefixed with the command, e.g. "ltdrs tx create: ") and returns an
 * enum cli_exit, so the caller can wipe secrets on its single way out.
 * Secrets read from key files are wiped from every buffer this file owns.
 */
#include "cmd.h"

#include "codec.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ errors */

int
cli_error(int code, const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int
cli_exit_for(enum ltd_err e)
{
    switch (e) {
    case LTD_OK:
        return CLI_EXIT_OK;
    case LTD_E_USAGE:
        return CLI_EXIT_USAGE;
    case LTD_E_IO:
    case LTD_E_STORE_IO:
    case LTD_E_STORE_FULL:
    case LTD_E_STORE_STOPPED:
        return CLI_EXIT_IO;
    case LTD_E_HTTP_TIMEOUT:
    case LTD_E_HTTP_OVERLOAD:
    case LTD_E_OVERLOAD:
        return CLI_EXIT_NET;
    default:
        return CLI_EXIT_INVALID;
    }
}

/* The message for eb: BigchainDB's wording for transaction and JSON
 * failures, the plain message for everything else. */
static void
eb_text(const struct ltd_errbuf *eb, struct buf *out)
{
    if (eb->code >= 100 && eb->code < 500)
        ltd_err_bdb_message(eb, out);
    else
        buf_adds(out, eb->msg[0] ? eb->msg : ltd_err_hint(eb->code));
}

int
cli_error_eb(const char *prog, const char *what, const struct ltd_errbuf *eb)
{
    struct buf m;
    buf_init(&m);
    eb_text(eb, &m);
    if (what)
        cli_error(0, prog, "%s: %s", what, m.p ? m.p : "");
    else
        cli_error(0, prog, "%s", m.p ? m.p : "");
    buf_release(&m);
    return cli_exit_for(eb->code);
}

/* ------------------------------------------------------- option parsing */

static const struct cli_opt *
find_opt(const struct cli_opt *opts, size_t n_opt, const char *name, size_t len, size_t *idx)
{
    for (size_t i = 0; i < n_opt; i++) {
        if (strlen(opts[i].name) == len && memcmp(opts[i].name, name, len) == 0) {
            *idx = i;
            return &opts[i];
        }
    }
    return NULL;
}

/* Stores one occurrence of option idx with value val (NULL for flags). */
static int
store_opt(const char *prog, const struct cli_opt *o, struct cli_val *v, const char *val, int at,
          int argc)
{
    switch (o->kind) {
    case 'f':
        break;
    case 's':
        if (v->set)
            return cli_error(CLI_EXIT_USAGE, prog, "option '--%s' given twice (see '%s --help')",
                             o->name, prog);
        v->s = val;
        break;
    case 'm':
        if (v->v == NULL) {
            v->v = xcalloc((size_t)argc, sizeof *v->v);
            v->at = xcalloc((size_t)argc, sizeof *v->at);
        }
        LTD_ASSERT(v->n < (uint32_t)argc);
        v->v[v->n] = val;
        v->at[v->n] = at;
        break;
    default:
        LTD_ASSERT(!"option kind is one of 's', 'f', 'm'");
    }
    if (o->kind != 'm')
        v->n = 1;
    else
        v->n++;
    v->set = true;
    return CLI_EXIT_OK;
}

/* Handles argv[*i], which starts with "--" and is not "--". */
static int
parse_long(const char *prog, const struct cli_opt *opts, size_t n_opt, int argc, char **argv,
           int *i, struct cli_args *out)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    size_t idx = 0;
    const struct cli_opt *o = find_opt(opts, n_opt, arg, len, &idx);
    if (o == NULL)
        return cli_error(CLI_EXIT_USAGE, prog, "unknown option '--%.*s' (see '%s --help')",
                         (int)(len > 64 ? 64 : len), arg, prog);
    const char *val = NULL;
    int at = *i;
    if (o->kind == 'f') {
        if (eq)
            return cli_error(CLI_EXIT_USAGE, prog, "option '--%s' takes no value", o->name);
    } else if (eq) {
        val = eq + 1;
    } else if (*i + 1 < argc) {
        val = argv[++*i];
    } else {
        return cli_error(CLI_EXIT_USAGE, prog, "option '--%s' needs a value (%s)", o->name,
                         o->arg ? o->arg : "VALUE");
    }
    return store_opt(prog, o, &out->val[idx], val, at, argc);
}

int
cli_parse(const char *prog, const struct cli_opt *opts, size_t n_opt, uint32_t pos_max, int argc,
          char **argv, struct cli_args *out)
{
    LTD_ASSERT(argc >= 1);
    memset(out, 0, sizeof *out);
    out->val = xcalloc(n_opt ? n_opt : 1, sizeof *out->val);
    out->n_opt = n_opt;
    out->pos = xcalloc((size_t)argc, sizeof *out->pos);
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!only_pos && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)) {
            out->help = true;
            return CLI_EXIT_OK;
        }
        if (!only_pos && strcmp(arg, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (!only_pos && arg[0] == '-' && arg[1] == '-') {
            int rc = parse_long(prog, opts, n_opt, argc, argv, &i, out);
            if (rc)
                return rc;
            continue;
        }
        if (!only_pos && arg[0] == '-' && arg[1] != 0)
            return cli_error(CLI_EXIT_USAGE, prog, "unknown option '%.64s' (see '%s --help')", arg,
                             prog);
        if (out->n_pos >= pos_max)
            return cli_error(CLI_EXIT_USAGE, prog, "unexpected argument '%.64s' (see '%s --help')",
                             arg, prog);
        out->pos[out->n_pos++] = arg;
    }
    return CLI_EXIT_OK;
}

void
cli_args_release(struct cli_args *a)
{
    for (size_t i = 0; a->val && i < a->n_opt; i++) {
        free(a->val[i].v);
        free(a->val[i].at);
    }
    free(a->val);
    free(a->pos);
    memset(a, 0, sizeof *a);
}

void
cli_usage(FILE *f, const char *usage, const struct cli_opt *opts, size_t n_opt)
{
    enum { help_column = 38 };
    fputs(usage, f);
    if (n_opt)
        fputs("\noptions:\n", f);
    for (size_t i = 0; i < n_opt; i++) {
        char left[96];
        snprintf(left, sizeof left, "--%s%s%s", opts[i].name, opts[i].arg ? " " : "",
                 opts[i].arg ? opts[i].arg : "");
        fprintf(f, "  %-*s%s%s\n", help_column - 2, left,
                strlen(left) >= help_column - 2 ? " " : "", opts[i].help);
    }
    fprintf(f, "  %-*s%s\n", help_column - 2, "-h, --help", "show this help");
}

int
cli_parse_or_help(const char *prog, const char *usage, const struct cli_opt *opts, size_t n_opt,
                  uint32_t pos_max, int argc, char **argv, struct cli_args *out, bool *done)
{
    *done = false;
    int rc = cli_parse(prog, opts, n_opt, pos_max, argc, argv, out);
    if (rc == CLI_EXIT_OK && out->help) {
        cli_usage(stdout, usage, opts, n_opt);
        *done = true;
    }
    return rc;
}

/* ---------------------------------------------------------- subcommands */

static void
list_subcommands(FILE *f, const char *usage, const struct cmd *subs, size_t n_subs)
{
    fputs(usage, f);
    for (size_t i = 0; i < n_subs; i++)
        fprintf(f, "  %-10s %s\n", subs[i].name, subs[i].summary);
}

int
cli_dispatch(const char *prog, const char *usage, const struct cmd *subs, size_t n_subs, int argc,
             char **argv)
{
    LTD_ASSERT(argc >= 1);
    LTD_ASSERT(n_subs > 0);
    if (argc < 2) {
        list_subcommands(stderr, usage, subs, n_subs);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        list_subcommands(stdout, usage, subs, n_subs);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < n_subs; i++) {
        if (strcmp(subs[i].name, name) != 0)
            continue;
        if (subs[i].fn == NULL)
            return cli_session_run(subs[i].session, argc - 1, argv + 1);
        return subs[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "%s: unknown subcommand '%.64s'\n\n", prog, name);
    list_subcommands(stderr, usage, subs, n_subs);
    return CLI_EXIT_USAGE;
}

/* -------------------------------------------------------------- files */

static const char *
shown_path(const char *path)
{
    return strcmp(path, "-") == 0 ? "standard input" : path;
}

/* Opens path for reading ("-" = stdin) and checks it is not a directory
 * and, for a regular file, not larger than max. */
static int
open_for_read(const char *prog, const char *what, const char *path, size_t max, int *fd_out)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_error(CLI_EXIT_IO, prog, "%s: open '%s' failed: %s", what, path,
                         strerror(errno));
    struct stat st;
    int rc = CLI_EXIT_OK;
    if (fstat(fd, &st) != 0)
        rc = cli_error(CLI_EXIT_IO, prog, "%s: stat '%s' failed: %s", what, shown_path(path),
                       strerror(errno));
    else if (S_ISDIR(st.st_mode))
        rc = cli_error(CLI_EXIT_IO, prog, "%s: '%s' is a directory", what, path);
    else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
        rc =
            cli_error(CLI_EXIT_INVALID, prog, "%s: '%s' has %lld bytes, more than the limit of %zu",
                      what, path, (long long)st.st_size, max);
    if (rc != CLI_EXIT_OK) {
        if (fd != STDIN_FILENO)
            close(fd);
        return rc;
    }
    *fd_out = fd;
    return CLI_EXIT_OK;
}

/* Reads until EOF into dst[0..cap); *len gets the byte count.  Returns 0,
 * -1 on a read error (errno set), 1 if there was more than cap. */
static int
read_all(int fd, char *dst, size_t cap, size_t *len)
{
    size_t n = 0;
    for (;;) {
        if (n == cap) {
            char probe;
            ssize_t r = read(fd, &probe, 1);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return -1;
            *len = n;
            return r > 0 ? 1 : 0;
        }
        ssize_t r = read(fd, dst + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *len = n;
    return 0;
}

int
cli_read_file(const char *prog, const char *what, const char *path, size_t max, struct buf *out)
{
    int fd = -1;
    int rc = open_for_read(prog, what, path, max, &fd);
    if (rc)
        return rc;
    enum { read_chunk_bytes = 64 * 1024 };
    size_t total = 0;
    for (;;) {
        buf_reserve(out, read_chunk_bytes);
        ssize_t r = read(fd, out->p + out->len, out->cap - out->len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = cli_error(CLI_EXIT_IO, prog, "%s: read '%s' failed: %s", what, shown_path(path),
                           strerror(errno));
            break;
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
        out->p[out->len] = 0;
        total += (size_t)r;
        if (total > max) {
            rc = cli_error(CLI_EXIT_INVALID, prog, "%s: '%s' is larger than the limit of %zu bytes",
                           what, shown_path(path), max);
            break;
        }
    }
    if (fd != STDIN_FILENO)
        close(fd);
    return rc;
}

static bool
write_fd_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

/* Secrets bypass stdio so that no copy stays in its buffer. */
static int
write_stdout(const char *prog, const void *p, size_t n, unsigned flags)
{
    bool ok;
    if (flags & CLI_WRITE_SECRET)
        ok = fflush(stdout) == 0 && write_fd_all(STDOUT_FILENO, p, n);
    else
        ok = fwrite(p, 1, n, stdout) == n && fflush(stdout) == 0;
    if (!ok)
        return cli_error(CLI_EXIT_IO, prog, "write to standard output failed: %s", strerror(errno));
    return CLI_EXIT_OK;
}

/* Without hard links (some file systems), the exclusive create falls back
 * to O_EXCL on the final name: still never replaces a file, but a crash can
 * leave it half-written. */
static int
create_excl_direct(const char *prog, const char *path, const void *p, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0 && errno == EEXIST)
        return cli_error(CLI_EXIT_IO, prog, "'%s' already exists (remove it or use --force)", path);
    if (fd < 0)
        return cli_error(CLI_EXIT_IO, prog, "create '%s' failed: %s", path, strerror(errno));
    bool ok = write_fd_all(fd, p, n) && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0)
        ok = false;
    if (!ok) {
        unlink(path);
        return cli_error(CLI_EXIT_IO, prog, "write '%s' failed: %s", path, strerror(saved));
    }
    return CLI_EXIT_OK;
}

/* Moves the finished temporary file to path (rename, or link for EXCL). */
static int
publish_tmp(const char *prog, const char *tmp, const char *path, const void *p, size_t n,
            unsigned flags, mode_t mode)
{
    if (!(flags & CLI_WRITE_EXCL)) {
        if (rename(tmp, path) == 0)
            return CLI_EXIT_OK;
        int saved = errno;
        unlink(tmp);
        return cli_error(CLI_EXIT_IO, prog, "rename to '%s' failed: %s", path, strerror(saved));
    }
    if (link(tmp, path) == 0) {
        unlink(tmp);
        return CLI_EXIT_OK;
    }
    int saved = errno;
    unlink(tmp);
    if (saved == EEXIST)
        return cli_error(CLI_EXIT_IO, prog, "'%s' already exists (remove it or use --force)", path);
    return create_excl_direct(prog, path, p, n, mode);
}

int
cli_write_out(const char *prog, const char *path, const void *p, size_t n, unsigned flags)
{
    if (path == NULL || strcmp(path, "-") == 0)
        return write_stdout(prog, p, n, flags);
    mode_t mask = umask(077);
    umask(mask);
    mode_t mode = (flags & CLI_WRITE_SECRET) ? 0600 : (0666 & ~mask);
    struct buf tmp;
    buf_init(&tmp);
    buf_addf(&tmp, "%s.tmp-XXXXXX", path);
    int rc = CLI_EXIT_OK;
    int fd = mkostemp(tmp.p, O_CLOEXEC);
    if (fd < 0) {
        rc = cli_error(CLI_EXIT_IO, prog, "create '%s' failed: %s", tmp.p, strerror(errno));
        goto out;
    }
    bool ok = fchmod(fd, mode) == 0 && write_fd_all(fd, p, n) && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp.p);
        rc = cli_error(CLI_EXIT_IO, prog, "write '%s' failed: %s", path, strerror(saved));
        goto out;
    }
    rc = publish_tmp(prog, tmp.p, path, p, n, flags, mode);
out:
    buf_release(&tmp);
    return rc;
}

/* --------------------------------------------------------------- keys */

/* Decodes the base58 text of a key field into out[32].  Returns false with
 * a message if v is not a string or not 32 bytes of canonical base58. */
static bool
key_field(const struct cjson *v, uint8_t out[32])
{
    return v != NULL && v->type == CJSON_STRING &&
           codec_b58_decode32(v->str, v->len, out) == LTD_OK;
}

/* The checks of cli_read_key on a parsed file. */
static int
key_from_json(const char *prog, const char *what, const char *path, const struct cjson *root,
              struct ltd_seed *seed, struct ltd_pubkey *pk)
{
    if (root->type != CJSON_OBJECT)
        return cli_error(CLI_EXIT_INVALID, prog, "%s: key file '%s' is not a JSON object", what,
                         path);
    for (uint32_t i = 0; i < root->len; i++) {
        const char *k = root->members[i].key;
        if (strcmp(k, "public_key") != 0 && strcmp(k, "private_key") != 0)
            return cli_error(CLI_EXIT_INVALID, prog, "%s: key file '%s': unknown field '%.40s'",
                             what, path, k);
    }
    const struct cjson *priv = cjson_get(root, "private_key");
    const struct cjson *pub = cjson_get(root, "public_key");
    struct ltd_seed local = {{0}};
    struct ltd_seed *s = seed ? seed : &local;
    int rc = CLI_EXIT_OK;
    if (priv == NULL && seed != NULL) {
        rc = cli_error(CLI_EXIT_INVALID, prog, "%s: key file '%s' has no private_key", what, path);
    } else if (priv != NULL && !key_field(priv, s->b)) {
        rc = cli_error(CLI_EXIT_INVALID, prog,
                       "%s: key file '%s': private_key is not a base58 32-byte seed", what, path);
    } else if (priv == NULL && !key_field(pub, pk->b)) {
        rc = cli_error(CLI_EXIT_INVALID, prog,
                       "%s: key file '%s': public_key is missing or not a base58 32-byte key", what,
                       path);
    } else if (priv != NULL) {
        codec_ed25519_seed_pubkey(s, pk);
        struct ltd_pubkey given;
        if (pub != NULL && (!key_field(pub, given.b) || memcmp(given.b, pk->b, 32) != 0))
            rc = cli_error(CLI_EXIT_INVALID, prog,
                           "%s: key file '%s': public_key does not match private_key", what, path);
    }
    codec_wipe(&local, sizeof local);
    if (priv != NULL && priv->type == CJSON_STRING)
        codec_wipe((void *)priv->str, priv->len);
    return rc;
}

static void
warn_key_mode(const char *prog, const char *path, int fd)
{
    struct stat st;
    if (fd != STDIN_FILENO && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
        fprintf(stderr, "%s: warning: key file '%s' is accessible by others (mode %04o)\n", prog,
                path, (unsigned)(st.st_mode & 07777));
}

int
cli_read_key(const char *prog, const char *what, const char *path, struct ltd_seed *seed,
             struct ltd_pubkey *pk)
{
    char text[key_file_bytes_max];
    size_t len = 0;
    struct arena a;
    arena_init(&a);
    int fd = -1;
    int rc = open_for_read(prog, what, path, sizeof text, &fd);
    if (rc)
        goto out;
    if (seed)
        warn_key_mode(prog, path, fd);
    int r = read_all(fd, text, sizeof text, &len);
    int saved = errno;
    if (fd != STDIN_FILENO)
        close(fd);
    if (r != 0) {
        rc = r < 0 ? cli_error(CLI_EXIT_IO, prog, "%s: read '%s' failed: %s", what,
                               shown_path(path), strerror(saved))
                   : cli_error(CLI_EXIT_INVALID, prog, "%s: key file '%s' is too large", what,
                               shown_path(path));
        goto out;
    }
    struct cjson *root = NULL;
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (cjson_parse(&a, text, len, NULL, &root, &eb) != LTD_OK) {
        rc = cli_error(CLI_EXIT_INVALID, prog, "%s: key file '%s' is not valid JSON: %s", what,
                       shown_path(path), eb.msg);
        goto out;
    }
    rc = key_from_json(prog, what, shown_path(path), root, seed, pk);
out:
    codec_wipe(text, sizeof text);
    arena_release(&a);
    if (rc != CLI_EXIT_OK && seed)
        codec_wipe(seed, sizeof *seed);
    return rc;
}

size_t
cli_format_key(const struct ltd_seed *seed, const struct ltd_pubkey *pk, char *out, size_t cap)
{
    char pub[48], priv[48];
    codec_b58_encode32(pk->b, pub);
    codec_b58_encode32(seed->b, priv);
    int n = snprintf(out, cap, "{\"public_key\":\"%s\",\"private_key\":\"%s\"}\n", pub, priv);
    codec_wipe(priv, sizeof priv);
    LTD_ASSERT(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

/* ---------------------------------------------------------- arguments */

int
cli_parse_pubkey(const char *prog, const char *what, const char *s, size_t n, struct ltd_pubkey *pk)
{
    enum ltd_err e = codec_b58_decode32(s, n, pk->b);
    if (e == LTD_OK)
        return CLI_EXIT_OK;
    return cli_error(CLI_EXIT_USAGE, prog, "%s: '%.*s' is not a base58 Ed25519 public key (%s)",
                     what, (int)(n > 60 ? 60 : n), s, ltd_err_hint(e));
}

int
cli_parse_amount(const char *prog, const char *what, const char *s, size_t n, uint64_t *out)
{
    uint64_t x = 0;
    bool ok = n >= 1 && n <= 19 && !(n > 1 && s[0] == '0');
    for (size_t i = 0; ok && i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9 || x > (UINT64_MAX - d) / 10)
            ok = false;
        else
            x = x * 10 + d;
    }
    if (!ok || x == 0 || x > LTD_AMOUNT_MAX)
        return cli_error(CLI_EXIT_USAGE, prog,
                         "%s: amount '%.*s' is not an integer from 1 to %llu without leading "
                         "zeros",
                         what, (int)(n > 30 ? 30 : n), s, (unsigned long long)LTD_AMOUNT_MAX);
    *out = x;
    return CLI_EXIT_OK;
}

int
cli_parse_uint(const char *prog, const char *what, const char *s, uint32_t max, uint32_t *out)
{
    uint64_t x = 0;
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= 10 && !(n > 1 && s[0] == '0');
    for (size_t i = 0; ok && i < n; i++) {
        ok = s[i] >= '0' && s[i] <= '9';
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    if (!ok || x < 1 || x > max)
        return cli_error(CLI_EXIT_USAGE, prog, "%s: '%.30s' must be a whole number from 1 to %u",
                         what, s, max);
    *out = (uint32_t)x;
    return CLI_EXIT_OK;
}

int
cli_json_arg(const char *prog, const char *what, const char *arg, struct arena *a,
             struct cjson **out)
{
    *out = NULL;
    struct buf b;
    buf_init(&b);
    const char *text = arg;
    size_t len = strlen(arg);
    int rc = CLI_EXIT_OK;
    if (arg[0] == '@') {
        if ((rc = cli_read_file(prog, what, arg + 1, tx_bytes_max, &b)))
            goto out;
        text = b.p ? b.p : "";
        len = b.len;
    }
    struct ltd_errbuf eb;
    ltd_errbuf_clear(&eb);
    if (cjson_parse(a, text, len, NULL, out, &eb) != LTD_OK) {
        struct buf m;
        buf_init(&m);
        ltd_err_bdb_message(&eb, &m);
        rc = cli_error(CLI_EXIT_INVALID, prog, "%s%s%s%s: %s", what, arg[0] == '@' ? " '" : "",
                       arg[0] == '@' ? shown_path(arg + 1) : "", arg[0] == '@' ? "'" : "", m.p);
        buf_release(&m);
        *out = NULL;
    }
out:
    buf_release(&b);
    return rc;
}

int
cli_load_tx(const char *prog, const char *what, const char *path, struct arena *a, unsigned flags,
            struct tx *t)
{
    struct buf b;
    buf_init(&b);
    memset(t, 0, sizeof *t);
    int rc = cli_read_file(prog, what, path, tx_bytes_max, &b);
    if (rc == CLI_EXIT_OK) {
        struct ltd_errbuf eb;
        ltd_errbuf_clear(&eb);
        if (tx_parse(a, b.p ? b.p : "", b.len, flags, t, &eb) != LTD_OK) {
            struct buf w;
            buf_init(&w);
            buf_addf(&w, "%s '%s'", what, shown_path(path));
            rc = cli_error_eb(prog, w.p, &eb);
            buf_release(&w);
        }
    }
    buf_release(&b);
    return rc;
}

const struct ltd_hash *
cli_tx_asset_id(const struct tx *t)
{
    LTD_ASSERT(t->has_id);
    return t->op == TX_CREATE ? &t->id : &t->asset_id;
}

/* ----------------------------------------------------- staff sessions */

/* Opens the session of cli_session_run; s is to be released by
 * session_end whatever the result.  *done when --help was answered. */
static int
session_begin(struct cli_session *s, const char *prog, const char *usage,
              const struct cli_opt *opts, size_t n_opt, uint32_t pos_max, const char *key_what,
              int argc, char **argv, bool *done)
{
    LTD_ASSERT(n_opt > CLI_SESSION_OPT_KEY);
    LTD_ASSERT(strcmp(opts[CLI_SESSION_OPT_NODE].name, "node") == 0);
    LTD_ASSERT(strcmp(opts[CLI_SESSION_OPT_KEY].name, "key") == 0);
    memset(s, 0, sizeof *s);
    s->prog = prog;
    arena_init(&s->a);
    int rc = cli_parse_or_help(prog, usage, opts, n_opt, pos_max, argc, argv, &s->args, done);
    if (rc || *done)
        return rc;
    const struct cli_val *key = &s->args.val[CLI_SESSION_OPT_KEY];
    if (!key->set)
        return cli_error(CLI_EXIT_USAGE, prog, "--key KEYFILE is required (%s)", key_what);
    if ((rc = cli_read_key(prog, "--key", key->s, &s->seed, &s->pk)))
        return rc;
    return cli_node_open(prog, s->args.val[CLI_SESSION_OPT_NODE].s, &s->n);
}

/* Releases what session_begin opened (the seed wiped); returns rc. */
static int
session_end(struct cli_session *s, int rc)
{
    codec_wipe(&s->seed, sizeof s->seed);
    net_free(s->n);
    s->n = NULL;
    arena_release(&s->a);
    cli_args_release(&s->args);
    return rc;
}

int
cli_session_run(const struct cli_session_cmd *c, int argc, char **argv)
{
    LTD_ASSERT(c != NULL && c->run != NULL);
    struct cli_session s;
    bool done;
    int rc = session_begin(&s, c->prog, c->usage, c->opts, c->n_opt, c->pos_max, c->key_what, argc,
                           argv, &done);
    if (rc == CLI_EXIT_OK && !done)
        rc = c->run(&s);
    return session_end(&s, rc);
}

int
cli_session_post(struct cli_session *s, struct cjson *data, const struct ltd_pubkey *to,
                 uint64_t amount, const char *done_fmt, ...)
{
    LTD_ASSERT(s->n != NULL);
    char txid[65];
    int rc = cli_post_record(s->prog, s->n, &s->a, &s->seed, &s->pk, data, to, amount, txid);
    if (rc != CLI_EXIT_OK)
        return rc;
    printf("%s\n", txid);
    fflush(stdout);
    va_list ap;
    va_start(ap, done_fmt);
    fprintf(stderr, "%s: ", s->prog);
    vfprintf(stderr, done_fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_EXIT_OK;
}

int
cli_register_key(const char *prog, struct net *n, struct arena *a, const char *path, bool force,
                 struct cjson *data, struct ltd_pubkey *pk, char txid[65])
{
    LTD_ASSERT(path != NULL);
    LTD_ASSERT(data != NULL && data->type == CJSON_OBJECT);
    struct ltd_seed seed;
    char text[256];
    codec_ed25519_keypair(pk, &seed);
    size_t len = cli_format_key(&seed, pk, text, sizeof text);
    int rc = cli_write_out(prog, path, text, len,
                           CLI_WRITE_SECRET | (force ? 0u : (unsigned)CLI_WRITE_EXCL));
    codec_wipe(text, sizeof text);
    if (rc)
        goto out;
    rc = cli_post_record(prog, n, a, &seed, pk, data, NULL, 1, txid);
    if (rc == CLI_EXIT_OK) {
        printf("%s\n", txid);
        fflush(stdout);
    } else if (rc == CLI_EXIT_INVALID && unlink(path) == 0) {
        fprintf(stderr, "%s: removed the unused key file '%s'\n", prog, path);
    }
out:
    codec_wipe(&seed, sizeof seed);
    return rc;
}

struct cjson *
cli_record(struct arena *a, const char *kind)
{
    struct cjson *o = cjson_new_object(a);
    cli_set_str(a, o, "ltdrs", kind);
    cjson_obj_set(a, o, "v", cjson_new_int(a, 1));
    return o;
}

void
cli_set_str(struct arena *a, struct cjson *o, const char *k, const char *v)
{
    LTD_ASSERT(o != NULL && o->type == CJSON_OBJECT);
    cjson_obj_set(a, o, k, cjson_new_stringz(a, v));
}

const char *
cli_str_of(const struct cjson *o, const char *k)
{
    const struct cjson *v = cjson_get(o, k);
    return v != NULL && cjson_is_string(v) ? v->str : "";
}
