/*
 * paseto.c - PASETO v4.public and v4.local (PASETO spec, version 4), with
 * libsodium only.
 *
 *   v4.public: sig = Ed25519(sk, PAE(h, m, f, i))
 *   v4.local:  Ek || n2 = BLAKE2b-448(key, "paseto-encryption-key" || n)
 *              Ak       = BLAKE2b-256(key, "paseto-auth-key-for-aead" || n)
 *              c        = XChaCha20(m, n2, Ek)
 *              t        = BLAKE2b-256(Ak, PAE(h, n, c, f, i))
 *
 * Opening a token is the reverse with every length checked before use: the
 * token is hostile input until its signature or MAC has been checked.
 */
#include "tokens/paseto.h"

#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "sluice.h"

#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define SIG_BYTES crypto_sign_BYTES
#define MAC_BYTES 32
#define EK_BYTES crypto_stream_xchacha20_KEYBYTES
#define N2_BYTES crypto_stream_xchacha20_NONCEBYTES

_Static_assert(PASETO_V4_SECRET_KEY_BYTES == crypto_sign_SECRETKEYBYTES, "Ed25519 sk");
_Static_assert(PASETO_V4_PUBLIC_KEY_BYTES == crypto_sign_PUBLICKEYBYTES, "Ed25519 pk");
_Static_assert(EK_BYTES + N2_BYTES == 56, "v4.local derives 56 bytes for Ek || n2");

static const char hdr_public[] = PASETO_V4_PUBLIC_HEADER;
static const char hdr_local[] = PASETO_V4_LOCAL_HEADER;

static struct paseto_bytes
bytes_str(const char *s)
{
    return (struct paseto_bytes){(const unsigned char *)s, strlen(s)};
}

/* LE64 of the PASETO spec: the top bit is cleared so that languages
 * without unsigned 64-bit integers agree on every length. */
static void
le64(unsigned char out[8], uint64_t n)
{
    for (int i = 0; i < 8; i++, n >>= 8)
        out[i] = (unsigned char)(n & 0xff);
    out[7] &= 0x7f;
}

size_t
paseto_pae(unsigned char *out, const struct paseto_bytes *pieces, size_t npieces)
{
    size_t len = 8;

    if (out != NULL)
        le64(out, npieces);
    for (size_t k = 0; k < npieces; k++) {
        if (out != NULL) {
            le64(out + len, pieces[k].len);
            if (pieces[k].len > 0)
                memcpy(out + len + 8, pieces[k].p, pieces[k].len);
        }
        len += 8 + pieces[k].len;
    }
    return len;
}

/* PAE straight into a BLAKE2b state: the MAC needs no contiguous copy. */
static void
pae_hash(crypto_generichash_state *st, const struct paseto_bytes *pieces, size_t npieces)
{
    unsigned char n[8];

    le64(n, npieces);
    crypto_generichash_update(st, n, sizeof n);
    for (size_t k = 0; k < npieces; k++) {
        le64(n, pieces[k].len);
        crypto_generichash_update(st, n, sizeof n);
        if (pieces[k].len > 0)
            crypto_generichash_update(st, pieces[k].p, pieces[k].len);
    }
}

/* Writes header || b64(body) [|| "." || b64(f)] and a NUL into out. */
static int
assemble(char *out, size_t out_size, size_t *out_len, const char *header, const unsigned char *body,
         size_t body_len, struct paseto_bytes f)
{
    size_t hlen = strlen(header);
    size_t blen = sodium_base64_ENCODED_LEN(body_len, B64_VARIANT); /* counts the NUL */
    size_t flen = f.len > 0 ? sodium_base64_ENCODED_LEN(f.len, B64_VARIANT) : 0;

    /* sodium_bin2base64 aborts on a short buffer, so check it all first. */
    if (out_size < hlen + blen + flen)
        return -1;
    memcpy(out, header, hlen);
    sodium_bin2base64(out + hlen, blen, body, body_len, B64_VARIANT);
    if (f.len > 0) {
        out[hlen + blen - 1] = '.';
        sodium_bin2base64(out + hlen + blen, flen, f.p, f.len, B64_VARIANT);
    }
    *out_len = hlen + blen - 1 + flen;
    return 0;
}

/*
 * Splits token[0..len) = header || body ["." footer]; the slices borrow
 * token. A trailing "." with nothing after it is refused: a token without
 * a footer is written without the dot, and one token has one spelling.
 */
static int
split(const char *token, size_t len, const char *header, struct sl_slice *body,
      struct sl_slice *footer)
{
    size_t hlen = strlen(header);

    if (len < hlen || memcmp(token, header, hlen) != 0)
        return -1;
    const char *p = token + hlen, *end = token + len;
    const char *dot = memchr(p, '.', (size_t)(end - p));
    body->p = p;
    body->len = (size_t)((dot != NULL ? dot : end) - p);
    footer->p = dot != NULL ? dot + 1 : end;
    footer->len = (size_t)(end - footer->p);
    return dot != NULL && footer->len == 0 ? -1 : 0;
}

