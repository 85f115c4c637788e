/*
 * paserk.h - PASERK version 4 key serialization (k4.local, k4.public,
 * k4.secret) and key identifiers (k4.lid, k4.pid, k4.sid).
 *
 * Keys appear in the configuration as PASERK strings (SPEC section 11) and
 * token footers name their key by ID (SPEC section 5), so this module is the
 * one place where key bytes and their text forms meet. Everything here is
 * pure: no I/O, no allocation; callers own every buffer.
 *
 *   raw key --paserk_encode_*--> "k4.public.<b64url>" --paserk_pid--> "k4.pid.<b64url>"
 *           <--paserk_decode_*--
 *
 * Encoded strings use base64url without padding, as the PASERK spec requires.
 * All functions return 0 on success and -1 on any failure; on failure the
 * output buffers hold nothing meaningful (decoded keys are wiped).
 */
#ifndef SLUICE_TOKENS_PASERK_H
#define SLUICE_TOKENS_PASERK_H

#include <stddef.h>

/* Raw key sizes in bytes. A v4 secret key is libsodium's Ed25519 form,
 * seed (32) || public key (32). */
#define PASERK_LOCAL_KEY_BYTES 32
#define PASERK_PUBLIC_KEY_BYTES 32
#define PASERK_SECRET_KEY_BYTES 64

/* Buffer sizes for the text forms, including the terminating NUL:
 * prefix + base64url-without-padding of the payload + 1. */
#define PASERK_LOCAL_SIZE (9 + 43 + 1)   /* "k4.local."  + 32 bytes */
#define PASERK_PUBLIC_SIZE (10 + 43 + 1) /* "k4.public." + 32 bytes */
#define PASERK_SECRET_SIZE (10 + 86 + 1) /* "k4.secret." + 64 bytes */
#define PASERK_ID_SIZE (7 + 44 + 1)      /* "k4.?id."    + 33-byte digest */

/*
 * Encoders: write the NUL-terminated PASERK for key[0..key_len) into out.
 * Fail when key_len is not the exact key size (short or foreign-version keys
 * must not serialize) or when out_size is too small (the *_SIZE constants
 * always suffice). paserk_encode_secret also fails when the public half of
 * the key does not belong to its seed.
 */
int paserk_encode_local(char *out, size_t out_size, const unsigned char *key, size_t key_len);
int paserk_encode_public(char *out, size_t out_size, const unsigned char *key, size_t key_len);
int paserk_encode_secret(char *out, size_t out_size, const unsigned char *key, size_t key_len);

/*
 * Decoders: parse s[0..len) (need not be NUL-terminated) into key, which
 * must hold the matching *_KEY_BYTES. Fail unless s is exactly the right
 * prefix followed by canonical base64url without padding of exactly the key
 * size. paserk_decode_secret also checks that the public half matches the
 * seed, so a corrupted secret cannot sign under someone else's public key.
 */
int paserk_decode_local(unsigned char *key, const char *s, size_t len);
int paserk_decode_public(unsigned char *key, const char *s, size_t len);
int paserk_decode_secret(unsigned char *key, const char *s, size_t len);

/*
 * Key IDs: write "k4.lid." / "k4.pid." / "k4.sid." + base64url of
 * BLAKE2b-264("k4.?id." || PASERK of the key) into out (out_size >=
 * PASERK_ID_SIZE). They take the raw key and fail as its encoder does.
 */
int paserk_lid(char *out, size_t out_size, const unsigned char *key, size_t key_len);
int paserk_pid(char *out, size_t out_size, const unsigned char *key, size_t key_len);
int paserk_sid(char *out, size_t out_size, const unsigned char *key, size_t key_len);

/*
 * Generate a fresh key and write its PASERK strings and ID. Buffers are the
 * caller's; sizes must be at least the matching *_SIZE constants. The raw
 * key never leaves the function and is wiped before it returns. libsodium
 * must already be initialised (sodium_init) for the random generator.
 */
int paserk_keygen_public(char *secret_out, size_t secret_size, char *public_out, size_t public_size,
                         char *pid_out, size_t pid_size);
int paserk_keygen_local(char *local_out, size_t local_size, char *lid_out, size_t lid_size);

#endif
