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

struct req *
req_new(struct conn *conn, struct worker *w)
{
    struct req *req = xcalloc(1, sizeof(*req));
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
    req->head_buf = xmalloc(h->head_len);
    memcpy(req->head_buf, from, h->head_len);
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
    struct worker *w = req->worker;
    int n = snprintf(req->request_id, sizeof(req->request_id), "%016llx%08llx",
                     (unsigned long long)w->rid_seed,
                     (unsigned long long)(++w->rid_counter & 0xffffffffu));
    req->request_id_len = (size_t)n;
}

/* The request path without the query, for the log and metrics. */
static void
log_request(struct req *req)
{
    int64_t now = clock_now_us();
    struct access_entry e = {
        .request_id = {req->request_id, req->request_id_len},
        .user = req->user,
        .route = req->route ? req->route->name : NULL,
        .method = req->head.method,
        .path = req->head.target,
        .status = req->status,
        .bytes_out = req->bytes_out,
        .upstream_ms = req->upstream_start_us ? req->upstream_us / 1000 : -1,
        .total_ms = (double)(now - req->start_us) / 1000.0,
        .cache = req->cache_status,
        .limit = req->limit_decision,
    };
    access_log_write(req->worker->alog, &e);
    metrics_record_request(req->worker->metrics, req->route ? req->route->name : "",
                           req->status, (uint64_t)(now - req->start_us));
}

void
req_finish(struct req *req)
{
    pipeline_done(req);
    if (req->status != 0)
        log_request(req);
    strbuf_deinit(&req->upstream_extra);
    strbuf_deinit(&req->response_extra);
    strbuf_deinit(&req->out);
    strbuf_deinit(&req->resp_out);
    config_unref(req->cfg);
    free(req->head_buf);
    free(req);
}
