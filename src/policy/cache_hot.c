/*
 * cache_hot.c - the per-worker copies of hot cache entries.
 */
#include "policy/cache_hot.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "policy/cache_keys.h"

static _Atomic uint64_t forget_epoch;

struct hot_entry {
    char route[CACHE_HOT_ROUTE_MAX + 1]; /* the route's name */
    char hash[CACHE_HASH_HEX];
    uint64_t epoch;
    int64_t until_ms;
    char *value; /* owns; NULL: empty slot */
    size_t len;
};

struct cache_hot {
    size_t bytes;
    size_t max_bytes;
    struct hot_entry slots[CACHE_HOT_SLOTS];
};

struct cache_hot *
cache_hot_new(size_t max_bytes)
{
    struct cache_hot *h = xcalloc(1, sizeof(struct cache_hot));
    h->max_bytes = max_bytes;
    return h;
}

void
cache_hot_set_max_bytes(struct cache_hot *h, size_t max_bytes)
{
    h->max_bytes = max_bytes;
}

void
cache_hot_free(struct cache_hot *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < CACHE_HOT_SLOTS; i++)
        free(h->slots[i].value);
    free(h);
}

static struct hot_entry *
slot_of(struct cache_hot *h, const char *route, const char *hash)
{
    uint64_t x = 14695981039346656037u;
    for (const char *p = route; *p; p++)
        x = (x ^ (unsigned char)*p) * 1099511628211u;
    for (const char *p = hash; *p; p++)
        x = (x ^ (unsigned char)*p) * 1099511628211u;
    return &h->slots[x % CACHE_HOT_SLOTS];
}

static void
drop(struct cache_hot *h, struct hot_entry *e)
{
    h->bytes -= e->len;
    free(e->value);
    e->value = NULL;
    e->len = 0;
}

struct sl_slice
cache_hot_get(struct cache_hot *h, const char *route, const char *hash, int64_t now_ms)
{
    struct hot_entry *e = slot_of(h, route, hash);
    if (e->value == NULL || strcmp(e->route, route) != 0 || strcmp(e->hash, hash) != 0)
        return (struct sl_slice){"", 0};
    if (e->epoch != atomic_load(&forget_epoch) || now_ms >= e->until_ms) {
        drop(h, e);
        return (struct sl_slice){"", 0};
    }
    return (struct sl_slice){e->value, e->len};
}

void
cache_hot_put(struct cache_hot *h, const char *route, const char *hash, struct sl_slice value,
              int64_t now_ms, int64_t until_ms)
{
    if (value.len == 0 || value.len > CACHE_HOT_MAX_ENTRY || until_ms <= now_ms ||
        strlen(route) > CACHE_HOT_ROUTE_MAX)
        return;
    struct hot_entry *e = slot_of(h, route, hash);
    if (e->value != NULL)
        drop(h, e);
    if (h->bytes + value.len > h->max_bytes)
        return;
    e->value = xmalloc(value.len);
    memcpy(e->value, value.p, value.len);
    e->len = value.len;
    h->bytes += value.len;
    strcpy(e->route, route);
    memcpy(e->hash, hash, sizeof(e->hash));
    e->epoch = atomic_load(&forget_epoch);
    e->until_ms = until_ms < now_ms + CACHE_HOT_TTL_MS ? until_ms : now_ms + CACHE_HOT_TTL_MS;
}

void
cache_hot_forget_all(void)
{
    atomic_fetch_add(&forget_epoch, 1);
}
