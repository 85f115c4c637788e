/*
 * cache_forget.h - telling every gateway of the fleet that its workers'
 * hot copies (cache_hot.h) are out of date: after a purge or an unsafe
 * method's invalidation, this gateway forgets at once and publishes
 * "forget" on Redis pub/sub; every gateway's admin thread listens, and
 * forgets when another gateway's message comes, or when its subscription
 * (re)starts (what was published while it was down is lost). Pub/sub is
 * at most once: a message lost in flight still costs only until the
 * entries' CACHE_HOT_TTL_MS ends.
 *
 *   gateway A: purge -> INCR gen, PUBLISH PREFIXcache:forget A (the same
 *              connection, so Redis runs them in that order) -> forget locally
 *   gateway B: admin thread's subscriber -> "A" != B -> cache_hot_forget_all()
 */
#ifndef SLUICE_CACHE_FORGET_H
#define SLUICE_CACHE_FORGET_H

#include <stddef.h>

struct redis_client;

/* Tells the other gateways to forget (this one forgets with
 * cache_hot_forget_all). after_key: the key of the command that purged or
 * invalidated, sent just before on rc: the news goes where that command
 * went (on a cluster, its slot's node), so it is published after the
 * command ran. prefix: redis.prefix. */
void cache_forget_publish(struct redis_client *rc, const char *prefix, const char *after_key,
                          size_t after_key_len);

/* Listens on rc (the admin thread's client) for the other gateways'
 * news; once per client. */
void cache_forget_listen(struct redis_client *rc, const char *prefix);

#endif
