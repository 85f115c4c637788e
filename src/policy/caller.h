/*
 * caller.h - who a request is for, as Redis keys name it (SPEC sections 6,
 * 9, 11): "u:USER" for a session's user, else "a:<client ip>" with the
 * client IP taken from X-Forwarded-For only through http.trusted_proxies
 * (a value that is not an IP falls back to the peer). The limits and
 * Idempotency-Key records of a caller share this hash tag.
 */
#ifndef SLUICE_CALLER_H
#define SLUICE_CALLER_H

#include "core/req.h"

#define CALLER_TAG_MAX (REQ_USER_MAX + 3) /* "u:" + a user, or "a:" + an IPv6 address */

/* Writes the NUL-terminated tag into out (CALLER_TAG_MAX + 1 bytes). An
 * anonymous request must still have its connection (req->conn). */
void caller_tag(const struct req *req, char out[CALLER_TAG_MAX + 1]);

#endif
