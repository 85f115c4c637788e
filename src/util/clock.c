/*
 * clock.c - thin wrappers over clock_gettime (a vDSO call: no syscall).
 */
#include "util/clock.h"

#include <stdio.h>
#include <string.h>
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

/* Formatted once per second per thread (each worker is one): a proxied
 * response costs a time() (vDSO) and a copy, not a gmtime and a format. */
void
clock_http_date(char *out)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static _Thread_local time_t cached_s = (time_t)-1;
    static _Thread_local char cached[CLOCK_HTTP_DATE_LEN + 1];
    time_t now = time(NULL);
    if (now != cached_s) {
        struct tm tm;
        gmtime_r(&now, &tm);
        /* Not strftime: its day and month names follow the locale. The %
         * bounds let the compiler see that every field fits its width. */
        snprintf(cached, sizeof(cached), "%s, %02u %s %04u %02u:%02u:%02u GMT",
                 days[tm.tm_wday % 7], (unsigned)tm.tm_mday % 100u, months[tm.tm_mon % 12],
                 (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)tm.tm_hour % 100u,
                 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
        cached_s = now;
    }
    memcpy(out, cached, sizeof(cached));
}
