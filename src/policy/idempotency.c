/*
 * idempotency.c - the Idempotency-Key stage: the key's claim, the answers
 * to retries (409, 422, replay), and the record written when the first
 * request's exchange ends. See idempotency.h for the flow.
 *
 * Values under the key:
 *   "SLIM <owner> <fingerprint>"   running: the marker of the request
 *                                  that runs (owner: gateway id and a
 *                                  counter); its fingerprint is of the
 *                                  body at hand when it began, replaced
 *                                  by the whole body's once that streamed
 *   "SLR1 ..."                     finished: a response_record whose
 *                                  meta is the whole body's fingerprint
 *
 * The marker is written before the body streams upstream, so it holds
 * what came with the head; a retry is judged on what it has at hand when
 * Redis answers (policy/idem_fingerprint.h says how both compare).
 */
#include "policy/idempotency.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "core/req.h"
#include "core/worker.h"
#include "policy/fleet.h"
#include "policy/caller.h"
#include "policy/idem_fingerprint.h"
#include "policy/response_record.h"
#include "policy/session_keys.h"
#include "redis/redis_client.h"
#include "redis/redis_script.h"
#include "util/clock.h"
#include "util/log.h"

#define MARKER_MAGIC "SLIM "
#define OWNER_MAX 64               /* "SLIM " + 16 hex + ':' + a counter + ' ' */
#define MARKER_MAX (OWNER_MAX + IDEM_FINGERPRINT_TEXT_MAX)

/* The scripts, found once for every thread (the table is static). */
static struct {
    const struct redis_script *begin, *settle;
} scripts;
static pthread_once_t scripts_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t owner_seq;

static void
find_scripts(void)
{
    scripts.begin = redis_script_find("idem_begin");
    scripts.settle = redis_script_find("idem_settle");
}

/* A request's idempotency state (req->stage_data of this stage); owned
 * by the request until on_done frees it. */
struct idem {
    struct req *req; /* borrowed: owns this */
    char key[SESSION_KEY_MAX];
    size_t key_len;
    char owner[OWNER_MAX]; /* how our marker begins: "SLIM <owner> " */
    size_t owner_len;
    struct idem_fingerprint_builder *body; /* owns: the payload as it is forwarded */
    struct response_record rec;            /* owns: the response as it passes */
    struct event *renew_ev;                /* owns while held */
    bool held;                             /* the key holds our marker: settle on done */
    bool marker_whole;                     /* the marker has the whole body's fingerprint */
};

/* ---- the request's key ------------------------------------------------- */

bool
idempotency_key_parse(const char *v, size_t len, char *out, size_t *out_len)
{
    size_t n = 0, i = 0;
    bool quoted = len > 0 && v[0] == '"';
    for (i = quoted ? 1 : 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (quoted && c == '"')
            break;
        if (quoted && c == '\\') {
            /* RFC 8941 §3.3.3: only \" and \\ are escapes. */
            if (++i == len || (v[i] != '"' && v[i] != '\\'))
                return false;
            c = (unsigned char)v[i];
        } else if (c > 0x7e || c < (quoted ? 0x20 : 0x21)) {
            return false;
        }
        if (n == IDEMPOTENCY_KEY_MAX)
            return false;
        out[n++] = (char)c;
    }
    if (quoted && i != len - 1)
        return false; /* no closing quote, or bytes after it */
    *out_len = n;
    return n > 0;
}

static bool
method_is(struct sl_slice m, const char *name)
{
    return m.len == strlen(name) && memcmp(m.p, name, m.len) == 0;
}

/* The request's Idempotency-Key field: 0 none, 1 one (its value in
 * *value), -1 more than one (which would be ambiguous). */
static int
find_key_field(const struct http_head *head, struct sl_slice *value)
{
    int found = 0;
    for (unsigned i = 0; i < head->nheaders; i++) {
        const struct http_header *h = &head->headers[i];
        if (h->name.len == 15 && sl_slice_eq_lower(h->name, "idempotency-key")) {
            *value = h->value;
            found++;
        }
    }
    return found > 1 ? -1 : found;
}

