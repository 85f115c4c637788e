/*
 * cache_freshness.h - RFC 9111 decisions on a response, for a shared cache:
 * may it be stored (section 3), how long is it fresh (4.2.1, 4.2.2), its
 * Age (5.1), may it be served stale (4.2.4). Pure: the clock is passed in.
 */
#ifndef SLUICE_CACHE_FRESHNESS_H
#define SLUICE_CACHE_FRESHNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "sluice.h"

struct http_head;
struct http_cache_control;

#define CACHE_HEURISTIC_MAX_MS (24 * 3600 * 1000LL) /* Last-Modified heuristic cap */

/* An HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, or the obsolete RFC 850 and
 * asctime forms; names compared without case. false when malformed. now_s
 * places RFC 850's two-digit year (at most 50 years ahead of it). */
bool cache_freshness_http_date(struct sl_slice v, int64_t now_s, int64_t *out_s);

/* The response's Age in seconds: its first field's leading delta-seconds;
 * 0 when absent or malformed (RFC 9111 §5.1: ignored). */
int64_t cache_freshness_age_s(const struct http_head *resp);

/* May a shared cache store this response to a GET? cc: its directives
 * (http_cache_control_parse_response); authorized: the request carried
 * credentials the upstream saw (section 3.5). */
bool cache_freshness_storable(const struct http_head *resp, const struct http_cache_control *cc,
                              bool authorized);

/* Its freshness lifetime in ms (0: stale on arrival). ttl_ms: the route's
 * ttl, the heuristic the operator chose (0: none, then 10% of the time
 * since Last-Modified, at most CACHE_HEURISTIC_MAX_MS). now_s: when it
 * arrived, for a missing Date. */
int64_t cache_freshness_lifetime_ms(const struct http_head *resp,
                                    const struct http_cache_control *cc, uint32_t ttl_ms,
                                    int64_t now_s);

/* A stored response's directives let a stale copy be served (by a cache
 * cut off from the upstream): no no-cache, must-revalidate,
 * proxy-revalidate or s-maxage (which implies proxy-revalidate). */
bool cache_freshness_stale_allowed(const struct http_cache_control *cc);

#endif
