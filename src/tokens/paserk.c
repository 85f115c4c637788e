/*
 * paserk.c - PASERK k4 key strings and key IDs, with libsodium only.
 *
 * Format (PASERK spec, types local/public/secret and lid/pid/sid):
 *
 *   k4.local.  b64url(32-byte symmetric key)
 *   k4.public. b64url(32-byte Ed25519 public key)
 *   k4.secret. b64url(64-byte Ed25519 secret key = seed || public key)
 *   k4.?id.    b64url(BLAKE2b-264("k4.?id." || <PASERK of the key>))
 *
 * base64url is always without padding. Decoding is strict (exact prefix,
 * exact length, canonical trailing bits, no '=' and no whitespace) because a
 * key string that parses two ways could make one key look like two IDs.
 */
#include "tokens/paserk.h"

#include <string.h>

#include <sodium.h>

#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

/* The ID digest is 264 bits so its base64 has no partial group (PASERK). */
#define ID_DIGEST_BYTES 33

_Static_assert(PASERK_LOCAL_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
               "k4.local is an XChaCha20 key");
_Static_assert(PASERK_PUBLIC_KEY_BYTES == crypto_sign_PUBLICKEYBYTES,
               "k4.public is an Ed25519 public key");
_Static_assert(PASERK_SECRET_KEY_BYTES == crypto_sign_SECRETKEYBYTES,
               "k4.secret is libsodium's seed || pk form");
_Static_assert(PASERK_ID_SIZE == 7 + sodium_base64_ENCODED_LEN(ID_DIGEST_BYTES, B64_VARIANT),
               "PASERK_ID_SIZE matches the digest size");

static const char prefix_local[] = "k4.local.";
static const char prefix_public[] = "k4.public.";
static const char prefix_secret[] = "k4.secret.";
static const char prefix_lid[] = "k4.lid.";
static const char prefix_pid[] = "k4.pid.";
static const char prefix_sid[] = "k4.sid.";

static int
encode(char *out, size_t out_size, const char *prefix, const unsigned char *bin, size_t bin_len)
{
    size_t prefix_len = strlen(prefix);

    /* sodium_base64_ENCODED_LEN counts the NUL. */
    if (out_size < prefix_len + sodium_base64_ENCODED_LEN(bin_len, B64_VARIANT))
        return -1;
    memcpy(out, prefix, prefix_len);
    sodium_bin2base64(out + prefix_len, out_size - prefix_len, bin, bin_len, B64_VARIANT);
    return 0;
}

static int
decode(unsigned char *bin, size_t bin_len, const char *prefix, const char *s, size_t len)
{
    size_t prefix_len = strlen(prefix);
    size_t got;

    if (len < prefix_len || memcmp(s, prefix, prefix_len) != 0)
        return -1;
    /*
     * With ignore == NULL and b64_end == NULL libsodium rejects any byte
     * outside the alphabet (including '=' and NUL), input that would
     * overflow bin, and non-zero trailing bits, so only the canonical
     * encoding of some bytes gets through; the length check does the rest.
     */
    if (sodium_base642bin(bin, bin_len, s + prefix_len, len - prefix_len, NULL, &got, NULL,
                          B64_VARIANT) != 0 ||
        got != bin_len) {
        sodium_memzero(bin, bin_len);
        return -1;
    }
    return 0;
}

/* True when key = seed || pk and pk is the public key of seed. */
static int
secret_is_consistent(const unsigned char *key)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    int same;

    crypto_sign_seed_keypair(pk, sk, key);
    same = sodium_memcmp(pk, key + crypto_sign_SEEDBYTES, sizeof pk) == 0;
    sodium_memzero(sk, sizeof sk);
    return same;
}

int
paserk_encode_local(char *out, size_t out_size, const unsigned char *key, size_t key_len)
{
    if (key_len != PASERK_LOCAL_KEY_BYTES)
        return -1;
    return encode(out, out_size, prefix_local, key, key_len);
}

int
paserk_encode_public(char *out, size_t out_size, const unsigned char *key, size_t key_len)
{
    if (key_len != PASERK_PUBLIC_KEY_BYTES)
        return -1;
    return encode(out, out_size, prefix_public, key, key_len);
}

