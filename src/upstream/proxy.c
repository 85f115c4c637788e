/*
 * proxy.c - the exchange between a client connection and an upstream
 * connection: forward the head, stream the request body, stream the
 * response back, then hand both connections back (SPEC section 4).
 *
 * Both directions share one shape:
 *
 *   read into the side's buffer -> frame (which bytes belong to this message)
 *   -> writev(head rest, framed bytes) to the other side at once
 *   -> EAGAIN: arm EV_WRITE there and stop reading here until it drains
 *
 * so a slow client slows upstream reads, and a body is never held whole.
 */
#include "upstream/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "admin/metrics.h"
#include "config/config.h"
#include "core/pipeline.h"
#include "http/http_reply.h"
#include "core/req.h"
#include "core/worker.h"
#include "http/http_headers.h"
#include "net/conn.h"
#include "policy/auth.h"
#include "upstream/upstream_pool.h"
#include "util/accesslog.h"
#include "util/bufpool.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/sysio.h"

enum write_result { WRITE_DONE, WRITE_AGAIN, WRITE_FAILED };

static void start_upstream(struct req *req, int exclude, bool fresh);
static void pump_request(struct req *req);
static void pump_response(struct req *req);
static bool retry_on_fresh_connection(struct req *req);
static void proxy_upstream_readable(struct upstream_conn *uc);
static void proxy_upstream_writable(struct upstream_conn *uc);
static void proxy_upstream_timeout(struct upstream_conn *uc);

static const struct upstream_handler proxy_handler = {
    .readable = proxy_upstream_readable,
    .writable = proxy_upstream_writable,
    .timeout = proxy_upstream_timeout,
};

/* Writes head[*head_sent..] then body[0..body_len) with one writev;
 * *body_written says how much of body went. A short write means the
 * socket buffer is full: report WRITE_AGAIN without trying again. */
static enum write_result
write_pair(int fd, const struct strbuf *head, size_t *head_sent, const char *body, size_t body_len,
           size_t *body_written)
{
    struct iovec iov[2];
    int n = 0;
    size_t head_left = head->len - *head_sent;
    *body_written = 0;
    if (head_left > 0)
        iov[n++] = (struct iovec){(char *)head->p + *head_sent, head_left};
    if (body_len > 0)
        iov[n++] = (struct iovec){(char *)body, body_len};
    if (n == 0)
        return WRITE_DONE;
    ssize_t w;
    do {
        w = sysio_writev(fd, iov, n);
    } while (w < 0 && errno == EINTR);
    if (w < 0)
        return errno == EAGAIN ? WRITE_AGAIN : WRITE_FAILED;
    if ((size_t)w <= head_left) {
        *head_sent += (size_t)w;
    } else {
        *head_sent = head->len;
        *body_written = (size_t)w - head_left;
    }
    return (size_t)w == head_left + body_len ? WRITE_DONE : WRITE_AGAIN;
}

static struct upstream_pool *
pool_for(struct req *req, bool *temporary)
{
    struct worker *w = req->worker;
    const struct config_upstream *up = req->route->upstream;
    *temporary = req->cfg != w->cfg;
    if (!*temporary)
        return w->pools[up->index];
    /* The request began under a config a reload has replaced: a pool of its
     * own, retired at once, so its connection is closed when done. */
    return upstream_pool_new(w, up);
}

/* The upstream connection may carry another request once this response
 * has ended: it said keep-alive, its end is framed, and it spoke 1.1 to us
 * (a 1.0 client's request goes upstream as 1.0). */
static bool
upstream_reusable(const struct req *req)
{
    const struct http_head *h = &req->resp_head;
    return h->keep_alive && h->body != HTTP_BODY_UNTIL_CLOSE && req->head.version_minor == 1;
}

/* Gives the upstream connection back; reusable only after a clean end. */
static void
release_upstream(struct req *req, bool reusable)
{
    struct upstream_conn *uc = req->up;
    if (uc == NULL)
        return;
    req->up = NULL;
    if (req->upstream_start_us != 0)
        req->upstream_us = clock_now_us() - req->upstream_start_us;
    upstream_pool_release(uc, reusable);
}

