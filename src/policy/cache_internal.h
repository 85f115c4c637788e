/*
 * cache_internal.h - what the files of the cache stage share (cache.c,
 * cache_flight.c, cache_entry.c, cache_redis.c, cache_refresh.c); nothing
 * outside src/policy/cache*.c includes it. The stage's contract is
 * cache.h.
 *
 *   cache.c          the stage: mode, lookup's answer, hits, stale, done
 *   cache_flight.c   coalescing in a worker, the fleet lock's polling
 *   cache_entry.c    what an entry holds: Vary'd fields, validators, terms
 *   cache_redis.c    every Redis call: lookup, put, unlock, invalidate
 *   cache_refresh.c  the background refresh (stale-while-revalidate)
 */
#ifndef SLUICE_CACHE_INTERNAL_H
#define SLUICE_CACHE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "http/http_cache_control.h"
#include "policy/cache_keys.h"
#include "policy/response_record.h"
#include "redis/redis_client.h"
#include "sluice.h"
#include "util/strbuf.h"

struct config;
struct config_route;
struct event;
struct http_head;
struct req;
struct worker;

#define CACHE_MAX_ENTRY (1u << 20) /* bodies above 1 MiB are not stored */
#define CACHE_MAX_VARY 8           /* more Vary'd fields: not stored */
/* Past its freshness an entry is kept as long again, at least
 * CACHE_STALE_KEEP_MIN_MS and at most CACHE_STALE_KEEP_MAX_MS: to be
 * revalidated, and to answer while the upstream cannot be reached. */
#define CACHE_STALE_KEEP_MIN_MS (10 * 60 * 1000)
#define CACHE_STALE_KEEP_MAX_MS (24 * 3600 * 1000)

/*
 * Across gateways (SPEC section 7), a lookup that finds no entry takes
 * the key's lock in Redis in the same call (cache_get.lua): the holder
 * goes upstream, a request that finds it held looks again every
 * CACHE_LOCK_POLL_MS, CACHE_LOCK_POLLS times at most (so the wait, like
 * the flight's, stays inside the stage deadline), then goes upstream
 * itself. The holder's put releases it; an exchange that failed frees it;
 * a response that may not be stored leaves a "pass" marker for
 * CACHE_PASS_MS so that waiters do not queue on an uncacheable URL.
 */
#define CACHE_LOCK_MS "3000"
#define CACHE_LOCK_POLL_MS 50
#define CACHE_LOCK_POLLS 10
#define CACHE_PASS_MS "10000"

enum cache_mode {
    CACHE_LOOKUP,     /* GET/HEAD: look up, store a miss */
    CACHE_STORE_ONLY, /* the client asked for a fresh answer: no lookup */
    CACHE_INVALIDATE, /* an unsafe method: drop the URL's entry on success */
    CACHE_NONE,       /* bypass */
};

struct cache_flight;

/* A request's cache state (req->stage_data of this stage), freed on done. */
struct cache_req {
    struct req *req; /* borrowed: owns this */
    enum cache_mode mode;
    struct http_cache_control rcc; /* the request's, parsed once by mode_for */
    char hash[CACHE_HASH_HEX];
    char gen[24]; /* seen at lookup; "" when none was made */
    bool store;   /* the response is storable: record it */
    bool waited;  /* it waited for another request's answer once: no more */
    int64_t fresh_ms;
    int64_t stale_if_error_ms;
    int64_t stale_while_revalidate_ms;
    struct response_record rec;
    size_t mark_at; /* where this stage's lines begin in req->response_extra */
    /* A stale entry kept for stale-if-error: its value (owned) and the
     * view into it. */
    struct strbuf stale_value;
    struct response_record_view stale;
    bool has_stale;
    bool revalidating;          /* the stale entry's validators went upstream */
    bool stale_if_error;        /* the stale entry may answer an upstream failure */
    bool stale_if_5xx;          /* ... and a 5xx: within its stale-if-error time (RFC 5861 §4) */
    struct cache_flight *leads; /* borrowed: the flight this miss leads, or NULL */
    bool locked;                /* it holds the fleet's lock on the key (cache_get.lua) */
    unsigned polls;             /* looks again while another gateway holds the lock */
    struct event *poll_timer;   /* owns; NULL until it first waits */
    struct cache_req *next_waiter;   /* borrowed: the next one waiting on a flight */
    struct cache_flight *following;  /* borrowed: the flight whose stream it relays, or NULL */
    struct cache_req *next_follower; /* borrowed: the next one following that flight */
};

/* ---- cache.c ---------------------------------------------------------- */

/* Looks c's key up: the worker's hot copy, else Redis (on_lookup). */
void cache_lookup(struct cache_req *c);
/* Marks c's response (X-Cache: result, Cache-Status: sluice; status_field). */
void cache_mark(struct cache_req *c, const char *result, const char *status_field);
/* Marks, then the request goes on to the upstream (req_next). */
void cache_forward(struct cache_req *c, const char *result, const char *status_field);

