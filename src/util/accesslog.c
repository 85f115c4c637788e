/*
 * accesslog.c - buffered JSON access log lines, one access_log per worker.
 *
 *   access_log_write -> append line to buf -> len >= 16 KiB ? write now
 *                                           : arm 50 ms timer (first line)
 *   timer / access_log_flush / access_log_free -> write(2) the buffer
 *
 * Workers share the file (or stdout) but never a buffer, so a write(2)
 * must carry whole lines only: the buffer only ever holds whole lines, and
 * on a pipe each write is cut at a line boundary at or below PIPE_BUF,
 * the size up to which POSIX makes pipe writes atomic.
 */
#include "util/accesslog.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/strbuf.h"

#define ACCESS_LOG_FLUSH_BYTES (16 * 1024)
#define ACCESS_LOG_FLUSH_MS 50
#define ACCESS_LOG_EAGAIN_WAIT_MS 1000

struct access_log {
    int fd;      /* -1 when "off" */
    bool own_fd; /* a file we opened, closed on free */
    bool is_pipe;
    bool write_failed_logged;
    struct event *timer; /* owns; NULL without an event_base */
    struct strbuf buf;   /* whole lines not yet written */
};

bool
access_log_enabled(const struct access_log *log)
{
    return log->fd >= 0;
}

static void
flush_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    access_log_flush(arg);
}

struct access_log *
access_log_new(struct event_base *base, const char *target)
{
    int fd = -1;
    bool own = false;
    if (strcmp(target, "off") == 0) {
        fd = -1;
    } else if (strcmp(target, "stdout") == 0) {
        fd = STDOUT_FILENO;
    } else if (strcmp(target, "stderr") == 0) {
        fd = STDERR_FILENO;
    } else {
        fd = open(target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return NULL;
        own = true;
    }
    struct access_log *log = xcalloc(1, sizeof(*log));
    log->fd = fd;
    log->own_fd = own;
    struct stat st;
    log->is_pipe = fd >= 0 && fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
    if (base != NULL && fd >= 0)
        log->timer = evtimer_new(base, flush_timer_cb, log);
    return log;
}

void
access_log_free(struct access_log *log)
{
    if (log == NULL)
        return;
    if (log->timer != NULL)
        event_free(log->timer);
    log->timer = NULL;
    access_log_flush(log);
    if (log->own_fd)
        close(log->fd);
    strbuf_deinit(&log->buf);
    free(log);
}

/* Largest prefix of [p, p+len) made of whole lines and at most max bytes;
 * a single line longer than max is returned whole (it cannot be split). */
static size_t
whole_lines_prefix(const char *p, size_t len, size_t max)
{
    if (len <= max)
        return len;
    for (size_t i = max; i > 0; i--) {
        if (p[i - 1] == '\n')
            return i;
    }
    const char *nl = memchr(p, '\n', len);
    return nl ? (size_t)(nl - p) + 1 : len;
}

/* write(2) until done; a file descriptor left non-blocking by whoever
 * shares it (stdout) gets a bounded wait rather than a lost line. */
static int
write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            if (poll(&pfd, 1, ACCESS_LOG_EAGAIN_WAIT_MS) <= 0)
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

void
access_log_flush(struct access_log *log)
{
    if (log == NULL)
        return;
    if (log->timer != NULL)
        evtimer_del(log->timer);
    size_t off = 0;
    while (off < log->buf.len) {
        size_t n = log->buf.len - off;
        if (log->is_pipe)
            n = whole_lines_prefix(log->buf.p + off, n, PIPE_BUF);
        if (write_all(log->fd, log->buf.p + off, n) < 0) {
            /* Logged once: a full disk must not also flood the error log. */
            if (!log->write_failed_logged)
                log_error("access log: write failed: %s; dropping lines", strerror(errno));
            log->write_failed_logged = true;
            break;
        }
        off += n;
    }
    log->buf.len = 0;
}

/* "2026-11-23T20:31:02.123Z" (RFC 3339, UTC, milliseconds). */
static void
append_ts(struct strbuf *sb, int64_t wall_ms)
{
    time_t sec = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char ts[40];
    int n = snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(wall_ms % 1000));
    strbuf_append(sb, ts, (size_t)n);
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629 §4), 0 if none:
 * overlong forms, surrogates and code points past U+10FFFF are refused. */
