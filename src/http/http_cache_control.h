/*
 * http_cache_control.h - the Cache-Control directives a shared cache acts
 * on (RFC 9111 §5.2), from every Cache-Control field of a head. Pure.
 * Unknown directives are ignored, a malformed value is as if absent, a
 * duplicate keeps its first value (RFC 9111 §4.2.1), never an error.
 */
#ifndef SLUICE_HTTP_CACHE_CONTROL_H
#define SLUICE_HTTP_CACHE_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

struct http_head;

#define HTTP_CC_UNSET (-1)

struct http_cache_control {
    bool no_store, no_cache, private_, public_, must_revalidate, proxy_revalidate,
        only_if_cached;
    int64_t max_age_s;  /* HTTP_CC_UNSET when absent */
    int64_t s_maxage_s; /* HTTP_CC_UNSET when absent */
    int64_t stale_if_error_s; /* RFC 5861; HTTP_CC_UNSET when absent */
    int64_t stale_while_revalidate_s; /* RFC 5861; HTTP_CC_UNSET when absent */
};

void http_cache_control_parse(const struct http_head *head, struct http_cache_control *out);

#endif