/* ---- fingerprints ------------------------------------------------------ */

static int64_t
declared_length(const struct req *req)
{
    if (req->head.body == HTTP_BODY_NONE)
        return 0;
    return req->head.body == HTTP_BODY_LENGTH ? (int64_t)req->head.content_length : -1;
}

static void
feed_builder(void *arg, const char *p, size_t len)
{
    idem_fingerprint_builder_feed(arg, p, len);
}

/* The fingerprint of the body bytes the client has sent so far (framing
 * removed by a copy of the body's parser: the real one is the proxy's). */
static void
fingerprint_at_hand(const struct req *req, struct idem_fingerprint *out)
{
    struct idem_fingerprint_builder *b =
        idem_fingerprint_builder_new(req->head.method, req->target, declared_length(req));
    struct sl_slice s = req_body_at_hand(req);
    struct http_msg_parser copy = req->body_parser;
    struct http_payload_sink sink = {feed_builder, b};
    size_t n;
    bool whole = http_parse_body_payload(&copy, s.p, s.len, &n, &sink) == HTTP_PARSE_OK;
    idem_fingerprint_builder_result(b, whole, out);
    idem_fingerprint_builder_free(b);
}

/* "SLIM <owner> <fingerprint>" into out (MARKER_MAX bytes); its length. */
static size_t
marker_build(const struct idem *st, const struct idem_fingerprint *fp, char *out)
{
    memcpy(out, st->owner, st->owner_len);
    return st->owner_len + idem_fingerprint_encode(fp, out + st->owner_len);
}

/* The fingerprint of a running marker, whoever owns it. */
static bool
marker_parse(const char *p, size_t len, struct idem_fingerprint *out)
{
    size_t magic = sizeof(MARKER_MAGIC) - 1;
    if (len < magic || memcmp(p, MARKER_MAGIC, magic) != 0)
        return false;
    const char *space = memchr(p + magic, ' ', len - magic);
    if (space == NULL)
        return false;
    space++;
    return idem_fingerprint_decode(space, (size_t)(p + len - space), out);
}

/* ---- Redis ------------------------------------------------------------- */

static void
on_settled(void *arg, const struct redisReply *reply, const char *err)
{
    /* A lost settle is bounded: the marker's lease ends it. */
    (void)arg, (void)reply, (void)err;
}

/* lua/idem_settle.lua: mode "set" (value, TTL ms), "renew" (lease ms) or
 * "del", applied only while the key holds our marker. Fire and forget:
 * the reply may come after the request is gone. */
static void
settle(struct idem *st, const char *mode, const char *value, size_t value_len, uint32_t ms)
{
    struct redis_client *rc = st->req->worker->redis;
    if (rc == NULL)
        return; /* the worker is exiting: the lease frees the key */
    char num[16];
    snprintf(num, sizeof(num), "%u", ms);
    const char *keys[] = {st->key};
    const size_t keylens[] = {st->key_len};
    const char *args[] = {st->owner, mode, value, num};
    const size_t arglens[] = {st->owner_len, strlen(mode), value_len, strlen(num)};
    redis_client_script(rc, scripts.settle, 1, keys, keylens, 4, args, arglens, on_settled, NULL);
}

static void
on_renew(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    settle(arg, "renew", "", 0, IDEM_LEASE_MS);
}

/* Once the body has been forwarded whole, the marker says so: a retry
 * that differs past the bytes the first had at hand is then a 422, not a
 * 409, while the first still runs. */
static void
update_marker(struct idem *st)
{
    if (!st->held || st->marker_whole || !http_msg_complete(&st->req->body_parser))
        return;
    st->marker_whole = true;
    struct idem_fingerprint fp;
    idem_fingerprint_builder_result(st->body, true, &fp);
    char marker[MARKER_MAX];
    size_t n = marker_build(st, &fp, marker);
    settle(st, "set", marker, n, IDEM_LEASE_MS);
}

/* ---- answers ----------------------------------------------------------- */

