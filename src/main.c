/*
 * main.c - the `ltdrs` entry point: the command table and dispatch only.
 */
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ltdrs: not yet\n");
    return 2;
}
