/*
 * cmd_keygen.c - `ltdrs keygen`: a random Ed25519 key pair as the JSON key
 * file every other command reads, or the public key of an existing file.
 *
 * The private key is the 32-byte seed in base58, as the BigchainDB drivers
 * encode it (protocol doc §4).  A key file is created with mode 0600 and
 * never replaces an existing file unless --force is given.  Seeds and the
 * formatted text are wiped before returning.  Not here: importing seeds or
 * deriving keys (give the seed in a key file instead).
 */
#include "cmd.h"

#include "codec.h"

#include <string.h>

static const char keygen_usage[] =
    "usage: ltdrs keygen [--out FILE [--force]]\n"
    "       ltdrs keygen --public-only KEYFILE\n"
    "\n"
    "Makes a random Ed25519 key pair and writes the key file\n"
    "  {\"public_key\":\"<base58>\",\"private_key\":\"<base58 seed>\"}\n"
    "to FILE (created with mode 0600; the public key is then printed) or to\n"
    "standard output.  --public-only prints the public key of KEYFILE instead.\n";

enum { O_OUT, O_FORCE, O_PUBLIC_ONLY };

static const struct cli_opt keygen_opts[] = {
    [O_OUT] = {"out", 's', "FILE", "write the key file here (mode 0600) instead of stdout"},
    [O_FORCE] = {"force", 'f', NULL, "replace FILE if it exists"},
    [O_PUBLIC_ONLY] = {"public-only", 's', "KEYFILE", "print the public key of KEYFILE"},
};

static const char keygen_prog[] = "ltdrs keygen";

static int
print_public(const char *path)
{
    struct ltd_pubkey pk;
    int rc = cli_read_key(keygen_prog, "--public-only", path, NULL, &pk);
    if (rc)
        return rc;
    char b58[48];
    codec_b58_encode32(pk.b, b58);
    size_t n = strlen(b58);
    b58[n] = '\n';
    return cli_write_out(keygen_prog, NULL, b58, n + 1, 0);
}

static int
generate(const char *out, bool force)
{
    struct ltd_seed seed;
    struct ltd_pubkey pk;
    char text[256];
    codec_ed25519_keypair(&pk, &seed);
    size_t n = cli_format_key(&seed, &pk, text, sizeof text);
    unsigned flags = CLI_WRITE_SECRET | (force ? 0u : (unsigned)CLI_WRITE_EXCL);
    int rc = cli_write_out(keygen_prog, out, text, n, flags);
    if (rc == CLI_EXIT_OK && out != NULL && strcmp(out, "-") != 0) {
        char b58[48];
        codec_b58_encode32(pk.b, b58);
        size_t m = strlen(b58);
        b58[m] = '\n';
        rc = cli_write_out(keygen_prog, NULL, b58, m + 1, 0);
    }
    codec_wipe(&seed, sizeof seed);
    codec_wipe(text, sizeof text);
    return rc;
}

int
cmd_keygen(int argc, char **argv)
{
    struct cli_args args;
    bool done;
    int rc = cli_parse_or_help(keygen_prog, keygen_usage, keygen_opts, ARRAY_LEN(keygen_opts), 0,
                               argc, argv, &args, &done);
    if (rc || done)
        goto out;
    if (args.val[O_PUBLIC_ONLY].set) {
        if (args.val[O_OUT].set || args.val[O_FORCE].set)
            rc = cli_error(CLI_EXIT_USAGE, keygen_prog,
                           "--public-only cannot be combined with --out or --force");
        else
            rc = print_public(args.val[O_PUBLIC_ONLY].s);
        goto out;
    }
    if (args.val[O_FORCE].set && !args.val[O_OUT].set) {
        rc = cli_error(CLI_EXIT_USAGE, keygen_prog, "--force needs --out");
        goto out;
    }
    rc = generate(args.val[O_OUT].s, args.val[O_FORCE].set);
out:
    cli_args_release(&args);
    return rc;
}
