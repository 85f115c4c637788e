/*
 * test_accesslog.c - writes entries to a temporary file and checks the JSON
 * lines: field order and values, nulls, escaping of quotes, control
 * characters and invalid UTF-8, the 50 ms timer and the 16 KiB flush.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "util/accesslog.h"

static char path[] = "/tmp/sluice_test_accesslog_XXXXXX";

static char *
slurp(size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    static char buf[1 << 20];
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    if (len_out)
        *len_out = n;
    return buf;
}

static void
truncate_log(void)
{
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
}

static struct access_entry
entry(void)
{
    return (struct access_entry){
        .request_id = SL_SLICE_LIT("abc123"),
        .user = "alice",
        .route = "chat",
        .method = SL_SLICE_LIT("POST"),
        .path = SL_SLICE_LIT("/v1/chat/completions?x=1"),
        .status = 200,
        .bytes_out = 1234,
        .upstream_ms = 42,
        .total_ms = 45.5,
        .cache = "MISS",
        .limit = "allowed",
    };
}

/* Everything after the ts field, which depends on the clock. */
static const char *
after_ts(const char *line)
{
    const char *p = strstr(line, "\",\"request_id\"");
    return p ? p + 2 : "";
}

static int
ts_well_formed(const char *line)
{
    /* {"ts":"2026-11-23T20:31:02.123Z", */
    const char *ts = line + 7;
    if (strncmp(line, "{\"ts\":\"", 7) != 0 || strlen(ts) < 25)
        return 0;
    const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ\"";
    for (size_t i = 0; shape[i] != '\0'; i++) {
        if (shape[i] == 'd' ? (ts[i] < '0' || ts[i] > '9') : ts[i] != shape[i])
            return 0;
    }
    return 1;
}

static void
test_fields(struct event_base *base)
{
    struct access_log *log = access_log_new(base, path);
    ok(log != NULL, "opens a file path");
    struct access_entry e = entry();
    access_log_write(log, &e);
    ok(strlen(slurp(NULL)) == 0, "buffered, not written at once");
    access_log_flush(log);
    const char *line = slurp(NULL);
    ok(ts_well_formed(line), "ts is RFC 3339 UTC with milliseconds: %.40s", line);
    is_str(after_ts(line),
           "\"request_id\":\"abc123\",\"user\":\"alice\",\"route\":\"chat\","
           "\"method\":\"POST\",\"path\":\"/v1/chat/completions?x=1\",\"status\":200,"
           "\"bytes_out\":1234,\"upstream_ms\":42,\"total_ms\":45.500,\"cache\":\"MISS\","
           "\"limit\":\"allowed\"}\n",
           "fields in order");

    truncate_log();
    e.user = NULL;
    e.route = NULL;
    e.cache = NULL;
    e.limit = NULL;
    e.upstream_ms = -1;
    e.status = 404;
    access_log_write(log, &e);
    access_log_free(log);
    is_str(after_ts(slurp(NULL)),
           "\"request_id\":\"abc123\",\"user\":null,\"route\":null,"
           "\"method\":\"POST\",\"path\":\"/v1/chat/completions?x=1\",\"status\":404,"
           "\"bytes_out\":1234,\"upstream_ms\":null,\"total_ms\":45.500,\"cache\":null,"
           "\"limit\":null}\n",
           "nulls, and free flushes");
}

static void
test_escaping(struct event_base *base)
{
    truncate_log();
    struct access_log *log = access_log_new(base, path);
    struct access_entry e = entry();
    static const char weird_path[] =
        "/a\"b\\c\n\t\x01\x7f/caf\xc3\xa9/\xe2\x82\xac/\xff\xc3/\xed\xa0\x80";
    e.path = (struct sl_slice){weird_path, sizeof(weird_path) - 1};
    e.user = "bob\"\x1f";
    access_log_write(log, &e);
    access_log_flush(log);
    const char *line = slurp(NULL);
    ok(strstr(line, "\"user\":\"bob\\\"\\u001f\"") != NULL, "user escaped");
    ok(strstr(line, "\"path\":\"/a\\\"b\\\\c\\u000a\\u0009\\u0001\\u007f/caf\xc3\xa9/\xe2\x82\xac/"
                    "\\u00ff\\u00c3/\\u00ed\\u00a0\\u0080\"") != NULL,
       "quotes, controls as \\u00XX, valid UTF-8 kept, invalid bytes escaped");
    access_log_free(log);
}

static void
test_timer(struct event_base *base)
{
    truncate_log();
    struct access_log *log = access_log_new(base, path);
    struct access_entry e = entry();
    access_log_write(log, &e);
    access_log_write(log, &e);
    struct timeval tv = {0, 120 * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    const char *text = slurp(NULL);
    const char *nl = strchr(text, '\n');
    ok(nl != NULL && strchr(nl + 1, '\n') != NULL, "50 ms timer wrote both lines");
    access_log_free(log);
}

static void
test_size_flush(struct event_base *base)
{
    truncate_log();
    struct access_log *log = access_log_new(base, path);
    struct access_entry e = entry();
    size_t len = 0;
    int lines = 0;
    while (len == 0 && lines < 1000) {
        access_log_write(log, &e);
        lines++;
        slurp(&len);
    }
    ok(len >= 16 * 1024 && lines > 1, "written once past 16 KiB (%d lines, %zu bytes)", lines, len);
    const char *text = slurp(&len);
    int count = 0;
    for (size_t i = 0; i < len; i++)
        count += text[i] == '\n';
    is_int(count, lines, "only whole lines, all of them");
    access_log_free(log);
}

static void
test_off(struct event_base *base)
{
    struct access_log *log = access_log_new(base, "off");
    ok(log != NULL, "off is accepted");
    struct access_entry e = entry();
    access_log_write(log, &e);
    access_log_flush(log);
    access_log_free(log);
    ok(access_log_new(base, "/nonexistent-dir/x.log") == NULL, "unopenable path is NULL");
}

int
main(void)
{
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    close(fd);
    struct event_base *base = event_base_new();
    test_fields(base);
    test_escaping(base);
    test_timer(base);
    test_size_flush(base);
    test_off(base);
    event_base_free(base);
    unlink(path);
    return tap_done();
}
