/*
 * health.c - active health checks of Redis and of the upstream servers,
 * run on the main thread's loop by the admin module (see health.h).
 *
 * Redis connection states (h->rc, h->rc_connected):
 *
 *   none --connect()--> connecting --on_connect OK--> connected --PING/1 s-->
 *    ^                      |  fail, or >1 s (tick)        |  disconnect, or a PING
 *    +---- retry timer <----+------------------------------+  still unanswered at the
 *          (backoff 100 ms .. 1 s)                            next tick
 *
 * Redis is "up" while the last PING was answered within redis.timeout. A
 * connection is only ever freed from a timer or from health_free/set_config,
 * never from inside a hiredis callback.
 *
 * Upstream probes write the same server_down_until_ms array that workers
 * write on passive failures, so the two must not undo each other: a
 * successful probe clears a mark only if that mark was set before the probe
 * started (a mark is always set to "then + fail_timeout").
 */
#include "admin/health.h"

#include <errno.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin/metrics.h"
#include "sluice.h"
#include "util/clock.h"
#include "util/log.h"

#define HEALTH_REDIS_PING_MS 1000
#define HEALTH_REDIS_BACKOFF_MIN_MS 100
#define HEALTH_REDIS_BACKOFF_MAX_MS 1000
#define HEALTH_PROBE_INTERVAL_MS 2000

/* Where redis.url points; fixed-size so parsing allocates nothing. */
struct redis_target {
    bool is_unix;
    char host[256]; /* without the [] of an IPv6 literal */
    int port;
    char path[256]; /* unix socket */
    char user[128]; /* "" = none (AUTH with password only) */
    char pass[256]; /* "" = no AUTH */
    unsigned db;    /* parsed for validation; PING does not need it */
};

/* One upstream server's active check. */
struct probe {
    struct health *h;           /* borrowed; owns this probe */
    struct config_upstream *up; /* borrowed from h->cfg */
    size_t server;
    int fd;           /* owns; -1 when no connect is in flight */
    struct event *ev; /* owns; NULL when no connect is in flight */
    int64_t started_ms;
};

enum health_redis_state { HEALTH_REDIS_UNKNOWN, HEALTH_REDIS_DOWN, HEALTH_REDIS_UP };

struct health {
    struct event_base *base; /* borrowed */
    struct config *cfg;      /* borrowed; the admin holds the reference */

    char *redis_url; /* owns; to notice a change on reload */
    struct redis_target target;
    bool target_ok;
    redisAsyncContext *rc; /* owns; NULL when disconnected */
    bool rc_connected;
    int64_t connect_started_ms;
    bool ping_pending;
    bool ping_timed_out; /* the pending PING already counted as a failure */
    int64_t ping_sent_us;
    uint32_t backoff_ms;
    enum health_redis_state redis_state;
    double latency_ms;
    struct event *redis_tick;     /* owns; persistent, every HEALTH_REDIS_PING_MS */
    struct event *redis_deadline; /* owns; one PING's timeout */
    struct event *redis_retry;    /* owns; reconnect after backoff */

    struct probe *probes; /* owns; one per server of every upstream */
    size_t nprobes;
    struct event *probe_tick; /* owns; persistent, every HEALTH_PROBE_INTERVAL_MS */
};

static void
ms_to_tv(uint32_t ms, struct timeval *tv)
{
    tv->tv_sec = ms / 1000;
    tv->tv_usec = (ms % 1000) * 1000;
}

