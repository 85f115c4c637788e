/*
 * conn.c - client connections: heads, the gateway's own replies,
 * keep-alive and timeouts. See conn.h for the state diagram.
 */
#include "net/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config/config.h"
#include "config/route.h"
#include "core/pipeline.h"
#include "core/req.h"
#include "core/worker.h"
#include "http/http_headers.h"
#include "http/http_path.h"
#include "http/http_reply.h"
#include "upstream/proxy.h"
#include "util/bufpool.h"
#include "util/clock.h"
#include "util/deadline.h"
#include "util/log.h"

static void conn_drive(struct conn *c);
static void on_event(evutil_socket_t fd, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);
static void stage_reply(struct req *req, const struct stage_reply *reply);
static void stage_abandon(struct req *req);
static void stream_push(struct req *req, const char *p, size_t len);
static void stream_end(struct req *req, bool whole);

static const struct pipeline_ops gateway_ops = {
    .forward = proxy_forward,
    .reply = stage_reply,
    .abandon = stage_abandon,
    .stream_push = stream_push,
    .stream_end = stream_end,
};

static const struct config *
conn_cfg(const struct conn *c)
{
    return c->req != NULL ? c->req->cfg : c->worker->cfg;
}

/* One embedded event carries both directions; it is re-assigned only when
 * the wanted set changes, which on the hot path it does not (EV_WRITE is
 * wanted only after EAGAIN). */
static void
update_io(struct conn *c)
{
    short what = (short)((c->reading ? EV_READ : 0) | (c->writing ? EV_WRITE : 0));
    if (c->io_added) {
        event_del(&c->io);
        c->io_added = false;
    }
    if (what == 0)
        return;
    event_assign(&c->io, c->worker->base, c->fd, (short)(what | EV_PERSIST), on_event, c);
    event_add(&c->io, NULL);
    c->io_added = true;
}

void
conn_want_read(struct conn *c, bool on)
{
    on = on && !c->peer_eof;
    if (on == c->reading)
        return;
    c->reading = on;
    update_io(c);
}

void
conn_peer_eof(struct conn *c)
{
    c->peer_eof = true;
    conn_want_read(c, false);
}

/* A half-closed client with no request in progress has nothing left to be
 * answered. */
static bool
conn_finished_peer(const struct conn *c)
{
    return c->peer_eof && (c->state == CONN_IDLE || c->state == CONN_HEAD);
}

void
conn_want_write(struct conn *c, bool on)
{
    if (on == c->writing)
        return;
    c->writing = on;
    update_io(c);
}

/* Timers are pooled per worker and held only by connections that are not
 * idle; idle ones are timed out by conn_sweep_idle instead. */
struct conn_timer {
    struct event ev;
    struct conn_timer *next_free;
};

static struct conn_timer *
timer_acquire(struct conn *c)
{
    struct worker *w = c->worker;
    struct conn_timer *t = w->free_timers;
    if (t != NULL)
        w->free_timers = t->next_free;
    else
        t = xmalloc(sizeof(*t));
    evtimer_assign(&t->ev, w->base, on_timer, c);
    return t;
}

static void
timer_release(struct conn *c)
{
    struct conn_timer *t = c->timer;
    if (t == NULL)
        return;
    event_del(&t->ev);
    t->next_free = c->worker->free_timers;
    c->worker->free_timers = t;
    c->timer = NULL;
    c->deadline.armed_ms = 0;
}

void
conn_timers_free(struct worker *w)
{
    while (w->free_timers != NULL) {
        struct conn_timer *t = w->free_timers;
        w->free_timers = t->next_free;
        free(t);
    }
}

static void
arm_timer(struct conn *c, int64_t wait_ms)
{
    struct timeval tv = {.tv_sec = wait_ms / 1000, .tv_usec = (wait_ms % 1000) * 1000};
    if (c->timer == NULL)
        c->timer = timer_acquire(c);
    event_add(&c->timer->ev, &tv);
}

