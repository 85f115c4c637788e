/*
 * upstream_fetch.c - a client-less exchange: write one head, read the
 * whole response, call back once.
 */
#include "upstream/upstream_fetch.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "http/http_parse.h"
#include "upstream/upstream_pool.h"
#include "util/bufpool.h"
#include "util/strbuf.h"

struct upstream_fetch {
    struct upstream_pool *pool; /* borrowed */
    struct upstream_conn *uc;   /* lent by the pool while the exchange runs */
    struct strbuf request;      /* owns: the head to send */
    size_t sent;
    bool retried;               /* once, after a stale pooled connection */
    struct http_msg_parser parser;
    struct strbuf head_bytes;   /* owns: the final head, copied out of uc->in */
    struct http_head head;      /* slices borrow head_bytes */
    bool head_parsed;
    struct strbuf body;         /* owns: the payload */
    size_t max_body;
    bool too_big;
    upstream_fetch_cb cb;
    void *arg;
};

static void fetch_readable(struct upstream_conn *uc);
static void fetch_writable(struct upstream_conn *uc);
static void fetch_timeout(struct upstream_conn *uc);

static const struct upstream_handler fetch_handler = {
    .readable = fetch_readable,
    .writable = fetch_writable,
    .timeout = fetch_timeout,
};

/* Calls back and frees f; the connection is given back first. */
static void
finish(struct upstream_fetch *f, const char *error, bool reusable)
{
    if (f->uc != NULL)
        upstream_pool_release(f->uc, reusable && error == NULL);
    f->uc = NULL;
    struct upstream_fetch_result res = {
        .error = error,
        .head = error == NULL ? &f->head : NULL,
        .body = {f->body.p, f->body.len},
    };
    f->cb(f->arg, &res);
    strbuf_deinit(&f->request);
    strbuf_deinit(&f->head_bytes);
    strbuf_deinit(&f->body);
    free(f);
}

static void
on_start_failed(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    finish(arg, "no upstream server available", false);
}

static bool
acquire(struct upstream_fetch *f, bool fresh)
{
    const char *err = NULL;
    f->uc = upstream_pool_acquire(f->pool, &fetch_handler, f, -1, fresh, &err);
    if (f->uc == NULL)
        return false;
    const struct config_upstream *up = upstream_pool_upstream(f->pool);
    f->sent = 0;
    f->head_parsed = false;
    http_msg_parser_init(&f->parser, HTTP_MSG_RESPONSE, false);
    upstream_conn_want_write(f->uc, true);
    upstream_conn_set_deadline(f->uc, f->uc->connecting ? up->connect_timeout_ms
                                                        : up->read_timeout_ms);
    return true;
}

void
upstream_fetch_start(struct upstream_pool *pool, struct sl_slice request_head, size_t max_body,
                     upstream_fetch_cb cb, void *arg)
{
    struct upstream_fetch *f = xcalloc(1, sizeof(*f));
    f->pool = pool;
    strbuf_append_slice(&f->request, request_head);
    f->max_body = max_body;
    f->cb = cb;
    f->arg = arg;
    if (!acquire(f, false))
        event_base_once(upstream_pool_base(pool), -1, EV_TIMEOUT, on_start_failed, f, NULL);
}

/* A pooled connection the upstream closed while idle fails before any
 * response byte: the request (a GET) goes once more on a fresh one. */
static bool
retry_stale(struct upstream_fetch *f)
{
    if (!f->uc->reused || f->retried || f->head_parsed || (f->uc->in && buf_len(f->uc->in) > 0))
        return false;
    f->retried = true;
    upstream_pool_release(f->uc, false);
    f->uc = NULL;
    return acquire(f, true);
}

