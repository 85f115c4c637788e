/*
 * keygen.h - the `sluice keygen` subcommand (SPEC sections 2 and 11).
 */
#ifndef SLUICE_TOKENS_KEYGEN_H
#define SLUICE_TOKENS_KEYGEN_H

/*
 * Run `sluice keygen [--local]`. argv[0] is the subcommand name ("keygen"),
 * so main passes (argc - 1, argv + 1). libsodium must be initialised.
 *
 *   keygen          prints "secret: k4.secret.…", "public: k4.public.…",
 *                   "pid: k4.pid.…" on stdout, one per line
 *   keygen --local  prints "local: k4.local.…", "lid: k4.lid.…"
 *
 * Returns the process exit status: 0 on success, 1 if generation or writing
 * stdout failed, 2 (usage on stderr) for any other arguments.
 */
int keygen_main(int argc, char **argv);

#endif
