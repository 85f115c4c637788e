/*
 * http_cache_control.h - the Cache-Control directives a shared cache acts
 * on (RFC 9111 §5.2), from every Cache-Control field of a head. Pure.
 * Unknown directives are ignored, a malformed value is as if absent, a
 * duplicate keeps its first value (RFC 9111 §4.2.1), never an error.
 *
 * A response's directives may come from CDN-Cache-Control instead (RFC
 * 9213: sluice is a cache the origin's operator runs): when that field is
 * present and parses as a structured Dictionary (RFC 8941), it replaces
 * Cache-Control; an invalid one is ignored.
 */
#ifndef SLUICE_HTTP_CACHE_CONTROL_H
#define SLUICE_HTTP_CACHE_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "sluice.h"

struct http_head;

#define HTTP_CC_UNSET (-1)

struct http_cache_control {
    bool no_store, no_cache, private_, public_, must_revalidate, proxy_revalidate,
        only_if_cached, must_understand;
    bool targeted;      /* the directives came from CDN-Cache-Control */
    int64_t max_age_s;  /* HTTP_CC_UNSET when absent */
    int64_t s_maxage_s; /* HTTP_CC_UNSET when absent */
    int64_t stale_if_error_s; /* RFC 5861; HTTP_CC_UNSET when absent */
    int64_t stale_while_revalidate_s; /* RFC 5861; HTTP_CC_UNSET when absent */
};

/* A request's directives (Cache-Control only). */
void http_cache_control_parse(const struct http_head *head, struct http_cache_control *out);

/* A response's: CDN-Cache-Control when valid, else Cache-Control. */
void http_cache_control_parse_response(const struct http_head *head,
                                       struct http_cache_control *out);

/* The same from stored "Name: value\r\n" lines (policy/response_record.h). */
void http_cache_control_parse_stored(struct sl_slice lines, struct http_cache_control *out);

/* One CDN-Cache-Control field value added to out; false when it is not a
 * valid Dictionary (out is then partly filled: discard it). */
bool http_cache_control_parse_targeted(struct sl_slice value, struct http_cache_control *out);

#endif
