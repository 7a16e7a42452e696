/*
 * cmd.h - the `ltdrs <command>` interface: the command row type, every
 * command's entry point, the exit codes, and the small helpers the cmd_*.c
 * files share (cli.c): a table-driven option parser, subcommand dispatch,
 * bounded file reading, atomic output, key files, and error printing that
 * names the option or field at fault; and those of the staff commands
 * (cmd_admin.c, cli.c): the node client, records, login, the session.
 *
 * The helpers never exit: they print one error line to stderr and return an
 * exit code, so a command can still wipe its secrets on the way out.  Only
 * cmd_*.c and main.c turn codes into a process exit (STYLE rule 19).
 *
 * Not here: anything a server needs (config table, logging).
 */
#ifndef LTD_CMD_H
#define LTD_CMD_H

#include "cjson.h"
#include "err.h"
#include "ltd.h"
#include "tx.h"

#include <stdio.h>

#ifndef LTDRS_VERSION
#define LTDRS_VERSION "0.1.0"
#endif

/* Process exit codes of every command.  Stable: scripts test them. */
enum cli_exit {
    CLI_EXIT_OK = 0,      /* done; for verify: valid */
    CLI_EXIT_INVALID = 1, /* verification failed, or input refused (bad JSON, bad tx) */
    CLI_EXIT_USAGE = 2,   /* bad command line: unknown option, missing or bad argument */
    CLI_EXIT_IO = 3,      /* a file could not be read or written */
    CLI_EXIT_NET = 4,     /* network or server error (commands that talk to a server) */
};

struct cli_session_cmd;

/* One row of main.c's command table, or of a command's subcommand table. */
struct cmd {
    const char *name;                      /* `ltdrs <name>` */
    int (*fn)(int argc, char **argv);      /* argv[0] is the name; returns an enum cli_exit */
    const char *summary;                   /* one line for `ltdrs --help` */
    const struct cli_session_cmd *session; /* when fn is NULL: a keyed staff subcommand,
                                            * run by cli_session_run (subcommands only) */
};

/* Command entry points (one cmd_<name>.c each).  Each accepts --help (usage
 * on stdout, returns CLI_EXIT_OK). */
int cmd_keygen(int argc, char **argv);  /* cmd_keygen.c */
int cmd_tx(int argc, char **argv);      /* cmd_tx.c */
int cmd_init(int argc, char **argv);    /* cmd_node.c */
int cmd_serve(int argc, char **argv);   /* cmd_node.c */
int cmd_verify(int argc, char **argv);  /* cmd_node.c */
int cmd_admin(int argc, char **argv);   /* cmd_admin.c */
int cmd_dept(int argc, char **argv);    /* cmd_dept.c */
int cmd_student(int argc, char **argv); /* cmd_student.c */

/* ---- option parsing ---- */

/* One option of a command.  Tables are indexed by an enum in the cmd file,
 * and cli_parse fills the value slot with the same index. */
struct cli_opt {
    const char *name; /* long name without dashes: "out" for --out */
    char kind;        /* 's' string (at most once), 'f' flag, 'm' multi (repeatable) */
    const char *arg;  /* metavariable shown in help ("FILE"); NULL for flags */
    const char *help; /* one line */
};

struct cli_val {
    bool set;       /* given at least once */
    const char *s;  /* 's': the value (borrowed from argv) */
    uint32_t n;     /* 'm': number of values */
    const char **v; /* 'm': the values in command-line order (borrowed strings) */
    int *at;        /* 'm': argv index of each value, to merge options in order */
};

struct cli_args {
    struct cli_val *val; /* one per option, same index as the table; owned */
    size_t n_opt;
    const char **pos; /* positional arguments in order (borrowed from argv); owned array */
    uint32_t n_pos;
    bool help; /* -h or --help was given (nothing else was checked) */
};

