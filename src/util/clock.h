/*
 * clock.h - monotonic time for timeouts and latency, wall time for logs.
 */
#ifndef SLUICE_CLOCK_H
#define SLUICE_CLOCK_H

#include <stdint.h>

int64_t clock_now_ms(void);  /* CLOCK_MONOTONIC, milliseconds */
int64_t clock_now_us(void);  /* CLOCK_MONOTONIC, microseconds */
int64_t clock_wall_ms(void); /* CLOCK_REALTIME, milliseconds since the epoch */

#endif