void
conn_set_deadline(struct conn *c, uint32_t timeout_ms)
{
    if (timeout_ms == 0) {
        deadline_clear(&c->deadline); /* the common call on the request path */
        return;
    }
    int64_t wait_ms = deadline_set(&c->deadline, timeout_ms, clock_now_ms());
    if (wait_ms >= 0)
        arm_timer(c, wait_ms);
}

/* Each connection is on exactly one of the worker's lists: idle (oldest
 * first, so the sweep stops at the first one still young) or busy. */
static void
list_unlink(struct conn *c)
{
    struct worker *w = c->worker;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else if (c->idle_listed)
        w->idle_head = c->next;
    else
        w->busy = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else if (c->idle_listed)
        w->idle_tail = c->prev;
    c->prev = c->next = NULL;
}

static void
list_push_idle(struct conn *c)
{
    struct worker *w = c->worker;
    c->idle_listed = true;
    c->prev = w->idle_tail;
    c->next = NULL;
    if (w->idle_tail != NULL)
        w->idle_tail->next = c;
    else
        w->idle_head = c;
    w->idle_tail = c;
}

static void
list_push_busy(struct conn *c)
{
    struct worker *w = c->worker;
    c->idle_listed = false;
    c->prev = NULL;
    c->next = w->busy;
    if (w->busy != NULL)
        w->busy->prev = c;
    w->busy = c;
}

static void
leave_idle(struct conn *c)
{
    if (!c->idle_listed)
        return;
    list_unlink(c);
    list_push_busy(c);
}

void
conn_sweep_idle(struct worker *w)
{
    int64_t now = clock_now_ms();
    uint32_t idle_ms = w->cfg->http.idle_timeout_ms;
    while (w->idle_head != NULL && now - w->idle_head->idle_since_ms >= idle_ms)
        conn_close(w->idle_head);
}

ssize_t
conn_read(struct conn *c)
{
    if (c->in == NULL)
        c->in = bufpool_acquire(c->worker->bufs);
    else if (c->state == CONN_IDLE || c->state == CONN_HEAD)
        /* A reload may have raised http.max_header_size since this buffer
         * was made: a head up to the new limit must fit. Between requests
         * nothing points into the buffer (heads are copied out). */
        c->in = bufpool_fit(c->worker->bufs, c->in);
    return buf_read(c->in, c->fd);
}

static void
release_buffer_if_empty(struct conn *c)
{
    if (c->in != NULL && buf_len(c->in) == 0) {
        bufpool_release(c->worker->bufs, c->in);
        c->in = NULL;
    }
}

static void
go_idle(struct conn *c)
{
    c->state = CONN_IDLE;
    release_buffer_if_empty(c);
    conn_want_write(c, false);
    conn_want_read(c, true);
    timer_release(c);
    deadline_init(&c->deadline);
    c->idle_since_ms = clock_now_ms();
    if (!c->idle_listed) {
        list_unlink(c);
        list_push_idle(c);
    }
}

static void
finish_request(struct conn *c)
{
    struct req *req = c->req;
    c->req = NULL;
    if (req != NULL) {
        if (req->close_after)
            c->close_after = true;
        req_finish(req);
    }
}

void
conn_close(struct conn *c)
{
    if (c->driving) {
        c->close_pending = true; /* conn_drive is on the stack: it closes on the way out */
        return;
    }
    struct req *req = c->req;
    c->req = NULL;
    /* A request waiting in a stage outlives its connection; it still counts
     * for max_connections and the drain until its stage answers
     * (stage_abandon). */
    bool orphaned = req != NULL && req->in_stage;
    if (req != NULL) {
        if (orphaned) {
            req->conn = NULL; /* the stage's eventual req_next/req_fail finishes it */
        } else if (c->state == CONN_EXCHANGE && proxy_detach(req)) {
            req->conn = NULL; /* the exchange runs on without its client (proxy.c) */
        } else {
            if (c->state == CONN_EXCHANGE || c->state == CONN_TUNNEL)
                proxy_abort(req);
            else if (req->outcome == REQ_OUTCOME_COMPLETE)
                req->outcome = REQ_OUTCOME_CLIENT_GONE;
            req->conn = NULL;
            req_finish(req);
        }
    }
    if (c->io_added)
        event_del(&c->io);
    timer_release(c);
    close(c->fd);
    bufpool_release(c->worker->bufs, c->in);
    struct worker *w = c->worker;
    list_unlink(c);
    free(c);
    if (!orphaned)
        worker_conn_closed(w);
}

