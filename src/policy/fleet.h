/*
 * fleet.h - this gateway among the others that share its Redis: a random
 * id of its own (in concurrency slot ids and heartbeats) and the number of
 * live gateways, learnt from heartbeats (lua/heartbeat.lua) that worker 0
 * writes every FLEET_HEARTBEAT_MS while Redis answers. The count is kept
 * through an outage: that is when the fallback limiter needs it.
 */
#ifndef SLUICE_FLEET_H
#define SLUICE_FLEET_H

#define FLEET_HEARTBEAT_MS 5000
#define FLEET_HEARTBEAT_TTL_MS 15000

struct redis_client;

/* 16 hex digits, the same for every thread of this process. */
const char *fleet_gateway_id(void);

/* Live gateways at the last heartbeat; 1 before any. */
unsigned fleet_live_gateways(void);

/* Sends one heartbeat on rc (prefix: redis.prefix); the reply updates the count. */
void fleet_heartbeat(struct redis_client *rc, const char *prefix);

#endif
