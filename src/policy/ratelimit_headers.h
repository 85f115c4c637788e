/*
 * ratelimit_headers.h - the RateLimit header fields of
 * draft-ietf-httpapi-ratelimit-headers-10 (SPEC section 6) and the
 * Retry-After of a refusal. Pure: no clock, no Redis.
 *
 *   RateLimit-Policy: "per_minute";q=60;w=60, "in_flight";q=2;qu="concurrent-requests"
 *   RateLimit: "per_minute";r=12;t=31          (the limit closest to refusing)
 */
#ifndef SLUICE_RATELIMIT_HEADERS_H
#define SLUICE_RATELIMIT_HEADERS_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

struct config_limit;

/* Appends the RateLimit-Policy line (with CRLF) for every limit. */
void ratelimit_headers_policy(struct strbuf *out, const struct config_limit *limits, size_t n);

/* Appends the RateLimit line for one limit: remaining quota, and the
 * seconds until it changes (reset_ms rounded up). */
void ratelimit_headers_current(struct strbuf *out, const struct config_limit *lim,
                               int64_t remaining, int64_t reset_ms);

/* The index of the limit with the smallest share of its quota left (the
 * first of equals). n >= 1. */
size_t ratelimit_headers_closest(const struct config_limit *limits, const int64_t *remaining,
                                 size_t n);

/* Whole seconds, rounded up, at least 1: never earlier than the refusal's
 * real end (SPEC section 6). */
uint64_t ratelimit_retry_after_s(int64_t retry_ms);

#endif