/* A refusal sent before the request's body was read (413 from the head, a
 * 401 or 429 for a POST) finds a client that may still be uploading it.
 * Closing with unread bytes makes the kernel answer them with a reset, which
 * fails a client that writes its whole request before it reads (Python's
 * http.client, curl -d @file) and may destroy the reply in flight. So, as
 * nginx's lingering close does: send FIN, read and drop what still comes,
 * and close at the client's EOF, after CONN_LINGER_IDLE_MS without a byte,
 * or CONN_LINGER_MAX_MS in all. */
#define CONN_LINGER_IDLE_MS 5000
#define CONN_LINGER_MAX_MS 30000

static void
linger_rearm(struct conn *c)
{
    int64_t left = c->linger_until_ms - clock_now_ms();
    if (left <= 0) {
        conn_close(c);
        return;
    }
    conn_set_deadline(c, left < CONN_LINGER_IDLE_MS ? (uint32_t)left : CONN_LINGER_IDLE_MS);
}

static void
conn_linger(struct conn *c)
{
    if (c->peer_eof || c->worker->draining || shutdown(c->fd, SHUT_WR) != 0) {
        conn_close(c);
        return;
    }
    if (c->in != NULL) {
        bufpool_release(c->worker->bufs, c->in);
        c->in = NULL;
    }
    c->state = CONN_LINGER;
    c->linger_until_ms = clock_now_ms() + CONN_LINGER_MAX_MS;
    conn_want_write(c, false);
    conn_want_read(c, true);
    linger_rearm(c);
}

/* Drops what the lingering client sends; a few reads per event, so one
 * fast uploader cannot hold the worker. */
static void
linger_readable(struct conn *c)
{
    char scratch[16384];
    for (int i = 0; i < 4; i++) {
        ssize_t n = read(c->fd, scratch, sizeof(scratch));
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        conn_close(c); /* EOF or error: the client is done */
        return;
    }
    linger_rearm(c);
}

void
conn_exchange_done(struct conn *c)
{
    finish_request(c);
    if (c->close_after) {
        if (c->linger)
            conn_linger(c);
        else
            conn_close(c);
        return;
    }
    go_idle(c);
    if (!c->driving && c->in != NULL && buf_len(c->in) > 0)
        conn_drive(c); /* may free c */
    else if (!c->driving && conn_finished_peer(c))
        conn_close(c);
}

/* Writes what is left of our own reply (in req->resp_out, unused by a
 * request the gateway answers itself); returns true when all is out. */