static void
hold(struct idem *st)
{
    st->held = true;
    st->renew_ev = event_new(st->req->worker->base, -1, EV_PERSIST, on_renew, st);
    struct timeval every = {IDEM_LEASE_MS / 3 / 1000, 0};
    event_add(st->renew_ev, &every);
}

/* Redis did not answer: on_error decides (SPEC section 6), here only. */
static void
redis_failed(struct idem *st)
{
    struct req *req = st->req;
    if (req->cfg->redis.on_error != CONFIG_ON_ERROR_OPEN) {
        req_fail(req, 503, "redis_unavailable", "the idempotency store is unavailable");
        return;
    }
    req_next(req); /* forwarded as it is: no marker, nothing recorded */
}

static void
answer_existing(struct idem *st, const char *p, size_t len)
{
    struct req *req = st->req;
    struct response_record_view view;
    struct idem_fingerprint stored, mine;
    bool finished = response_record_decode(p, len, &view) &&
                    idem_fingerprint_decode(view.meta.p, view.meta.len, &stored);
    if (!finished && !marker_parse(p, len, &stored)) {
        /* Not ours to judge or to overwrite; its TTL ends it. */
        log_warn("request %.*s: unreadable idempotency record", (int)req->request_id_len,
                 req->request_id);
        req_fail(req, 409, "conflict", "this Idempotency-Key is held by another request");
        return;
    }
    fingerprint_at_hand(req, &mine);
    enum idem_fingerprint_match m = idem_fingerprint_compare(&stored, &mine);
    /* Answered without forwarding: a body that is all here is consumed, so
     * the connection goes on (one still arriving closes it after the answer). */
    req_consume_body_at_hand(req);
    if (m == IDEM_FINGERPRINT_DIFFERENT) {
        req_fail(req, 422, "idempotency_key_reused",
                 "this Idempotency-Key was used with a different request");
        return;
    }
    if (!finished) {
        req_fail(req, 409, "conflict",
                 "a request with this Idempotency-Key is still being processed");
        return;
    }
    /* SAME, or UNKNOWN: the body had not all arrived, and as far as it
     * had it is the first one's (README "Idempotency-Key"). */
    strbuf_append_str(&req->response_extra, "Idempotent-Replayed: true\r\n");
    struct stage_reply r = {.status = view.response.status, .stored = &view.response};
    req_reply(req, &r); /* copies the response: the reply dies with this callback */
}

static void
on_begin(void *arg, const struct redisReply *reply, const char *err)
{
    struct idem *st = arg;
    if (err != NULL || (reply->type != REDIS_REPLY_INTEGER && reply->type != REDIS_REPLY_STRING)) {
        redis_failed(st);
        return;
    }
    if (reply->type == REDIS_REPLY_STRING) {
        answer_existing(st, reply->str, reply->len);
        return;
    }
    hold(st);
    req_next(st->req);
}

static void
send_begin(struct idem *st)
{
    struct req *req = st->req;
    struct idem_fingerprint fp;
    fingerprint_at_hand(req, &fp);
    st->marker_whole = fp.whole;
    char marker[MARKER_MAX];
    size_t n = marker_build(st, &fp, marker);
    char lease[16];
    snprintf(lease, sizeof(lease), "%d", IDEM_LEASE_MS);
    const char *keys[] = {st->key};
    const size_t keylens[] = {st->key_len};
    const char *args[] = {marker, lease};
    const size_t arglens[] = {n, strlen(lease)};
    redis_client_script(req->worker->redis, scripts.begin, 1, keys, keylens, 2, args, arglens,
                        on_begin, st);
}