/* Body bytes framed but never sent upstream sit at the front of the
 * client's buffer; once the exchange is over they must not be read as the
 * next request. */
static void
drop_unsent_body(struct req *req)
{
    struct conn *c = req->conn;
    if (c->in != NULL)
        c->in->start += req->body_pending;
    req->body_pending = 0;
}

/* A detached exchange is over: the request finishes (its on_done hooks
 * run, the access log line is written) and the worker's background count
 * drops. */
static void
detached_end(struct req *req)
{
    struct worker *w = req->worker;
    req_finish(req);
    worker_background_end(w);
}

/* The upstream failed: answer with status if the client has seen nothing
 * of the response yet, else cut the client connection (a truncated body
 * must not look complete). */
static void
upstream_failed(struct req *req, unsigned status, const char *kind, const char *message)
{
    struct conn *c = req->conn;
    const char *name = req->route->upstream->name;
    metrics_record_upstream_error(req->worker->metrics, name, kind);
    log_warn("request %.*s: upstream %s: %s", (int)req->request_id_len, req->request_id, name,
             message);
    release_upstream(req, false);
    req->outcome = REQ_OUTCOME_UPSTREAM_FAILED;
    if (req->detached) {
        detached_end(req);
        return;
    }
    if (req->resp_head_sent || req->tunnel) {
        conn_close(c);
        return;
    }
    /* conn_reply_error closes the connection if the body has not fully
     * arrived; if it has, the connection goes on with the next request. */
    drop_unsent_body(req);
    const struct http_stored_response *instead = pipeline_upstream_failed(req);
    if (instead != NULL) {
        struct stage_reply r = {.status = instead->status, .stored = instead};
        conn_reply(c, &r);
        return;
    }
    /* 503 here means the gateway itself ran out (of sockets): overloaded. */
    conn_reply_error(c, status, status == 503 ? "overloaded" : NULL, message);
}

void
proxy_build_request_head(struct req *req, struct strbuf *out)
{
    struct conn *c = req->conn;
    char peer_ip[INET6_ADDRSTRLEN];
    struct http_forward_request fr = {
        .head = &req->head,
        .target = req->target,
        .client_ip = conn_peer_ip(c, peer_ip),
        .peer_trusted = c->peer_trusted,
        .request_id = {req->request_id, req->request_id_len},
        .upstream = req->route->upstream,
        .extra = {req->upstream_extra.p, req->upstream_extra.len},
        .credentials = auth_credentials(req->cfg),
    };
    http_headers_build_request(out, &fr);
}

void
proxy_forward(struct req *req)
{
    struct conn *c = req->conn;
    c->state = CONN_EXCHANGE;
    /* A stage that waited on Redis left its backstop deadline armed: the
     * exchange sets its own from here on. */
    conn_set_deadline(c, 0);
    proxy_build_request_head(req, &req->out);
    req->req_body_done = http_msg_complete(&req->body_parser);
    http_msg_parser_init(&req->resp_parser, HTTP_MSG_RESPONSE, req->head_only);
    req->reached_upstream = true;
    if (access_log_enabled(req->worker->alog))
        req->upstream_start_us = clock_now_us();
    start_upstream(req, -1, false);
}

static void
start_upstream(struct req *req, int exclude, bool fresh)
{
    bool temporary;
    struct upstream_pool *pool = pool_for(req, &temporary);
    const char *err = NULL;
    struct upstream_conn *uc = upstream_pool_acquire(pool, &proxy_handler, req, exclude, fresh, &err);
    if (temporary)
        upstream_pool_retire(pool);
    if (uc == NULL) {
        upstream_failed(req, err == UPSTREAM_ERR_LOCAL ? 503 : 502, "connect", err);
        return;
    }
    req->up = uc;
    const struct config_upstream *up = req->route->upstream;
    conn_want_read(req->conn, true);
    if (uc->connecting) {
        upstream_conn_want_write(uc, true);
        upstream_conn_set_deadline(uc, up->connect_timeout_ms);
        return;
    }
    upstream_conn_want_read(uc, true);
    upstream_conn_set_deadline(uc, up->read_timeout_ms);
    pump_request(req);
}

