/*
 * claims_cache.h - verified token claims remembered per worker, so that a
 * session's later requests pay a hash lookup instead of a signature check
 * (an Ed25519 verification costs more than the whole proxy path).
 *
 *   token --SipHash-2-4, 128-bit, keyed--> slot (direct-mapped, fixed count)
 *         --hit, same digest, exp + leeway not past--> claims
 *
 * Bounded: a fixed number of slots, a newer token replaces an older one in
 * its slot. A token that verified is remembered until its exp (+ leeway);
 * one that did not is remembered as refused for CLAIMS_CACHE_REFUSED_S, so a
 * flood of one forged token costs a hash each, not a signature check (not
 * for ever: a token refused for its nbf may become valid).
 * Entries are valid for the key ring they were verified with: the worker
 * clears the cache when a reload replaces its config.
 */
#ifndef SLUICE_CLAIMS_CACHE_H
#define SLUICE_CLAIMS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "tokens/token.h"

#define CLAIMS_CACHE_DIGEST_BYTES 16 /* crypto_shorthash_siphashx24_BYTES */

struct claims_cache;

/* nslots is rounded up to a power of two. */
struct claims_cache *claims_cache_new(size_t nslots);
void claims_cache_free(struct claims_cache *cc);
void claims_cache_clear(struct claims_cache *cc);

/* The digest a token is remembered by. */
void claims_cache_digest(const struct claims_cache *cc, const char *token, size_t len,
                         unsigned char digest[CLAIMS_CACHE_DIGEST_BYTES]);

#define CLAIMS_CACHE_REFUSED_S 60

enum claims_cache_result {
    CLAIMS_CACHE_MISS,
    CLAIMS_CACHE_VALID,   /* *out holds the claims */
    CLAIMS_CACHE_REFUSED, /* token_verify() said TOKEN_INVALID recently */
};

/* What is remembered of the token with this digest at now_s (an entry
 * past its time is dropped and reported as a miss). */
/* ring: the key ring the request verifies with; an entry made under
 * another one (a request that began before a reload) is a miss. */
enum claims_cache_result claims_cache_get(struct claims_cache *cc,
                                          const unsigned char digest[CLAIMS_CACHE_DIGEST_BYTES],
                                          const void *ring, int64_t now_s,
                                          struct token_claims *out);

/* Remembers claims that token_verify() accepted. */
void claims_cache_put(struct claims_cache *cc, const unsigned char digest[CLAIMS_CACHE_DIGEST_BYTES],
                      const void *ring, const struct token_claims *claims);
/* Remembers that token_verify() refused the token (TOKEN_INVALID) at now_s. */
void claims_cache_put_refused(struct claims_cache *cc,
                              const unsigned char digest[CLAIMS_CACHE_DIGEST_BYTES],
                              const void *ring, int64_t now_s);

#endif
