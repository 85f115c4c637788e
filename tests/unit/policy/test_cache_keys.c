/*
 * test_cache_keys.c - the cache's Redis key names (SPEC section 9): the
 * exact bytes, their lengths, and -1 for a key that would not fit.
 */
#include <sodium.h>
#include <string.h>

#include "policy/cache_keys.h"
#include "tap.h"

static void
test_names(void)
{
    char out[CACHE_KEY_MAX];
    int n = cache_gen_key(out, "sluice:", "models");
    is_str(out, "sluice:{c:models}:gen", "the generation key");
    is_int(n, strlen("sluice:{c:models}:gen"), "its length");
    n = cache_entry_prefix(out, "sluice:", "models");
    is_str(out, "sluice:{c:models}:e:", "the entry prefix");
    is_int(n, strlen("sluice:{c:models}:e:"), "its length");
    n = cache_gen_key(out, "", "r");
    is_str(out, "{c:r}:gen", "an empty redis prefix");
    is_int(n, 9, "its length");
    /* what cache_get.lua reads and locks, and cache_put.lua writes */
    n = cache_entry_key(out, "sluice:", "models", "7", "0123abcd");
    is_str(out, "sluice:{c:models}:e:7:0123abcd", "an entry's key under a generation");
    is_int(n, strlen("sluice:{c:models}:e:7:0123abcd"), "its length");
    n = cache_lock_key(out, "sluice:", "models", "0123abcd");
    is_str(out, "sluice:{c:models}:l:0123abcd", "the key's herd lock");
    is_int(n, strlen("sluice:{c:models}:l:0123abcd"), "its length");
}

static void
test_too_long(void)
{
    char out[CACHE_KEY_MAX], route[CACHE_KEY_MAX];
    /* "{c:" + route + "}:gen" is 8 bytes more than the route. */
    memset(route, 'r', sizeof(route));
    route[CACHE_KEY_MAX - 8] = '\0'; /* the key needs CACHE_KEY_MAX bytes with its NUL */
    is_int(cache_gen_key(out, "", route), -1, "a key without room for its NUL: -1");
    route[CACHE_KEY_MAX - 9] = '\0';
    is_int(cache_gen_key(out, "", route), CACHE_KEY_MAX - 1, "one byte shorter fits");
    ok(strlen(out) == CACHE_KEY_MAX - 1 && memcmp(out + CACHE_KEY_MAX - 5, ":gen", 5) == 0,
       "and ends in :gen and its NUL");
    is_int(cache_entry_prefix(out, route, route), -1, "a long prefix and route: -1");
}

/* The key's hex is sodium_bin2hex's of the same BLAKE2b-128 (so entries
 * stored before the hex was written by hand are still found). */
static void
test_hash_hex(void)
{
    const char target[] = "/v1/models?x=1", user[] = "alice";
    unsigned char len_be[8] = {0, 0, 0, 0, 0, 0, 0, 5}, h[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, len_be, sizeof(len_be));
    crypto_generichash_update(&st, (const unsigned char *)user, 5);
    crypto_generichash_update(&st, (const unsigned char *)target, sizeof(target) - 1);
    crypto_generichash_final(&st, h, sizeof(h));
    char want[CACHE_HASH_HEX], got[CACHE_HASH_HEX];
    sodium_bin2hex(want, sizeof(want), h, sizeof(h));
    cache_key_hash(target, sizeof(target) - 1, user, NULL, got);
    is_str(got, want, "the key: BLAKE2b-128 of user length, user, target, in lower-case hex");
    cache_key_hash(target, sizeof(target) - 1, "", NULL, got);
    ok(strlen(got) == 32 && strcmp(got, want) != 0, "another user: another key, 32 digits");
}

int
main(void)
{
    test_hash_hex();
    test_names();
    test_too_long();
    return tap_done();
}