static void
observe_request_payload(void *arg, const char *p, size_t len)
{
    pipeline_request_body(arg, p, len);
}

/* Marks which client bytes belong to the request body and shows them to
 * the stages' observers. Returns 0, or -1 after answering a malformed or
 * oversized body. */
static int
frame_request_body(struct req *req)
{
    struct conn *c = req->conn;
    if (c->in == NULL)
        return 0;
    size_t avail = buf_len(c->in) - req->body_pending;
    if (avail == 0 || req->req_body_done)
        return 0;
    const char *p = c->in->data + c->in->start + req->body_pending;
    bool observed = pipeline_observes_request_body(req);
    if (req->tunnel) {
        if (observed)
            pipeline_request_body(req, p, avail);
        req->body_pending += avail;
        return 0;
    }
    struct http_payload_sink sink = {observe_request_payload, req};
    size_t n;
    enum http_parse_result r =
        http_parse_body_payload(&req->body_parser, p, avail, &n, observed ? &sink : NULL);
    req->body_pending += n;
    unsigned status = 0;
    const char *why = NULL;
    if (r == HTTP_PARSE_ERROR) {
        status = 400;
        why = req->body_parser.error;
    } else if (req->body_parser.body_bytes > req->cfg->http.max_body_size) {
        status = 413;
        why = "request body too large";
    }
    if (status == 0) {
        req->req_body_done = r == HTTP_PARSE_OK;
        return 0;
    }
    release_upstream(req, false);
    if (req->resp_head_sent) {
        conn_close(c);
        return -1;
    }
    req->close_after = true;
    conn_reply_error(c, status, NULL, why);
    return -1;
}

static void
pump_request(struct req *req)
{
    if (req->detached)
        return; /* it was sent whole before the client left */
    struct conn *c = req->conn;
    struct upstream_conn *uc = req->up;
    if (uc == NULL || uc->connecting)
        return;
    if (frame_request_body(req) != 0)
        return;
    const char *body = c->in != NULL ? c->in->data + c->in->start : NULL;
    size_t written;
    enum write_result r =
        write_pair(uc->fd, &req->out, &req->out_sent, body, req->body_pending, &written);
    if (written > 0) {
        c->in->start += written;
        req->body_pending -= written;
        /* A slow upload, or a busy tunnel, is progress, not silence. */
        upstream_conn_set_deadline(uc, req->route->upstream->read_timeout_ms);
    }
    if (r == WRITE_FAILED) {
        if (retry_on_fresh_connection(req))
            return;
        if (!uc->reused)
            upstream_pool_mark_failed(uc);
        upstream_failed(req, 502, "reset", "upstream closed while receiving the request");
        return;
    }
    if (r == WRITE_AGAIN) {
        upstream_conn_want_write(uc, true);
        conn_want_read(c, false); /* backpressure: the upstream is not taking more */
        return;
    }
    upstream_conn_want_write(uc, false);
    if (req->req_body_done || req->tunnel)
        conn_set_deadline(c, 0);
    else
        conn_set_deadline(c, req->cfg->http.body_timeout_ms);
    conn_want_read(c, c->in == NULL || c->in->end < c->in->cap || c->in->start > 0);
}

void
proxy_client_readable(struct conn *c)
{
    struct req *req = c->req;
    ssize_t n = conn_read(c);
    if (n == 0 && req->req_body_done && !req->tunnel) {
        conn_peer_eof(c); /* a half-close after a whole request: answer it */
        return;
    }
    if (n == 0 || n == -1) {
        /* Mid-request, or a tunnel: the client is gone, the exchange ends. */
        conn_close(c);
        return;
    }
    if (n == -2) {
        if (c->in != NULL && c->in->end == c->in->cap && c->in->start == 0)
            conn_want_read(c, false); /* full: pipelined bytes wait their turn */
        return;
    }
    if (!req->req_body_done || req->tunnel)
        pump_request(req);
}

void
proxy_client_writable(struct conn *c)
{
    pump_response(c->req);
}

