/*
 * mock_routes - the mock's endpoints (route_*): what each path answers,
 * and the timed jobs behind the slow ones (delay, SSE, drip, reset).
 *
 * A handler appends its whole answer to c->out, or the head plus a first
 * piece and then starts a job; conn_* writes it out. Jobs tick on the
 * conn's timer: route_job_tick() sends the next step and re-arms, or sets
 * JOB_NONE when the response is complete.
 *
 * Bodies that never change (/small, /v1/models) are built once at start.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mock_llm.h"

#define MODEL "mock-llm"
#define CREATED "1700000000"
#define MAX_DELAY_MS 600000L
#define MAX_EVENTS 100000L
#define MAX_BYTES (1L << 30)
#define MAX_BIG_HEADER (1L << 20)
#define RESET_AFTER_MS 20 /* lets the 100 body bytes reach the peer first */

typedef void route_cb(struct conn *c, const struct http_req *req, const char *body,
                      size_t body_len);

struct route {
    const char *path;
    bool prefix;
    route_cb *handler;
};

static const char *const g_tokens[] = {"Hello", " from", " the", " mock", " LLM."};
#define NTOKENS ((long)(sizeof(g_tokens) / sizeof(g_tokens[0])))

static struct buf g_small;   /* whole keep-alive HTTP/1.1 answer of /small */
static struct buf g_models;  /* body of /v1/models */
static struct buf g_scratch; /* bodies built per request */

