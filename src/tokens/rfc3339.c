/*
 * rfc3339.c - strict RFC 3339 date-times (section 5.6), Unix seconds.
 *
 * The calendar arithmetic is the proleptic Gregorian days-from-civil
 * algorithm (H. Hinnant, "chrono-compatible low-level date algorithms"),
 * exact for every year 0000-9999 that RFC 3339 can write.
 */
#include "tokens/rfc3339.h"

#include <stdbool.h>
#include <stdio.h>

/* Reads n ASCII digits at s; -1 when any is not a digit. */
static int
digits(const char *s, int n)
{
    int v = 0;

    for (int k = 0; k < n; k++) {
        if (s[k] < '0' || s[k] > '9')
            return -1;
        v = v * 10 + (s[k] - '0');
    }
    return v;
}

static bool
is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of y-m-d. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Parses the time-offset at s[0..len): "Z" or "+hh:mm" / "-hh:mm". */
static int
parse_offset(const char *s, size_t len, int64_t *off_s)
{
    if (len == 1 && s[0] == 'Z') {
        *off_s = 0;
        return 0;
    }
    if (len != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':')
        return -1;
    int hh = digits(s + 1, 2), mm = digits(s + 4, 2);
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59)
        return -1;
    *off_s = (s[0] == '-' ? -1 : 1) * (int64_t)(hh * 3600 + mm * 60);
    return 0;
}

int
rfc3339_parse(const char *s, size_t len, int64_t *out_s)
{
    /* "YYYY-MM-DDThh:mm:ss" is 19 bytes; an offset follows, at least "Z". */
    if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return -1;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 || h > 23 ||
        mi < 0 || mi > 59 || sec < 0 || sec > 60)
        return -1;
    size_t p = 19;
    if (s[p] == '.') {
        size_t start = ++p;
        while (p < len && s[p] >= '0' && s[p] <= '9')
            p++;
        if (p == start)
            return -1;
    }
    int64_t off_s;
    if (parse_offset(s + p, len - p, &off_s) != 0)
        return -1;
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off_s;
    /* A leap second is the 61st second of 23:59 UTC (RFC 3339 5.7); like
     * POSIX time, it counts as the next day's 00:00:00. */
    if (sec == 60) {
        int64_t in_day = (t - 60) % 86400;
        if ((in_day < 0 ? in_day + 86400 : in_day) != 23 * 3600 + 59 * 60)
            return -1;
    }
    *out_s = t;
    return 0;
}

int
rfc3339_format_utc(char *out, size_t out_size, int64_t t_s)
{
    int64_t days = t_s / 86400, rem = t_s % 86400, y;
    int m, d;

    if (rem < 0) {
        rem += 86400;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999 || out_size < RFC3339_UTC_SIZE)
        return -1;
    snprintf(out, out_size, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60));
    return 0;
}
