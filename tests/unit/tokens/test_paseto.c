/*
 * test_paseto.c - PASETO v4 against every official vector of v4.json, PAE
 * against the spec's examples, and canonical base64url.
 *
 * The vectors are read at run time from the directory in argv[1], else
 * $SLUICE_VECTORS_DIR, else ../shared/vectors/paseto. For each vector that
 * must pass, opening gives the payload and building with the vector's key
 * (and nonce) gives exactly the token; expect-fail ones fail to open under
 * every key the vector carries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "sluice.h"
#include "tap.h"
#include "tokens/paseto.h"

#define BUF 4096

static const struct paseto_bytes none = {NULL, 0};

static struct paseto_bytes
str_bytes(const char *s)
{
    return (struct paseto_bytes){(const unsigned char *)s, s != NULL ? strlen(s) : 0};
}

/* The string member name of obj, or NULL (absent, null, or not a string). */
static const char *
member(json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

/* Hex member into bin (exactly want bytes); 0 or -1. */
static int
member_hex(json_t *obj, const char *name, unsigned char *bin, size_t want)
{
    const char *hex = member(obj, name);
    size_t len;

    if (hex == NULL || sodium_hex2bin(bin, want, hex, strlen(hex), NULL, &len, NULL) != 0 ||
        len != want)
        return -1;
    return 0;
}

static void
check_fail(json_t *v, const char *name, const char *token)
{
    unsigned char key[32], pk[32], m[BUF];
    size_t m_len;
    struct paseto_bytes i = str_bytes(member(v, "implicit-assertion"));
    int tried = 0;

    if (member_hex(v, "key", key, sizeof key) == 0) {
        ok(paseto_v4_decrypt(m, sizeof m, &m_len, key, token, strlen(token), i) == -1,
           "%s: does not decrypt with the key", name);
        ok(paseto_v4_verify(m, sizeof m, &m_len, key, token, strlen(token), i) == -1,
           "%s: does not verify with the key as a public key", name);
        tried++;
    }
    if (member_hex(v, "public-key", pk, sizeof pk) == 0) {
        ok(paseto_v4_verify(m, sizeof m, &m_len, pk, token, strlen(token), i) == -1,
           "%s: does not verify with the public key", name);
        tried++;
    }
    ok(tried > 0, "%s: has a key to try", name);
}

static void
check_local(json_t *v, const char *name, const char *token, const char *payload)
{
    unsigned char key[32], nonce[32], m[BUF];
    char out[BUF];
    size_t m_len = 0, out_len = 0;
    struct paseto_bytes f = str_bytes(member(v, "footer"));
    struct paseto_bytes i = str_bytes(member(v, "implicit-assertion"));

    ok(member_hex(v, "key", key, sizeof key) == 0 && member_hex(v, "nonce", nonce, 32) == 0,
       "%s: key and nonce parse", name);
    ok(paseto_v4_decrypt(m, sizeof m, &m_len, key, token, strlen(token), i) == 0 &&
           m_len == strlen(payload) && memcmp(m, payload, m_len) == 0,
       "%s: decrypts to the payload", name);
    ok(paseto_v4_encrypt_nonce(out, sizeof out, &out_len, key, nonce, str_bytes(payload), f, i) ==
               0 &&
           out_len == strlen(out),
       "%s: encrypts", name);
    is_str(out, token, "%s: encrypting with the nonce gives the token", name);
}

static void
check_public(json_t *v, const char *name, const char *token, const char *payload)
{
    unsigned char sk[64], pk[32], m[BUF];
    char out[BUF];
    size_t m_len = 0, out_len = 0;
    struct paseto_bytes f = str_bytes(member(v, "footer"));
    struct paseto_bytes i = str_bytes(member(v, "implicit-assertion"));

    ok(member_hex(v, "secret-key", sk, sizeof sk) == 0 &&
           member_hex(v, "public-key", pk, sizeof pk) == 0,
       "%s: keys parse", name);
    ok(paseto_v4_verify(m, sizeof m, &m_len, pk, token, strlen(token), i) == 0 &&
           m_len == strlen(payload) && memcmp(m, payload, m_len) == 0,
       "%s: verifies to the payload", name);
    ok(paseto_v4_sign(out, sizeof out, &out_len, sk, str_bytes(payload), f, i) == 0 &&
           out_len == strlen(out),
       "%s: signs", name);
    is_str(out, token, "%s: signing gives the token", name);
    /* A different implicit assertion must not verify. */
    ok(paseto_v4_verify(m, sizeof m, &m_len, pk, token, strlen(token), str_bytes("x")) == -1,
       "%s: another implicit assertion fails", name);
}

static void
check_vectors(const char *dir)
{
    char path[4096];
    json_error_t jerr;
    size_t idx, count = 0;
    json_t *v;

    snprintf(path, sizeof path, "%s/v4.json", dir);
    json_t *doc = json_load_file(path, 0, &jerr);
    ok(doc != NULL, "%s: parses (%s)", path, doc ? "ok" : jerr.text);
    json_array_foreach(json_object_get(doc, "tests"), idx, v)
    {
        const char *name = member(v, "name"), *token = member(v, "token");
        const char *payload = member(v, "payload");
        if (name == NULL || token == NULL) {
            ok(0, "vector %zu has a name and a token", idx);
            continue;
        }
        if (json_is_true(json_object_get(v, "expect-fail")))
            check_fail(v, name, token);
        else if (payload == NULL)
            ok(0, "%s: has a payload", name);
        else if (strncmp(token, "v4.local.", 9) == 0)
            check_local(v, name, token, payload);
        else
            check_public(v, name, token, payload);
        count++;
    }
    ok(count >= 17, "v4.json: %zu vectors checked", count);
    json_decref(doc);
}

static void
check_pae(void)
{
    unsigned char out[64];
    struct paseto_bytes empty = {(const unsigned char *)"", 0};
    struct paseto_bytes test = str_bytes("test");

    /* The PASETO common spec's examples. */
    ok(paseto_pae(out, NULL, 0) == 8 && memcmp(out, "\0\0\0\0\0\0\0\0", 8) == 0, "PAE([])");
    ok(paseto_pae(out, &empty, 1) == 16 &&
           memcmp(out, "\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0,
       "PAE([''])");
    ok(paseto_pae(out, &test, 1) == 20 &&
           memcmp(out, "\x01\0\0\0\0\0\0\0\x04\0\0\0\0\0\0\0test", 20) == 0,
       "PAE(['test'])");
    is_int(paseto_pae(NULL, &test, 1), 20, "PAE length without output");
}

/* A token for payload "abc": 67 body bytes, so its base64url ends in a
 * partial group with 4 unused bits to play with. */
static void
check_canonical(void)
{
    unsigned char pk[32], sk[64], m[BUF], f[64];
    char tok[BUF], bad[BUF + 8];
    size_t tok_len, m_len, f_len;
    const char *footer = "{\"kid\":\"x\"}";

    crypto_sign_keypair(pk, sk);
    ok(paseto_v4_sign(tok, sizeof tok, &tok_len, sk, str_bytes("abc"), str_bytes(footer), none) ==
           0,
       "canonical: signs");
    ok(paseto_v4_verify(m, sizeof m, &m_len, pk, tok, tok_len, none) == 0 && m_len == 3,
       "canonical: verifies");
    ok(paseto_footer(f, sizeof f, &f_len, tok, tok_len) == 0 && f_len == strlen(footer) &&
           memcmp(f, footer, f_len) == 0,
       "canonical: footer reads back");
    ok(paseto_footer(f, 4, &f_len, tok, tok_len) == -1, "canonical: footer too large refused");

    const char *dot = strchr(tok + 10, '.');
    size_t body_end = (size_t)(dot - tok);
    /* Last body character: its low 4 bits are unused, so +1 changes no byte. */
    memcpy(bad, tok, tok_len + 1);
    bad[body_end - 1] = bad[body_end - 1] == 'A' ? 'B' : (char)(bad[body_end - 1] + 1);
    ok(paseto_v4_verify(m, sizeof m, &m_len, pk, bad, tok_len, none) == -1,
       "canonical: non-zero trailing bits refused");

    snprintf(bad, sizeof bad, "%.*s=%s", (int)body_end, tok, tok + body_end);
    ok(paseto_v4_verify(m, sizeof m, &m_len, pk, bad, strlen(bad), none) == -1,
       "canonical: padding refused");
    snprintf(bad, sizeof bad, "%s.", tok);
    ok(paseto_v4_verify(m, sizeof m, &m_len, pk, bad, strlen(bad), none) == -1,
       "canonical: extra part refused");
    snprintf(bad, sizeof bad, "%.*s", (int)body_end + 1, tok);
    ok(paseto_v4_verify(m, sizeof m, &m_len, pk, bad, strlen(bad), none) == -1,
       "canonical: empty footer after a dot refused");
    snprintf(bad, sizeof bad, "%.*s", (int)body_end, tok);
    ok(paseto_v4_verify(m, sizeof m, &m_len, pk, bad, strlen(bad), none) == -1,
       "canonical: dropping the footer breaks the signature");
    memcpy(bad, tok, tok_len + 1);
    bad[12] = '+';
    ok(paseto_v4_verify(m, sizeof m, &m_len, pk, bad, tok_len, none) == -1,
       "canonical: standard alphabet refused");
    memcpy(bad, tok, tok_len + 1);
    bad[12] = '\0';
    ok(paseto_v4_verify(m, sizeof m, &m_len, pk, bad, tok_len, none) == -1,
       "canonical: embedded NUL refused");
    ok(paseto_v4_verify(m, 2, &m_len, pk, tok, tok_len, none) == -1,
       "canonical: payload larger than the buffer refused");
    ok(paseto_v4_sign(tok, 20, &tok_len, sk, str_bytes("abc"), none, none) == -1,
       "canonical: short output buffer refused");
    for (size_t n = 0; n < tok_len; n++)
        if (paseto_v4_verify(m, sizeof m, &m_len, pk, tok, n, none) == 0)
            ok(0, "canonical: truncation to %zu verifies", n);
    ok(1, "canonical: no truncation verifies");
}

static void
check_local_roundtrip(void)
{
    unsigned char key[32], m[BUF];
    char tok[BUF];
    size_t tok_len, m_len;

    randombytes_buf(key, sizeof key);
    ok(paseto_v4_encrypt(tok, sizeof tok, &tok_len, key, none, none, none) == 0,
       "local: empty payload encrypts");
    ok(paseto_v4_decrypt(m, sizeof m, &m_len, key, tok, tok_len, none) == 0 && m_len == 0,
       "local: empty payload decrypts");
    ok(paseto_v4_decrypt(m, sizeof m, &m_len, key, tok, tok_len - 1, none) == -1,
       "local: truncated refused");
    key[0] ^= 1;
    ok(paseto_v4_decrypt(m, sizeof m, &m_len, key, tok, tok_len, none) == -1,
       "local: another key refused");
}

int
main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : getenv("SLUICE_VECTORS_DIR");

    if (dir == NULL)
        dir = "../shared/vectors/paseto";
    if (sodium_init() < 0) {
        printf("Bail out! sodium_init failed\n");
        return 1;
    }
    check_vectors(dir);
    check_pae();
    check_canonical();
    check_local_roundtrip();
    return tap_done();
}
