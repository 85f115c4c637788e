/*
 * req.c - a request's life: creation, keeping its head, and the end that
 * every request meets exactly once (done hooks, access log, metrics).
 */
#include "core/req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/metrics.h"
#include "config/config.h"
#include "core/pipeline.h"
#include "core/worker.h"
#include "http/http_headers.h"
#include "util/accesslog.h"
#include "util/clock.h"

static void req_destroy(struct req *req);

#define REQ_RECYCLED_MAX 256

/* Clears a recycled request but keeps the memory of its buffers. */
static void
req_reset(struct req *req)
{
    struct strbuf keep[4] = {req->upstream_extra, req->response_extra, req->out, req->resp_out};
    char *head_buf = req->head_buf;
    size_t head_buf_cap = req->head_buf_cap;
    memset(req, 0, offsetof(struct req, head));
    /* A head that never completed (a 408) must not log the last one's. */
    req->head.method = req->head.target = (struct sl_slice){NULL, 0};
    req->head.nheaders = 0;
    req->resp_head.nheaders = 0;
    struct strbuf *bufs[4] = {&req->upstream_extra, &req->response_extra, &req->out,
                              &req->resp_out};
    for (int i = 0; i < 4; i++) {
        *bufs[i] = keep[i];
        bufs[i]->len = 0;
    }
    req->head_buf = head_buf;
    req->head_buf_cap = head_buf_cap;
}

struct req *
req_new(struct conn *conn, struct worker *w)
{
    struct req *req = w->recycled_reqs;
    if (req != NULL) {
        w->recycled_reqs = req->next_recycled_;
        w->nrecycled_reqs--;
        req_reset(req);
    } else {
        req = xcalloc(1, sizeof(*req));
    }
    req->conn = conn;
    req->worker = w;
    req->cfg = config_ref(w->cfg);
    req->start_us = clock_now_us();
    http_msg_parser_init(&req->body_parser, HTTP_MSG_REQUEST, false);
    return req;
}

static void
rebase(struct sl_slice *s, const char *from, char *to)
{
    if (s->p != NULL)
        s->p = to + (s->p - from);
}

void
req_keep_head(struct req *req, const char *from)
{
    struct http_head *h = &req->head;
    size_t need = h->head_len + h->target.len;
    if (req->head_buf_cap < need) {
        free(req->head_buf);
        req->head_buf = xmalloc(need);
        req->head_buf_cap = need;
    }
    memcpy(req->head_buf, from, h->head_len);
    rebase(&h->method, from, req->head_buf);
    rebase(&h->target, from, req->head_buf);
    for (unsigned i = 0; i < h->nheaders; i++) {
        rebase(&h->headers[i].name, from, req->head_buf);
        rebase(&h->headers[i].value, from, req->head_buf);
    }
}

void
req_assign_id(struct req *req)
{
    const struct http_header *h = http_head_find(&req->head, "x-request-id");
    if (h != NULL && http_headers_request_id_valid(h->value)) {
        memcpy(req->request_id, h->value.p, h->value.len);
        req->request_id_len = h->value.len;
        return;
    }
    req_generate_id(req);
}

void
req_generate_id(struct req *req)
{
    /* The worker's random seed, then a counter: unique, and cheaper than
     * random bytes per request (no getrandom syscall). */
    static const char hex[] = "0123456789abcdef";
    struct worker *w = req->worker;
    uint64_t counter = ++w->rid_counter;
    memcpy(req->request_id, w->rid_seed_hex, 16);
    for (int i = 23; i >= 16; i--, counter >>= 4)
        req->request_id[i] = hex[counter & 15];
    req->request_id_len = 24;
}

/* The request path without the query, for the log and metrics. */
static void
log_request(struct req *req)
{
    int64_t now = clock_now_us();
    struct access_entry e = {
        .request_id = {req->request_id, req->request_id_len},
        .user = req->id.user[0] != '\0' ? req->id.user : NULL,
        .route = req->route ? req->route->name : NULL,
        .method = req->head.method,
        .path = req->head.target,
        .status = req->status,
        .bytes_out = req->bytes_out,
        .upstream_ms = req->reached_upstream ? req->upstream_us / 1000 : -1,
        .total_ms = (double)(now - req->start_us) / 1000.0,
        .cache = req->cache_status,
        .limit = req->limit_decision,
    };
    access_log_write(req->worker->alog, &e);
    metrics_record_request(req->worker->metrics, req->route ? req->route->name : "", req->status,
                           (uint64_t)(now - req->start_us));
}

/* Under a sanitizer every finished request is freed, so that a stage or
 * callback touching a request after it ended is reported as a
 * use-after-free instead of silently reading its successor. */
#if defined(__SANITIZE_ADDRESS__)
#define REQ_RECYCLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REQ_RECYCLE 0
#endif
#endif
#ifndef REQ_RECYCLE
#define REQ_RECYCLE 1
#endif

void
req_finish(struct req *req)
{
    pipeline_done(req);
    if (req->status != 0)
        log_request(req);
    config_unref(req->cfg);
    struct worker *w = req->worker;
    /* Keep a few for reuse; one that grew big buffers is not worth keeping. */
    if (REQ_RECYCLE && w->nrecycled_reqs < REQ_RECYCLED_MAX && req->head_buf_cap <= 8192 &&
        req->out.cap <= 16384 && req->resp_out.cap <= 16384) {
        req->next_recycled_ = w->recycled_reqs;
        w->recycled_reqs = req;
        w->nrecycled_reqs++;
        return;
    }
    req_destroy(req);
}

static void
req_destroy(struct req *req)
{
    strbuf_deinit(&req->upstream_extra);
    strbuf_deinit(&req->response_extra);
    strbuf_deinit(&req->out);
    strbuf_deinit(&req->resp_out);
    free(req->head_buf);
    free(req);
}

void
req_free_recycled(struct worker *w)
{
    while (w->recycled_reqs != NULL) {
        struct req *req = w->recycled_reqs;
        w->recycled_reqs = req->next_recycled_;
        req_destroy(req);
    }
    w->nrecycled_reqs = 0;
}
