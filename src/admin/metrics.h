/*
 * metrics.h - Prometheus counters and histograms (SPEC sections 10, 11).
 *
 * Each worker records into its own shard (a mutex that only the scraper
 * contends for), so the request path never shares a cache line with
 * another worker. The admin listener renders the sum of all shards.
 */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct metrics_shard;
struct evbuffer;
struct config;

/* Creates a shard registered in the process-wide list; never freed before exit. */
struct metrics_shard *metrics_shard_new(void);

/* One finished request: sluice_requests_total{route,status} and
 * sluice_request_duration_seconds. route may be "" for no route (404). */
void metrics_record_request(struct metrics_shard *shard, const char *route, unsigned status,
                            uint64_t duration_us);

/* sluice_upstream_errors_total{upstream,kind}; kind is "connect", "timeout", "reset". */
void metrics_record_upstream_error(struct metrics_shard *shard, const char *upstream,
                                   const char *kind);

/* sluice_ratelimit_decisions_total{limit,decision}; decision is
 * "admitted" or "refused". */
void metrics_record_limit(struct metrics_shard *shard, const char *limit, const char *decision);

/* sluice_cache_results_total{route,result}; result is HIT, MISS or BYPASS. */
void metrics_record_cache(struct metrics_shard *shard, const char *route, const char *result);

/* One Redis round trip: sluice_redis_duration_seconds when it answered,
 * sluice_redis_errors_total (duration ignored) when it failed or timed out.
 * Thread-safe (global atomics); fed by every redis_client (observe). */
void metrics_record_redis(uint64_t duration_us, bool error);

/* One read of a Redis Cluster's slot map after a change:
 * sluice_redis_slot_map_refreshes_total{client}, client being the Redis
 * client's name ("worker 0", "admin"). Thread-safe; rare (at most one per
 * client per 100 ms), so it takes a mutex. Fed by every redis_client
 * (slot_map_read). */
void metrics_record_slot_map_refresh(const char *client);

/* Appends the Prometheus text exposition of every shard, plus
 * sluice_upstream_up{upstream,server} read from cfg's health state.
 * cfg may be NULL (no upstream series). */
void metrics_render(struct evbuffer *out, const struct config *cfg);

#endif