static bool
flush_out(struct conn *c)
{
    struct strbuf *out = &c->req->resp_out;
    size_t *sent = &c->req->resp_out_sent;
    while (*sent < out->len) {
        ssize_t n = write(c->fd, out->p + *sent, out->len - *sent);
        if (n > 0) {
            *sent += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return false;
        c->close_after = true; /* the client is gone; nothing more to write */
        c->write_failed = true;
        *sent = out->len;
    }
    return true;
}

static void
reply_written(struct conn *c)
{
    conn_want_write(c, false);
    conn_exchange_done(c);
}

/* A streamed reply's client is gone (its write failed): the connection
 * closes now, not when the stream it follows ends; the stage's on_done runs
 * inside this call. */
static void
stream_client_gone(struct conn *c)
{
    c->req->outcome = REQ_OUTCOME_CLIENT_GONE;
    c->streaming = false;
    conn_close(c);
}

/* All of our reply that exists is out: the exchange is over, unless a
 * streamed reply waits for more (then nothing to write, no read: a
 * pipelined request waits its turn, and no deadline of its own: the
 * exchange it follows has them). */
static void
reply_flushed(struct conn *c)
{
    if (!c->streaming) {
        reply_written(c);
        return;
    }
    if (c->write_failed) {
        stream_client_gone(c);
        return;
    }
    conn_want_write(c, false);
    conn_set_deadline(c, 0);
}

/* Some of our reply is left for the socket to take: write when it can,
 * within http.body_timeout. */
static void
reply_blocked(struct conn *c)
{
    conn_want_read(c, false);
    conn_want_write(c, true);
    conn_set_deadline(c, conn_cfg(c)->http.body_timeout_ms);
}

void
conn_reply_error(struct conn *c, unsigned status, const char *error, const char *message)
{
    struct stage_reply r = {.status = status, .error = error, .message = message};
    conn_reply(c, &r);
}

void
conn_reply(struct conn *c, const struct stage_reply *reply)
{
    unsigned status = reply->status;
    struct req *req = c->req;
    SL_ASSERT(req != NULL);
    if (req->request_id_len == 0)
        req_generate_id(req); /* refused before its head was whole: logged all the same */
    /* Every response of a cache route says what the cache did (SPEC 7):
     * one refused before the cache stage ran (401, 429, 404...) bypassed it. */
    if (req->route != NULL && req->route->cache.enabled && req->cache_status == NULL) {
        req->cache_status = "BYPASS";
        strbuf_append_str(&req->response_extra,
                          "X-Cache: BYPASS\r\nCache-Status: sluice; fwd=bypass\r\n");
    }
    /* Retry-After for a 503 is http_reply_build's to add, unless a stage
     * put its own in response_extra. */
    struct http_reply r = {
        .status = status,
        .error = reply->error,
        .message = reply->message,
        .json_extra = reply->json_extra,
        .request_id = {req->request_id, req->request_id_len},
        .extra_headers = {req->response_extra.p, req->response_extra.len},
        .head_only = req->head_only,
    };
    if (reply->stored != NULL)
        status = reply->stored->status;
    /* Unread body bytes would be taken for the next request: close instead
     * of discarding them (lingering, as the client may still be sending
     * them). Errors of framing close too (RFC 9112 §9.6). */
    bool body_unread = !http_msg_complete(&req->body_parser);
    if (status == 400 || status == 408 || status == 413 || status == 414 || status == 431 ||
        status == 505 || c->refuse || c->worker->draining || body_unread)
        c->close_after = true;
    c->linger = body_unread;
    req->status = status;
    if (req->outcome == REQ_OUTCOME_COMPLETE)
        req->outcome = REQ_OUTCOME_REFUSED;
    r.close = c->close_after;
    /* pipeline.h promises a streamed reply only to what can take chunks */
    c->streaming =
        reply->stream && reply->stored != NULL && !req->head_only && req->head.version_minor >= 1;
    r.chunked = c->streaming;
    req->resp_out.len = req->resp_out_sent = 0;
    if (reply->stored != NULL)
        http_reply_build_stored(&req->resp_out, &r, reply->stored);
    else
        http_reply_build(&req->resp_out, &r);
    req->bytes_out += req->resp_out.len;
    c->state = CONN_REPLY;
    if (c->streaming)
        conn_want_read(c, false);
    if (flush_out(c)) {
        reply_flushed(c);
        return;
    }
    reply_blocked(c);
}

/* A streamed reply's reader that falls this far behind is cut off: its
 * bytes would otherwise pile up here for as long as the stream lasts (its
 * source, another request's upstream, does not wait for it). */
#define CONN_STREAM_MAX_UNSENT_BYTES (2u << 20) /* above the 1 MiB a late comer starts with */

/* Drops the part of a streamed reply already written, once it is most of
 * the buffer: the buffer then holds what is unsent, not the whole stream. */
static void
stream_compact(struct req *req)
{
    struct strbuf *out = &req->resp_out;
    size_t sent = req->resp_out_sent;
    if (sent == 0 || sent < out->len / 2)
        return;
    memmove(out->p, out->p + sent, out->len - sent);
    out->len -= sent;
    req->resp_out_sent = 0;
}

static void
stream_push(struct req *req, const char *p, size_t len)
{
    struct conn *c = req->conn;
    if (c == NULL || !c->streaming)
        return;
    struct strbuf *out = &req->resp_out;
    stream_compact(req);
    if (out->len - req->resp_out_sent > CONN_STREAM_MAX_UNSENT_BYTES) {
        log_warn("request %.*s: the client reads a streamed reply too slowly; closing",
                 (int)req->request_id_len, req->request_id);
        stream_client_gone(c); /* its on_done runs: the stage forgets it */
        return;
    }
    size_t before = out->len;
    http_reply_append_chunk(out, p, len);
    req->bytes_out += out->len - before;
    if (c->writing)
        return; /* on_event writes it */
    if (!flush_out(c))
        reply_blocked(c);
    else if (c->write_failed)
        stream_client_gone(c);
}

static void
stream_end(struct req *req, bool whole)
{
    struct conn *c = req->conn;
    if (c == NULL || !c->streaming)
        return;
    c->streaming = false;
    if (whole) {
        strbuf_append(&req->resp_out, "0\r\n\r\n", 5);
        req->bytes_out += 5;
    } else {
        c->close_after = true; /* no last chunk: the client sees the body cut */
        req->outcome = REQ_OUTCOME_UPSTREAM_FAILED;
    }
    if (c->writing)
        return;
    if (flush_out(c))
        reply_written(c);
    else
        reply_blocked(c);
}

static void
stage_reply(struct req *req, const struct stage_reply *reply)
{
    conn_reply(req->conn, reply);
}

/* The client left while its request waited in a stage (see conn_close). */
static void
stage_abandon(struct req *req)
{
    struct worker *w = req->worker;
    if (req->status == 0)
        req->status = 499; /* as proxy_abort logs a client that closed first */
    req_finish(req);
    worker_conn_closed(w);
}

/* How long a request may wait in its stages: Redis's own timeout, plus a
 * margin for the loop turn that delivers it. */
static uint32_t
cfg_stage_backstop_ms(const struct config *cfg)
{
    return cfg->redis.timeout_ms + 1000;
}

/* Resolves the target as the upstream would (http_path.h) into the
 * request's storage after its head (req_keep_head made room): the route
 * is chosen on the result and the result is forwarded, so the upstream
 * serves the path that was routed. False when it cannot be resolved
 * unambiguously, or is "*" for another method than OPTIONS (RFC 9112
 * §3.2.4); "*" is routed as it is and matches no route. */
static bool
resolve_target(struct req *req)
{
    struct sl_slice origin = http_headers_origin_form(req->head.target);
    char *out = req->head_buf + req->head.head_len;
    size_t out_len, path_len;
    enum http_path_result r = http_path_normalize_target(origin.p, origin.len, out,
                                                         req->head.target.len, &out_len, &path_len);
    if (r == HTTP_PATH_ASTERISK && !sl_slice_eq_lower(req->head.method, "options"))
        return false;
    if (r != HTTP_PATH_OK && r != HTTP_PATH_ASTERISK)
        return false;
    req->target = (struct sl_slice){out, out_len};
    req->path = (struct sl_slice){out, path_len};
    return true;
}

static void
start_request(struct conn *c)
{
    struct req *req = c->req;
    const struct config *cfg = req->cfg;
    req_keep_head(req, c->in->data + c->in->start);
    c->in->start += req->head.head_len;
    req_assign_id(req);
    req->head_only = sl_slice_eq_lower(req->head.method, "head");
    if (!req->head.keep_alive)
        req->close_after = true;

    if (c->refuse) {
        conn_reply_error(c, 503, "overloaded", "too many connections");
        return;
    }
    if (req->head.body == HTTP_BODY_LENGTH && req->head.content_length > cfg->http.max_body_size) {
        conn_reply_error(c, 413, NULL, "request body too large");
        return;
    }
    if (!resolve_target(req)) {
        conn_reply_error(c, 400, NULL, "request path cannot be resolved unambiguously");
        return;
    }
    unsigned method_bit = config_method_bit(req->head.method.p, req->head.method.len);
    if (route_match(cfg, req->path.p, req->path.len, method_bit, &req->route) != ROUTE_MATCHED) {
        req->route = NULL;
        conn_reply_error(c, 404, NULL, "no route for this request");
        return;
    }
    /* Reading stays on while stages run (see on_readable): turning it off
     * and on again would cost two epoll_ctl calls per request. */
    c->state = CONN_STAGES;
    conn_set_deadline(c, 0);
    pipeline_start(req, pipeline_stages, pipeline_nstages, &gateway_ops);
    /* req may be gone now; c is not (conn_drive is on the stack). Still in
     * STAGES: a stage waits on Redis, whose own timeout answers it. */
    if (c->state == CONN_STAGES && !c->close_pending)
        conn_set_deadline(c, cfg_stage_backstop_ms(c->worker->cfg));
}

/* Parses the head in c->in; returns false when more bytes are needed. */
static bool
parse_head(struct conn *c)
{
    const struct config *cfg = c->worker->cfg;
    if (c->req == NULL)
        c->req = req_new(c, c->worker);
    struct req *req = c->req;
    struct buf *b = c->in;
    enum http_parse_result r = http_parse_head(&req->body_parser, &req->head, b->data + b->start,
                                               buf_len(b), cfg->http.max_header_size);
    if (r == HTTP_PARSE_INCOMPLETE)
        return false;
    if (r == HTTP_PARSE_ERROR) {
        req->close_after = true;
        conn_reply_error(c, req->body_parser.error_status, NULL, req->body_parser.error);
        return true;
    }
    start_request(c);
    return true;
}

/* Handles every complete head in the buffer, one request at a time; a
 * reply that completes at once loops here instead of recursing. */
static void
conn_drive(struct conn *c)
{
    c->driving = true;
    while (!c->close_pending && (c->state == CONN_IDLE || c->state == CONN_HEAD)) {
        if (c->in == NULL || buf_len(c->in) == 0)
            break;
        bool head_begins = false;
        if (c->state == CONN_IDLE) {
            c->state = CONN_HEAD;
            leave_idle(c);
            head_begins = true;
            if (c->in->start > 0 && c->in->end > c->in->cap / 2)
                buf_compact(c->in);
        }
        if (!parse_head(c)) {
            /* A head must arrive whole within header_timeout of its first
             * byte. The timer is armed only for a head that did not come
             * whole with its first bytes: arming and disarming it for every
             * request was 5% of the user-space instructions per request. */
            if (head_begins)
                conn_set_deadline(c, c->worker->cfg->http.header_timeout_ms);
            break;
        }
    }
    c->driving = false;
    if (c->close_pending || conn_finished_peer(c))
        conn_close(c);
}

/* A client may half-close once it sent its whole request: while a stage
 * waits, that is a body-less request or one whose Content-Length bytes are
 * all in the buffer already (a chunked body's end is not looked for). */
static bool
request_sent_whole(const struct conn *c)
{
    const struct http_head *h = &c->req->head;
    if (h->body == HTTP_BODY_NONE)
        return true;
    return h->body == HTTP_BODY_LENGTH && c->in != NULL && buf_len(c->in) >= h->content_length;
}

static void
on_readable(struct conn *c)
{
    if (c->state == CONN_LINGER) {
        linger_readable(c);
        return;
    }
    if (c->state == CONN_EXCHANGE || c->state == CONN_TUNNEL) {
        proxy_client_readable(c);
        return;
    }
    ssize_t n = conn_read(c);
    if (n == 0 && c->state == CONN_STAGES && request_sent_whole(c)) {
        conn_peer_eof(c);
        return;
    }
    if (n == 0 || n == -1) {
        conn_close(c);
        return;
    }
    bool full = n == -2 && c->in != NULL && c->in->end == c->in->cap;
    if (c->state == CONN_STAGES) {
        /* Body or pipelined bytes wait in the buffer for the proxy. */
        if (full)
            conn_want_read(c, false);
        return;
    }
    if (n == -2 && !full)
        return;
    conn_drive(c);
}

static void
on_event(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    /* Write first: it may free buffer room the read needs. A write that
     * ends the connection returns at once: c may be gone. */
    if (what & EV_WRITE) {
        if (c->state == CONN_REPLY) {
            if (flush_out(c))
                reply_flushed(c);
            else if (c->streaming)
                conn_set_deadline(c, conn_cfg(c)->http.body_timeout_ms); /* it progresses */
        } else {
            proxy_client_writable(c);
        }
        return;
    }
    if (what & EV_READ)
        on_readable(c);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    int64_t wait_ms;
    enum deadline_state st = deadline_fired(&c->deadline, clock_now_ms(), &wait_ms);
    if (st == DEADLINE_REARM)
        arm_timer(c, wait_ms);
    if (st != DEADLINE_EXPIRED)
        return;
    switch (c->state) {
    case CONN_HEAD:
        c->close_after = true;
        conn_reply_error(c, 408, NULL, "request header not received in time");
        break;
    case CONN_EXCHANGE:
    case CONN_TUNNEL:
        proxy_client_timeout(c);
        break;
    case CONN_STAGES:
        /* The Redis layer answers every command within redis.timeout, so
         * this is a stage that broke its promise: never leave the client
         * hanging on it. The request is finished when the stage answers. */
        log_error("request %.*s: stage did not answer in time; closing the connection",
                  (int)c->req->request_id_len, c->req->request_id);
        conn_close(c);
        break;
    default:
        conn_close(c);
        break;
    }
}

/* Dotted quad by hand: glibc's inet_ntop goes through sprintf, and this
 * runs for every forwarded request. */
static size_t
format_ipv4(const unsigned char *a, char *out)
{
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        if (v >= 100)
            out[n++] = (char)('0' + v / 100);
        if (v >= 10)
            out[n++] = (char)('0' + v / 10 % 10);
        out[n++] = (char)('0' + v % 10);
        out[n++] = '.';
    }
    out[--n] = '\0';
    return n;
}

