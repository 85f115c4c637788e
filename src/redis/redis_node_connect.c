/*
 * redis_node_connect.c - how a Redis connection (redis_node.c) comes up
 * and goes down: locating the server (Sentinel, a cluster's subscriber),
 * connect(2), the TLS handshake, the connect sequence (AUTH, SELECT, ROLE,
 * SUBSCRIBE or SCRIPT LOAD), breaking (every command held fails once) and
 * reconnecting after a backoff. The state diagram is in redis_node.c.
 */
#include <errno.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "redis/redis_node_internal.h"
#include "redis/redis_script.h"
#include "redis/reply_arena.h"
#include "sluice.h"
#include "util/clock.h"
#include "util/log.h"

void
node_become_ready(struct redis_node *rc)
{
    rc->state = RS_READY;
    rc->backoff_ms = REDIS_BACKOFF_MIN_MS;
    rc->heard_us = clock_now_us();
    node_log_state(rc, true, NULL);
    if (rc->subscribe != NULL) {
        rc->dispatching++;
        rc->on_message(rc->owner, NULL, 0);
        rc->dispatching--;
        return;
    }
    struct pending *p;
    while ((p = pending_list_pop(&rc->waiting)) != NULL)
        node_send_pending(rc, p);
}

/* AUTH, SELECT and SCRIPT LOAD go out as one pipeline; callers' commands
 * wait until all have answered, so none runs unauthenticated. */
static void
setup_start(struct redis_node *rc)
{
    const struct redis_target *t = &rc->target;
    rc->state = RS_SETUP;
    rc->reader = reply_arena_reader(rc->arena);
    rc->read_want = REDIS_IO_WANT_READ;
    node_io_update(rc);
    rc->setup_left = 0;
    if (rc->bare && rc->subscribe == NULL) {
        node_become_ready(rc);
        return;
    }
    if (t->pass[0] != '\0' && !rc->bare) {
        /* AUTH user pass (Redis 6 ACL) or AUTH pass */
        const char *argv[3] = {"AUTH", t->user, t->pass};
        size_t lens[3] = {4, strlen(t->user), strlen(t->pass)};
        if (t->user[0] == '\0') {
            argv[1] = t->pass;
            lens[1] = lens[2];
        }
        node_send_internal(rc, PENDING_SETUP, "AUTH", NULL, t->user[0] ? 3 : 2, argv, lens);
        rc->setup_left++;
    }
    if (t->db != 0 && !rc->bare) {
        char db[16];
        snprintf(db, sizeof(db), "%u", t->db);
        const char *argv[] = {"SELECT", db};
        size_t lens[] = {6, strlen(db)};
        node_send_internal(rc, PENDING_SETUP, "SELECT", NULL, 2, argv, lens);
        rc->setup_left++;
    }
    if (rc->on_locate != NULL) {
        /* Sentinel's answer may be stale (a failover under way, a
         * partitioned sentinel): only a master will do. */
        const char *argv[] = {"ROLE"};
        size_t lens[] = {4};
        node_send_internal(rc, PENDING_ROLE, "ROLE", NULL, 1, argv, lens);
        rc->setup_left++;
    }
    if (rc->subscribe != NULL) {
        const char *argv[] = {"SUBSCRIBE", rc->subscribe};
        size_t lens[] = {9, strlen(rc->subscribe)};
        node_send_internal(rc, PENDING_SETUP, "SUBSCRIBE", NULL, 2, argv, lens);
        rc->setup_left++;
        return;
    }
    if (rc->probe) {
        const char *argv[] = {"CLUSTER", "SLOTS"};
        size_t lens[] = {7, 5};
        node_send_internal(rc, PENDING_PROBE, "CLUSTER SLOTS", NULL, 2, argv, lens);
        rc->setup_left++;
    }
    for (size_t i = 0; i < redis_script_count; i++) {
        node_send_script_load(rc, PENDING_SETUP, &redis_script_table[i]);
        rc->setup_left++;
    }
    if (rc->setup_left == 0)
        node_become_ready(rc);
}

