/*
 * upstream_fetch.h - an upstream exchange the gateway makes for itself,
 * with no client connection: one request head sent, the whole response
 * read into memory (bounded), one callback at the end. The cache's
 * background revalidation (stale-while-revalidate) is its user.
 *
 *   upstream_fetch_start -> acquire a pooled connection -> write the head
 *   -> read: head (1xx skipped), decoded payload up to max_body
 *   -> cb(result) once, never from inside upstream_fetch_start
 *
 * The connection goes back to its pool for reuse after a clean end; any
 * failure (connect, reset, timeout, malformed, too big) closes it.
 */
#ifndef SLUICE_UPSTREAM_FETCH_H
#define SLUICE_UPSTREAM_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "sluice.h"

struct upstream_pool;
struct http_head;

struct upstream_fetch_result {
    const char *error;            /* static; NULL: a whole response came */
    const struct http_head *head; /* the final response head; NULL on error */
    struct sl_slice body;         /* the payload, chunk framing removed */
};

/* The result and everything it points to live until the callback returns. */
typedef void (*upstream_fetch_cb)(void *arg, const struct upstream_fetch_result *res);

/* Starts the exchange on pool (borrowed: it must outlive the fetch, as a
 * retired pool does while a connection of it is lent). request_head: a
 * whole request head without body, copied. */
void upstream_fetch_start(struct upstream_pool *pool, struct sl_slice request_head,
                          size_t max_body, upstream_fetch_cb cb, void *arg);

#endif