struct sl_slice
conn_peer_ip(const struct conn *c, char *out)
{
    static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (c->peer.sa.sa_family == AF_INET)
        return (struct sl_slice){out,
                                 format_ipv4((const unsigned char *)&c->peer.in4.sin_addr, out)};
    const unsigned char *a6 = c->peer.in6.sin6_addr.s6_addr;
    /* Show IPv4-mapped IPv6 peers as plain IPv4. */
    if (memcmp(a6, v4_mapped, sizeof(v4_mapped)) == 0)
        return (struct sl_slice){out, format_ipv4(a6 + 12, out)};
    if (inet_ntop(AF_INET6, a6, out, INET6_ADDRSTRLEN) == NULL)
        strcpy(out, "unknown");
    return (struct sl_slice){out, strlen(out)};
}

void
conn_accept(struct worker *w, int fd, const struct sockaddr *peer, socklen_t peer_len, bool refuse)
{
    struct conn *c = xcalloc(1, sizeof(*c));
    c->worker = w;
    c->fd = fd;
    c->refuse = refuse;
    deadline_init(&c->deadline);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (peer_len > sizeof(c->peer))
        peer_len = sizeof(c->peer);
    memcpy(&c->peer, peer, peer_len);
    c->peer_trusted = config_is_trusted_proxy(w->cfg, peer);
    list_push_busy(c);
    w->nconns++;
    go_idle(c);
}

void
conn_drain(struct conn *c)
{
    c->close_after = true;
    if (c->state == CONN_IDLE || c->state == CONN_LINGER)
        conn_close(c);
}
