/*
 * fuzz_token.c - libFuzzer target for src/tokens (token.c, paseto.c,
 * rfc3339.c).
 *
 * The input is used three ways, against fixed key rings (two v4.public
 * secret keys, one v4.local key) at a fixed clock:
 *
 *   1. as a token, verified by both rings: header, base64url, footer JSON
 *      and kid lookup, signature and MAC checks on hostile bytes;
 *   2. as a payload, signed by the first key, then verified: a fuzzer
 *      cannot forge signatures, so this is how the claims parser is reached;
 *   3. as a footer on a good payload, signed, then verified.
 *
 * Invariants (a broken one aborts): nothing crashes; TOKEN_OK means the
 * claims are sane (sub and jti in their charset and bounds, NUL-terminated,
 * exp + leeway not past, nbf and iat not ahead); TOKEN_EXPIRED means
 * exp + leeway is past.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tokens/paserk.h"
#include "tokens/paseto.h"
#include "tokens/token.h"

#define NOW 1780000000 /* 2026-05-28T20:26:40Z, as in the seed corpus */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct token_keyring *ring_public, *ring_local;
static unsigned char sk0[PASERK_SECRET_KEY_BYTES];
static char kid0[PASERK_ID_SIZE];

/* Keys from fixed seeds (0x01..., 0x02..., 0x03...), so the checked-in
 * corpus holds tokens that verify. */
static void
rings_init(void)
{
    unsigned char seed[32], pk[32], sk[64];
    char secret[2][PASERK_SECRET_SIZE], local[PASERK_LOCAL_SIZE];
    const char *keys[2] = {secret[0], secret[1]};
    enum token_key_kind kinds[2] = {TOKEN_KEY_SECRET, TOKEN_KEY_SECRET};
    char err[256];

    if (sodium_init() < 0)
        abort();
    for (int k = 0; k < 2; k++) {
        memset(seed, k + 1, sizeof seed);
        crypto_sign_seed_keypair(pk, sk, seed);
        paserk_encode_secret(secret[k], sizeof secret[k], sk, sizeof sk);
        if (k == 0) {
            memcpy(sk0, sk, sizeof sk);
            paserk_pid(kid0, sizeof kid0, pk, sizeof pk);
        }
    }
    memset(seed, 3, sizeof seed);
    paserk_encode_local(local, sizeof local, seed, sizeof seed);
    ring_public = token_keyring_new(TOKEN_V4_PUBLIC, kinds, keys, 2, err, sizeof err);
    kinds[0] = TOKEN_KEY_LOCAL;
    keys[0] = local;
    ring_local = token_keyring_new(TOKEN_V4_LOCAL, kinds, keys, 1, err, sizeof err);
    if (ring_public == NULL || ring_local == NULL)
        abort();
}

static int
name_ok(const char *s, size_t min, size_t max)
{
    size_t len = strnlen(s, max + 1);

    if (len < min || len > max)
        return 0;
    for (size_t k = 0; k < len; k++)
        if (s[k] <= ' ' || s[k] > '~' || s[k] == '{' || s[k] == '}')
            return 0;
    return 1;
}

static void
check(enum token_result res, const struct token_claims *c)
{
    if (res == TOKEN_INVALID)
        return;
    if (res != TOKEN_OK && res != TOKEN_EXPIRED)
        abort();
    if (!name_ok(c->sub, 1, TOKEN_SUB_MAX) || !name_ok(c->jti, 1, TOKEN_JTI_MAX) ||
        (c->plan[0] != '\0' && !name_ok(c->plan, 1, TOKEN_PLAN_MAX)))
        abort();
    if (c->nbf_s > NOW + TOKEN_LEEWAY_S || c->iat_s > NOW + TOKEN_LEEWAY_S)
        abort();
    if ((res == TOKEN_OK) != (c->exp_s + TOKEN_LEEWAY_S >= NOW))
        abort();
}

/* Signs m with footer f by the first key and verifies the result. */
static void
sign_and_verify(const uint8_t *m, size_t m_len, const uint8_t *f, size_t f_len)
{
    static char tok[16384];
    struct token_claims c;
    size_t len;
    struct paseto_bytes pm = {m, m_len}, pf = {f, f_len}, none = {NULL, 0};

    if (m_len > 4096 || f_len > 2048 ||
        paseto_v4_sign(tok, sizeof tok, &len, sk0, pm, pf, none) != 0)
        return;
    check(token_verify(ring_public, tok, len, NOW, &c), &c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char good[] = "{\"sub\":\"fuzz\",\"jti\":\"j\",\"exp\":\"2026-05-28T21:00:00Z\"}";
    struct token_claims c;
    char footer[16 + PASERK_ID_SIZE];

    if (ring_public == NULL)
        rings_init();
    /* An exact-size copy, so reading past size trips ASan. */
    char *tok = malloc(size ? size : 1);
    memcpy(tok, data, size);
    check(token_verify(ring_public, tok, size, NOW, &c), &c);
    check(token_verify(ring_local, tok, size, NOW, &c), &c);
    free(tok);

    snprintf(footer, sizeof footer, "{\"kid\":\"%s\"}", kid0);
    sign_and_verify(data, size, (const uint8_t *)footer, strlen(footer));
    sign_and_verify((const uint8_t *)good, strlen(good), data, size);
    return 0;
}