/*
 * Parses argv[1..argc) against opts: `--name value`, `--name=value`,
 * `--flag`, `-h`/`--help`, `--` (the rest is positional), and `-` as a
 * positional (stdin).  At most pos_max positionals.
 * [in] prog  "ltdrs tx create", the prefix of error lines.
 * [out] out  release with cli_args_release whatever the result.
 * Returns CLI_EXIT_OK, or CLI_EXIT_USAGE after printing what was wrong
 * (unknown option, missing value, a string option given twice, a value
 * given to a flag, too many arguments).
 */
int cli_parse(const char *prog, const struct cli_opt *opts, size_t n_opt, uint32_t pos_max,
              int argc, char **argv, struct cli_args *out);
void cli_args_release(struct cli_args *a);

/* Prints `usage` (the text at the top of a cmd file, newline-terminated)
 * and then one aligned line per option, plus -h/--help. */
void cli_usage(FILE *f, const char *usage, const struct cli_opt *opts, size_t n_opt);

/*
 * cli_parse, and the answer to -h/--help: usage and the option table on
 * stdout, *done set (the command then returns CLI_EXIT_OK at once).
 * [out] out   release with cli_args_release whatever the result.
 * [out] done  true when --help was answered.
 * Returns what cli_parse returns.
 */
int cli_parse_or_help(const char *prog, const char *usage, const struct cli_opt *opts, size_t n_opt,
                      uint32_t pos_max, int argc, char **argv, struct cli_args *out, bool *done);

/*
 * `ltdrs <command> <subcommand> ...`: runs the row of subs named by
 * argv[1] with (argc - 1, argv + 1).  No name: usage and the list on
 * stderr, CLI_EXIT_USAGE; "-h", "--help", "help": the same on stdout,
 * CLI_EXIT_OK; an unknown name: "<prog>: unknown subcommand ..." and the
 * list, CLI_EXIT_USAGE.  usage ends with the line before the list.
 */
int cli_dispatch(const char *prog, const char *usage, const struct cmd *subs, size_t n_subs,
                 int argc, char **argv);

/* ---- errors ---- */

/* Prints "<prog>: <message>\n" to stderr and returns code. */
int cli_error(int code, const char *prog, const char *fmt, ...) LTD_PRINTF(3, 4);
/* The exit code for a library error: LTD_E_USAGE → 2, LTD_E_IO and storage
 * I/O → 3, HTTP transport errors → 4, everything else (a refused input) → 1. */
int cli_exit_for(enum ltd_err e);
/* Prints "<prog>: <what>: <BigchainDB-style message>\n" and returns
 * cli_exit_for(eb->code).  what may be NULL. */
int cli_error_eb(const char *prog, const char *what, const struct ltd_errbuf *eb);

/* ---- files ---- */

/*
 * Reads a whole file ("-" = stdin) into out (appended, NUL-terminated),
 * refusing more than max bytes.
 * [in] what  the option or argument the path came from ("--asset"), for errors.
 * Returns CLI_EXIT_OK, CLI_EXIT_IO (cannot open/read), CLI_EXIT_INVALID
 * (larger than max).  Errors are printed.
 */
int cli_read_file(const char *prog, const char *what, const char *path, size_t max,
                  struct buf *out);

enum cli_write_flags {
    CLI_WRITE_SECRET = 1 << 0, /* create the file with mode 0600 (else 0666 & ~umask) */
    CLI_WRITE_EXCL = 1 << 1,   /* refuse to replace an existing file */
};

/*
 * Writes p[0..n) to stdout (path NULL or "-") or to path atomically: a
 * temporary file in the same directory, fsync, then rename (or link, with
 * CLI_WRITE_EXCL, so an existing file is never replaced).
 * Returns CLI_EXIT_OK or CLI_EXIT_IO (printed; "already exists" names the
 * file and suggests --force).
 */
int cli_write_out(const char *prog, const char *path, const void *p, size_t n, unsigned flags);

/* ---- keys ---- */

enum { key_file_bytes_max = 4096 };

