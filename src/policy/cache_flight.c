/*
 * cache_flight.c - coalescing misses (SPEC section 7), in the cache stage.
 *
 * In one worker, concurrent misses for one key make one upstream request.
 * The first miss leads a flight; the next ones wait on it (suspended in
 * the stage) until the leader's exchange ended (its entry is then stored,
 * and they look again: a hit) or CACHE_COALESCE_WAIT_MS passed (they go
 * upstream themselves), whichever is first: the wait stays inside the
 * connection's stage deadline. The timer is made when the first waiter
 * comes: most flights have none, and making and freeing one per miss was
 * a share of every miss's work.
 *
 *   miss --no flight--> lead (c->leads) ----exchange ends----> end: waiters look again
 *        --flight-----> wait ----timer--> waiters go upstream (later misses too)
 *                         \---leader's head: not storable--> the same, at once
 *
 * A leader whose storable response comes over time (chunked or until
 * close: an LLM's event stream) would keep its waiters past the wait, and
 * each would then go upstream itself. Instead its waiters follow it: each
 * is answered at once with the leader's head and the body recorded so far,
 * then every piece of body as it passes the leader (chunked), and ends when
 * the leader's exchange ends (cut short if it was cut: the upstream failed).
 * The leader's client may leave: its exchange then runs on to the end
 * without it (req->keep_exchange, proxy_detach). A miss that comes while
 * the stream lasts follows too. Not followed (they wait as before): a
 * response with Vary (another variant may be the waiter's), a HEAD or
 * HTTP/1.0 request, a record grown too big to give a late comer the start.
 *
 *   waiters --leader's head: storable, a stream--> followers
 *   leader's body --> each follower; leader's end --> their end
 *
 * Across gateways, the key's lock in Redis (cache_internal.h): a miss that
 * finds it held looks again CACHE_LOCK_POLLS times (cache_flight_poll_later).
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/pipeline.h"
#include "core/req.h"
#include "core/worker.h"
#include "policy/cache_internal.h"
#include "util/clock.h"

#define CACHE_COALESCE_WAIT_MS 500
#define CACHE_FLIGHT_SLOTS 256

struct cache_flight {
    const struct config_route *route; /* borrowed; the leader's config holds it */
    char hash[CACHE_HASH_HEX];
    struct cache_req *waiters;   /* borrowed: suspended requests */
    struct cache_req *leader;    /* borrowed: while its stream is followed, else NULL */
    struct cache_req *followers; /* borrowed: requests relaying the leader's stream */
    int64_t wait_until_ms;       /* clock_now_ms() when the wait is over */
    struct event *timer;         /* owns; NULL until the first waiter */
    bool expired;                /* the wait is over: later misses do not wait */
    struct cache_flight *next;   /* owned by the worker's table */
};

static _Thread_local struct cache_flight *flights[CACHE_FLIGHT_SLOTS];

static unsigned
hex_digit(char c)
{
    return c >= 'a' ? (unsigned)(c - 'a' + 10) : (unsigned)(c - '0') & 15;
}

struct cache_flight **
cache_flight_slot(const struct config_route *route, const char *hash)
{
    /* The key is a BLAKE2b hash in hex: its first byte is as good a slot
     * as any hash of the whole string, and cheaper. */
    unsigned h = (unsigned)((uintptr_t)route >> 4) ^ (hex_digit(hash[0]) << 4 | hex_digit(hash[1]));
    struct cache_flight **f = &flights[h % CACHE_FLIGHT_SLOTS];
    while (*f != NULL && ((*f)->route != route || memcmp((*f)->hash, hash, CACHE_HASH_HEX) != 0))
        f = &(*f)->next;
    return f;
}

/* A follower gets the whole 200 as it streams: not for a HEAD or an
 * HTTP/1.0 request (no chunked body), nor a conditional or a Range one
 * (a stored entry would answer those with 304 or 206). */
static bool
can_follow(const struct cache_req *c)
{
    const struct req *req = c->req;
    const struct http_head *h = &req->head;
    return req->conn != NULL && !req->head_only && h->version_minor >= 1 &&
           http_head_find(h, "range") == NULL && http_head_find(h, "if-none-match") == NULL &&
           http_head_find(h, "if-modified-since") == NULL;
}

/* c relays the leader's stream from now on. It is linked before the reply
 * goes: a reply that finds its client gone finishes the request inside
 * req_reply, and its on_done (cache_flight_leave) unlinks it; c and its
 * req are not touched after. */
static void
follow(struct cache_flight *f, struct cache_req *c)
{
    if (c->locked) {
        /* the leader's lock had expired and c took it: it stores nothing */
        cache_redis_unlock(c, false);
        c->locked = false;
    }
    const struct response_record *rec = &f->leader->rec;
    struct http_stored_response head = {
        rec->status, {rec->headers.p, rec->headers.len}, {rec->body.p, rec->body.len}};
    c->following = f;
    c->next_follower = f->followers;
    f->followers = c;
    f->leader->req->keep_exchange = true; /* its client leaving must not cut c */
    cache_mark(c, "MISS", "fwd=miss; collapsed");
    if (c->req->cache_post_)
        req_consume_body_at_hand(c->req); /* as a POST hit does: it is not forwarded */
    struct stage_reply r = {.status = head.status, .stored = &head, .stream = true};
    req_reply(c->req, &r);
}

