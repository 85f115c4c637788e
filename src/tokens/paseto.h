/*
 * paseto.h - the PASETO version 4 protocol (v4.public and v4.local) on
 * libsodium only: building and opening tokens, nothing about claims or keys
 * rings (that is token.h).
 *
 *   v4.public.  b64url(m || Ed25519 sig over PAE(h, m, f, i))   [. b64url(f)]
 *   v4.local.   b64url(n || XChaCha20(m) || BLAKE2b-MAC(PAE(h, n, c, f, i)))
 *                                                                [. b64url(f)]
 *
 * m is the payload, f the footer (sent, authenticated, not encrypted), i
 * the implicit assertion (authenticated, never sent). base64url is always
 * without padding and decoded canonically, so one token has one spelling.
 *
 * Pure: no I/O and no clock. Buffers are the caller's, except for scratch
 * space that the functions allocate and free (PAE input for Ed25519 must be
 * contiguous). All functions return 0 on success and -1 on any failure;
 * on failure outputs hold nothing meaningful. libsodium must be initialised.
 */
#ifndef SLUICE_TOKENS_PASETO_H
#define SLUICE_TOKENS_PASETO_H

#include <stddef.h>

#define PASETO_V4_PUBLIC_HEADER "v4.public."
#define PASETO_V4_LOCAL_HEADER "v4.local."

#define PASETO_V4_LOCAL_KEY_BYTES 32
#define PASETO_V4_SECRET_KEY_BYTES 64 /* libsodium Ed25519: seed || public key */
#define PASETO_V4_PUBLIC_KEY_BYTES 32
#define PASETO_V4_NONCE_BYTES 32

/* A byte string that the caller owns; p may be NULL when len == 0. */
struct paseto_bytes {
    const unsigned char *p;
    size_t len;
};

/*
 * Writes the NUL-terminated v4.public token for payload m, footer f and
 * implicit assertion i, signed with sk, into out; *out_len gets its length
 * without the NUL. Fails when out_size is too small.
 */
int paseto_v4_sign(char *out, size_t out_size, size_t *out_len, const unsigned char *sk,
                   struct paseto_bytes m, struct paseto_bytes f, struct paseto_bytes i);

/*
 * Checks token[0..len) (need not be NUL-terminated) against pk and the
 * implicit assertion i, then copies the payload into m (m_size bytes) and
 * sets *m_len. Fails on a wrong header, non-canonical base64url, a bad
 * signature, or a payload larger than m_size.
 */
int paseto_v4_verify(unsigned char *m, size_t m_size, size_t *m_len, const unsigned char *pk,
                     const char *token, size_t len, struct paseto_bytes i);

/*
 * v4.local with an explicit nonce n (PASETO_V4_NONCE_BYTES), so the test
 * vectors can be reproduced. Only tests pass their own nonce: reusing one
 * with the same key and payload gives the same token.
 */
int paseto_v4_encrypt_nonce(char *out, size_t out_size, size_t *out_len, const unsigned char *key,
                            const unsigned char *n, struct paseto_bytes m, struct paseto_bytes f,
                            struct paseto_bytes i);
/* paseto_v4_encrypt_nonce with 32 fresh bytes from randombytes_buf. */
int paseto_v4_encrypt(char *out, size_t out_size, size_t *out_len, const unsigned char *key,
                      struct paseto_bytes m, struct paseto_bytes f, struct paseto_bytes i);

/*
 * Checks the MAC of token[0..len) (constant time) under key and i, then
 * decrypts the payload into m (m_size bytes), setting *m_len. Nothing is
 * decrypted unless the MAC matches.
 */
int paseto_v4_decrypt(unsigned char *m, size_t m_size, size_t *m_len, const unsigned char *key,
                      const char *token, size_t len, struct paseto_bytes i);

/*
 * Decodes the footer of token[0..len) into f (f_size bytes), setting *f_len
 * (0 when the token has none), WITHOUT checking the token: the footer picks
 * the key before verification, so treat it as hostile. Fails when header
 * is not "v4.public." or "v4.local.", the footer is not canonical base64url,
 * or it is larger than f_size.
 */
int paseto_footer(unsigned char *f, size_t f_size, size_t *f_len, const char *token, size_t len);

/*
 * PAE (Pre-Authentication Encoding, PASETO common spec): writes
 * LE64(n) || for each piece: LE64(len) || bytes into out when out is not
 * NULL, and returns the encoded length. LE64 clears the top bit.
 */
size_t paseto_pae(unsigned char *out, const struct paseto_bytes *pieces, size_t npieces);

#endif