/*
 * Reads a key file {"public_key":"<b58>","private_key":"<b58 seed>"}
 * (what the drivers call the private key is the 32-byte seed).
 * [out] seed  the seed; may be NULL to read only the public key, in which
 *             case a file holding only "public_key" is accepted too.
 * [out] pk    the public key (derived from the seed when there is one, and
 *             then checked against "public_key" if present).
 * Every copy of the secret text is wiped before returning; on failure
 * *seed is wiped too.  Returns CLI_EXIT_OK, CLI_EXIT_IO or
 * CLI_EXIT_INVALID (malformed file; the message names the field).
 */
int cli_read_key(const char *prog, const char *what, const char *path, struct ltd_seed *seed,
                 struct ltd_pubkey *pk);
/* Formats the key file text for (seed, pk) into out (cap >= 160), returns
 * its length.  The caller wipes out. */
size_t cli_format_key(const struct ltd_seed *seed, const struct ltd_pubkey *pk, char *out,
                      size_t cap);

/* ---- arguments ---- */

/* Decodes a base58 32-byte public key given in an option.  On failure
 * prints "<what>: '<s>' is not a base58 Ed25519 public key (...)" and
 * returns CLI_EXIT_USAGE. */
int cli_parse_pubkey(const char *prog, const char *what, const char *s, size_t n,
                     struct ltd_pubkey *pk);
/* Decimal amount 1..LTD_AMOUNT_MAX, no sign, no leading zero.  CLI_EXIT_USAGE
 * (printed) otherwise. */
int cli_parse_amount(const char *prog, const char *what, const char *s, size_t n, uint64_t *out);
/* A whole number 1..max (at most 10 digits, no sign, no leading zero) given
 * in option what.  CLI_EXIT_USAGE (printed) otherwise. */
int cli_parse_uint(const char *prog, const char *what, const char *s, uint32_t max, uint32_t *out);

/*
 * A JSON option value: inline JSON text, or "@FILE" ("@-" = stdin) read
 * with the tx_bytes_max limit.  Parsed strictly into arena a.
 * Returns CLI_EXIT_OK, CLI_EXIT_IO, or CLI_EXIT_INVALID for malformed JSON
 * (the message gives the position).
 */
int cli_json_arg(const char *prog, const char *what, const char *arg, struct arena *a,
                 struct cjson **out);

/*
 * Reads and parses a transaction file (tx_bytes_max) into t (tree in a).
 * flags as for tx_parse (TX_FLAG_UNSIGNED accepts a null id and null or
 * partial fulfillments).  Errors name what and path: "--input-tx 'a.json':
 * Invalid transaction (InvalidHash): ...".
 * Returns CLI_EXIT_OK, CLI_EXIT_IO, CLI_EXIT_INVALID.
 */
int cli_load_tx(const char *prog, const char *what, const char *path, struct arena *a,
                unsigned flags, struct tx *t);

/* The asset id an output of t belongs to: CREATE → its id, TRANSFER →
 * asset.id.  t must have an id. */
const struct ltd_hash *cli_tx_asset_id(const struct tx *t);

/* ---- staff commands: talking to a node (defined in cmd_admin.c; the
 * session, records and JSON look-ups in cli.c) ----
 * Shared by cmd_admin.c, cmd_dept.c and cmd_student.c.  Like the helpers
 * above they print one error line and return an enum cli_exit. */

#define CLI_NODE_DEFAULT "http://127.0.0.1:9984"

/* The --node row of a staff command's option table. */
#define CLI_NODE_OPT                                                                               \
    {                                                                                              \
        "node", 's', "URL", "the node (default " CLI_NODE_DEFAULT ")"                              \
    }
/* The --key row; help says whose key file it is. */
#define CLI_KEY_OPT(help)                                                                          \
    {                                                                                              \
        "key", 's', "KEYFILE", help                                                                \
    }

struct net;
struct net_resp;

/* Rows 0 and 1 of the option table of every keyed staff subcommand: the
 * session finds them by these indices. */
