/*
 * token.h - session tokens (SPEC sections 5, 11): PASETO v4.public
 * (Ed25519) or v4.local (XChaCha20 + BLAKE2b-MAC), their claims, and the
 * key ring that rotation needs. Built on paseto.h (the protocol) and
 * paserk.h (key text forms).
 *
 *   config load: tokens.keys --token_keyring_new--> decoded keys + ids
 *   request:     "v4.public.<b64>.<footer>" --token_verify--> claims
 *   admin:       claims --token_mint--> token (signing key: the first)
 *
 * Pure: no I/O; the clock is passed in. Keys are decoded once, at load.
 */
#ifndef SLUICE_TOKENS_TOKEN_H
#define SLUICE_TOKENS_TOKEN_H

#include <stddef.h>
#include <stdint.h>

struct token_keyring;

#define TOKEN_SUB_MAX 256 /* SPEC section 9: user names are 1-256 bytes */
#define TOKEN_JTI_MAX 128
#define TOKEN_PLAN_MAX 128
#define TOKEN_LEEWAY_S 30 /* SPEC section 11 */

struct token_claims {
    char sub[TOKEN_SUB_MAX + 1]; /* NUL-terminated */
    char jti[TOKEN_JTI_MAX + 1];
    char plan[TOKEN_PLAN_MAX + 1]; /* "" when the token names none */
    int64_t exp_s;                 /* Unix seconds; required */
    int64_t iat_s;                 /* 0 when absent */
    int64_t nbf_s;                 /* 0 when absent */
};

enum token_result {
    TOKEN_OK,
    TOKEN_INVALID, /* malformed, forged, wrong key or version, bad claims */
    TOKEN_EXPIRED, /* verified, but exp + leeway is past */
};

enum token_format { TOKEN_V4_PUBLIC, TOKEN_V4_LOCAL };
enum token_key_kind { TOKEN_KEY_SECRET, TOKEN_KEY_PUBLIC, TOKEN_KEY_LOCAL };

/* Decodes the PASERK strings (kinds[i], paserks[i]) into a key ring for
 * format; the first key signs. Returns NULL and writes a message (no
 * position: the caller adds FILE:LINE:COL) into err when a key is
 * malformed or of the wrong kind for the format. A public key first is
 * allowed: the gateway then verifies only (token_mint fails). nkeys == 0
 * gives an empty ring, under which every token is TOKEN_INVALID. */
struct token_keyring *token_keyring_new(enum token_format format, const enum token_key_kind *kinds,
                                        const char *const *paserks, size_t nkeys, char *err,
                                        size_t err_size);
/* Wipes every key, then frees. NULL is allowed. */
void token_keyring_free(struct token_keyring *kr);

/* Checks one key as token_keyring_new would, so the config parser can
 * report a bad key at its own node: 0, or -1 with a message in err. */
int token_key_check(enum token_format format, enum token_key_kind kind, const char *paserk,
                    char *err, size_t err_size);
/* The ring's size, and the id (k4.pid.… or k4.lid.…, borrowed from kr)
 * of key index, NULL past the end. A NULL ring has no keys. */
size_t token_keyring_len(const struct token_keyring *kr);
const char *token_keyring_id(const struct token_keyring *kr, size_t index);

/* Verifies token[0..len) at now_s: signature or MAC by the key its
 * footer's kid names (no kid: the signing key only), then the claims (exp
 * required, nbf, iat, leeway TOKEN_LEEWAY_S; sub 1-256 printable ASCII
 * without '{', '}' or space; jti present). Fills *out on TOKEN_OK (and on
 * TOKEN_EXPIRED, for the log). Constant time where secrets are compared.
 * A NULL or empty ring, and any token over 8 KiB, give TOKEN_INVALID.
 * jti is 1-128 bytes and plan, when present, 1-128 bytes, both in sub's
 * charset; exp, iat and nbf are RFC 3339 strings; the footer, when
 * present, is a JSON object whose "kid", when present, is a string. */
enum token_result token_verify(const struct token_keyring *kr, const char *token, size_t len,
                               int64_t now_s, struct token_claims *out);

/* Writes a new NUL-terminated token for c (sub, jti, plan, iat, exp) with
 * the signing key and its kid in the footer into out. Returns the length,
 * or -1 when the ring cannot sign or out_size is too small (TOKEN_MAX_LEN
 * suffices). */
#define TOKEN_MAX_LEN 2048
int token_mint(const struct token_keyring *kr, const struct token_claims *c, char *out,
               size_t out_size);

#endif
