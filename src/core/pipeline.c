/*
 * pipeline.c - runs a request through its stages, then hands it to the
 * proxy; after the exchange, runs the hooks of the stages that ran.
 */
#include "core/pipeline.h"

#include <stddef.h>
#include <string.h>

#include "net/conn.h"
#include "policy/auth.h"
#include "policy/cache.h"
#include "policy/idempotency.h"
#include "policy/ratelimit.h"
#include "util/bufpool.h"

const struct stage *const pipeline_stages[] = {
    &auth_stage,
    &ratelimit_stage,
    &idempotency_stage, /* after the limits (a replay is a request), before the cache */
    &cache_stage,
};
const size_t pipeline_nstages = SL_ARRAY_LEN(pipeline_stages);

void
pipeline_start(struct req *req, const struct stage *const *stages, size_t nstages,
               const struct pipeline_ops *ops)
{
    SL_ASSERT(nstages <= PIPELINE_MAX_STAGES);
    req->stages_ = stages;
    req->nstages_ = nstages;
    req->ops_ = ops;
    req->stages_run_ = 0;
    req->stage = 0;
    if (nstages == 0) {
        ops->forward(req);
        return;
    }
    req->in_stage = true;
    req->stages_run_ = 1;
    stages[0]->run(req);
}

/* A stage that suspended may resume after its client left. */
static bool
abandoned(struct req *req)
{
    if (req->conn != NULL)
        return false;
    req->in_stage = false;
    req->outcome = REQ_OUTCOME_CLIENT_GONE;
    req->ops_->abandon(req);
    return true;
}

void
req_next(struct req *req)
{
    SL_ASSERT(req->in_stage);
    if (abandoned(req))
        return;
    req->stage++;
    if (req->stage == req->nstages_) {
        req->in_stage = false;
        req->ops_->forward(req);
        return;
    }
    req->stages_run_ = req->stage + 1;
    req->stages_[req->stage]->run(req);
}

void
req_reply(struct req *req, const struct stage_reply *reply)
{
    SL_ASSERT(req->in_stage);
    if (abandoned(req))
        return;
    req->in_stage = false;
    req->ops_->reply(req, reply);
}

void
req_stream_push(struct req *req, const char *p, size_t len)
{
    SL_ASSERT(!req->in_stage && req->ops_->stream_push != NULL);
    req->ops_->stream_push(req, p, len);
}

void
req_stream_end(struct req *req, bool whole)
{
    SL_ASSERT(!req->in_stage && req->ops_->stream_end != NULL);
    req->ops_->stream_end(req, whole);
}

void
req_fail(struct req *req, unsigned status, const char *error, const char *message)
{
    struct stage_reply r = {.status = status, .error = error, .message = message};
    req_reply(req, &r);
}

void
pipeline_response_head(struct req *req)
{
    /* An interim head (100 Continue) is followed by the real one: hooks
     * that add fields (RateLimit) or count must see only the final head. */
    unsigned status = req->resp_head.status;
    if (status < 200 && !(status == 101 && req->head.upgrade))
        return;
    for (unsigned i = 0; i < req->stages_run_; i++) {
        if (req->stage_data[i] != NULL && req->stages_[i]->on_response_head != NULL)
            req->stages_[i]->on_response_head(req);
    }
}

struct sl_slice
req_body_at_hand(const struct req *req)
{
    const struct conn *c = req->conn;
    if (c == NULL || c->in == NULL || req->head.body == HTTP_BODY_NONE)
        return (struct sl_slice){"", 0};
    size_t len = buf_len(c->in);
    if (req->head.body == HTTP_BODY_LENGTH && req->head.content_length < len)
        len = (size_t)req->head.content_length;
    return (struct sl_slice){c->in->data + c->in->start, len};
}

bool
req_consume_body_at_hand(struct req *req)
{
    struct sl_slice body = req_body_at_hand(req);
    if (req->head.body == HTTP_BODY_NONE)
        return true;
    if (req->head.body != HTTP_BODY_LENGTH || body.len != req->head.content_length)
        return false;
    size_t n;
    http_parse_body(&req->body_parser, body.p, body.len, &n);
    req->conn->in->start += n;
    return http_msg_complete(&req->body_parser);
}

/* A stage observes a request's bodies, like its other hooks, only while
 * it holds state for it (pipeline.h): the plain proxy path pays no hook
 * call. */
static bool
observing(const struct req *req, unsigned i, bool request_body)
{
    const struct stage *st = req->stages_[i];
    return req->stage_data[i] != NULL &&
           (request_body ? st->on_request_body != NULL : st->on_response_body != NULL);
}

static bool
any_observer(const struct req *req, bool request_body)
{
    for (unsigned i = 0; i < req->stages_run_; i++) {
        if (observing(req, i, request_body))
            return true;
    }
    return false;
}

bool
pipeline_observes_body(const struct req *req)
{
    return any_observer(req, false);
}

bool
pipeline_observes_request_body(const struct req *req)
{
    return any_observer(req, true);
}

void
pipeline_request_body(struct req *req, const char *p, size_t len)
{
    for (unsigned i = 0; i < req->stages_run_; i++) {
        if (observing(req, i, true))
            req->stages_[i]->on_request_body(req, p, len);
    }
}

void
pipeline_response_body(struct req *req, const char *p, size_t len)
{
    for (unsigned i = 0; i < req->stages_run_; i++) {
        if (observing(req, i, false))
            req->stages_[i]->on_response_body(req, p, len);
    }
}

void
pipeline_done(struct req *req)
{
    /* Reverse order: a later stage's hook may rely on an earlier one's state. */
    for (unsigned i = req->stages_run_; i > 0; i--) {
        if (req->stage_data[i - 1] != NULL && req->stages_[i - 1]->on_done != NULL)
            req->stages_[i - 1]->on_done(req);
    }
    req->stages_run_ = 0;
}

/* The two hooks by which a stage answers in place of the upstream share
 * one walk: the first stage to give a response wins. */
typedef const struct http_stored_response *(*answer_hook)(struct req *req);

static const struct http_stored_response *
first_answer(struct req *req, size_t hook_offset)
{
    for (unsigned i = 0; i < req->stages_run_; i++) {
        if (req->stage_data[i] == NULL)
            continue;
        answer_hook hook;
        memcpy(&hook, (const char *)req->stages_[i] + hook_offset, sizeof(hook));
        const struct http_stored_response *r = hook != NULL ? hook(req) : NULL;
        if (r != NULL)
            return r;
    }
    return NULL;
}

const struct http_stored_response *
pipeline_upstream_failed(struct req *req)
{
    return first_answer(req, offsetof(struct stage, on_upstream_failed));
}

const struct http_stored_response *
pipeline_response_replace(struct req *req)
{
    return first_answer(req, offsetof(struct stage, on_response_replace));
}
