/*
 * health.h - health of what the gateway depends on, checked from the main
 * thread's event loop by the admin module:
 *
 *   Redis:     PING every 1 s through the main thread's redis_client
 *              (owned here); down when no reply within redis.timeout, or
 *              disconnected (the client reconnects with backoff).
 *   upstreams: every 2 s a non-blocking TCP connect to each server; the
 *              result goes into the config's server_down_until_ms array,
 *              which workers also write on passive failures and read to
 *              pick a server.
 */
#ifndef SLUICE_HEALTH_H
#define SLUICE_HEALTH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct event_base;
struct health;
struct redis_client;

struct health_redis_status {
    bool up;           /* the last PING answered within the timeout */
    double latency_ms; /* round trip of that PING; < 0 when none yet */
};

/* Starts both checks on base. cfg is borrowed: the caller keeps a reference
 * until health_set_config() or health_free(). The first Redis connect is
 * started before this returns; no callback runs inside it. */
struct health *health_new(struct event_base *base, struct config *cfg);

/* After a reload: in-flight upstream probes of the old config are dropped
 * (its arrays may be freed once the caller unrefs it); Redis reconnects
 * only when redis.url, redis.tls or redis.timeout changed: the old client
 * is freed then, so commands still pending on it fail with
 * redis_error_closed. cfg is borrowed, as for health_new(). */
void health_set_config(struct health *h, struct config *cfg);

/* Removes every event and closes every socket first, then frees. */
void health_free(struct health *h);

void health_redis_status(const struct health *h, struct health_redis_status *out);

/* The main thread's Redis client, for the admin API. Borrowed: valid until
 * the next health_set_config() or health_free(). */
struct redis_client *health_redis(struct health *h);

/* True when server i of up is not marked down at now_ms (monotonic). Safe
 * from any thread: the array is only accessed atomically. */
static inline bool
health_server_up(const struct config_upstream *up, size_t i, int64_t now_ms)
{
    if (up->server_down_until_ms == NULL)
        return true;
    return atomic_load_explicit(&up->server_down_until_ms[i], memory_order_relaxed) <= now_ms;
}

/* Number of servers of up that are healthy at now_ms. */
size_t health_upstream_healthy(const struct config_upstream *up, int64_t now_ms);

#endif