static void
idempotency_run(struct req *req)
{
    req->stage_data[req->stage] = NULL;
    struct sl_slice value = {NULL, 0};
    int fields = 0;
    if (req->route->idempotency &&
        (method_is(req->head.method, "POST") || method_is(req->head.method, "PATCH")))
        fields = find_key_field(&req->head, &value);
    if (fields == 0) {
        req_next(req);
        return;
    }
    char key[IDEMPOTENCY_KEY_MAX + 1];
    size_t key_len;
    if (fields < 0 || !idempotency_key_parse(value.p, value.len, key, &key_len)) {
        req_fail(req, 400, "invalid_idempotency_key",
                 "Idempotency-Key must be one field of 1-255 visible ASCII characters");
        return;
    }
    key[key_len] = '\0';
    pthread_once(&scripts_once, find_scripts);
    struct idem *st = xcalloc(1, sizeof(*st));
    st->req = req;
    req->stage_data[req->stage] = st;
    char tag[CALLER_TAG_MAX + 1];
    caller_tag(req, tag);
    /* Always fits: prefix, user and key are each bounded well within it. */
    int len = idem_record_key(st->key, req->cfg->redis.prefix, tag, key);
    SL_ASSERT(len > 0);
    st->key_len = (size_t)len;
    st->owner_len =
        (size_t)snprintf(st->owner, sizeof(st->owner), MARKER_MAGIC "%s:%llu ", fleet_gateway_id(),
                         (unsigned long long)atomic_fetch_add(&owner_seq, 1));
    st->body = idem_fingerprint_builder_new(req->head.method, req->target, declared_length(req));
    response_record_init(&st->rec, IDEM_RECORD_MAX_BODY);
    send_begin(st);
}

/* ---- the exchange ------------------------------------------------------ */

static struct idem *
idem_of(struct req *req)
{
    for (unsigned i = 0; i < req->stages_run_; i++) {
        if (req->stages_[i] == &idempotency_stage)
            return req->stage_data[i];
    }
    return NULL;
}

static void
idempotency_request_body(struct req *req, const char *p, size_t len)
{
    struct idem *st = idem_of(req);
    if (st == NULL || !st->held)
        return;
    idem_fingerprint_builder_feed(st->body, p, len);
    update_marker(st); /* a Content-Length body is complete with its last piece */
}

static void
idempotency_response_head(struct req *req)
{
    struct idem *st = idem_of(req);
    if (st == NULL || !st->held)
        return;
    response_record_head(&st->rec, &req->resp_head);
    update_marker(st); /* a chunked body's end is parsed after its last piece */
}

static void
idempotency_response_body(struct req *req, const char *p, size_t len)
{
    struct idem *st = idem_of(req);
    if (st != NULL && st->held)
        response_record_body(&st->rec, p, len);
}

/* 5xx, and the statuses that ask the client to try again later, are not
 * answers to keep for a day (SPEC section 11; README). */
static bool
status_kept(unsigned status)
{
    return status >= 200 && status < 500 && status != 408 && status != 429;
}

static void
finish(struct idem *st)
{
    struct req *req = st->req;
    const struct response_record *rec = &st->rec;
    if (req->outcome != REQ_OUTCOME_COMPLETE || req->tunnel || !status_kept(rec->status) ||
        rec->too_big || !http_msg_complete(&req->body_parser)) {
        settle(st, "del", "", 0, 0);
        return;
    }
    struct idem_fingerprint fp;
    idem_fingerprint_builder_result(st->body, true, &fp);
    char meta[IDEM_FINGERPRINT_TEXT_MAX];
    size_t n = idem_fingerprint_encode(&fp, meta);
    struct strbuf value = {0};
    response_record_encode(rec, clock_wall_ms(), (struct sl_slice){meta, n}, &value);
    settle(st, "set", value.p, value.len, req->route->idempotency_ttl_ms);
    strbuf_deinit(&value);
}

static void
idempotency_done(struct req *req)
{
    struct idem *st = idem_of(req);
    if (st == NULL)
        return;
    if (st->renew_ev != NULL)
        event_free(st->renew_ev);
    if (st->held)
        finish(st);
    response_record_deinit(&st->rec);
    idem_fingerprint_builder_free(st->body);
    free(st);
}

const struct stage idempotency_stage = {
    .name = "idempotency",
    .run = idempotency_run,
    .on_request_body = idempotency_request_body,
    .on_response_head = idempotency_response_head,
    .on_response_body = idempotency_response_body,
    .on_done = idempotency_done,
};