void
proxy_client_timeout(struct conn *c)
{
    struct req *req = c->req;
    if (!req->req_body_done && !req->resp_head_sent) {
        release_upstream(req, false);
        req->close_after = true;
        conn_reply_error(c, 408, NULL, "request body not received in time");
        return;
    }
    conn_close(c);
}

/* A stale pooled connection (closed by the upstream while idle) fails
 * before any response byte, but the upstream may have read and acted on
 * the request all the same. Only an idempotent request (RFC 9110 §9.2.2)
 * without a body is retried, once, on a fresh connection, as nginx does;
 * a POST or PATCH is answered 502 instead of being sent twice. */
static bool
retry_on_fresh_connection(struct req *req)
{
    struct upstream_conn *uc = req->up;
    if (!uc->reused || req->retried || req->head.body != HTTP_BODY_NONE ||
        !http_method_idempotent(req->head.method) || (uc->in != NULL && buf_len(uc->in) > 0))
        return false;
    req->retried = true;
    release_upstream(req, false);
    req->out_sent = 0;
    start_upstream(req, -1, true);
    return true;
}

static void
upstream_eof(struct req *req)
{
    if (!req->resp_head_parsed) {
        if (retry_on_fresh_connection(req))
            return;
        /* A pooled connection closed by the upstream says nothing about the
         * server's health; a fresh one refused outright does. */
        if (!req->up->reused)
            upstream_pool_mark_failed(req->up);
        upstream_failed(req, 502, "reset", "upstream closed the connection without a response");
        return;
    }
    if (req->resp_head.body == HTTP_BODY_UNTIL_CLOSE && !req->tunnel) {
        req->resp_done = true;
        pump_response(req);
        return;
    }
    if (req->tunnel) {
        release_upstream(req, false);
        conn_close(req->conn);
        return;
    }
    upstream_failed(req, 502, "reset", "upstream closed the connection mid-response");
}

static void
proxy_upstream_readable(struct upstream_conn *uc)
{
    struct req *req = uc->owner;
    long n = upstream_conn_read(uc);
    if (n == 0 || n == -1) {
        upstream_eof(req);
        return;
    }
    if (n == -2 && uc->in->end < uc->in->cap)
        return;
    upstream_conn_set_deadline(uc, req->route->upstream->read_timeout_ms);
    pump_response(req);
}

static void
proxy_upstream_writable(struct upstream_conn *uc)
{
    struct req *req = uc->owner;
    if (uc->connecting) {
        if (!upstream_conn_connected(uc)) {
            int server = (int)uc->server;
            upstream_pool_mark_failed(uc);
            release_upstream(req, false);
            if (req->route->upstream->nservers > 1 && !req->retried) {
                req->retried = true;
                start_upstream(req, server, true);
                return;
            }
            req->up = NULL;
            upstream_failed(req, 502, "connect", "cannot connect to the upstream");
            return;
        }
        uc->connecting = false;
        upstream_conn_want_read(uc, true);
        upstream_conn_set_deadline(uc, req->route->upstream->read_timeout_ms);
    }
    pump_request(req);
}

static void
proxy_upstream_timeout(struct upstream_conn *uc)
{
    struct req *req = uc->owner;
    if (uc->connecting) {
        upstream_pool_mark_failed(uc);
        upstream_failed(req, 504, "timeout", "upstream connect timed out");
        return;
    }
    if (req->tunnel) {
        conn_close(req->conn);
        return;
    }
    upstream_failed(req, 504, "timeout", "upstream did not answer in time");
}

/* Framed is not sent: body bytes may still wait in the client's buffer. */
static bool
request_fully_sent(const struct req *req)
{
    return req->req_body_done && req->body_pending == 0 && req->out_sent == req->out.len;
}