/* ---- redis.url ---------------------------------------------------------- */

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copies [p, p+len) into out (size cap), decoding %XX as RFC 3986 §2.1. */
static int
copy_decoded(char *out, size_t cap, const char *p, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)p[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = hexval(p[i + 1]), lo = hexval(p[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (n + 1 >= cap)
            return -1;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}

static int
parse_uint(const char *p, size_t len, unsigned max, unsigned *out)
{
    unsigned v = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(p[i] - '0');
        if (v > max)
            return -1;
    }
    *out = v;
    return 0;
}

/* host, host:port, [v6] or [v6]:port. */
static int
parse_hostport(const char *p, size_t len, struct redis_target *t)
{
    const char *host = p, *colon = NULL;
    size_t host_len;
    if (len > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', len);
        if (close == NULL)
            return -1;
        host = p + 1;
        host_len = (size_t)(close - host);
        if (close + 1 < p + len) {
            if (close[1] != ':')
                return -1;
            colon = close + 1;
        }
    } else {
        colon = memchr(p, ':', len);
        host_len = colon ? (size_t)(colon - p) : len;
    }
    if (host_len == 0 || host_len >= sizeof(t->host))
        return -1;
    memcpy(t->host, host, host_len);
    t->host[host_len] = '\0';
    unsigned port = 6379;
    if (colon != NULL &&
        (parse_uint(colon + 1, (size_t)(p + len - colon - 1), 65535, &port) < 0 || port == 0))
        return -1;
    t->port = (int)port;
    return 0;
}

/* user:pass, :pass, or user (no password: no AUTH), as redis-py reads them. */
static int
parse_userinfo(const char *p, size_t len, struct redis_target *t)
{
    const char *colon = memchr(p, ':', len);
    size_t user_len = colon ? (size_t)(colon - p) : len;
    if (copy_decoded(t->user, sizeof(t->user), p, user_len) < 0)
        return -1;
    if (colon == NULL)
        return 0;
    return copy_decoded(t->pass, sizeof(t->pass), colon + 1, (size_t)(p + len - colon - 1));
}

/*
 * Parses redis://[user:pass@]host[:port][/db] and unix:///path (SPEC
 * section 3). A query string is ignored. Returns 0, or -1 when malformed
 * (including rediss://, which would need TLS).
 */
static int
redis_url_parse(const char *url, struct redis_target *t)
{
    memset(t, 0, sizeof(*t));
    if (strncmp(url, "unix://", 7) == 0) {
        const char *path = url + 7;
        size_t len = strcspn(path, "?");
        if (len == 0 || path[0] != '/' || len >= sizeof(t->path))
            return -1;
        memcpy(t->path, path, len);
        t->is_unix = true;
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return -1;
    const char *auth = url + 8;
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < auth_len; i++) {
        if (auth[i] == '@')
            at = auth + i; /* the last '@': a password may contain one unencoded */
    }
    if (at != NULL && parse_userinfo(auth, (size_t)(at - auth), t) < 0)
        return -1;
    const char *hp = at ? at + 1 : auth;
    if (parse_hostport(hp, (size_t)(auth + auth_len - hp), t) < 0)
        return -1;
    const char *rest = auth + auth_len;
    if (*rest == '/' && rest[1] != '\0' && rest[1] != '?') {
        size_t db_len = strcspn(rest + 1, "?#");
        if (parse_uint(rest + 1, db_len, 1u << 20, &t->db) < 0)
            return -1;
    }
    return 0;
}

/* ---- Redis PING ----------------------------------------------------------- */

static void redis_connect(struct health *h);

/* Logs only transitions, naming the server by address: the url may hold
 * a password. */
static void
redis_set_state(struct health *h, enum health_redis_state state, const char *why)
{
    if (state == h->redis_state)
        return;
    const struct redis_target *t = &h->target;
    char where[sizeof(t->host) + 16];
    if (t->is_unix)
        snprintf(where, sizeof(where), "%s", t->path);
    else
        snprintf(where, sizeof(where), "%s:%d", t->host, t->port);
    if (state == HEALTH_REDIS_UP)
        log_info("redis: %s is up", where);
    else
        log_warn("redis: %s is down: %s", where, why ? why : "unknown error");
    h->redis_state = state;
}

static void
redis_schedule_retry(struct health *h)
{
    if (evtimer_pending(h->redis_retry, NULL))
        return;
    struct timeval tv;
    ms_to_tv(h->backoff_ms, &tv);
    evtimer_add(h->redis_retry, &tv);
    h->backoff_ms = h->backoff_ms * 2 > HEALTH_REDIS_BACKOFF_MAX_MS ? HEALTH_REDIS_BACKOFF_MAX_MS
                                                                    : h->backoff_ms * 2;
}

/* Forgets the connection, then frees it: the callbacks hiredis runs while
 * freeing (pending replies with NULL, onDisconnect) see h->rc != ac and
 * do nothing. */
static void
redis_drop(struct health *h)
{
    redisAsyncContext *ac = h->rc;
    h->rc = NULL;
    h->rc_connected = false;
    h->ping_pending = false;
    evtimer_del(h->redis_deadline);
    if (ac != NULL)
        redisAsyncFree(ac);
}

static void
redis_on_auth(redisAsyncContext *ac, void *r, void *privdata)
{
    struct health *h = ac->data;
    const redisReply *reply = r;
    if (ac != h->rc || reply == NULL || reply->type != REDIS_REPLY_ERROR)
        return;
    /* The PING that follows fails with NOAUTH and marks Redis down; this
     * line says why. */
    log_warn("redis: AUTH refused: %s", reply->str);
}

static void
redis_on_ping(redisAsyncContext *ac, void *r, void *privdata)
{
    struct health *h = ac->data;
    const redisReply *reply = r;
    if (ac != h->rc)
        return; /* a connection redis_drop() let go of */
    bool late = h->ping_timed_out;
    h->ping_pending = false;
    h->ping_timed_out = false;
    evtimer_del(h->redis_deadline);
    if (late)
        return; /* already counted as an error; stays down until a prompt reply */
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        metrics_record_redis(0, true);
        redis_set_state(h, HEALTH_REDIS_DOWN, reply ? reply->str : "connection lost");
        return;
    }
    int64_t us = clock_now_us() - h->ping_sent_us;
    metrics_record_redis((uint64_t)us, false);
    h->latency_ms = (double)us / 1000.0;
    h->backoff_ms = HEALTH_REDIS_BACKOFF_MIN_MS;
    redis_set_state(h, HEALTH_REDIS_UP, NULL);
}

