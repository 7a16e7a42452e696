/*
 * main.c - the `ltdrs` entry point: the command table and dispatch only.
 *
 * A command is one row below plus one cmd_<name>.c file holding its usage
 * text, option table and code (STYLE rules 3 and 19).  `ltdrs --help`,
 * `ltdrs help <command>` and `ltdrs --version` are answered here; anything
 * else is the command's business.
 */
#include "cmd.h"

#include "codec.h"

#include <stdio.h>
#include <string.h>

static const struct cmd commands[] = {
    {"keygen", cmd_keygen, "make an Ed25519 key pair, or print a key file's public key", NULL},
    {"tx", cmd_tx, "build, sign and verify BigchainDB 2.0 transactions offline", NULL},
    {"init", cmd_init, "create a ledger data directory with its genesis and admin key", NULL},
    {"serve", cmd_serve, "run the ledger node (BigchainDB HTTP API v1, web UI)", NULL},
    {"verify", cmd_verify, "audit a data directory: hash chain, ids, signatures, spends", NULL},
    {"admin", cmd_admin, "school admin: roster, certify, approve, revoke, announce, report", NULL},
    {"dept", cmd_dept, "department: register, apply, distribute tickets, close, status", NULL},
    {"student", cmd_student, "student: register with an activation code, look up tickets", NULL},
};

static void
list_commands(FILE *f)
{
    fputs("usage: ltdrs <command> [options] [args]\n"
          "       ltdrs help <command> | ltdrs --help | ltdrs --version\n\ncommands:\n",
          f);
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\nexit codes: 0 ok, 1 invalid or refused, 2 usage, 3 I/O, 4 network/server\n", f);
}

static const struct cmd *
find_command(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int
unknown_command(const char *name)
{
    fprintf(stderr, "ltdrs: unknown command '%.64s'\n\n", name);
    list_commands(stderr);
    return CLI_EXIT_USAGE;
}

/* `ltdrs help [command]`: the command's own --help. */
static int
help(int argc, char **argv)
{
    if (argc < 3) {
        list_commands(stdout);
        return CLI_EXIT_OK;
    }
    const struct cmd *c = find_command(argv[2]);
    if (c == NULL)
        return unknown_command(argv[2]);
    char help_flag[] = "--help";
    char *sub[3] = {argv[2], help_flag, NULL};
    return c->fn(2, sub);
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        list_commands(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return list_commands(stdout), CLI_EXIT_OK;
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("ltdrs %s (BigchainDB 2.0 transactions)\n", LTDRS_VERSION);
        return CLI_EXIT_OK;
    }
    codec_init();
    if (strcmp(name, "help") == 0)
        return help(argc, argv);
    const struct cmd *c = find_command(name);
    if (c == NULL)
        return unknown_command(name);
    return c->fn(argc - 1, argv + 1);
}
