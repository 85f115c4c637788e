/*
 * refusals.h - callers a limit refused, remembered per worker until the
 * refusal's exact end (SPEC sections 6, 11), so that a flood from one
 * caller costs a hash lookup per request and no Redis round trip.
 *
 *   (tag, plan) --SipHash-2-4, keyed--> slot (direct-mapped, fixed count)
 *
 * Bounded: a fixed number of slots; a newer refusal takes an older one's
 * slot, so a flood from a million addresses forgets some of them (they
 * then cost one Redis call each again) but never grows memory. An entry
 * belongs to the config it was decided under (its limit index means
 * nothing in another) and to a reset epoch (an admin reset forgets it).
 */
#ifndef SLUICE_REFUSALS_H
#define SLUICE_REFUSALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct refusals;

struct refusal {
    int64_t until_ms;  /* monotonic clock: when the request would pass */
    unsigned limit;    /* index of the refusing limit in its plan */
    int64_t remaining; /* of that limit, for the RateLimit field */
};

/* nslots is rounded up to a power of two. */
struct refusals *refusals_new(size_t nslots);
void refusals_free(struct refusals *r);

uint64_t refusals_key(const struct refusals *r, const char *tag, const char *plan);

/* True, with *out, while a refusal of key made under owner and epoch lasts. */
bool refusals_get(struct refusals *r, uint64_t key, const void *owner, uint64_t epoch,
                  int64_t now_ms, struct refusal *out);
void refusals_put(struct refusals *r, uint64_t key, const void *owner, uint64_t epoch,
                  const struct refusal *ref);

#endif
