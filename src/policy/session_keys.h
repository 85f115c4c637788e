/*
 * session_keys.h - the Redis keys of sessions (SPEC section 9). Every key
 * of one user shares the hash tag {u:USER}, so a script touching several
 * of them runs on one Redis Cluster node.
 *
 *   PREFIX{u:alice}:s:<session id>   hash: plan, created_at, expires_at,
 *                                    idle_ttl_ms; TTL = the idle timeout
 *   PREFIX{u:alice}:sessions         zset: session id -> expires_at (ms);
 *                                    TTL = its last session's end
 *   PREFIX{u:alice}:rl:<plan>        hash: every limit of the plan, window
 *                                    buckets and concurrency slots
 *                                    (lua/check.lua, docs/ratelimit.md);
 *                                    TTL >= the longest window (or slot
 *                                    lease) past its newest entry
 *   PREFIX{u:alice}:idem:<key>       string: an Idempotency-Key's running
 *                                    marker (TTL: its lease) or stored
 *                                    response (TTL: idempotency_ttl);
 *                                    policy/idempotency.h
 *
 * Anonymous callers have the tag {a:<client ip>} and the plan "anonymous".
 */
#ifndef SLUICE_SESSION_KEYS_H
#define SLUICE_SESSION_KEYS_H

#include <stdbool.h>
#include <stddef.h>

/* Big enough for any key below with a prefix of up to SESSION_PREFIX_MAX. */
#define SESSION_PREFIX_MAX 256
#define SESSION_KEY_MAX 1024

/* SPEC section 9: 1-256 bytes of printable ASCII without '{', '}' or space. */
bool session_user_valid(const char *user, size_t len);

/* Each writes a NUL-terminated key into out (SESSION_KEY_MAX bytes) and
 * returns its length, or -1 when it would not fit. */
int session_key(char *out, const char *prefix, const char *user, const char *session_id);
int session_index_key(char *out, const char *prefix, const char *user);
/* "PREFIX{u:USER}:s:": what session_key() puts before the id. */
int session_key_prefix(char *out, const char *prefix, const char *user);

/* The key of a caller's limits; tag is "u:USER" or "a:IP". */
int limit_window_key(char *out, const char *prefix, const char *tag, const char *plan);

/* The key of a caller's Idempotency-Key (key: NUL-terminated, printable). */
int idem_record_key(char *out, const char *prefix, const char *tag, const char *key);

#endif