static void
build_response_head(struct req *req)
{
    struct conn *c = req->conn;
    const struct http_head *h = &req->resp_head;
    pipeline_response_head(req);
    bool client10 = req->head.version_minor == 0;
    bool close = req->close_after || c->close_after || c->worker->draining ||
                 h->body == HTTP_BODY_UNTIL_CLOSE || !request_fully_sent(req);
    if (h->status >= 200 && close)
        req->close_after = true;
    struct http_forward_response fr = {
        .head = h,
        .request_id = {req->request_id, req->request_id_len},
        /* The stages' fields go on the final head only, never a 100 Continue. */
        .extra = h->status >= 200 || (h->status == 101 && req->head.upgrade)
                     ? (struct sl_slice){req->response_extra.p, req->response_extra.len}
                     : (struct sl_slice){NULL, 0},
        .close = h->status >= 200 && close,
        .client_http10_keepalive = client10 && !close,
    };
    req->resp_out.len = req->resp_out_sent = 0;
    http_headers_build_response(&req->resp_out, &fr);
}

/* A final response that a stage answers in place of (a 304 to the
 * cache's revalidation, a 5xx a stale entry stands in for): the stage's
 * response goes to the client, and the upstream connection back to its
 * pool when the upstream's response ended with its head (else it is
 * closed: its body is not wanted). */
static bool
answered_instead(struct req *req)
{
    const struct http_head *h = &req->resp_head;
    if (h->status < 200 || h->status == 101 || !request_fully_sent(req))
        return false;
    const struct http_stored_response *instead = pipeline_response_replace(req);
    if (instead == NULL)
        return false;
    bool whole = http_msg_complete(&req->resp_parser);
    bool reusable = whole && upstream_reusable(req);
    if (whole)
        req->up->in->start += h->head_len;
    release_upstream(req, reusable);
    struct stage_reply r = {.status = instead->status, .stored = instead};
    conn_reply(req->conn, &r);
    return true;
}

/* Parses the upstream's head. Returns 1 when parsed, 0 when more bytes are
 * needed, -1 after failing (or answering) the exchange. */
static int
parse_response_head(struct req *req)
{
    struct buf *b = req->up->in;
    enum http_parse_result r =
        http_parse_head(&req->resp_parser, &req->resp_head, b->data + b->start, buf_len(b), b->cap);
    if (r == HTTP_PARSE_INCOMPLETE)
        return 0;
    if (r == HTTP_PARSE_ERROR) {
        upstream_failed(req, 502, "protocol", "upstream sent a malformed response head");
        return -1;
    }
    if (answered_instead(req))
        return -1;
    build_response_head(req);
    b->start += req->resp_head.head_len;
    req->resp_head_parsed = true;
    if (req->resp_head.status >= 200)
        req->status = req->resp_head.status;
    req->tunnel = req->resp_head.status == 101 && req->head.upgrade;
    /* HEAD, 204, 304 and Content-Length: 0 end with their head. */
    req->resp_done = !req->tunnel && http_msg_complete(&req->resp_parser);
    return 1;
}

static void
observe_payload(void *arg, const char *p, size_t len)
{
    pipeline_response_body(arg, p, len);
}

/* Marks which upstream bytes belong to the response and shows them to
 * the stages' observers. Returns -1 after failing the exchange. */
static int
frame_response_body(struct req *req)
{
    struct buf *b = req->up->in;
    size_t avail = buf_len(b) - req->resp_pending;
    if (avail == 0 || req->resp_done)
        return 0;
    const char *p = b->data + b->start + req->resp_pending;
    size_t n = avail;
    bool observed = pipeline_observes_body(req);
    if (!req->tunnel) {
        struct http_payload_sink sink = {observe_payload, req};
        enum http_parse_result r = http_parse_body_payload(&req->resp_parser, p, avail, &n,
                                                           observed ? &sink : NULL);
        if (r == HTTP_PARSE_ERROR) {
            upstream_failed(req, 502, "protocol", "upstream sent malformed body framing");
            return -1;
        }
        req->resp_done = r == HTTP_PARSE_OK;
    } else if (observed && n > 0) {
        pipeline_response_body(req, p, n);
    }
    req->resp_pending += n;
    return 0;
}

static void
exchange_complete(struct req *req)
{
    struct conn *c = req->conn;
    bool sent = request_fully_sent(req);
    release_upstream(req, sent && upstream_reusable(req));
    if (!sent) {
        /* The upstream answered before taking the whole body. */
        drop_unsent_body(req);
        req->close_after = true;
    }
    req->outcome = REQ_OUTCOME_COMPLETE;
    conn_exchange_done(c);
}