void
route_init(void)
{
    static const char small[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                "Content-Length: 6\r\n\r\nhello\n";

    buf_append(&g_small, small, sizeof(small) - 1);
    buf_str(&g_models, "{\"object\":\"list\",\"data\":["
                       "{\"id\":\"" MODEL "\",\"object\":\"model\",\"created\":" CREATED
                       ",\"owned_by\":\"sluice\"},"
                       "{\"id\":\"" MODEL "-mini\",\"object\":\"model\",\"created\":" CREATED
                       ",\"owned_by\":\"sluice\"}]}\n");
}

static struct buf *
scratch(void)
{
    if (g_scratch.cap > (4u << 20))
        buf_free(&g_scratch); /* after a big echo */
    g_scratch.len = 0;
    return &g_scratch;
}

/* Appends printf output to b; the formats here are short and literal. */
static void buf_printf(struct buf *b, size_t max, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
buf_printf(struct buf *b, size_t max, const char *fmt, ...)
{
    va_list ap;
    int n;

    buf_reserve(b, max);
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, max, fmt, ap);
    va_end(ap);
    b->len += (size_t)n < max ? (size_t)n : max - 1;
}

static void
reply_json(struct conn *c, const struct http_req *req, int status, const struct buf *b)
{
    out_reply(c, req, status, "application/json", b->p, b->len);
}

static void
reply_error(struct conn *c, const struct http_req *req, int status, const char *why)
{
    struct buf *b = scratch();

    buf_str(b, "{\"error\":");
    json_put_str(b, why, strlen(why));
    buf_str(b, ",\"path\":");
    json_put_str(b, req->target.p, req->target.len);
    buf_str(b, "}\n");
    reply_json(c, req, status, b);
}

/* The number after a path prefix such as "/delay/", or -1. */
static long
path_long(const struct http_req *req, size_t prefix_len)
{
    long v = 0;
    size_t i;

    for (i = prefix_len; i < req->path.len; i++) {
        if (req->path.p[i] < '0' || req->path.p[i] > '9' || v > MAX_BYTES)
            return -1;
        v = v * 10 + (req->path.p[i] - '0');
    }
    return i == prefix_len ? -1 : v;
}

/* Only the fields out_head/out_reply read, for answers sent by a job. */
static void
job_req(const struct job *job, struct http_req *req)
{
    req->minor = job->minor;
    req->keep_alive = job->keep_alive;
    req->head_only = job->head_only;
}

static void
job_begin(struct conn *c, const struct http_req *req, enum job_kind kind, long interval_ms)
{
    memset(&c->job, 0, sizeof(c->job));
    c->job.kind = kind;
    c->job.interval_ms = interval_ms;
    c->job.minor = req->minor;
    c->job.keep_alive = req->keep_alive;
    c->job.head_only = req->head_only;
}

static void
h_small(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    if (req->keep_alive && req->minor == 1 && !req->head_only)
        buf_append(&c->out, g_small.p, g_small.len);
    else
        out_reply(c, req, 200, "text/plain", "hello\n", 6);
}

static void
h_bytes(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    long n = req->path.len > 7 ? path_long(req, 7) : http_query_long(req, "n", -1);

    if (n < 0 || n > MAX_BYTES) {
        reply_error(c, req, 400, "use /bytes/N or /bytes?n=N, N <= 1 GiB");
        return;
    }
    out_head(c, req, 200, "application/octet-stream", n, NULL);
    if (!req->head_only)
        c->fill_left = (size_t)n; /* written from a static block, never copied */
}

static void
h_echo(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    struct buf *b = scratch();
    int i;

    buf_reserve(b, 256 + body_len + req->head_len);
    buf_str(b, "{\"method\":");
    json_put_str(b, req->method.p, req->method.len);
    buf_str(b, ",\"path\":");
    json_put_str(b, req->target.p, req->target.len);
    buf_str(b, ",\"headers\":[");
    for (i = 0; i < req->nhdr; i++) {
        buf_str(b, i ? ",[" : "[");
        json_put_str(b, req->hdr[i].name.p, req->hdr[i].name.len);
        buf_append(b, ",", 1);
        json_put_str(b, req->hdr[i].value.p, req->hdr[i].value.len);
        buf_append(b, "]", 1);
    }
    buf_str(b, "],\"body\":");
    json_put_str(b, body, body_len);
    buf_str(b, "}\n");
    reply_json(c, req, 200, b);
}

static void
h_models(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    reply_json(c, req, 200, &g_models);
}

/* Skips JSON whitespace from p; returns the first other byte's position. */
static const char *
skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/*
 * The value after "key": in a JSON body, found by substring search (the
 * clients are trusted; a key inside a string value could fool it).
 */
static const char *
json_value(const char *body, size_t len, const char *key)
{
    const char *end = body + len, *p = body, *hit;
    size_t klen = strlen(key);

    while ((hit = memmem(p, (size_t)(end - p), key, klen)) != NULL) {
        p = skip_ws(hit + klen, end);
        if (p < end && *p == ':')
            return skip_ws(p + 1, end);
    }
    return NULL;
}

/* A non-negative JSON number at p, saturating at cap; -1 if none. */
static long
json_small_long(const char *p, const char *end, long cap)
{
    long v = -1;

    for (; p < end && *p >= '0' && *p <= '9'; p++)
        v = v < 0 ? *p - '0' : v < cap ? v * 10 + (*p - '0') : cap;
    return v;
}

static void
chat_reply(struct conn *c, const struct http_req *req, const struct job *job)
{
    struct buf *b = scratch();
    long i;

    buf_str(b, "{\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion\",\"created\":" CREATED
               ",\"model\":\"" MODEL "\",\"choices\":[{\"index\":0,\"message\":"
               "{\"role\":\"assistant\",\"content\":\"");
    for (i = 0; i < job->completion_tokens; i++)
        buf_str(b, g_tokens[i]);
    buf_printf(b, 200,
               "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":%ld,"
               "\"completion_tokens\":%ld,\"total_tokens\":%ld}}\n",
               job->prompt_tokens, job->completion_tokens,
               job->prompt_tokens + job->completion_tokens);
    reply_json(c, req, 200, b);
}

/* One event of a streamed completion: tokens, then usage, then [DONE]. */
static void
chat_sse_step(struct conn *c)
{
    struct job *job = &c->job;
    char ev[512];
    int n;

    if (job->step < job->completion_tokens)
        n = snprintf(ev, sizeof(ev),
                     "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\","
                     "\"created\":" CREATED ",\"model\":\"" MODEL "\",\"choices\":[{\"index\":0,"
                     "\"delta\":{%s\"content\":\"%s\"},\"finish_reason\":null}]}\n\n",
                     job->step == 0 ? "\"role\":\"assistant\"," : "", g_tokens[job->step]);
    else if (job->step == job->completion_tokens)
        n = snprintf(ev, sizeof(ev),
                     "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\","
                     "\"created\":" CREATED ",\"model\":\"" MODEL "\",\"choices\":[{\"index\":0,"
                     "\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":%ld,"
                     "\"completion_tokens\":%ld,\"total_tokens\":%ld}}\n\n",
                     job->prompt_tokens, job->completion_tokens,
                     job->prompt_tokens + job->completion_tokens);
    else
        n = snprintf(ev, sizeof(ev), "data: [DONE]\n\n");
    out_chunk(c, ev, (size_t)n);
    if (++job->step == job->steps) {
        out_chunk_end(c);
        job->kind = JOB_NONE;
    }
}

/* Runs a streamed job: all steps now without a delay, else one per tick. */
static void
job_stream(struct conn *c, void (*step)(struct conn *))
{
    if (c->job.interval_ms == 0) {
        while (c->job.kind != JOB_NONE)
            step(c);
        return;
    }
    step(c); /* the first event leaves with the head */
    if (c->job.kind != JOB_NONE)
        conn_job_start(c, c->job.interval_ms);
}

/* Event streams served (/sse and streamed chat answers), for /stats. */
static long g_streams;

/*
 * OpenAI-style chat completion. "stream": true answers SSE, one token per
 * event, then an event with usage (sluice charges token limits from it),
 * then [DONE]. X-Mock-Delay-Ms or ?delay_ms= spaces the events.
 */
static void
h_chat(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    const char *v = json_value(body, body_len, "\"stream\"");
    bool stream = v != NULL && body + body_len - v >= 4 && memcmp(v, "true", 4) == 0;
    long delay = req->delay_ms >= 0 ? req->delay_ms : http_query_long(req, "delay_ms", 0);
    long max_tokens = -1;

    if ((v = json_value(body, body_len, "\"max_tokens\"")) != NULL)
        max_tokens = json_small_long(v, body + body_len, NTOKENS);
    if (delay > MAX_DELAY_MS)
        delay = MAX_DELAY_MS;
    job_begin(c, req, stream ? JOB_CHAT_SSE : JOB_CHAT, delay);
    c->job.prompt_tokens = (long)(body_len / 4) + 1;
    c->job.completion_tokens = max_tokens > 0 && max_tokens < NTOKENS ? max_tokens : NTOKENS;
    if (!stream) {
        if (delay > 0) {
            conn_job_start(c, delay);
        } else {
            c->job.kind = JOB_NONE;
            chat_reply(c, req, &c->job);
        }
        return;
    }
    g_streams++;
    out_head(c, req, 200, "text/event-stream", OUT_CHUNKED, "Cache-Control: no-cache\r\n");
    if (req->head_only) {
        c->job.kind = JOB_NONE;
        return;
    }
    c->job.steps = c->job.completion_tokens + 2;
    job_stream(c, chat_sse_step);
}

static void
sse_step(struct conn *c)
{
    char ev[160];
    int n = snprintf(ev, sizeof(ev), "id: %ld\ndata: {\"event\":%ld,\"of\":%ld}\n\n",
                     c->job.step + 1, c->job.step + 1, c->job.steps);

    out_chunk(c, ev, (size_t)n);
    if (++c->job.step >= c->job.steps) {
        out_chunk_end(c);
        c->job.kind = JOB_NONE;
    } else if (c->job.step == c->job.reset_after) {
        c->job.kind = JOB_RESET; /* the next tick: the upstream dies mid-stream */
    }
}

/* /sse?events=N&interval_ms=M: N events M ms apart, the first at once;
 * max_age=S: Cache-Control: max-age=S instead of no-cache; reset_after=K:
 * an RST after K events. */
static void
h_sse(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    long events = http_query_long(req, "events", 5);
    long interval = http_query_long(req, "interval_ms", 100);
    long max_age = http_query_long(req, "max_age", -1);
    char cc[64] = "Cache-Control: no-cache\r\n";

    if (max_age >= 0)
        snprintf(cc, sizeof(cc), "Cache-Control: max-age=%ld\r\n", max_age);
    g_streams++;
    out_head(c, req, 200, "text/event-stream", OUT_CHUNKED, cc);
    if (req->head_only)
        return;
    if (events == 0) {
        out_chunk_end(c);
        return;
    }
    job_begin(c, req, JOB_SSE, interval > MAX_DELAY_MS ? MAX_DELAY_MS : interval);
    c->job.steps = events > MAX_EVENTS ? MAX_EVENTS : events;
    c->job.reset_after = http_query_long(req, "reset_after", 0);
    job_stream(c, sse_step);
}

static void
drip_step(struct conn *c)
{
    size_t k = c->job.left < c->job.piece ? c->job.left : c->job.piece;

    buf_reserve(&c->out, k);
    memset(c->out.p + c->out.len, 'x', k);
    c->out.len += k;
    if ((c->job.left -= k) == 0)
        c->job.kind = JOB_NONE;
}

/* /drip?bytes=N&interval_ms=M&chunk=C: head now, then C bytes per tick;
 * no_store=1 adds Cache-Control: no-store. */
static void
h_drip(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    long bytes = http_query_long(req, "bytes", 10);
    long interval = http_query_long(req, "interval_ms", 100);
    long piece = http_query_long(req, "chunk", 1);

    if (bytes > MAX_BYTES)
        bytes = MAX_BYTES;
    out_head(c, req, 200, "application/octet-stream", bytes,
             http_query_long(req, "no_store", 0) ? "Cache-Control: no-store\r\n" : NULL);
    if (req->head_only || bytes == 0)
        return;
    job_begin(c, req, JOB_DRIP, interval > MAX_DELAY_MS ? MAX_DELAY_MS : interval);
    c->job.left = (size_t)bytes;
    c->job.piece = piece > 0 ? (size_t)piece : 1;
    conn_job_start(c, c->job.interval_ms);
}

static void
delay_reply(struct conn *c, const struct http_req *req, long ms)
{
    struct buf *b = scratch();

    buf_printf(b, 64, "{\"delayed_ms\":%ld}\n", ms);
    reply_json(c, req, 200, b);
}

static void
h_delay(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    long ms = path_long(req, 7);

    if (ms < 0 || ms > MAX_DELAY_MS) {
        reply_error(c, req, 400, "use /delay/MS, MS <= 600000");
    } else if (ms == 0) {
        delay_reply(c, req, 0);
    } else {
        job_begin(c, req, JOB_DELAY, ms);
        conn_job_start(c, ms);
    }
}

static void
h_status(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    long code = path_long(req, 8);
    struct buf *b;

    if (code < 200 || code > 999) {
        reply_error(c, req, 400, "use /status/CODE, 200 <= CODE <= 999");
        return;
    }
    b = scratch();
    buf_printf(b, 64, "{\"status\":%ld}\n", code);
    reply_json(c, req, (int)code, b);
}

static void
h_chunked(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    static const char *const pieces[] = {"first chunk\n", "second, a bit longer chunk\n",
                                         "third and last chunk\n"};
    size_t i;

    out_head(c, req, 200, "text/plain", OUT_CHUNKED, NULL);
    if (req->head_only)
        return;
    for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
        out_chunk(c, pieces[i], strlen(pieces[i]));
    out_chunk_end(c);
}

/* Content-Length 1000, then 100 bytes, then an RST: upstream died mid-body. */
static void
h_reset(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    out_head(c, req, 200, "application/octet-stream", 1000, NULL);
    buf_reserve(&c->out, 100);
    memset(c->out.p + c->out.len, 'x', 100);
    c->out.len += 100;
    job_begin(c, req, JOB_RESET, RESET_AFTER_MS);
    conn_job_start(c, RESET_AFTER_MS);
}

static void
h_close_no_length(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    static const char text[] = "this body has no length: it ends when the connection closes\n";

    out_head(c, req, 200, "text/plain", OUT_CLOSE_DELIMITED, NULL);
    if (!req->head_only)
        buf_append(&c->out, text, sizeof(text) - 1);
}

/* 101, then every byte is echoed back raw (the tunnel test). */
static void
h_ws(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    struct buf *b;
    char accept[29];

    if (!req->upgrade_ws) {
        reply_error(c, req, 400, "expected Upgrade: websocket");
        return;
    }
    b = scratch();
    buf_str(b, "Upgrade: websocket\r\nConnection: Upgrade\r\n");
    if (req->ws_key.len > 0) {
        ws_accept_key(req->ws_key.p, req->ws_key.len, accept);
        buf_printf(b, 64, "Sec-WebSocket-Accept: %s\r\n", accept);
    }
    buf_append(b, "", 1);
    out_head(c, req, 101, NULL, 0, b->p);
    c->tunnel = true;
}

static void
h_headers_big(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    long n = http_query_long(req, "n", 8192);
    struct buf *b = scratch();
    char json[64];
    int len;

    if (n > MAX_BIG_HEADER)
        n = MAX_BIG_HEADER;
    buf_str(b, "X-Big: ");
    buf_reserve(b, (size_t)n + 3);
    memset(b->p + b->len, 'x', (size_t)n);
    b->len += (size_t)n;
    buf_append(b, "\r\n", 3); /* with the NUL out_head wants */
    len = snprintf(json, sizeof(json), "{\"header_bytes\":%ld}\n", n);
    out_head(c, req, 200, "application/json", len, b->p);
    if (!req->head_only)
        buf_append(&c->out, json, (size_t)len);
}

/*
 * /early/CODE answers as soon as its head is read, leaving the body unread:
 * what follows on the connection is parsed as the next request, as a naive
 * server would. A gateway that keeps sending the body there, or reuses the
 * connection, or parses the rest of its client's body as a request, shows
 * up as hits on /smuggled, counted by /stats.
 */
static long g_smuggled;

bool
route_answers_early(const struct http_req *req)
{
    return req->path.len > 7 && memcmp(req->path.p, "/early/", 7) == 0;
}

static void
h_early(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    long code = path_long(req, 7);
    struct buf *b = scratch();

    if (code < 200 || code > 599)
        code = 413;
    buf_printf(b, 64, "{\"early\":%ld}\n", code);
    reply_json(c, req, (int)code, b);
}

static void
h_smuggled(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    struct buf *b = scratch();

    g_smuggled++;
    buf_printf(b, 64, "{\"smuggled\":%ld}\n", g_smuggled);
    reply_json(c, req, 200, b);
}

/*
 * /arm-drop answers like /small and arms its connection: the next request
 * on it is read whole, counted as dropped, and the connection closed
 * without an answer, as a stale pooled connection looks to a gateway.
 * /counted counts the requests that reach it. /stats shows both.
 */
static long g_dropped, g_counted, g_revalidated;

void
route_note_dropped(void)
{
    g_dropped++;
}

static void
h_arm_drop(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    c->drop_next = true;
    out_reply(c, req, 200, "text/plain", "armed\n", 6);
}

/*
 * Cache tests shape /counted's answer with its query: max_age=N
 * (Cache-Control: max-age=N), no_store=1, private=1, no_cache=1,
 * etag=N (ETag: "vN"; a request with If-None-Match: "vN" gets a 304),
 * vary=1 (Vary: Accept), lm=1 (a fixed Last-Modified), cookie=1
 * (Set-Cookie), status=N, must_revalidate=1, swr=N (Cache-Control:
 * stale-while-revalidate=N), fail_after=N (503 once N were counted);
 * served=1 adds X-Served:
 * "<counted>-<revalidated>" to the 200 and the 304 alike (a 304's fields
 * update the stored ones).
 */
static void
h_counted(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    struct buf *b = scratch();
    char extra[256];
    int n = 0;
    long v;

    /* etag=N with If-None-Match: "vN": 304, not counted (a revalidation). */
    if ((v = http_query_long(req, "etag", -1)) >= 0) {
        char want[32];
        int wn = snprintf(want, sizeof(want), "\"v%ld\"", v);
        for (int i = 0; i < req->nhdr; i++) {
            const struct http_header *h = &req->hdr[i];
            if (http_slice_eq(h->name, "if-none-match") && h->value.len == (size_t)wn &&
                memcmp(h->value.p, want, (size_t)wn) == 0) {
                g_revalidated++;
                int en = snprintf(extra, sizeof(extra), "ETag: %s\r\n", want);
                if (http_query_long(req, "served", 0))
                    snprintf(extra + en, sizeof(extra) - (size_t)en, "X-Served: %ld-%ld\r\n",
                             g_counted, g_revalidated);
                out_head(c, req, 304, NULL, 0, extra);
                return;
            }
        }
    }
    g_counted++;
    buf_printf(b, 64, "{\"counted\":%ld}\n", g_counted);
    extra[0] = '\0';
    if ((v = http_query_long(req, "max_age", -1)) >= 0)
        n += snprintf(extra + n, sizeof(extra) - (size_t)n, "Cache-Control: max-age=%ld\r\n", v);
    if (http_query_long(req, "no_store", 0))
        n += snprintf(extra + n, sizeof(extra) - (size_t)n, "Cache-Control: no-store\r\n");
    if (http_query_long(req, "private", 0))
        n += snprintf(extra + n, sizeof(extra) - (size_t)n, "Cache-Control: private\r\n");
    if (http_query_long(req, "no_cache", 0))
        n += snprintf(extra + n, sizeof(extra) - (size_t)n, "Cache-Control: no-cache\r\n");
    if ((v = http_query_long(req, "etag", -1)) >= 0)
        n += snprintf(extra + n, sizeof(extra) - (size_t)n, "ETag: \"v%ld\"\r\n", v);
    if (http_query_long(req, "vary", 0))
        n += snprintf(extra + n, sizeof(extra) - (size_t)n, "Vary: Accept\r\n");
    if (http_query_long(req, "lm", 0))
        n += snprintf(extra + n, sizeof(extra) - (size_t)n,
                      "Last-Modified: Tue, 01 Dec 2026 00:00:00 GMT\r\n");
    if (http_query_long(req, "must_revalidate", 0))
        n += snprintf(extra + n, sizeof(extra) - (size_t)n, "Cache-Control: must-revalidate\r\n");
    if ((v = http_query_long(req, "swr", -1)) >= 0)
        n += snprintf(extra + n, sizeof(extra) - (size_t)n,
                      "Cache-Control: stale-while-revalidate=%ld\r\n", v);
    if (http_query_long(req, "served", 0))
        n += snprintf(extra + n, sizeof(extra) - (size_t)n, "X-Served: %ld-%ld\r\n", g_counted,
                      g_revalidated);
    if (http_query_long(req, "cookie", 0))
        n += snprintf(extra + n, sizeof(extra) - (size_t)n, "Set-Cookie: a=1\r\n");
    long fail_after = http_query_long(req, "fail_after", -1);
    int status =
        fail_after >= 0 && g_counted > fail_after ? 503 : (int)http_query_long(req, "status", 200);
    out_head(c, req, status, "application/json", (int64_t)b->len, extra[0] != '\0' ? extra : NULL);
    if (!req->head_only)
        buf_append(&c->out, b->p, b->len);
    (void)body, (void)body_len;
}

static void
h_stats(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    struct buf *b = scratch();

    buf_printf(b, 160,
               "{\"smuggled\":%ld,\"dropped\":%ld,\"counted\":%ld,\"revalidated\":%ld,"
               "\"streams\":%ld}\n",
               g_smuggled, g_dropped, g_counted, g_revalidated, g_streams);
    reply_json(c, req, 200, b);
}

/* Most frequent first: the benchmarks hit /small and /bytes. */
static const struct route g_routes[] = {
    {"/small", false, h_small},
    {"/bytes/", true, h_bytes},
    {"/bytes", false, h_bytes},
    {"/echo", false, h_echo},
    /* Everything under /public/ echoes: the path tests route an auth: none
     * prefix here and read the exact target that arrived. */
    {"/public/", true, h_echo},
    {"/v1/chat/completions", false, h_chat},
    {"/v1/models", false, h_models},
    {"/", false, h_small},
    {"/delay/", true, h_delay},
    {"/status/", true, h_status},
    {"/chunked", false, h_chunked},
    {"/sse", false, h_sse},
    {"/drip", false, h_drip},
    {"/reset-mid-body", false, h_reset},
    {"/close-no-length", false, h_close_no_length},
    {"/ws", false, h_ws},
    {"/headers-big", false, h_headers_big},
    {"/early/", true, h_early},
    {"/smuggled", true, h_smuggled},
    {"/stats", false, h_stats},
    {"/arm-drop", false, h_arm_drop},
    {"/counted", false, h_counted},
};

/* Answers one complete request; body borrows the input buffer. */
void
route_dispatch(struct conn *c, const struct http_req *req, const char *body, size_t body_len)
{
    size_t i;

    for (i = 0; i < sizeof(g_routes) / sizeof(g_routes[0]); i++) {
        const struct route *r = &g_routes[i];
        size_t n = strlen(r->path);

        if (r->prefix ? req->path.len >= n && memcmp(req->path.p, r->path, n) == 0
                      : req->path.len == n && memcmp(req->path.p, r->path, n) == 0) {
            r->handler(c, req, body, body_len);
            return;
        }
    }
    reply_error(c, req, 404, "not_found");
}

/* The conn's timer fired: the job's next step. */
void
route_job_tick(struct conn *c)
{
    struct http_req req;

    job_req(&c->job, &req);
    switch (c->job.kind) {
    case JOB_DELAY:
        c->job.kind = JOB_NONE;
        delay_reply(c, &req, c->job.interval_ms);
        break;
    case JOB_CHAT:
        c->job.kind = JOB_NONE;
        chat_reply(c, &req, &c->job);
        break;
    case JOB_CHAT_SSE:
        chat_sse_step(c);
        break;
    case JOB_SSE:
        sse_step(c);
        break;
    case JOB_DRIP:
        drip_step(c);
        break;
    case JOB_RESET:
        conn_reset(c);
        return;
    case JOB_NONE:
        return;
    }
    if (c->job.kind != JOB_NONE)
        conn_job_start(c, c->job.interval_ms);
}
