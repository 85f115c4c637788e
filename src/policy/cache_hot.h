/*
 * cache_hot.h - the response cache's in-process layer (issue 10): each
 * worker keeps copies of the entries it recently read from Redis, so a
 * hot key's hits cost no Redis round trip.
 *
 *   (route name, key hash) --FNV--> slot (direct-mapped, CACHE_HOT_SLOTS per
 *   worker) -> a copy of the Redis value, until min(its freshness,
 *   CACHE_HOT_TTL_MS), while the process's purge epoch is unchanged
 *
 * Bounded: at most max_bytes (http.hot_cache_size) of values per worker, none above
 * CACHE_HOT_MAX_ENTRY. A purge or an invalidation on this gateway bumps
 * the epoch, so every worker forgets at once; one on another gateway comes
 * by Redis pub/sub (cache_forget.h), and should that news be lost, within
 * CACHE_HOT_TTL_MS (the time an entry is trusted without asking Redis).
 * Pure: the clock is passed in.
 */
#ifndef SLUICE_CACHE_HOT_H
#define SLUICE_CACHE_HOT_H

#include <stddef.h>
#include <stdint.h>

#include "sluice.h"

#define CACHE_HOT_SLOTS 1024
#define CACHE_HOT_BYTES (16u << 20) /* the default of http.hot_cache_size */
#define CACHE_HOT_MAX_ENTRY (64u << 10)
#define CACHE_HOT_TTL_MS 1000
#define CACHE_HOT_ROUTE_MAX 128 /* routes with longer names are not kept hot */

struct cache_hot;

/* max_bytes: of values kept (0: none is kept). */
struct cache_hot *cache_hot_new(size_t max_bytes);
/* A reload changed it: puts beyond it are refused, and what was kept
 * beyond it ages out (within CACHE_HOT_TTL_MS). */
void cache_hot_set_max_bytes(struct cache_hot *h, size_t max_bytes);
void cache_hot_free(struct cache_hot *h);

/* The value kept for (route, hash), borrowed until the next call on h;
 * an empty slice when none is usable now. */
struct sl_slice cache_hot_get(struct cache_hot *h, const char *route, const char *hash,
                              int64_t now_ms);

/* Keeps a copy of value until until_ms (capped at now + CACHE_HOT_TTL_MS). */
void cache_hot_put(struct cache_hot *h, const char *route, const char *hash, struct sl_slice value,
                   int64_t now_ms, int64_t until_ms);

/* Every worker forgets what it kept (a purge, an invalidation). */
void cache_hot_forget_all(void);

#endif
