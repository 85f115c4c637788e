/*
 * forge_token.c - prints a well-formed PASETO v4.public token signed by a
 * key that is NOT the gateway's (a fresh random Ed25519 key), for the
 * bench's sluice_forged target: every request with it must be 401 and cost
 * no Redis command.
 *
 *   forge_token KID [SUB]     KID: the gateway key's k4.pid (footer
 *                             {"kid":KID}, so the gateway finds its own key
 *                             and really checks the signature)
 *   forge_token --sk HEX64 PAYLOAD FOOTER
 *                             signs with the given secret key (for checking
 *                             this tool against the official test vectors)
 *
 * v4.public: sig = Ed25519(PAE("v4.public.", m, f, "")),
 * token = "v4.public." b64url(m || sig) "." b64url(f), no padding.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
le64(unsigned char *p, uint64_t n)
{
    for (int i = 0; i < 8; i++, n >>= 8)
        p[i] = (unsigned char)(n & 0xff);
    p[7] &= 0x7f;
}

static unsigned char *
pae(const char *const *pieces, const size_t *lens, size_t n, size_t *out_len)
{
    size_t len = 8;
    for (size_t i = 0; i < n; i++)
        len += 8 + lens[i];
    unsigned char *b = malloc(len), *p = b;
    if (b == NULL)
        exit(1);
    le64(p, n), p += 8;
    for (size_t i = 0; i < n; i++) {
        le64(p, lens[i]), p += 8;
        memcpy(p, pieces[i], lens[i]), p += lens[i];
    }
    *out_len = len;
    return b;
}

static void
print_b64(const unsigned char *b, size_t n)
{
    size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *s = malloc(cap);
    if (s == NULL)
        exit(1);
    sodium_bin2base64(s, cap, b, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    fputs(s, stdout);
    free(s);
}

static void
sign_and_print(const unsigned char *sk, const char *m, const char *f)
{
    const char *h = "v4.public.";
    const char *pieces[] = {h, m, f, ""};
    size_t lens[] = {strlen(h), strlen(m), strlen(f), 0}, plen;
    unsigned char *msg = pae(pieces, lens, 4, &plen);
    size_t mlen = strlen(m);
    unsigned char *body = malloc(mlen + crypto_sign_BYTES);
    if (body == NULL)
        exit(1);
    memcpy(body, m, mlen);
    crypto_sign_detached(body + mlen, NULL, msg, plen, sk);
    fputs(h, stdout);
    print_b64(body, mlen + crypto_sign_BYTES);
    if (*f) {
        putchar('.');
        print_b64((const unsigned char *)f, strlen(f));
    }
    putchar('\n');
    free(body);
    free(msg);
}

int
main(int argc, char **argv)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];

    if (sodium_init() < 0)
        return 1;
    if (argc == 5 && strcmp(argv[1], "--sk") == 0) {
        size_t n;
        if (sodium_hex2bin(sk, sizeof sk, argv[2], strlen(argv[2]), NULL, &n, NULL) != 0 ||
            n != sizeof sk) {
            fprintf(stderr, "forge_token: --sk wants 64 bytes of hex\n");
            return 2;
        }
        sign_and_print(sk, argv[3], argv[4]);
        return 0;
    }
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: forge_token KID [SUB] | forge_token --sk HEX PAYLOAD FOOTER\n");
        return 2;
    }
    crypto_sign_keypair(pk, sk);
    char m[512], f[256];
    snprintf(m, sizeof m,
             "{\"sub\":\"%s\",\"jti\":\"forged-session\",\"iat\":\"2026-01-01T00:00:00+00:00\","
             "\"exp\":\"2099-01-01T00:00:00+00:00\"}",
             argc == 3 ? argv[2] : "bench");
    snprintf(f, sizeof f, "{\"kid\":\"%s\"}", argv[1]);
    sign_and_print(sk, m, f);
    return 0;
}
