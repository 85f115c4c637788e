/*
 * cache_keys.c - cache key names.
 */
#include "policy/cache_keys.h"

#include <sodium.h>
#include <string.h>

/* The n pieces joined into out with a NUL, by hand: keys are built for
 * every lookup and every store, and snprintf's format parsing (then a
 * tail copied twice) cost far more than the copies. -1 when it would not
 * fit. */
static int
join(char *out, const struct sl_slice *s, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (len + s[i].len >= CACHE_KEY_MAX)
            return -1;
        memcpy(out + len, s[i].p, s[i].len);
        len += s[i].len;
    }
    out[len] = '\0';
    return (int)len;
}

#define STR(s) ((struct sl_slice){(s), strlen(s)})
#define LIT(s) ((struct sl_slice){(s), sizeof(s) - 1})

int
cache_gen_key(char *out, const char *prefix, const char *route)
{
    const struct sl_slice s[] = {STR(prefix), LIT("{c:"), STR(route), LIT("}:gen")};
    return join(out, s, 4);
}

int
cache_entry_prefix(char *out, const char *prefix, const char *route)
{
    const struct sl_slice s[] = {STR(prefix), LIT("{c:"), STR(route), LIT("}:e:")};
    return join(out, s, 4);
}

int
cache_entry_key(char *out, const char *prefix, const char *route, const char *gen,
                const char *hash)
{
    const struct sl_slice s[] = {STR(prefix), LIT("{c:"), STR(route), LIT("}:e:"),
                                 STR(gen),    LIT(":"),   STR(hash)};
    return join(out, s, 7);
}

int
cache_lock_key(char *out, const char *prefix, const char *route, const char *hash)
{
    const struct sl_slice s[] = {STR(prefix), LIT("{c:"), STR(route), LIT("}:l:"), STR(hash)};
    return join(out, s, 5);
}

void
cache_key_hash(const char *target, size_t target_len, const char *user,
               const struct sl_slice *body, char out[CACHE_HASH_HEX])
{
    unsigned char h[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    /* The user first, with its length: "ab" + "/c" differs from "a" + "b/c". */
    size_t ulen = strlen(user);
    unsigned char len_be[8];
    for (int i = 0; i < 8; i++)
        len_be[i] = (unsigned char)(ulen >> (56 - 8 * i));
    crypto_generichash_update(&st, len_be, sizeof(len_be));
    crypto_generichash_update(&st, (const unsigned char *)user, ulen);
    crypto_generichash_update(&st, (const unsigned char *)target, target_len);
    if (body != NULL) {
        /* "\0POST\0" cannot occur in a target: a POST never shares a GET's key. */
        crypto_generichash_update(&st, (const unsigned char *)"\0POST\0", 6);
        crypto_generichash_update(&st, (const unsigned char *)body->p, body->len);
    }
    crypto_generichash_final(&st, h, sizeof(h));
    /* Hex by hand: sodium_bin2hex is constant-time, which a key name does
     * not need, and was a quarter of the key's cost. */
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(h); i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[2 * sizeof(h)] = '\0';
}
