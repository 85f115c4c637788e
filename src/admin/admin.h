/*
 * admin.h - the admin listener (SPEC section 8 and 11): /healthz, /readyz,
 * /metrics. Runs on the main thread's event loop, never on a worker's, so
 * a slow scraper cannot delay a proxied request.
 */
#ifndef SLUICE_ADMIN_H
#define SLUICE_ADMIN_H

struct event_base;
struct config;
struct admin;

/* Binds cfg->admin_listen and starts the Redis and upstream health checks.
 * Takes its own reference on cfg. Returns NULL (after logging why) when
 * the address cannot be bound. With no admin address configured
 * (admin_listen.text == NULL) nothing is bound, but the health checks
 * still run: workers rely on the upstream probes. */
struct admin *admin_new(struct event_base *base, struct config *cfg);

/* After a reload: takes a reference on cfg, drops the old one. The admin
 * address itself is not rebound (a restart is needed, as for listen). */
void admin_set_config(struct admin *admin, struct config *cfg);

void admin_free(struct admin *admin);

#endif