/* ---- cache_flight.c: coalescing ------------------------------------ */

/* The worker's slot of the flight for route and hash: *slot is NULL when
 * none is in the air. */
struct cache_flight **cache_flight_slot(const struct config_route *route, const char *hash);
/* A flight for route and hash, in its (empty) slot; owned by the worker's
 * table until cache_flight_end. */
struct cache_flight *cache_flight_new(struct cache_flight **slot, const struct config_route *route,
                                      const char *hash);
/* The leader's exchange ended (its entry stored, if any): the waiters look
 * again, and the flight is freed. NULL: nothing. */
void cache_flight_end(struct cache_flight *f);
/* The leader's response head says it will not be stored: its waiters,
 * and the misses that come while it is still in the air, go upstream now
 * rather than at the end of the wait. NULL: nothing. */
void cache_flight_pass(struct cache_flight *f);
/* A miss: wait on the flight of c's key (true: c is suspended until the
 * flight ends or its wait runs out), follow its stream (true: c is
 * answered), or lead one (c->leads, false). */
bool cache_flight_join(struct cache_req *c);
/* The leader's storable response head says its body comes over time (a
 * stream): its waiters, and the misses that come while it lasts, follow
 * it (each answered with the head, the body so far, then what passes). */
void cache_flight_follow(struct cache_flight *f, struct cache_req *leader);
/* A piece of the leader's body (decoded), for its followers. */
void cache_flight_push(struct cache_flight *f, const char *p, size_t len);
/* The leader's exchange ended, whole or not: so do its followers' replies.
 * NULL: nothing. */
void cache_flight_unfollow_all(struct cache_flight *f, bool whole);
/* A follower's exchange ended first (its client went away). */
void cache_flight_leave(struct cache_req *c);
/* Another gateway holds the key's lock: c looks again in CACHE_LOCK_POLL_MS. */
void cache_flight_poll_later(struct cache_req *c);

/* ---- cache_entry.c: what an entry holds ---------------------------- */

/* Whether a response may be stored, how long it is fresh, and how long
 * past that it may be served stale. */
struct store_terms {
    bool store;
    int64_t fresh_ms, stale_if_error_ms, stale_while_revalidate_ms;
};

/* The value of a stored header line named lower_name ("etag"), or an
 * empty slice; it borrows lines. */
struct sl_slice cache_entry_field(struct sl_slice lines, const char *lower_name);
/* A POST entry's storable status codes (GET/HEAD: cache_freshness_storable). */
bool cache_entry_post_storable(unsigned status);
/* Appends the request fields an entry must match (Vary) as meta lines;
 * false when the response cannot be stored (Vary: *, too many fields). */
bool cache_entry_vary_meta(const struct http_head *resp, const struct http_head *reqh,
                           struct strbuf *meta);
/* True when the entry's Vary'd fields (meta lines after the first) match. */
bool cache_entry_vary_matches(struct sl_slice meta, const struct http_head *reqh);
/* The terms of a response h to a GET (request reqh) on route. */
struct store_terms cache_entry_terms(const struct http_head *h, const struct http_head *reqh,
                                     const struct config_route *route);
/* Appends a stored entry's ETag and Last-Modified as If-None-Match and
 * If-Modified-Since lines; false when it has neither. */
bool cache_entry_append_validators(struct strbuf *out, struct sl_slice stored);

/* ---- cache_redis.c: the Redis calls -------------------------------- */

/* An entry's place: what a Redis call about it needs (all borrowed). */
struct entry_ref {
    struct worker *worker;
    const struct config *cfg;
    const struct config_route *route;
    const char *hash;
    const char *gen; /* the generation seen at lookup */
};

struct entry_ref cache_redis_ref(const struct cache_req *c);
/* cache_get.lua for c's key (with the fleet lock when take_lock); false
 * when nothing was sent (the worker's Redis is gone, the keys do not fit).
 * cb gets c as its arg. */
bool cache_redis_lookup(struct cache_req *c, bool take_lock, redis_reply_cb cb);
/* Sends the put of rec, the response (head resp: its Age and Vary) to
 * reqh. Returns true when sent: the put's reply then ends the flight
 * leads. */
bool cache_redis_put(const struct entry_ref *e, const struct response_record *rec,
                     const struct store_terms *t, const struct http_head *resp,
                     const struct http_head *reqh, struct cache_flight *leads);
/* The lock holder ended without storing: pass (its response may not be
 * stored) or free the lock (its exchange failed). */
void cache_redis_unlock(struct cache_req *c, bool pass);
/* An unsafe method succeeded: the URL's entry is dropped (RFC 9111 §4.4). */
void cache_redis_invalidate(struct cache_req *c);

/* ---- cache_refresh.c: stale-while-revalidate ------------------------- */

/* Starts the background refresh of c's stale entry (c->stale), unless a
 * request for the key is upstream already. It outlives c. */
void cache_refresh_start(struct cache_req *c);

#endif
