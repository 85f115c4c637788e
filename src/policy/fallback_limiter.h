/*
 * fallback_limiter.h - the limits a gateway applies by itself while Redis
 * is unreachable and redis.on_error is open (SPEC section 6): each window
 * limit divided by the number of live gateways (policy/fleet.h), so a
 * fleet of N admits about the configured limit, not N times it.
 *
 * Process-wide (one table for all workers, under a mutex: it is used only
 * while Redis is down), bounded (a fixed number of slots, direct-mapped:
 * a caller that loses its slot starts afresh, which can only admit more
 * during an outage, never use more memory). Windows are counted the way
 * lua/check.lua counts them, with FALLBACK_BUCKETS buckets per window.
 * Concurrent limits are not enforced here (a slot would need releasing
 * where no Redis state exists to release).
 */
#ifndef SLUICE_FALLBACK_LIMITER_H
#define SLUICE_FALLBACK_LIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/ratelimit.h"

struct config_limit;

#define FALLBACK_BUCKETS 10
#define FALLBACK_SLOTS 16384

struct fallback_decision {
    int64_t remaining[RATELIMIT_MAX_LIMITS];
    int64_t reset_ms[RATELIMIT_MAX_LIMITS];
    size_t limit;     /* refused: which limit */
    int64_t retry_ms; /* refused: when the request would pass */
};

/* Checks (and on admission charges) caller's limits at now_ms with each
 * amount divided by gateways (>= 1). Returns true when admitted. */
bool fallback_limiter_check(uint64_t caller, const struct config_limit *limits, size_t n,
                            unsigned gateways, int64_t now_ms, struct fallback_decision *out);

#endif