enum { CLI_SESSION_OPT_NODE = 0, CLI_SESSION_OPT_KEY = 1 };

/* What a keyed staff subcommand works with; cli_session_run opens and
 * releases it. */
struct cli_session {
    const char *prog;     /* "ltdrs admin approve": the prefix of error lines (borrowed) */
    struct cli_args args; /* the parsed command line */
    struct ltd_seed seed; /* the --key seed; wiped by cli_session_run */
    struct ltd_pubkey pk; /* its public key */
    struct net *n;        /* the --node client; owned */
    struct arena a;       /* records and answers of this subcommand */
};

/* A keyed staff subcommand as a table row (struct cmd's session). */
struct cli_session_cmd {
    const char *prog;                  /* "ltdrs admin approve": the prefix of error lines */
    const char *usage;                 /* the text --help prints before the options */
    const struct cli_opt *opts;        /* rows CLI_SESSION_OPT_NODE and _KEY first */
    size_t n_opt;                      /* rows of opts */
    uint32_t pos_max;                  /* positional arguments accepted */
    const char *key_what;              /* whose key: "--key KEYFILE is required (<key_what>)" */
    int (*run)(struct cli_session *s); /* the work, once the session is open */
};
/*
 * Runs a keyed staff subcommand: parses argv[1..argc) against c->opts,
 * answers --help, requires --key and reads it, opens the --node client,
 * calls c->run, then wipes the seed and frees everything the session holds.
 * Returns CLI_EXIT_OK after --help, what c->run returned, or the printed
 * failure before it: CLI_EXIT_USAGE (command line, --key missing, bad
 * --node URL), CLI_EXIT_IO or CLI_EXIT_INVALID (key file).
 */
int cli_session_run(const struct cli_session_cmd *c, int argc, char **argv);
/* cli_post_record signed with the session's key (tree in s->a).  Once the
 * record is committed, prints its id on stdout (flushed) and what was done
 * on stderr: "<prog>: <done_fmt ...>". */
int cli_session_post(struct cli_session *s, struct cjson *data, const struct ltd_pubkey *to,
                     uint64_t amount, const char *done_fmt, ...) LTD_PRINTF(5, 6);

/*
 * `dept register` and `student register`: makes a fresh key pair, writes
 * its key file to path (mode 0600; never replacing a file unless force),
 * then files data as a record signed with the new key (tree in a) and
 * prints its id on stdout.  When the node refuses the record (exit 1) the
 * unused key file is removed again, which stderr says.  The seed never
 * leaves this function and is wiped before it returns.
 * [out] pk    the new public key.
 * [out] txid  (65 bytes) the record id on success.
 * Returns CLI_EXIT_OK or the printed failure.
 */
int cli_register_key(const char *prog, struct net *n, struct arena *a, const char *path, bool force,
                     struct cjson *data, struct ltd_pubkey *pk, char txid[65]);

/* A new record object {"ltdrs": kind, "v": 1} in a. */
struct cjson *cli_record(struct arena *a, const char *kind);
/* Sets o[k] to the string v (copied into a). */
void cli_set_str(struct arena *a, struct cjson *o, const char *k, const char *v);
/* The string o[k] of a node's answer, "" when o is not an object or o[k]
 * is missing or not a string.  Borrowed from o. */
const char *cli_str_of(const struct cjson *o, const char *k);

/* Named limits of the staff commands. */
enum {
    cli_sid_csv_bytes_max = 32 * 1024 * 1024, /* a CSV of student numbers */
    cli_sid_csv_rows_max = 1000000,           /* rows of that CSV */
};

/* Opens a client for url (NULL: CLI_NODE_DEFAULT).  CLI_EXIT_USAGE for a
 * malformed URL.  Free with net_free. */
int cli_node_open(const char *prog, const char *url, struct net **out);
/* Prints a failed node request (eb from net.c: the message names the URL,
 * the status and what the server said) and returns its exit code: 4 for
 * no answer or a 5xx, 1 for a refusal (4xx), 2 for a bad URL. */
