/*
 * cache_keys.c - cache key names.
 */
#include "policy/cache_keys.h"

#include <sodium.h>
#include <string.h>

/* "<prefix>{c:<route>}<tail>" into out, by hand: keys are built for every
 * lookup and every store, and snprintf's format parsing cost far more than
 * the copy. */
static int
route_key(char *out, const char *prefix, const char *route, const char *tail)
{
    size_t lp = strlen(prefix), lr = strlen(route), lt = strlen(tail);
    size_t n = lp + 3 + lr + 1 + lt;
    if (n >= CACHE_KEY_MAX)
        return -1;
    char *o = out;
    memcpy(o, prefix, lp), o += lp;
    memcpy(o, "{c:", 3), o += 3;
    memcpy(o, route, lr), o += lr;
    *o++ = '}';
    memcpy(o, tail, lt + 1); /* with its NUL */
    return (int)n;
}

int
cache_gen_key(char *out, const char *prefix, const char *route)
{
    return route_key(out, prefix, route, ":gen");
}

int
cache_entry_prefix(char *out, const char *prefix, const char *route)
{
    return route_key(out, prefix, route, ":e:");
}

/* tail's parts joined after the route's tag; -1 when they do not fit. */
static int
route_key3(char *out, const char *prefix, const char *route, const char *a, const char *b,
           const char *c)
{
    char tail[CACHE_KEY_MAX];
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    if (la + lb + lc >= sizeof(tail))
        return -1;
    memcpy(tail, a, la);
    memcpy(tail + la, b, lb);
    memcpy(tail + la + lb, c, lc + 1);
    return route_key(out, prefix, route, tail);
}

int
cache_entry_key(char *out, const char *prefix, const char *route, const char *gen,
                const char *hash)
{
    char gen_part[40];
    size_t lg = strlen(gen);
    if (lg + 2 > sizeof(gen_part))
        return -1;
    memcpy(gen_part, gen, lg);
    memcpy(gen_part + lg, ":", 2);
    return route_key3(out, prefix, route, ":e:", gen_part, hash);
}

int
cache_lock_key(char *out, const char *prefix, const char *route, const char *hash)
{
    return route_key3(out, prefix, route, ":l:", hash, "");
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
