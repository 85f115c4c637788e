/*
 * idempotency.h - the Idempotency-Key stage (SPEC section 7,
 * draft-ietf-httpapi-idempotency-key-header), after ratelimit and before
 * the cache: on a route with `idempotency: true`, a POST or PATCH that
 * carries Idempotency-Key runs once per caller and key.
 *
 *   run: the key -> EVALSHA lua/idem_begin.lua on PREFIX{TAG}:idem:<key>
 *     absent    -> a running marker of ours is written: forward; the body
 *                  is fingerprinted as it streams, the response recorded
 *     running   -> 409 conflict, or 422 when the body is not the same
 *     finished  -> the stored response, replayed with Idempotent-Replayed:
 *                  true, or 422 when the body is not the same
 *     Redis failed -> redis.on_error: closed 503, open forward as it is
 *   exchange over (on_done), ours only (lua/idem_settle.lua checks the owner):
 *     complete, final status < 500 but not 408 or 429, body seen whole,
 *     response kept whole -> the record replaces the marker (TTL the
 *     route's idempotency_ttl)
 *     anything else -> the marker is deleted: the key is free again
 *
 * TAG is u:USER, or a:<client ip> for anonymous callers (as for limits).
 * A marker is a lease of IDEM_LEASE_MS that its request renews while it
 * runs: a gateway that dies holding one frees the key within the lease.
 */
#ifndef SLUICE_IDEMPOTENCY_H
#define SLUICE_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/pipeline.h"

#define IDEMPOTENCY_KEY_MAX 255
#define IDEM_LEASE_MS 60000
#define IDEM_RECORD_MAX_BODY (1u << 20) /* a longer response is not kept */

extern const struct stage idempotency_stage;

/* An Idempotency-Key field value: an sf-string ("...", with \" and \\
 * escapes; RFC 8941 §3.3.3), as the draft writes it, or the same
 * characters bare, as most clients send it; either way 1-255 characters,
 * visible ASCII (and spaces inside quotes). The key, unquoted, goes to
 * out (IDEMPOTENCY_KEY_MAX bytes, not NUL-terminated). Pure. */
bool idempotency_key_parse(const char *value, size_t len, char *out, size_t *out_len);

#endif