void
cache_flight_follow(struct cache_flight *f, struct cache_req *leader)
{
    if (f == NULL)
        return;
    f->leader = leader;
    struct cache_req *w = f->waiters, *keep = NULL;
    f->waiters = NULL;
    while (w != NULL) {
        struct cache_req *next = w->next_waiter;
        w->next_waiter = NULL;
        if (can_follow(w)) {
            follow(f, w);
        } else {
            w->next_waiter = keep;
            keep = w;
        }
        w = next;
    }
    f->waiters = keep;
}

void
cache_flight_push(struct cache_flight *f, const char *p, size_t len)
{
    if (f == NULL)
        return;
    /* A push may close a follower that reads too slowly: its on_done
     * unlinks it, so the next one is read first. */
    for (struct cache_req *c = f->followers, *next; c != NULL; c = next) {
        next = c->next_follower;
        req_stream_push(c->req, p, len);
    }
}

void
cache_flight_unfollow_all(struct cache_flight *f, bool whole)
{
    if (f == NULL)
        return;
    f->leader = NULL;
    struct cache_req *c;
    while ((c = f->followers) != NULL) {
        f->followers = c->next_follower;
        c->following = NULL;
        c->next_follower = NULL;
        req_stream_end(c->req, whole); /* may run c's on_done: c is unlinked */
    }
}

void
cache_flight_leave(struct cache_req *c)
{
    struct cache_req **p = &c->following->followers;
    while (*p != NULL && *p != c)
        p = &(*p)->next_follower;
    if (*p != NULL)
        *p = c->next_follower;
    c->following = NULL;
}

/* The waiters go on: those of a finished leader look again (a hit, most
 * likely); those whose wait ran out go upstream. */
static void
release_waiters(struct cache_flight *f, bool look_again)
{
    struct cache_req *w = f->waiters;
    f->waiters = NULL;
    while (w != NULL) {
        struct cache_req *next = w->next_waiter;
        w->next_waiter = NULL;
        if (look_again)
            cache_lookup(w);
        else
            cache_forward(w, "MISS", "fwd=miss");
        w = next;
    }
}

static void
on_flight_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct cache_flight *f = arg;
    f->expired = true;
    release_waiters(f, false);
}

/* The waiters go from the timer's event on the next loop turn, not inside
 * the leader's response hook: their forwards must not run nested in the
 * leader's upstream read. Waiters exist only once the timer does. */
void
cache_flight_pass(struct cache_flight *f)
{
    if (f == NULL)
        return;
    f->expired = true;
    if (f->timer != NULL)
        event_active(f->timer, EV_TIMEOUT, 0);
}

void
cache_flight_end(struct cache_flight *f)
{
    if (f == NULL)
        return;
    SL_ASSERT(f->followers == NULL); /* the leader's on_done ended them */
    struct cache_flight **slot = cache_flight_slot(f->route, f->hash);
    *slot = f->next;
    if (f->timer != NULL)
        event_free(f->timer);
    release_waiters(f, true);
    free(f);
}

struct cache_flight *
cache_flight_new(struct cache_flight **slot, const struct config_route *route, const char *hash)
{
    struct cache_flight *f = xcalloc(1, sizeof(*f));
    f->route = route;
    memcpy(f->hash, hash, sizeof(f->hash));
    f->wait_until_ms = clock_now_ms() + CACHE_COALESCE_WAIT_MS;
    *slot = f;
    return f;
}

/* The first waiter came: the timer ends the wait when it is over. False
 * when it is over already (later misses do not wait). */
static bool
flight_arm(struct cache_flight *f, struct worker *w)
{
    int64_t left_ms = f->wait_until_ms - clock_now_ms();
    if (left_ms <= 0) {
        f->expired = true;
        return false;
    }
    f->timer = evtimer_new(w->base, on_flight_timer, f);
    struct timeval wait = {(time_t)(left_ms / 1000), (suseconds_t)(left_ms % 1000 * 1000)};
    evtimer_add(f->timer, &wait);
    return true;
}

bool
cache_flight_join(struct cache_req *c)
{
    struct req *req = c->req;
    if (c->leads != NULL)
        return false; /* it leads already (and looks again for the fleet) */
    struct cache_flight **slot = cache_flight_slot(req->route, c->hash);
    if (*slot != NULL && (*slot)->leader != NULL && can_follow(c) &&
        !(*slot)->leader->rec.too_big) {
        follow(*slot, c);
        return true;
    }
    if (*slot != NULL) {
        if ((*slot)->expired || c->waited ||
            ((*slot)->timer == NULL && !flight_arm(*slot, req->worker)))
            return false;
        c->waited = true;
        c->next_waiter = (*slot)->waiters;
        (*slot)->waiters = c;
        return true;
    }
    c->leads = cache_flight_new(slot, req->route, c->hash);
    return false;
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    cache_lookup(arg);
}

void
cache_flight_poll_later(struct cache_req *c)
{
    if (c->poll_timer == NULL)
        c->poll_timer = evtimer_new(c->req->worker->base, on_poll, c);
    c->polls++;
    struct timeval wait = {0, CACHE_LOCK_POLL_MS * 1000};
    evtimer_add(c->poll_timer, &wait);
}
