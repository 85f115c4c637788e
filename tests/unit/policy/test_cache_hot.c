/*
 * test_cache_hot.c - the worker's copies of hot cache entries: kept until
 * their freshness or CACHE_HOT_TTL_MS, whichever is first; forgotten by
 * every worker at a purge; bounded per entry; a route is known by name.
 */
#include <string.h>

#include "policy/cache_hot.h"
#include "tap.h"

#define HASH "0123456789abcdef0123456789abcdef"

static void
test_kept_until_fresh_or_ttl(void)
{
    struct cache_hot *h = cache_hot_new(CACHE_HOT_BYTES);
    struct sl_slice v = SL_SLICE_LIT("value");
    ok(cache_hot_get(h, "r", HASH, 0).len == 0, "nothing kept: empty");
    cache_hot_put(h, "r", HASH, v, 1000, 1500);
    struct sl_slice got = cache_hot_get(h, "r", HASH, 1499);
    ok(got.len == 5 && memcmp(got.p, "value", 5) == 0, "kept until its freshness ends");
    ok(cache_hot_get(h, "r", HASH, 1500).len == 0, "then gone");
    cache_hot_put(h, "r", HASH, v, 1000, 999999);
    ok(cache_hot_get(h, "r", HASH, 1000 + CACHE_HOT_TTL_MS - 1).len == 5,
       "a long freshness is trusted for CACHE_HOT_TTL_MS");
    ok(cache_hot_get(h, "r", HASH, 1000 + CACHE_HOT_TTL_MS).len == 0, "and no longer");
    cache_hot_free(h);
}

static void
test_identity_and_forgetting(void)
{
    struct cache_hot *h = cache_hot_new(CACHE_HOT_BYTES), *other = cache_hot_new(CACHE_HOT_BYTES);
    struct sl_slice v = SL_SLICE_LIT("v");
    cache_hot_put(h, "models", HASH, v, 0, 500);
    cache_hot_put(other, "models", HASH, v, 0, 500);
    ok(cache_hot_get(h, "chat", HASH, 1).len == 0, "another route's name: not its entry");
    ok(cache_hot_get(h, "models", "ffff", 1).len == 0, "another hash: nothing");
    cache_hot_forget_all();
    ok(cache_hot_get(h, "models", HASH, 1).len == 0, "a purge: forgotten");
    ok(cache_hot_get(other, "models", HASH, 1).len == 0, "by every worker");
    cache_hot_put(h, "models", HASH, v, 0, 500);
    ok(cache_hot_get(h, "models", HASH, 1).len == 1, "kept again after the purge");
    static char big[CACHE_HOT_MAX_ENTRY + 1];
    cache_hot_put(h, "big", HASH, (struct sl_slice){big, sizeof(big)}, 0, 500);
    ok(cache_hot_get(h, "big", HASH, 1).len == 0, "an entry above CACHE_HOT_MAX_ENTRY is not kept");
    cache_hot_free(h);
    cache_hot_free(other);
}

int
main(void)
{
    test_kept_until_fresh_or_ttl();
    test_identity_and_forgetting();
    return tap_done();
}