/*
 * Decodes s into *bin (a new buffer the caller frees), or returns -1.
 * libsodium, with no ignore set and no b64_end, refuses any byte outside
 * the URL-safe alphabet ('=' and '.' included), a length that is 1 mod 4,
 * and non-zero trailing bits: only the canonical spelling decodes.
 */
static int
b64_decode_new(unsigned char **bin, size_t *bin_len, struct sl_slice s)
{
    size_t cap = s.len / 4 * 3 + 3;

    *bin = xmalloc(cap);
    if (sodium_base642bin(*bin, cap, s.p, s.len, NULL, bin_len, NULL, B64_VARIANT) != 0) {
        free(*bin);
        *bin = NULL;
        return -1;
    }
    return 0;
}

/* Decodes body and footer of a token with this header; both or neither. */
static int
open_parts(const char *token, size_t len, const char *header, unsigned char **body,
           size_t *body_len, unsigned char **foot, size_t *foot_len)
{
    struct sl_slice b, f;

    *body = *foot = NULL;
    if (split(token, len, header, &b, &f) != 0 || b64_decode_new(body, body_len, b) != 0)
        return -1;
    if (b64_decode_new(foot, foot_len, f) != 0) {
        free(*body);
        *body = NULL;
        return -1;
    }
    return 0;
}

/* ---- v4.public ---------------------------------------------------------- */

int
paseto_v4_sign(char *out, size_t out_size, size_t *out_len, const unsigned char *sk,
               struct paseto_bytes m, struct paseto_bytes f, struct paseto_bytes i)
{
    struct paseto_bytes pieces[] = {bytes_str(hdr_public), m, f, i};
    size_t pae_len = paseto_pae(NULL, pieces, SL_ARRAY_LEN(pieces));
    unsigned char *pae = xmalloc(pae_len);
    unsigned char *body = xmalloc(m.len + SIG_BYTES);
    int rc;

    paseto_pae(pae, pieces, SL_ARRAY_LEN(pieces));
    if (m.len > 0)
        memcpy(body, m.p, m.len);
    crypto_sign_detached(body + m.len, NULL, pae, pae_len, sk);
    rc = assemble(out, out_size, out_len, hdr_public, body, m.len + SIG_BYTES, f);
    free(body);
    free(pae);
    return rc;
}

int
paseto_v4_verify(unsigned char *m, size_t m_size, size_t *m_len, const unsigned char *pk,
                 const char *token, size_t len, struct paseto_bytes i)
{
    unsigned char *body, *foot, *pae = NULL;
    size_t body_len, foot_len;
    int rc = -1;

    if (open_parts(token, len, hdr_public, &body, &body_len, &foot, &foot_len) != 0)
        return -1;
    if (body_len < SIG_BYTES)
        goto fail;
    size_t mlen = body_len - SIG_BYTES;
    struct paseto_bytes pieces[] = {bytes_str(hdr_public), {body, mlen}, {foot, foot_len}, i};
    size_t pae_len = paseto_pae(NULL, pieces, SL_ARRAY_LEN(pieces));
    pae = xmalloc(pae_len);
    paseto_pae(pae, pieces, SL_ARRAY_LEN(pieces));
    if (crypto_sign_verify_detached(body + mlen, pae, pae_len, pk) != 0 || mlen > m_size)
        goto fail;
    if (mlen > 0)
        memcpy(m, body, mlen);
    *m_len = mlen;
    rc = 0;
fail:
    free(pae);
    free(foot);
    free(body);
    return rc;
}

/* ---- v4.local ----------------------------------------------------------- */

/* The per-token keys: Ek || n2 and Ak, each BLAKE2b keyed by key over a
 * domain string and the nonce, so the MAC key never encrypts. */
static void
local_keys(unsigned char *ek, unsigned char *n2, unsigned char *ak, const unsigned char *key,
           const unsigned char *n)
{
    static const char enc_info[] = "paseto-encryption-key";
    static const char auth_info[] = "paseto-auth-key-for-aead";
    crypto_generichash_state st;
    unsigned char tmp[EK_BYTES + N2_BYTES];

    crypto_generichash_init(&st, key, PASETO_V4_LOCAL_KEY_BYTES, sizeof tmp);
    crypto_generichash_update(&st, (const unsigned char *)enc_info, sizeof enc_info - 1);
    crypto_generichash_update(&st, n, PASETO_V4_NONCE_BYTES);
    crypto_generichash_final(&st, tmp, sizeof tmp);
    memcpy(ek, tmp, EK_BYTES);
    memcpy(n2, tmp + EK_BYTES, N2_BYTES);

    crypto_generichash_init(&st, key, PASETO_V4_LOCAL_KEY_BYTES, MAC_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)auth_info, sizeof auth_info - 1);
    crypto_generichash_update(&st, n, PASETO_V4_NONCE_BYTES);
    crypto_generichash_final(&st, ak, MAC_BYTES);
    sodium_memzero(tmp, sizeof tmp);
    sodium_memzero(&st, sizeof st);
}

