/*
 * clock.c - thin wrappers over clock_gettime (a vDSO call: no syscall).
 */
#include "util/clock.h"

#include <stdio.h>
#include <time.h>

static int64_t
clock_read_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
clock_now_us(void)
{
    return clock_read_us(CLOCK_MONOTONIC);
}

/* Timeouts need milliseconds, not nanoseconds: the coarse clock is read
 * without touching the TSC. */
int64_t
clock_now_ms(void)
{
    return clock_read_us(CLOCK_MONOTONIC_COARSE) / 1000;
}

int64_t
clock_wall_ms(void)
{
    return clock_read_us(CLOCK_REALTIME) / 1000;
}

void
clock_http_date(char *out)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    /* Not strftime: its day and month names follow the locale. The %
     * bounds let the compiler see that every field fits its width. */
    snprintf(out, CLOCK_HTTP_DATE_LEN + 1, "%s, %02u %s %04u %02u:%02u:%02u GMT",
             days[tm.tm_wday % 7], (unsigned)tm.tm_mday % 100u, months[tm.tm_mon % 12],
             (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)tm.tm_hour % 100u,
             (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
}