static void
redis_send_ping(struct health *h)
{
    if (h->rc == NULL || !h->rc_connected || h->ping_pending)
        return;
    if (redisAsyncCommand(h->rc, redis_on_ping, NULL, "PING") != REDIS_OK)
        return;
    h->ping_pending = true;
    h->ping_timed_out = false;
    h->ping_sent_us = clock_now_us();
    struct timeval tv;
    ms_to_tv(h->cfg->redis.timeout_ms ? h->cfg->redis.timeout_ms : 100, &tv);
    evtimer_add(h->redis_deadline, &tv);
}

static void
redis_on_connect(const redisAsyncContext *cac, int status)
{
    struct health *h = cac->data;
    if (cac != h->rc)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this returns. */
        h->rc = NULL;
        redis_set_state(h, HEALTH_REDIS_DOWN, cac->errstr);
        redis_schedule_retry(h);
        return;
    }
    h->rc_connected = true;
    if (h->target.pass[0] != '\0') {
        if (h->target.user[0] != '\0')
            redisAsyncCommand(h->rc, redis_on_auth, NULL, "AUTH %s %s", h->target.user,
                              h->target.pass);
        else
            redisAsyncCommand(h->rc, redis_on_auth, NULL, "AUTH %s", h->target.pass);
    }
    redis_send_ping(h);
}

static void
redis_on_disconnect(const redisAsyncContext *cac, int status)
{
    struct health *h = cac->data;
    if (cac != h->rc)
        return;
    /* hiredis frees the context after this returns. */
    h->rc = NULL;
    h->rc_connected = false;
    h->ping_pending = false;
    evtimer_del(h->redis_deadline);
    redis_set_state(h, HEALTH_REDIS_DOWN, cac->errstr[0] ? cac->errstr : "disconnected");
    redis_schedule_retry(h);
}

static void
redis_connect(struct health *h)
{
    SL_ASSERT(h->rc == NULL);
    if (!h->target_ok)
        return;
    const struct redis_target *t = &h->target;
    redisAsyncContext *ac =
        t->is_unix ? redisAsyncConnectUnix(t->path) : redisAsyncConnect(t->host, t->port);
    if (ac == NULL || ac->err) {
        redis_set_state(h, HEALTH_REDIS_DOWN, ac ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        redis_schedule_retry(h);
        return;
    }
    ac->data = h;
    redisLibeventAttach(ac, h->base);
    redisAsyncSetConnectCallback(ac, redis_on_connect);
    redisAsyncSetDisconnectCallback(ac, redis_on_disconnect);
    h->rc = ac;
    h->rc_connected = false;
    h->connect_started_ms = clock_now_ms();
}

static void
redis_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct health *h = arg;
    if (h->rc == NULL)
        redis_connect(h);
}

