/*
 * cache_keys.h - the Redis keys of the response cache (SPEC sections 7, 9).
 * Every key of a route shares the hash tag {c:ROUTE}; entries live under
 * the route's generation, so a purge of the route is one INCR.
 *
 *   PREFIX{c:ROUTE}:gen                 string: the generation (no TTL)
 *   PREFIX{c:ROUTE}:e:<gen>:<hex>       string: an entry (response_record),
 *                                       TTL = its freshness and stale time
 *   PREFIX{c:ROUTE}:l:<hex>             string: the key's herd lock ("1", PX
 *                                       3 s) or "pass" (10 s); cache_get.lua
 *
 * <hex> is BLAKE2b-128 of the request's target (normalised path and
 * query), of the user on a scope: user route, and of a POST's body: GET
 * and HEAD share it.
 */
#ifndef SLUICE_CACHE_KEYS_H
#define SLUICE_CACHE_KEYS_H

#include <stddef.h>

#include "sluice.h"

#define CACHE_KEY_MAX 1024
#define CACHE_HASH_HEX 33 /* 32 hex digits and a NUL */

/* Each writes a NUL-terminated key (CACHE_KEY_MAX bytes) and returns its
 * length, or -1 when it would not fit. */
int cache_gen_key(char *out, const char *prefix, const char *route);
int cache_entry_prefix(char *out, const char *prefix, const char *route);
/* PREFIX{c:ROUTE}:e:<gen>:<hex> and PREFIX{c:ROUTE}:l:<hex>. */
int cache_entry_key(char *out, const char *prefix, const char *route, const char *gen,
                    const char *hash);
int cache_lock_key(char *out, const char *prefix, const char *route, const char *hash);

/* user: "" on a shared route; body: a POST's body (NULL for GET/HEAD). */
void cache_key_hash(const char *target, size_t target_len, const char *user,
                    const struct sl_slice *body, char out[CACHE_HASH_HEX]);

#endif