static size_t
utf8_seq_len(const unsigned char *p, size_t len)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (len < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    }
    return n;
}

/* A JSON string body: '"' and '\' escaped, control characters and bytes
 * that are not well-formed UTF-8 as \u00XX (a byte read as Latin-1, as
 * nginx's escape=json does), so every line is valid JSON whatever the
 * client sent. */
static void
append_escaped(struct strbuf *sb, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    strbuf_reserve(sb, len + 2);
    while (p < end) {
        size_t n = 1;
        if (*p >= 0x80)
            n = utf8_seq_len(p, (size_t)(end - p));
        if (*p >= 0x20 && *p != 0x7f && *p != '"' && *p != '\\' && n > 0) {
            strbuf_append(sb, (const char *)p, n);
            p += n;
            continue;
        }
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            strbuf_append(sb, esc, 2);
        } else {
            char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            strbuf_append(sb, esc, 6);
        }
        p++;
    }
}

static void
append_field_str(struct strbuf *sb, const char *key, const char *s, size_t len)
{
    strbuf_append_str(sb, key);
    if (s == NULL) {
        strbuf_append_str(sb, "null");
        return;
    }
    strbuf_append(sb, "\"", 1);
    append_escaped(sb, s, len);
    strbuf_append(sb, "\"", 1);
}

static void
append_field_cstr(struct strbuf *sb, const char *key, const char *s)
{
    append_field_str(sb, key, s, s ? strlen(s) : 0);
}

static void
append_line(struct strbuf *sb, const struct access_entry *e)
{
    char num[96];
    strbuf_append_str(sb, "{\"ts\":\"");
    append_ts(sb, clock_wall_ms());
    strbuf_append(sb, "\"", 1);
    append_field_str(sb, ",\"request_id\":", e->request_id.p ? e->request_id.p : "",
                     e->request_id.len);
    append_field_cstr(sb, ",\"user\":", e->user);
    append_field_cstr(sb, ",\"route\":", e->route);
    append_field_str(sb, ",\"method\":", e->method.p ? e->method.p : "", e->method.len);
    append_field_str(sb, ",\"path\":", e->path.p ? e->path.p : "", e->path.len);
    int n =
        snprintf(num, sizeof(num), ",\"status\":%u,\"bytes_out\":%llu,\"upstream_ms\":", e->status,
                 (unsigned long long)e->bytes_out);
    strbuf_append(sb, num, (size_t)n);
    if (e->upstream_ms < 0)
        n = snprintf(num, sizeof(num), "null");
    else
        n = snprintf(num, sizeof(num), "%lld", (long long)e->upstream_ms);
    strbuf_append(sb, num, (size_t)n);
    n = snprintf(num, sizeof(num), ",\"total_ms\":%.3f", e->total_ms >= 0 ? e->total_ms : 0.0);
    strbuf_append(sb, num, (size_t)n);
    append_field_cstr(sb, ",\"cache\":", e->cache);
    append_field_cstr(sb, ",\"limit\":", e->limit);
    strbuf_append(sb, "}\n", 2);
}

void
access_log_write(struct access_log *log, const struct access_entry *e)
{
    if (log == NULL || log->fd < 0)
        return;
    bool was_empty = log->buf.len == 0;
    append_line(&log->buf, e);
    if (log->buf.len >= ACCESS_LOG_FLUSH_BYTES || log->timer == NULL) {
        access_log_flush(log);
        return;
    }
    if (was_empty) {
        struct timeval tv = {0, ACCESS_LOG_FLUSH_MS * 1000};
        evtimer_add(log->timer, &tv);
    }
}