static void
local_mac(unsigned char *t, const unsigned char *ak, const unsigned char *n, const unsigned char *c,
          size_t c_len, struct paseto_bytes f, struct paseto_bytes i)
{
    struct paseto_bytes pieces[] = {
        bytes_str(hdr_local), {n, PASETO_V4_NONCE_BYTES}, {c, c_len}, f, i};
    crypto_generichash_state st;

    crypto_generichash_init(&st, ak, MAC_BYTES, MAC_BYTES);
    pae_hash(&st, pieces, SL_ARRAY_LEN(pieces));
    crypto_generichash_final(&st, t, MAC_BYTES);
    sodium_memzero(&st, sizeof st);
}

int
paseto_v4_encrypt_nonce(char *out, size_t out_size, size_t *out_len, const unsigned char *key,
                        const unsigned char *n, struct paseto_bytes m, struct paseto_bytes f,
                        struct paseto_bytes i)
{
    unsigned char ek[EK_BYTES], n2[N2_BYTES], ak[MAC_BYTES];
    size_t body_len = PASETO_V4_NONCE_BYTES + m.len + MAC_BYTES;
    unsigned char *body = xmalloc(body_len);
    unsigned char *c = body + PASETO_V4_NONCE_BYTES;
    int rc;

    memcpy(body, n, PASETO_V4_NONCE_BYTES);
    local_keys(ek, n2, ak, key, n);
    if (m.len > 0)
        crypto_stream_xchacha20_xor(c, m.p, m.len, n2, ek);
    local_mac(c + m.len, ak, n, c, m.len, f, i);
    rc = assemble(out, out_size, out_len, hdr_local, body, body_len, f);
    sodium_memzero(ek, sizeof ek);
    sodium_memzero(n2, sizeof n2);
    sodium_memzero(ak, sizeof ak);
    free(body);
    return rc;
}

int
paseto_v4_encrypt(char *out, size_t out_size, size_t *out_len, const unsigned char *key,
                  struct paseto_bytes m, struct paseto_bytes f, struct paseto_bytes i)
{
    unsigned char n[PASETO_V4_NONCE_BYTES];

    randombytes_buf(n, sizeof n);
    return paseto_v4_encrypt_nonce(out, out_size, out_len, key, n, m, f, i);
}

int
paseto_v4_decrypt(unsigned char *m, size_t m_size, size_t *m_len, const unsigned char *key,
                  const char *token, size_t len, struct paseto_bytes i)
{
    unsigned char ek[EK_BYTES], n2[N2_BYTES], ak[MAC_BYTES], t[MAC_BYTES];
    unsigned char *body, *foot;
    size_t body_len, foot_len;
    int rc = -1;

    if (open_parts(token, len, hdr_local, &body, &body_len, &foot, &foot_len) != 0)
        return -1;
    if (body_len < PASETO_V4_NONCE_BYTES + MAC_BYTES)
        goto fail;
    size_t c_len = body_len - PASETO_V4_NONCE_BYTES - MAC_BYTES;
    const unsigned char *c = body + PASETO_V4_NONCE_BYTES;
    local_keys(ek, n2, ak, key, body);
    local_mac(t, ak, body, c, c_len, (struct paseto_bytes){foot, foot_len}, i);
    /* Constant time, and before anything is decrypted. */
    if (crypto_verify_32(t, c + c_len) != 0 || c_len > m_size)
        goto fail;
    if (c_len > 0)
        crypto_stream_xchacha20_xor(m, c, c_len, n2, ek);
    *m_len = c_len;
    rc = 0;
fail:
    sodium_memzero(ek, sizeof ek);
    sodium_memzero(n2, sizeof n2);
    sodium_memzero(ak, sizeof ak);
    free(foot);
    free(body);
    return rc;
}

/* ---- footer ------------------------------------------------------------- */

int
paseto_footer(unsigned char *f, size_t f_size, size_t *f_len, const char *token, size_t len)
{
    struct sl_slice body, foot;

    if (split(token, len, hdr_public, &body, &foot) != 0 &&
        split(token, len, hdr_local, &body, &foot) != 0)
        return -1;
    if (foot.len == 0) {
        *f_len = 0;
        return 0;
    }
    return sodium_base642bin(f, f_size, foot.p, foot.len, NULL, f_len, NULL, B64_VARIANT) == 0 ? 0
                                                                                               : -1;
}
