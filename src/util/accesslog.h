/*
 * accesslog.h - one JSON line per request (SPEC sections 10, 11):
 * ts, request_id, user, route, method, path, status, bytes_out,
 * upstream_ms, total_ms, cache, limit.
 *
 * One access_log per worker; lines are buffered and written when the buffer
 * passes 16 KiB or 50 ms after the first unwritten line, so logging costs no
 * syscall per request under load.
 */
#ifndef SLUICE_ACCESSLOG_H
#define SLUICE_ACCESSLOG_H

#include <stdbool.h>
#include <stdint.h>
#include "sluice.h"

struct event_base;
struct access_log;

struct access_entry {
    struct sl_slice request_id;
    const char *user;  /* NULL: JSON null */
    const char *route; /* NULL: JSON null */
    struct sl_slice method;
    struct sl_slice path; /* request target as received */
    unsigned status;
    uint64_t bytes_out;
    int64_t upstream_ms; /* < 0: JSON null (never reached upstream) */
    double total_ms;
    const char *cache; /* NULL: JSON null */
    const char *limit; /* NULL: JSON null */
};

/* target: "stdout", "stderr", "off" or a file path (opened for append).
 * Returns NULL (with errno) when the file cannot be opened. The flush timer
 * runs on base; with base NULL every line is written at once. */
struct access_log *access_log_new(struct event_base *base, const char *target);
/* Flushes what is buffered, then frees. */
void access_log_free(struct access_log *log);
/* Appends one line; the strings in e are copied, so e may die on return. */
void access_log_write(struct access_log *log, const struct access_entry *e);
/* False for "off": callers may skip measuring what only the log reads. */
bool access_log_enabled(const struct access_log *log);
/* Writes what is buffered now (whole lines only). */
void access_log_flush(struct access_log *log);

#endif
