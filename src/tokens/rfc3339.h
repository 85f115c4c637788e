/*
 * rfc3339.h - RFC 3339 timestamps <-> Unix seconds, for token claims
 * (exp, iat, nbf: SPEC section 5). Pure: no locale, no time zone database,
 * no libc time functions (timegm is not C11 and mktime reads TZ).
 */
#ifndef SLUICE_TOKENS_RFC3339_H
#define SLUICE_TOKENS_RFC3339_H

#include <stddef.h>
#include <stdint.h>

/* "2026-12-03T10:00:00Z" and its NUL. */
#define RFC3339_UTC_SIZE 21

/*
 * Parses s[0..len) as an RFC 3339 date-time (section 5.6):
 * YYYY-MM-DD "T" hh:mm:ss [.fraction] ("Z" | ("+" / "-") hh:mm), strictly:
 * upper-case T and Z only, exact digit counts, real calendar dates, and a
 * leap second (:60) only where one can occur, at 23:59 UTC. The fraction
 * is truncated. Sets *out_s to Unix seconds; returns 0, or -1.
 */
int rfc3339_parse(const char *s, size_t len, int64_t *out_s);

/* Writes t_s as "YYYY-MM-DDThh:mm:ssZ" into out (out_size >=
 * RFC3339_UTC_SIZE). Returns -1 when the year is outside 0000-9999. */
int rfc3339_format_utc(char *out, size_t out_size, int64_t t_s);

#endif