void
node_tls_step(struct redis_node *rc)
{
    char err[256];
    if (redis_tls_handshake(rc->tls, &rc->tls_want, err, sizeof(err)) == 0) {
        setup_start(rc);
        return;
    }
    if (rc->tls_want == REDIS_IO_ERROR) {
        node_conn_break(rc, err);
        return;
    }
    node_io_update(rc);
}

void
node_connected(struct redis_node *rc)
{
    if (!rc->target.tls) {
        setup_start(rc);
        return;
    }
    rc->tls = redis_tls_new(rc->tls_ctx, rc->fd);
    rc->state = RS_TLS;
    node_tls_step(rc);
}

/* A socket connecting to the target; -1 with why set. The name is
 * resolved with getaddrinfo, which blocks: it runs only on (re)connects,
 * and redis.url names an address or a name in /etc/hosts in practice. */
static int
socket_connect(struct redis_node *rc, bool *done, const char **why)
{
    const struct redis_target *t = &rc->target;
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof(ss));
    if (t->is_unix) {
        struct sockaddr_un *su = (struct sockaddr_un *)&ss;
        su->sun_family = AF_UNIX;
        snprintf(su->sun_path, sizeof(su->sun_path), "%s", t->path);
        len = sizeof(*su);
    } else {
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
        char port[8];
        snprintf(port, sizeof(port), "%d", t->port);
        int gai = getaddrinfo(t->host, port, &hints, &res);
        if (gai != 0) {
            *why = gai_strerror(gai);
            return -1;
        }
        memcpy(&ss, res->ai_addr, res->ai_addrlen);
        len = res->ai_addrlen;
        freeaddrinfo(res);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    if (!t->is_unix) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    *done = connect(fd, (struct sockaddr *)&ss, len) == 0;
    if (!*done && errno != EINPROGRESS) {
        *why = strerror(errno);
        close(fd);
        return -1;
    }
    return fd;
}

uint32_t
node_connect_limit_ms(const struct redis_node *rc)
{
    return rc->timeout_ms > REDIS_CONNECT_MIN_MS ? rc->timeout_ms : REDIS_CONNECT_MIN_MS;
}

static void
retry_schedule(struct redis_node *rc)
{
    if (rc->retired)
        return;
    struct timeval tv = {rc->backoff_ms / 1000, (rc->backoff_ms % 1000) * 1000};
    evtimer_add(rc->retry, &tv);
    rc->backoff_ms =
        rc->backoff_ms * 2 > REDIS_BACKOFF_MAX_MS ? REDIS_BACKOFF_MAX_MS : rc->backoff_ms * 2;
}

/* Starts a connect; never runs a callback (commands wait in `waiting`). */
void
node_conn_start(struct redis_node *rc)
{
    char err[256];
    const char *why = err;
    SL_ASSERT(rc->state == RS_DOWN || rc->state == RS_LOCATING);
    if (rc->target.tls && rc->tls_ctx == NULL) {
        rc->tls_ctx = redis_tls_ctx_new(&rc->target.tls_opt, rc->target.host, err, sizeof(err));
        if (rc->tls_ctx == NULL)
            goto fail;
    }
    bool done;
    int fd = socket_connect(rc, &done, &why);
    if (fd < 0)
        goto fail;
    rc->fd = fd;
    rc->state = RS_CONNECTING;
    rc->connect_deadline_us = clock_now_us() + (int64_t)node_connect_limit_ms(rc) * 1000;
    node_timer_arm(rc, rc->connect_deadline_us);
    if (done)
        node_connected(rc);
    else
        node_io_update(rc);
    return;

fail:
    if (rc->state == RS_LOCATING) {
        node_conn_break(rc, why); /* commands wait: fail them */
        return;
    }
    node_log_state(rc, false, why);
    retry_schedule(rc);
}

/* DOWN (or new) -> LOCATING: commands wait while the owner looks up the
 * address, within the connect limit. */
static void
locate_start(struct redis_node *rc)
{
    rc->state = RS_LOCATING;
    rc->connect_deadline_us = clock_now_us() + (int64_t)node_connect_limit_ms(rc) * 1000;
    node_timer_arm(rc, rc->connect_deadline_us);
    rc->on_locate(rc->owner, rc);
}