static void
fetch_writable(struct upstream_conn *uc)
{
    struct upstream_fetch *f = uc->owner;
    if (uc->connecting) {
        if (!upstream_conn_connected(uc)) {
            upstream_pool_mark_failed(uc);
            finish(f, "cannot connect to the upstream", false);
            return;
        }
        uc->connecting = false;
        upstream_conn_set_deadline(uc, upstream_pool_upstream(f->pool)->read_timeout_ms);
    }
    ssize_t w;
    do {
        w = send(uc->fd, f->request.p + f->sent, f->request.len - f->sent, MSG_NOSIGNAL);
    } while (w < 0 && errno == EINTR);
    if (w < 0 && errno == EAGAIN)
        return;
    if (w < 0) {
        if (!retry_stale(f))
            finish(f, "upstream closed while receiving the request", false);
        return;
    }
    f->sent += (size_t)w;
    if (f->sent < f->request.len)
        return;
    upstream_conn_want_write(uc, false);
    upstream_conn_want_read(uc, true);
}

static void
collect_payload(void *arg, const char *p, size_t len)
{
    struct upstream_fetch *f = arg;
    if (f->body.len + len > f->max_body)
        f->too_big = true;
    else
        strbuf_append(&f->body, p, len);
}

/* Parses a head at the front of uc->in. Returns 1 when the final head is
 * parsed, 0 for more bytes, -1 on a malformed one. */
static int
parse_head(struct upstream_fetch *f)
{
    struct buf *b = f->uc->in;
    for (;;) {
        struct http_head probe;
        enum http_parse_result r = http_parse_head(&f->parser, &probe, b->data + b->start,
                                                   buf_len(b), b->cap);
        if (r == HTTP_PARSE_INCOMPLETE)
            return b->start == 0 && b->end == b->cap ? -1 : 0;
        if (r == HTTP_PARSE_ERROR)
            return -1;
        if (probe.status >= 200) {
            /* The head's slices must outlive uc->in: parse a copy. */
            f->head_bytes.len = 0;
            strbuf_append(&f->head_bytes, b->data + b->start, probe.head_len);
            b->start += probe.head_len;
            http_msg_parser_init(&f->parser, HTTP_MSG_RESPONSE, false);
            http_parse_head(&f->parser, &f->head, f->head_bytes.p, f->head_bytes.len,
                            f->head_bytes.len);
            f->head_parsed = true;
            return 1;
        }
        b->start += probe.head_len; /* an interim 1xx: the final head follows */
        http_msg_parser_init(&f->parser, HTTP_MSG_RESPONSE, false);
    }
}

static void
on_eof(struct upstream_fetch *f)
{
    if (f->head_parsed && f->head.body == HTTP_BODY_UNTIL_CLOSE) {
        finish(f, NULL, false);
        return;
    }
    if (!retry_stale(f))
        finish(f, "upstream closed the connection before the response ended", false);
}

static void
fetch_readable(struct upstream_conn *uc)
{
    struct upstream_fetch *f = uc->owner;
    long n = upstream_conn_read(uc);
    if (n == 0 || n == -1) {
        on_eof(f);
        return;
    }
    if (n == -2 && uc->in->end < uc->in->cap)
        return;
    upstream_conn_set_deadline(uc, upstream_pool_upstream(f->pool)->read_timeout_ms);
    if (!f->head_parsed) {
        int r = parse_head(f);
        if (r < 0) {
            finish(f, "upstream sent a malformed response head", false);
            return;
        }
        if (r == 0)
            return;
    }
    struct buf *b = uc->in;
    size_t used = 0;
    struct http_payload_sink sink = {collect_payload, f};
    enum http_parse_result r = HTTP_PARSE_OK;
    if (!http_msg_complete(&f->parser))
        r = http_parse_body_payload(&f->parser, b->data + b->start, buf_len(b), &used, &sink);
    b->start += used;
    if (r == HTTP_PARSE_ERROR || f->too_big) {
        finish(f, f->too_big ? "response too large to keep" : "upstream sent malformed body framing",
               false);
        return;
    }
    if (r == HTTP_PARSE_OK)
        finish(f, NULL, f->head.keep_alive && buf_len(b) == 0);
}

static void
fetch_timeout(struct upstream_conn *uc)
{
    struct upstream_fetch *f = uc->owner;
    if (uc->connecting)
        upstream_pool_mark_failed(uc);
    finish(f, "upstream did not answer in time", false);
}
