/*
 * cache_refresh.c - stale-while-revalidate (RFC 5861 §3), in the cache
 * stage. A stale entry within its stale-while-revalidate time is served at
 * once (X-Cache: STALE, cache.c) while the gateway asks the upstream again
 * in the background: once per key and worker (the refresh leads the key's
 * flight, so later requests neither start another nor, if they miss, go
 * upstream), with the stale entry's validators, and its answer (a 304
 * updating the entry, or a new response) stored as a miss would be.
 *
 *   cache_refresh_start --upstream_fetch (no client)--> on_refreshed
 *       --> cache_redis_put (its reply ends the flight) | cache_flight_end
 *
 * A refresh holds a reference to the config it started with and counts as
 * the worker's background work (worker_background_begin/_end), so neither
 * a reload nor a drain pulls the route from under it.
 */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/req.h"
#include "core/worker.h"
#include "http/http_parse.h"
#include "policy/cache_internal.h"
#include "upstream/proxy.h"
#include "upstream/upstream_fetch.h"
#include "util/log.h"

struct refresh {
    struct worker *worker;
    struct config *cfg;               /* owns a reference: route borrows it */
    const struct config_route *route; /* borrowed from cfg */
    char hash[CACHE_HASH_HEX];
    char gen[24];
    struct strbuf request;     /* owns: the head sent upstream */
    struct http_head reqh;     /* slices borrow request: the Vary'd fields */
    struct strbuf stale_value; /* owns: the stale entry, for a 304 */
    struct response_record_view stale;
    struct cache_flight *leads; /* the key's flight, ended with the refresh */
};

static bool
conditional_field(struct sl_slice name)
{
    static const char *const dropped[] = {"if-none-match", "if-modified-since",
                                          "if-match",      "if-unmodified-since",
                                          "if-range",      "range",
                                          "cache-control", "pragma",
                                          "expect"};
    for (size_t i = 0; i < SL_ARRAY_LEN(dropped); i++) {
        if (name.len == strlen(dropped[i]) && sl_slice_eq_lower(name, dropped[i]))
            return true;
    }
    return false;
}

/* The refresh's request: the client's head as it would go upstream, as a
 * GET, without the client's own conditions and cache directives, with the
 * stale entry's validators. */
static void
refresh_request(struct sl_slice built, struct sl_slice stored, struct strbuf *out)
{
    const char *p = built.p, *end = p + built.len;
    const char *sp = memchr(p, ' ', built.len), *eol = memchr(p, '\n', built.len);
    if (sp == NULL || eol == NULL || sp > eol)
        return;
    strbuf_append_str(out, "GET");
    strbuf_append(out, sp, (size_t)(eol + 1 - sp));
    for (p = eol + 1; p < end && *p != '\r';) {
        eol = memchr(p, '\n', (size_t)(end - p));
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (eol == NULL || colon == NULL || colon > eol)
            break;
        if (!conditional_field((struct sl_slice){p, (size_t)(colon - p)}))
            strbuf_append(out, p, (size_t)(eol + 1 - p));
        p = eol + 1;
    }
    cache_entry_append_validators(out, stored);
    strbuf_append(out, "\r\n", 2);
}

static void
refresh_free(struct refresh *r)
{
    worker_background_end(r->worker);
    strbuf_deinit(&r->request);
    strbuf_deinit(&r->stale_value);
    config_unref(r->cfg);
    free(r);
}

/* Stores what the refresh brought back; true when a put was sent (its
 * reply ends the flight). */
static bool
refresh_store(struct refresh *r, const struct upstream_fetch_result *res)
{
    struct entry_ref e = {r->worker, r->cfg, r->route, r->hash, r->gen};
    struct response_record rec;
    response_record_init(&rec, CACHE_MAX_ENTRY);
    struct strbuf bytes = {0};
    struct http_head *merged = xcalloc(1, sizeof(*merged));
    const struct http_head *h = res->head;
    struct store_terms t = {0};
    if (h->status == 304) {
        response_record_freshen(&rec, &r->stale.response, h);
        if (response_record_parse_head(&rec, &bytes, merged)) {
            h = merged;
            t = cache_entry_terms(h, &r->reqh, r->route);
        }
    } else {
        t = cache_entry_terms(h, &r->reqh, r->route);
        response_record_head(&rec, h);
        response_record_body(&rec, res->body.p, res->body.len);
    }
    bool sent = t.store && !rec.too_big && cache_redis_put(&e, &rec, &t, h, &r->reqh, r->leads);
    free(merged);
    strbuf_deinit(&bytes);
    response_record_deinit(&rec);
    return sent;
}

static void
on_refreshed(void *arg, const struct upstream_fetch_result *res)
{
    struct refresh *r = arg;
    if (res->error != NULL)
        log_info("cache: background revalidation on route %s failed: %s", r->route->name,
                 res->error);
    if (res->error != NULL || !refresh_store(r, res))
        cache_flight_end(r->leads);
    refresh_free(r);
}

void
cache_refresh_start(struct cache_req *c)
{
    struct req *req = c->req;
    struct cache_flight **slot = cache_flight_slot(req->route, c->hash);
    if (*slot != NULL || req->conn == NULL || req->cfg != req->worker->cfg ||
        req->head.body != HTTP_BODY_NONE)
        return;
    struct refresh *r = xcalloc(1, sizeof(*r));
    struct strbuf built = {0};
    proxy_build_request_head(req, &built);
    refresh_request((struct sl_slice){built.p, built.len}, c->stale.response.headers, &r->request);
    strbuf_deinit(&built);
    struct http_msg_parser mp;
    http_msg_parser_init(&mp, HTTP_MSG_REQUEST, false);
    if (http_parse_head(&mp, &r->reqh, r->request.p, r->request.len, r->request.len) !=
        HTTP_PARSE_OK) {
        strbuf_deinit(&r->request);
        free(r);
        return;
    }
    r->worker = req->worker;
    worker_background_begin(r->worker);
    r->cfg = config_ref(req->cfg);
    r->route = req->route;
    memcpy(r->hash, c->hash, sizeof(r->hash));
    memcpy(r->gen, c->gen, sizeof(r->gen));
    strbuf_append(&r->stale_value, c->stale_value.p, c->stale_value.len);
    response_record_decode(r->stale_value.p, r->stale_value.len, &r->stale);
    r->leads = cache_flight_new(slot, req->route, c->hash);
    upstream_fetch_start(req->worker->pools[req->route->upstream->index],
                         (struct sl_slice){r->request.p, r->request.len}, CACHE_MAX_ENTRY,
                         on_refreshed, r);
}
