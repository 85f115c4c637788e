/*
 * clock.h - monotonic time for timeouts and latency, wall time for logs.
 */
#ifndef SLUICE_CLOCK_H
#define SLUICE_CLOCK_H

#include <stdint.h>

int64_t clock_now_ms(void);  /* CLOCK_MONOTONIC, milliseconds */
int64_t clock_now_us(void);  /* CLOCK_MONOTONIC, microseconds */
int64_t clock_wall_ms(void); /* CLOCK_REALTIME, milliseconds since the epoch */

#define CLOCK_HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */
/* Writes the current time as an HTTP date (RFC 9110 §5.6.7, IMF-fixdate)
 * into out (CLOCK_HTTP_DATE_LEN + 1 bytes, NUL-terminated). Formatted at
 * most once a second per thread. */
void clock_http_date(char *out);

#endif