/* An interim 1xx response went out: parse the next head. */
static void
after_interim(struct req *req)
{
    req->resp_head_parsed = false;
    req->resp_done = false;
    http_msg_parser_init(&req->resp_parser, HTTP_MSG_RESPONSE, req->head_only);
}

static void
start_tunnel(struct req *req)
{
    struct conn *c = req->conn;
    c->state = CONN_TUNNEL;
    req->status = 101;
    req->req_body_done = false;
    upstream_conn_set_deadline(req->up, req->route->upstream->read_timeout_ms);
    conn_want_read(c, true);
    pump_request(req); /* bytes the client sent after its head */
}

/* With no client: what arrives is shown to the observers and dropped,
 * to the response's end. */
static void
pump_detached(struct req *req)
{
    struct upstream_conn *uc = req->up;
    if (frame_response_body(req) != 0)
        return; /* failed, and finished */
    uc->in->start += req->resp_pending;
    req->resp_pending = 0;
    if (!req->resp_done) {
        upstream_conn_want_read(uc, true);
        return;
    }
    release_upstream(req, upstream_reusable(req)); /* it was sent whole (proxy_detach) */
    req->outcome = REQ_OUTCOME_COMPLETE; /* the response is whole: the stages may keep it */
    detached_end(req);
}

static void
pump_response(struct req *req)
{
    if (req->detached) {
        pump_detached(req);
        return;
    }
    struct conn *c = req->conn;
    for (;;) {
        struct upstream_conn *uc = req->up;
        if (!req->resp_head_parsed) {
            int r = parse_response_head(req);
            if (r <= 0) {
                if (r == 0 && uc->in->start == 0 && uc->in->end == uc->in->cap)
                    upstream_failed(req, 502, "protocol", "upstream response head too large");
                return;
            }
        }
        if (frame_response_body(req) != 0)
            return;
        size_t written, head_before = req->resp_out_sent;
        enum write_result w = write_pair(c->fd, &req->resp_out, &req->resp_out_sent,
                                         uc->in->data + uc->in->start, req->resp_pending, &written);
        req->resp_head_sent = true;
        uc->in->start += written;
        req->resp_pending -= written;
        req->bytes_out += written + (req->resp_out_sent - head_before);
        if (w == WRITE_FAILED) {
            conn_close(c); /* the client vanished mid-response */
            return;
        }
        if (w == WRITE_AGAIN) {
            conn_want_write(c, true);
            upstream_conn_want_read(uc, false); /* backpressure: slow client, slow upstream */
            conn_set_deadline(c, req->cfg->http.body_timeout_ms);
            return;
        }
        conn_want_write(c, false);
        if (req->tunnel && c->state != CONN_TUNNEL) {
            start_tunnel(req);
            return;
        }
        if (req->resp_head.status < 200 && !req->tunnel) {
            after_interim(req);
            if (buf_len(uc->in) > 0)
                continue;
        } else if (req->resp_done) {
            exchange_complete(req);
            return;
        }
        conn_set_deadline(c,
                          req->req_body_done || req->tunnel ? 0 : req->cfg->http.body_timeout_ms);
        upstream_conn_want_read(uc, true);
        return;
    }
}

bool
proxy_detach(struct req *req)
{
    if (!req->keep_exchange || req->tunnel || req->up == NULL || !req->resp_head_parsed ||
        req->resp_head.status < 200 || req->resp_done || !request_fully_sent(req))
        return false;
    req->detached = true;
    worker_background_begin(req->worker);
    /* a slow client may have stopped the reads (backpressure): no more */
    upstream_conn_want_read(req->up, true);
    upstream_conn_set_deadline(req->up, req->route->upstream->read_timeout_ms);
    return true;
}

void
proxy_abort(struct req *req)
{
    if (req->outcome == REQ_OUTCOME_COMPLETE)
        req->outcome = req->tunnel ? REQ_OUTCOME_COMPLETE : REQ_OUTCOME_CLIENT_GONE;
    if (req->status == 0)
        req->status = 499; /* nginx's code for a client that closed first */
    release_upstream(req, false);
}