/*
 * Closes the connection and fails every command it held (and every one
 * waiting for it) with redis_error_unavailable, each exactly once, after
 * the client is already DOWN: a callback that issues a command gets it
 * failed on the next turn, and never sees a half-closed client.
 */
void
node_conn_break(struct redis_node *rc, const char *why_in)
{
    struct pending_list dead = {NULL, NULL};
    char why[320];
    snprintf(why, sizeof(why), "%s", why_in); /* why_in may live in rc->tls, freed below */
    if (rc->io_what != 0)
        event_del(rc->io);
    rc->io_what = 0;
    redis_tls_free(rc->tls);
    rc->tls = NULL;
    if (rc->fd >= 0)
        close(rc->fd);
    rc->fd = -1;
    if (rc->reader != NULL)
        redisReaderFree(rc->reader);
    rc->reader = NULL;
    rc->out_off = rc->out_len = 0;
    rc->write_blocked = false;
    rc->state = RS_DOWN;
    node_log_state(rc, false, why);
    pending_list_take(&dead, &rc->inflight);
    pending_list_take(&dead, &rc->waiting);
    retry_schedule(rc);
    pending_fail_all(rc, &dead, redis_error_unavailable);
    node_maybe_retire(rc);
}

void
node_on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct redis_node *rc = arg;
    if (rc->retired)
        return;
    if (rc->on_locate != NULL && rc->state <= RS_LOCATING)
        locate_start(rc);
    else if (rc->state == RS_DOWN)
        node_conn_start(rc);
}

/* A reply to our own connect sequence; breaks the connection when Redis
 * refuses it (the down line says why: wrong password, unknown db...). */
void
node_setup_reply(struct redis_node *rc, struct pending *p, const redisReply *r)
{
    char why[300];
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof(why), "%s refused: %.*s", p->what, (int)r->len, r->str);
        node_conn_break(rc, why);
        return;
    }
    if (p->script != NULL && (r->type != REDIS_REPLY_STRING || r->len != 40 ||
                              memcmp(r->str, p->script->sha1, 40) != 0)) {
        snprintf(why, sizeof(why), "SCRIPT LOAD %s: Redis names it by another SHA1",
                 p->script->name);
        node_conn_break(rc, why);
        return;
    }
    if (p->kind == PENDING_ROLE &&
        (r->type != REDIS_REPLY_ARRAY || r->elements == 0 ||
         r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "master") != 0)) {
        node_conn_break(rc, "ROLE: not a master (the located address is out of date)");
        return;
    }
    if (--rc->setup_left == 0)
        node_become_ready(rc);
}

void
redis_node_located(struct redis_node *rc, const char *host, int port, const char *why)
{
    if (rc->state != RS_LOCATING || rc->closing)
        return;
    if (host == NULL || strlen(host) >= sizeof(rc->target.host)) {
        node_conn_break(rc, host == NULL ? why : "the located address is too long");
        return;
    }
    if (rc->target.is_unix || port != rc->target.port || strcmp(host, rc->target.host) != 0) {
        rc->target.is_unix = false;
        memcpy(rc->target.host, host, strlen(host) + 1);
        rc->target.port = port;
        /* its default server name is the host's */
        redis_tls_ctx_free(rc->tls_ctx);
        rc->tls_ctx = NULL;
        redis_target_describe(&rc->target, rc->where, sizeof(rc->where));
        log_info("redis (%s): located at %s", rc->name, rc->where);
    }
    node_conn_start(rc);
}

void
redis_node_master_moved(struct redis_node *rc, const char *host, int port)
{
    if (rc->on_locate == NULL || rc->closing || rc->retired || rc->state == RS_LOCATING)
        return;
    bool same =
        !rc->target.is_unix && rc->target.port == port && strcmp(rc->target.host, host) == 0;
    if (rc->state != RS_DOWN) {
        if (same)
            return; /* it found the new master already */
        node_conn_break(rc, "Sentinel: the master moved (+switch-master)");
    }
    /* a lookup now, not after the backoff */
    rc->backoff_ms = REDIS_BACKOFF_MIN_MS;
    evtimer_del(rc->retry);
    event_active(rc->retry, EV_TIMEOUT, 0);
}