int cli_node_error(const char *prog, const struct ltd_errbuf *eb);

/*
 * Builds a CREATE record signed by (seed, pk): asset data `data` (an
 * object with "ltdrs" and "v"), metadata {"nonce": "<16 random hex>"} so
 * that filing the same record again is a new transaction, one output of
 * `amount` to `to` (NULL: the signer's own key, the record token).  Posts
 * it in commit mode.  [out] txid (65 bytes) the id on success.
 * Returns CLI_EXIT_OK, or the printed failure (see cli_node_error).
 */
int cli_post_record(const char *prog, struct net *n, struct arena *a, const struct ltd_seed *seed,
                    const struct ltd_pubkey *pk, struct cjson *data, const struct ltd_pubkey *to,
                    uint64_t amount, char txid[65]);
/* Posts a signed transaction in commit mode.  r (initialised by the caller)
 * keeps the answer, so that a caller can look at a refusal's rule.
 * Returns LTD_OK or the net.c error in eb (nothing printed). */
LTD_MUST_CHECK enum ltd_err cli_post_tx(struct net *n, const struct tx *t, struct net_resp *r,
                                        struct ltd_errbuf *eb);
/* GETs /api/v1/transactions/<id> and parses it into t (tree in a).
 * Prints and returns CLI_EXIT_INVALID for an unknown id ("what" names the
 * argument), CLI_EXIT_NET for no answer. */
int cli_fetch_tx(const char *prog, const char *what, struct net *n, const char *id, struct arena *a,
                 struct tx *t);
/* GETs path and parses the JSON answer into *out (tree in a). */
int cli_fetch_json(const char *prog, struct net *n, const char *path, struct arena *a,
                   struct cjson **out);

/* Logs in through the node's session API (/ltdrs/api/v1/login): asks for
 * a challenge, signs the text "ltdrs-login:v1:<origin>:<challenge>" (built
 * here from the node URL, never taken from the server) and keeps the
 * session cookie and CSRF token in n for later requests.  [out] role
 * (may be NULL, 16 bytes) the role the node gave: "admin", "department",
 * "student".  Prints and returns CLI_EXIT_INVALID when the node refuses. */
int cli_login(const char *prog, struct net *n, const struct ltd_seed *seed,
              const struct ltd_pubkey *pk, char role[16]);
/* Ends the session (best effort; errors are ignored). */
void cli_logout(struct net *n);

/* A 64-hex transaction id given as an argument; CLI_EXIT_USAGE (printed)
 * otherwise.  Uppercase is accepted and lowered into out (65 bytes). */
int cli_parse_txid(const char *prog, const char *what, const char *s, char out[65]);
/* A text option: valid UTF-8, 1..max bytes (0..max when may_be_empty), no
 * control characters except newline and tab when multiline. */
int cli_text_arg(const char *prog, const char *what, const char *s, size_t max, bool may_be_empty,
                 bool multiline);

/* Student numbers read from a CSV file: the first column of each line,
 * an optional header (sid, student_number or 学号), blank lines and lines
 * starting with '#' skipped, quotes around the number stripped. */
struct cli_sids {
    uint32_t n;     /* good, distinct numbers in file order */
    char **sid;     /* owned strings */
    uint32_t *line; /* the line each came from */
    uint32_t n_bad; /* malformed numbers (each reported with its line) */
    uint32_t n_dup; /* repeated numbers (reported, the first one kept) */
};
/* Reads path ("-" = stdin); reports every malformed or repeated number on
 * stderr as "<path>:<line>: ..." and keeps the rest.  Returns CLI_EXIT_OK
 * (even with bad lines: check n_bad), CLI_EXIT_IO, CLI_EXIT_INVALID (too
 * large, or no line at all).  Release with cli_sids_release. */
int cli_read_sids(const char *prog, const char *path, struct cli_sids *out);
void cli_sids_release(struct cli_sids *s);

#endif