int
paserk_encode_secret(char *out, size_t out_size, const unsigned char *key, size_t key_len)
{
    if (key_len != PASERK_SECRET_KEY_BYTES || !secret_is_consistent(key))
        return -1;
    return encode(out, out_size, prefix_secret, key, key_len);
}

int
paserk_decode_local(unsigned char *key, const char *s, size_t len)
{
    return decode(key, PASERK_LOCAL_KEY_BYTES, prefix_local, s, len);
}

int
paserk_decode_public(unsigned char *key, const char *s, size_t len)
{
    return decode(key, PASERK_PUBLIC_KEY_BYTES, prefix_public, s, len);
}

int
paserk_decode_secret(unsigned char *key, const char *s, size_t len)
{
    if (decode(key, PASERK_SECRET_KEY_BYTES, prefix_secret, s, len) != 0)
        return -1;
    if (!secret_is_consistent(key)) {
        sodium_memzero(key, PASERK_SECRET_KEY_BYTES);
        return -1;
    }
    return 0;
}

/* id = prefix || b64url(BLAKE2b-264(prefix || paserk)); the hash covers the
 * ID's own prefix so a lid can never equal a pid of the same bytes. */
static int
key_id(char *out, size_t out_size, const char *prefix, const char *paserk)
{
    crypto_generichash_state st;
    unsigned char digest[ID_DIGEST_BYTES];

    crypto_generichash_init(&st, NULL, 0, sizeof digest);
    crypto_generichash_update(&st, (const unsigned char *)prefix, strlen(prefix));
    crypto_generichash_update(&st, (const unsigned char *)paserk, strlen(paserk));
    crypto_generichash_final(&st, digest, sizeof digest);
    return encode(out, out_size, prefix, digest, sizeof digest);
}

int
paserk_lid(char *out, size_t out_size, const unsigned char *key, size_t key_len)
{
    char paserk[PASERK_LOCAL_SIZE];
    int rc = -1;

    if (paserk_encode_local(paserk, sizeof paserk, key, key_len) == 0)
        rc = key_id(out, out_size, prefix_lid, paserk);
    /* The k4.local string is the key itself. */
    sodium_memzero(paserk, sizeof paserk);
    return rc;
}

int
paserk_pid(char *out, size_t out_size, const unsigned char *key, size_t key_len)
{
    char paserk[PASERK_PUBLIC_SIZE];

    if (paserk_encode_public(paserk, sizeof paserk, key, key_len) != 0)
        return -1;
    return key_id(out, out_size, prefix_pid, paserk);
}

int
paserk_sid(char *out, size_t out_size, const unsigned char *key, size_t key_len)
{
    char paserk[PASERK_SECRET_SIZE];
    int rc = -1;

    if (paserk_encode_secret(paserk, sizeof paserk, key, key_len) == 0)
        rc = key_id(out, out_size, prefix_sid, paserk);
    sodium_memzero(paserk, sizeof paserk);
    return rc;
}

int
paserk_keygen_public(char *secret_out, size_t secret_size, char *public_out, size_t public_size,
                     char *pid_out, size_t pid_size)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES];

    crypto_sign_keypair(pk, sk);
    if (paserk_encode_secret(secret_out, secret_size, sk, sizeof sk) != 0 ||
        paserk_encode_public(public_out, public_size, pk, sizeof pk) != 0 ||
        paserk_pid(pid_out, pid_size, pk, sizeof pk) != 0)
        goto fail;
    sodium_memzero(sk, sizeof sk);
    return 0;

fail:
    /* secret_out may already hold the key; don't leave it behind. */
    if (secret_size > 0)
        sodium_memzero(secret_out, secret_size);
    sodium_memzero(sk, sizeof sk);
    return -1;
}

int
paserk_keygen_local(char *local_out, size_t local_size, char *lid_out, size_t lid_size)
{
    unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];

    crypto_aead_xchacha20poly1305_ietf_keygen(key);
    if (paserk_encode_local(local_out, local_size, key, sizeof key) != 0 ||
        paserk_lid(lid_out, lid_size, key, sizeof key) != 0)
        goto fail;
    sodium_memzero(key, sizeof key);
    return 0;

fail:
    if (local_size > 0)
        sodium_memzero(local_out, local_size);
    sodium_memzero(key, sizeof key);
    return -1;
}
