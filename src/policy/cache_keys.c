/*
 * cache_keys.c - cache key names.
 */
#include "policy/cache_keys.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static int
checked(int n)
{
    return n < 0 || n >= CACHE_KEY_MAX ? -1 : n;
}

int
cache_gen_key(char *out, const char *prefix, const char *route)
{
    return checked(snprintf(out, CACHE_KEY_MAX, "%s{c:%s}:gen", prefix, route));
}

int
cache_entry_prefix(char *out, const char *prefix, const char *route)
{
    return checked(snprintf(out, CACHE_KEY_MAX, "%s{c:%s}:e:", prefix, route));
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
    sodium_bin2hex(out, CACHE_HASH_HEX, h, sizeof(h));
}