static void
redis_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct health *h = arg;
    if (!h->ping_pending || h->ping_timed_out)
        return;
    h->ping_timed_out = true;
    metrics_record_redis(0, true);
    redis_set_state(h, HEALTH_REDIS_DOWN, "PING timed out");
}

static void
redis_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct health *h = arg;
    uint32_t connect_limit_ms = h->cfg->redis.timeout_ms > 1000 ? h->cfg->redis.timeout_ms : 1000;

    if (h->rc == NULL) {
        if (h->target_ok)
            metrics_record_redis(0, true); /* a PING we could not send */
        return;
    }
    if (!h->rc_connected) {
        if (clock_now_ms() - h->connect_started_ms < connect_limit_ms)
            return;
        redis_drop(h);
        metrics_record_redis(0, true);
        redis_set_state(h, HEALTH_REDIS_DOWN, "connect timed out");
        redis_schedule_retry(h);
        return;
    }
    if (h->ping_pending && h->ping_timed_out) {
        /* A whole tick without an answer: the connection may be wedged
         * (half-open TCP, a stopped server); start afresh. */
        redis_drop(h);
        redis_schedule_retry(h);
        return;
    }
    redis_send_ping(h);
}

static void
redis_configure(struct health *h)
{
    free(h->redis_url);
    h->redis_url = xstrdup(h->cfg->redis.url ? h->cfg->redis.url : "");
    h->target_ok = redis_url_parse(h->redis_url, &h->target) == 0;
    if (!h->target_ok)
        log_error("redis: cannot parse redis.url");
    h->backoff_ms = HEALTH_REDIS_BACKOFF_MIN_MS;
    h->redis_state = HEALTH_REDIS_UNKNOWN;
    h->latency_ms = -1;
}

/* ---- upstream probes -------------------------------------------------- */

static void
probe_record(struct probe *p, bool ok, const char *why)
{
    _Atomic int64_t *slot = &p->up->server_down_until_ms[p->server];
    int64_t now = clock_now_ms();
    bool was_up = health_server_up(p->up, p->server, now);
    if (ok) {
        int64_t cur = atomic_load(slot);
        /* A mark set after this probe started (cur - fail_timeout is when
         * it was set) is newer news than our connect: keep it. If a worker
         * writes meanwhile, the exchange fails and its mark stands. */
        if (cur != 0 && cur - (int64_t)p->up->fail_timeout_ms <= p->started_ms)
            atomic_compare_exchange_strong(slot, &cur, 0);
    } else {
        atomic_store(slot, now + (int64_t)p->up->fail_timeout_ms);
    }
    bool is_up = health_server_up(p->up, p->server, now);
    if (was_up != is_up)
        log_warn("upstream %s: server %s is %s%s%s", p->up->name, p->up->servers[p->server].text,
                 is_up ? "up" : "down", why ? ": " : "", why ? why : "");
}

static void
probe_finish(struct probe *p, bool ok, const char *why)
{
    if (p->ev != NULL) {
        event_free(p->ev);
        p->ev = NULL;
    }
    close(p->fd);
    p->fd = -1;
    probe_record(p, ok, why);
}

