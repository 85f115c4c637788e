/*
 * keygen.c - `sluice keygen`: print a fresh v4 key as PASERK strings.
 *
 * The output is line-oriented and fixed ("name: value") so operators can
 * paste it into tokens.keys and scripts can pick lines with grep/sed.
 * Nothing is written to disk; where the secret goes is the operator's call.
 */
#include "tokens/keygen.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "tokens/paserk.h"

static int
usage(void)
{
    fputs("usage: sluice keygen [--local]\n", stderr);
    return 2;
}

/* A full disk or closed pipe must not look like a successful keygen. */
static int
flush_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fputs("sluice keygen: cannot write to stdout\n", stderr);
        return 1;
    }
    return 0;
}

static int
keygen_public(void)
{
    char secret[PASERK_SECRET_SIZE];
    char public[PASERK_PUBLIC_SIZE];
    char pid[PASERK_ID_SIZE];

    if (paserk_keygen_public(secret, sizeof secret, public, sizeof public, pid, sizeof pid) != 0) {
        fputs("sluice keygen: key generation failed\n", stderr);
        return 1;
    }
    printf("secret: %s\npublic: %s\npid: %s\n", secret, public, pid);
    sodium_memzero(secret, sizeof secret);
    return flush_stdout();
}

static int
keygen_local(void)
{
    char local[PASERK_LOCAL_SIZE];
    char lid[PASERK_ID_SIZE];

    if (paserk_keygen_local(local, sizeof local, lid, sizeof lid) != 0) {
        fputs("sluice keygen: key generation failed\n", stderr);
        return 1;
    }
    printf("local: %s\nlid: %s\n", local, lid);
    sodium_memzero(local, sizeof local);
    return flush_stdout();
}

int
keygen_main(int argc, char **argv)
{
    if (argc == 1)
        return keygen_public();
    if (argc == 2 && strcmp(argv[1], "--local") == 0)
        return keygen_local();
    return usage();
}
