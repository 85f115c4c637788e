/*
 * test_pipeline.c - stages run in order, may suspend on I/O and resume,
 * may answer themselves; done hooks run for exactly the stages that ran,
 * and a request whose client left while suspended is finished on resume.
 */
#include <event2/event.h>
#include <string.h>

#include "core/pipeline.h"
#include "tap.h"

static char trace[256];
static struct event_base *base;

static void
note(const char *s)
{
    strcat(trace, s);
}

/* Passes on, holding state for the request: its hooks run. */
static void
pass_run(struct req *req)
{
    note("p");
    req->stage_data[req->stage] = req;
    req_next(req);
}

/* Passes on with nothing to do for the request (stage_data NULL). */
static void
idle_run(struct req *req)
{
    note("i");
    req_next(req);
}

static void
idle_hook(struct req *req)
{
    note("!");
}

static void
pass_done(struct req *req)
{
    note("P");
}

static void
resume(evutil_socket_t fd, short what, void *arg)
{
    note("r");
    req_next(arg);
}

/* Suspends the way a Redis round trip would: returns, resumes later. */
static void
async_run(struct req *req)
{
    note("a");
    req->stage_data[req->stage] = req; /* holds state: its body observer runs */
    struct timeval tv = {0, 1000};
    event_base_once(base, -1, EV_TIMEOUT, resume, req, &tv);
}

static void
async_done(struct req *req)
{
    note("A");
}

static void
refuse_run(struct req *req)
{
    note("x");
    req_fail(req, 429, "rate_limited", NULL);
}

static void
observe_body(struct req *req, const char *p, size_t len)
{
    note("b");
}

static const struct stage pass = {.name = "pass", .run = pass_run, .on_done = pass_done};
static const struct stage async = {
    .name = "async", .run = async_run, .on_done = async_done, .on_response_body = observe_body};
static const struct stage refuse = {.name = "refuse", .run = refuse_run};

static void
fake_forward(struct req *req)
{
    note("F");
}

static unsigned replied;
static char replied_extra[64];
static void
fake_reply(struct req *req, const struct stage_reply *r)
{
    replied = r->status;
    snprintf(replied_extra, sizeof(replied_extra), "%s", r->json_extra ? r->json_extra : "");
    note("R");
}

static void
fake_abandon(struct req *req)
{
    note("G");
    pipeline_done(req);
}

static const struct pipeline_ops ops = {
    .forward = fake_forward, .reply = fake_reply, .abandon = fake_abandon};

static const struct stage stateless = {
    .name = "idle", .run = idle_run, .on_response_head = idle_hook, .on_done = idle_hook};

/* A stage without state for a request costs no hook call (pipeline.h):
 * neither the head hook nor the done hook runs for it. */
static void
test_stage_without_state_gets_no_hooks(void)
{
    struct req req = {.conn = (struct conn *)&req};
    const struct stage *const stages[] = {&stateless, &pass, &stateless};
    trace[0] = '\0';
    pipeline_start(&req, stages, 3, &ops);
    req.resp_head.status = 200;
    pipeline_response_head(&req);
    pipeline_done(&req);
    is_str(trace, "ipiFP", "hooks run only for the stage that holds state");
}

static void
test_sync_stages_then_forward(void)
{
    struct req req = {.conn = (struct conn *)&req};
    const struct stage *const stages[] = {&pass, &pass};
    trace[0] = '\0';
    pipeline_start(&req, stages, 2, &ops);
    is_str(trace, "ppF", "synchronous stages run in order, then forward");
    pipeline_done(&req);
    is_str(trace, "ppFPP", "done hooks of both stages run");
}

static void
test_async_stage_suspends_and_resumes(void)
{
    struct req req = {.conn = (struct conn *)&req};
    const struct stage *const stages[] = {&pass, &async, &pass};
    trace[0] = '\0';
    pipeline_start(&req, stages, 3, &ops);
    is_str(trace, "pa", "the async stage suspended the request");
    ok(req.in_stage, "request is inside a stage while suspended");
    event_base_dispatch(base);
    is_str(trace, "parpF", "resumed from the event loop and reached forward");
    pipeline_response_body(&req, "x", 1);
    is_str(trace, "parpFb", "body observer sees bytes");
    pipeline_done(&req);
    is_str(trace, "parpFbPAP", "done hooks run in reverse order");
}