static void
probe_cb(evutil_socket_t fd, short what, void *arg)
{
    struct probe *p = arg;
    if (what & EV_TIMEOUT) {
        probe_finish(p, false, "connect timed out");
        return;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    probe_finish(p, err == 0, err ? strerror(err) : NULL);
}

static void
probe_start(struct probe *p)
{
    if (p->fd >= 0)
        return; /* the last connect is still in flight (connect_timeout > interval) */
    const struct config_addr *addr = &p->up->servers[p->server];
    int fd = socket(addr->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return; /* out of descriptors says nothing about the server */
    p->fd = fd;
    p->started_ms = clock_now_ms();
    if (connect(fd, (const struct sockaddr *)&addr->sa, addr->sa_len) == 0) {
        probe_finish(p, true, NULL);
        return;
    }
    if (errno != EINPROGRESS) {
        probe_finish(p, false, strerror(errno));
        return;
    }
    uint32_t timeout_ms = p->up->connect_timeout_ms ? p->up->connect_timeout_ms : 2000;
    struct timeval tv;
    ms_to_tv(timeout_ms, &tv);
    p->ev = event_new(p->h->base, fd, EV_WRITE, probe_cb, p);
    event_add(p->ev, &tv);
}

static void
probe_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct health *h = arg;
    for (size_t i = 0; i < h->nprobes; i++)
        probe_start(&h->probes[i]);
}

static void
probes_build(struct health *h)
{
    const struct config *cfg = h->cfg;
    h->nprobes = 0;
    for (size_t u = 0; u < cfg->nupstreams; u++)
        h->nprobes += cfg->upstreams[u].server_down_until_ms ? cfg->upstreams[u].nservers : 0;
    h->probes = xcalloc(h->nprobes ? h->nprobes : 1, sizeof(*h->probes));
    size_t n = 0;
    for (size_t u = 0; u < cfg->nupstreams; u++) {
        struct config_upstream *up = &cfg->upstreams[u];
        for (size_t i = 0; up->server_down_until_ms != NULL && i < up->nservers; i++)
            h->probes[n++] = (struct probe){.h = h, .up = up, .server = i, .fd = -1};
    }
}

/* Drops in-flight connects without recording anything. */
static void
probes_clear(struct health *h)
{
    for (size_t i = 0; i < h->nprobes; i++) {
        struct probe *p = &h->probes[i];
        if (p->ev != NULL)
            event_free(p->ev);
        if (p->fd >= 0)
            close(p->fd);
    }
    free(h->probes);
    h->probes = NULL;
    h->nprobes = 0;
}

/* ---- public ----------------------------------------------------------- */

struct health *
health_new(struct event_base *base, struct config *cfg)
{
    struct health *h = xcalloc(1, sizeof(*h));
    h->base = base;
    h->cfg = cfg;

    h->redis_deadline = evtimer_new(base, redis_deadline_cb, h);
    h->redis_retry = evtimer_new(base, redis_retry_cb, h);
    h->redis_tick = event_new(base, -1, EV_PERSIST, redis_tick_cb, h);
    struct timeval tv;
    ms_to_tv(HEALTH_REDIS_PING_MS, &tv);
    evtimer_add(h->redis_tick, &tv);
    redis_configure(h);
    redis_connect(h);

    probes_build(h);
    h->probe_tick = event_new(base, -1, EV_PERSIST, probe_tick_cb, h);
    ms_to_tv(HEALTH_PROBE_INTERVAL_MS, &tv);
    evtimer_add(h->probe_tick, &tv);
    /* A first round now, so a server that is down at start is known at once. */
    probe_tick_cb(-1, EV_TIMEOUT, h);
    return h;
}

void
health_set_config(struct health *h, struct config *cfg)
{
    probes_clear(h);
    h->cfg = cfg;
    probes_build(h);

    const char *url = cfg->redis.url ? cfg->redis.url : "";
    if (strcmp(url, h->redis_url) == 0)
        return;
    redis_drop(h);
    evtimer_del(h->redis_retry);
    redis_configure(h);
    redis_connect(h);
}

void
health_free(struct health *h)
{
    if (h == NULL)
        return;
    event_free(h->probe_tick);
    probes_clear(h);
    event_free(h->redis_tick);
    event_free(h->redis_retry);
    redis_drop(h);
    event_free(h->redis_deadline);
    free(h->redis_url);
    free(h);
}

void
health_redis_status(const struct health *h, struct health_redis_status *out)
{
    out->up = h->redis_state == HEALTH_REDIS_UP;
    out->latency_ms = out->up ? h->latency_ms : -1;
}

size_t
health_upstream_healthy(const struct config_upstream *up, int64_t now_ms)
{
    size_t n = 0;
    for (size_t i = 0; i < up->nservers; i++)
        n += health_server_up(up, i, now_ms);
    return n;
}