static void
test_refusal_skips_later_stages(void)
{
    struct req req = {.conn = (struct conn *)&req};
    const struct stage *const stages[] = {&pass, &refuse, &async};
    trace[0] = '\0';
    replied = 0;
    pipeline_start(&req, stages, 3, &ops);
    is_str(trace, "pxR", "a refusing stage answers; later stages never run");
    is_int(replied, 429, "the refusal status reaches the reply callback");
    pipeline_done(&req);
    is_str(trace, "pxRP", "only stages that ran get done hooks");
}

static void
reply_with_extra(struct req *req)
{
    note("y");
    struct stage_reply r = {.status = 429, .error = "rate_limited", .json_extra = ",\"n\":1"};
    req_reply(req, &r);
}
static const struct stage replying = {.name = "replying", .run = reply_with_extra};

static void
test_whole_reply_reaches_the_gateway(void)
{
    struct req req = {.conn = (struct conn *)&req};
    const struct stage *const stages[] = {&replying};
    trace[0] = '\0';
    pipeline_start(&req, stages, 1, &ops);
    is_str(replied_extra, ",\"n\":1", "a stage's extra JSON members reach the reply");
    pipeline_done(&req);
}

static void
head_hook(struct req *req)
{
    note("h");
}
static const struct stage heads = {.name = "heads", .run = pass_run, .on_response_head = head_hook};

static void
test_head_hook_skips_interim_heads(void)
{
    struct req req = {.conn = (struct conn *)&req};
    const struct stage *const stages[] = {&heads};
    trace[0] = '\0';
    pipeline_start(&req, stages, 1, &ops);
    req.resp_head.status = 100;
    pipeline_response_head(&req);
    is_str(trace, "pF", "a 100 Continue head runs no head hook");
    req.resp_head.status = 200;
    pipeline_response_head(&req);
    is_str(trace, "pFh", "the final head runs it once");
    req.resp_head.status = 101;
    req.head.upgrade = true;
    pipeline_response_head(&req);
    is_str(trace, "pFhh", "a 101 that opens a tunnel is a final head");
    pipeline_done(&req);
}

static void
observe_request(struct req *req, const char *p, size_t len)
{
    note(len == 3 && memcmp(p, "abc", 3) == 0 ? "q" : "?");
}
/* Passes on, holding state for the request (stage_data), so that its
 * request-body observer runs. */
static void
holding_run(struct req *req)
{
    note("p");
    req->stage_data[req->stage] = req;
    req_next(req);
}
static const struct stage requests = {
    .name = "requests", .run = holding_run, .on_request_body = observe_request};
static const struct stage idle_observer = {
    .name = "idle", .run = idle_run, .on_request_body = observe_request};

static void
test_request_body_observed_by_stages_that_ran(void)
{
    struct req req = {.conn = (struct conn *)&req};
    const struct stage *const plain[] = {&pass};
    pipeline_start(&req, plain, 1, &ops);
    ok(!pipeline_observes_request_body(&req), "no stage observes the request body");
    pipeline_done(&req);
    memset(req.stage_data, 0, sizeof(req.stage_data));
    const struct stage *const idle[] = {&idle_observer};
    pipeline_start(&req, idle, 1, &ops);
    ok(!pipeline_observes_request_body(&req),
       "an observer without state for the request (stage_data NULL) is not called");
    pipeline_done(&req);
    memset(req.stage_data, 0, sizeof(req.stage_data));
    const struct stage *const stages[] = {&requests, &refuse, &requests};
    trace[0] = '\0';
    pipeline_start(&req, stages, 3, &ops);
    ok(pipeline_observes_request_body(&req), "a stage that ran observes it");
    pipeline_request_body(&req, "abc", 3);
    is_str(trace, "pxRq", "only the stage that ran sees the payload");
    pipeline_done(&req);
}

static void
test_client_gone_while_suspended(void)
{
    struct req req = {.conn = (struct conn *)&req};
    const struct stage *const stages[] = {&async, &pass};
    trace[0] = '\0';
    pipeline_start(&req, stages, 2, &ops);
    req.conn = NULL; /* the client connection closed meanwhile */
    event_base_dispatch(base);
    is_str(trace, "arGA", "resume finds the client gone: abandoned, hooks run, no forward");
    is_int(req.outcome, REQ_OUTCOME_CLIENT_GONE, "outcome says the client left");
}

int
main(void)
{
    base = event_base_new();
    test_sync_stages_then_forward();
    test_stage_without_state_gets_no_hooks();
    test_async_stage_suspends_and_resumes();
    test_refusal_skips_later_stages();
    test_client_gone_while_suspended();
    test_whole_reply_reaches_the_gateway();
    test_head_hook_skips_interim_heads();
    test_request_body_observed_by_stages_that_ran();
    event_base_free(base);
    return tap_done();
}
