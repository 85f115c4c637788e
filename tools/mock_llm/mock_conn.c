/*
 * mock_conn - one client connection of the mock: raw libevent events, the
 * input buffer, request framing, and the output buffer (conn_*, out_*).
 *
 * Hot path for a keep-alive GET: one read() into a shared scratch buffer,
 * parse, append the precomputed answer to c->out, one write(). EV_WRITE is
 * added only after EAGAIN, and then reading stops until the output drains
 * (le-proxy's watermark idea, with a watermark of "anything pending").
 *
 *   idle --read--> process --> [job running: timer ticks] --> flush
 *     ^                                                        |
 *     +-------------- more buffered input / keep-alive <-------+
 *   closing: flush, shutdown(SHUT_WR), drain input until EOF (lingering)
 *
 * Never freed inside its own callback chain: code below sets c->dead, and
 * the libevent callback that started the chain frees it on the way out.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/event.h>

#include "mock_llm.h"

#define READ_SIZE 65536       /* one read() per readiness event */
#define OUT_HIGH (256u << 10) /* stop parsing requests above this much output */
#define FILL_BLOCK 65536      /* 'x' bytes per iovec for /bytes */
#define FILL_IOVS 64
#define LINGER_MS 2000

static char g_rbuf[READ_SIZE]; /* scratch for reads into an empty conn */
static char g_fill[FILL_BLOCK];
static struct conn *g_conns; /* all live conns */

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);
static void conn_process(struct conn *c);
static void conn_settle(struct conn *c);

static void
conn_free(struct conn *c)
{
    event_free(c->rev);
    event_free(c->wev);
    if (c->tev != NULL)
        event_free(c->tev);
    close(c->fd);
    if (!c->in_shared)
        buf_free(&c->in);
    buf_free(&c->out);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        g_conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    free(c);
}

/* Frees every conn; at exit, so leak checkers see a clean heap. */
void
conn_free_all(void)
{
    while (g_conns != NULL)
        conn_free(g_conns);
}

void
conn_accept(struct event_base *base, int fd)
{
    struct conn *c = xmalloc(sizeof(*c));
    int one = 1;

    memset(c, 0, sizeof(*c));
    c->fd = fd;
    /* SSE events and drips must leave at once, not wait for an ACK */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->rev = event_new(base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    c->next = g_conns;
    if (g_conns != NULL)
        g_conns->prev = c;
    g_conns = c;
    event_add(c->rev, NULL);
    if (g_fill[0] == 0)
        memset(g_fill, 'x', sizeof(g_fill));
}

/* Abortive close: SO_LINGER 0 makes close() send RST ("upstream died"). */
void
conn_reset(struct conn *c)
{
    struct linger lg = {1, 0};

    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    c->dead = true;
}

static void
block_output(struct conn *c, bool on)
{
    if (on == c->blocked)
        return;
    c->blocked = on;
    if (on) {
        event_add(c->wev, NULL);
        event_del(c->rev);
    } else {
        event_del(c->wev);
        if (!c->rd_eof)
            event_add(c->rev, NULL);
    }
}

/* Writes out, then fill_left 'x' bytes; 0 when all is written. */
static int
conn_flush(struct conn *c)
{
    struct iovec iov[1 + FILL_IOVS];
    ssize_t n;

    while (c->out.len > c->out_off || c->fill_left > 0) {
        size_t fill = c->fill_left;
        int cnt = 0;

        if (c->out.len > c->out_off)
            iov[cnt++] = (struct iovec){c->out.p + c->out_off, c->out.len - c->out_off};
        while (fill > 0 && cnt < 1 + FILL_IOVS) {
            size_t k = fill < FILL_BLOCK ? fill : FILL_BLOCK;

            iov[cnt++] = (struct iovec){g_fill, k};
            fill -= k;
        }
        n = cnt == 1 ? write(c->fd, iov[0].iov_base, iov[0].iov_len) : writev(c->fd, iov, cnt);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                block_output(c, true);
                return -1;
            }
            c->dead = true; /* EPIPE, ECONNRESET: the client is gone */
            return -1;
        }
        if ((size_t)n <= c->out.len - c->out_off) {
            c->out_off += (size_t)n;
        } else {
            c->fill_left -= (size_t)n - (c->out.len - c->out_off);
            c->out_off = c->out.len;
        }
    }
    c->out.len = c->out_off = 0;
    if (c->out.cap > OUT_HIGH)
        buf_free(&c->out); /* a big echo or SSE burst should not pin memory */
    block_output(c, false);
    return 0;
}

/*
 * All output is written and no more requests will be served: send FIN,
 * then read until the peer closes, so unread pipelined input cannot turn
 * our close into an RST that destroys the response at the client.
 */
static void
conn_start_close(struct conn *c)
{
    struct timeval tv = {LINGER_MS / 1000, (LINGER_MS % 1000) * 1000};

    if (c->rd_eof) {
        c->dead = true;
        return;
    }
    shutdown(c->fd, SHUT_WR);
    c->lingering = true;
    if (c->tev == NULL)
        c->tev = evtimer_new(event_get_base(c->rev), on_timer, c);
    evtimer_add(c->tev, &tv);
}

/*
 * After any progress: answer buffered requests while nothing blocks them,
 * then close if the exchange said so or the peer is gone.
 */
static void
conn_settle(struct conn *c)
{
    size_t before;

    for (;;) {
        if (c->dead || c->blocked || c->job.kind != JOB_NONE || c->lingering)
            return;
        if (c->in.len == 0 || c->closing)
            break;
        before = c->in.len;
        conn_process(c);
        if (conn_flush(c) < 0)
            return;
        if (c->in.len == before)
            break; /* an incomplete request: wait for more input */
    }
    if (c->closing || c->rd_eof)
        conn_start_close(c);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    if (c->lingering) {
        c->dead = true; /* the peer never closed its side */
    } else {
        route_job_tick(c);
        if (!c->dead && conn_flush(c) == 0)
            conn_settle(c);
    }
    if (c->dead)
        conn_free(c);
}

/* Runs the current job's next step after delay_ms (0: right away, queued). */
void
conn_job_start(struct conn *c, long delay_ms)
{
    struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};

    if (c->tev == NULL)
        c->tev = evtimer_new(event_get_base(c->rev), on_timer, c);
    evtimer_add(c->tev, &tv);
}

/* Input lives in the shared scratch only while a read is being processed. */
static void
conn_keep_input(struct conn *c)
{
    struct buf own = {0};

    if (!c->in_shared)
        return;
    c->in_shared = false;
    if (c->in.len > 0)
        buf_append(&own, c->in.p, c->in.len);
    c->in = own;
}

static void
conn_consume(struct conn *c, size_t n)
{
    c->in.len -= n;
    if (c->in.len > 0)
        memmove(c->in.p, c->in.p + n, c->in.len);
    c->head_scan = 0;
    c->continue_sent = false;
    memset(&c->ch, 0, sizeof(c->ch));
}

/* Errors before dispatch: answer and close, as the framing is lost. */
static void
conn_fail(struct conn *c, int status)
{
    static const struct http_req req_close = {.minor = 1, .keep_alive = false};
    char body[64];
    int n = snprintf(body, sizeof(body), "{\"error\":\"bad request\",\"status\":%d}\n", status);

    out_reply(c, &req_close, status, "application/json", body, (size_t)n);
    c->in.len = 0;
}

/*
 * Frames the body of a parsed head: 1 complete (*total set), 0 incomplete,
 * -1 answered with an error. Sends 100 Continue when a client waits for it.
 */
static int
conn_frame_body(struct conn *c, const struct http_req *req, size_t *total)
{
    int rc;

    if (req->chunked) {
        rc = http_chunked_advance(&c->ch, c->in.p, &c->in.len, req->head_len);
        *total = req->head_len + c->ch.dec_len;
    } else if (req->content_length > (int64_t)HTTP_MAX_BODY) {
        rc = -2;
    } else {
        *total = req->head_len + (size_t)(req->content_length > 0 ? req->content_length : 0);
        rc = c->in.len >= *total;
    }
    if (rc < 0) {
        conn_fail(c, rc == -2 ? 413 : 400);
        return -1;
    }
    if (rc == 0 && req->expect_continue && !c->continue_sent) {
        buf_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
        c->continue_sent = true;
    }
    return rc;
}

/* Parses and answers buffered requests, in order, while nothing blocks. */
static void
conn_process(struct conn *c)
{
    struct http_req req;
    size_t total;
    int rc;

    while (c->in.len > 0 && !c->dead && !c->closing && c->job.kind == JOB_NONE &&
           c->fill_left == 0 && c->out.len < OUT_HIGH) {
        if (c->tunnel) {
            buf_append(&c->out, c->in.p, c->in.len);
            c->in.len = 0;
            break;
        }
        if (c->in.p[0] == '\r' || c->in.p[0] == '\n') {
            conn_consume(c, 1); /* RFC 9112 §2.2: ignore CRLF before a request */
            continue;
        }
        switch (http_parse_head(&req, c->in.p, c->in.len, &c->head_scan)) {
        case HTTP_PARSE_INCOMPLETE:
            return;
        case HTTP_PARSE_TOO_LARGE:
            conn_fail(c, 431);
            return;
        case HTTP_PARSE_ERROR:
            conn_fail(c, 400);
            return;
        case HTTP_PARSE_OK:
            break;
        }
        if (route_answers_early(&req)) {
            route_dispatch(c, &req, NULL, 0);
            conn_consume(c, req.head_len); /* the body is read as requests */
            continue;
        }
        if ((rc = conn_frame_body(c, &req, &total)) <= 0)
            return;
        if (c->drop_next) {
            /* What a gateway sees of a keep-alive connection the server
             * closed while it sat idle: the request is written, then EOF. */
            route_note_dropped();
            c->dead = true;
            return;
        }
        route_dispatch(c, &req, c->in.p + req.head_len, total - req.head_len);
        conn_consume(c, total);
    }
}

/* Reads into the shared scratch when nothing is buffered, else appends. */
static ssize_t
conn_read(struct conn *c)
{
    ssize_t n;

    if (c->in.len == 0) {
        if (!c->in_shared)
            buf_free(&c->in); /* idle conns hold no input memory */
        c->in = (struct buf){g_rbuf, 0, sizeof(g_rbuf)};
        c->in_shared = true;
    } else {
        buf_reserve(&c->in, READ_SIZE);
    }
    do
        n = read(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        c->in.len += (size_t)n;
    return n;
}

static void
on_read_lingering(struct conn *c)
{
    ssize_t n = read(c->fd, g_rbuf, sizeof(g_rbuf));

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        c->dead = true;
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    ssize_t n;

    if (c->lingering) {
        on_read_lingering(c);
    } else if ((n = conn_read(c)) > 0) {
        conn_process(c);
        conn_keep_input(c);
        if (!c->dead && conn_flush(c) == 0)
            conn_settle(c);
    } else if (n == 0) {
        /*
         * FIN: maybe only a half-close (nc), so answer what is complete
         * first; a peer that is really gone makes the next write fail.
         */
        c->rd_eof = true;
        event_del(c->rev);
        conn_keep_input(c);
        conn_settle(c);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
        c->dead = true; /* ECONNRESET */
    } else {
        conn_keep_input(c);
    }
    if (c->dead)
        conn_free(c);
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    if (conn_flush(c) == 0)
        conn_settle(c);
    if (c->dead)
        conn_free(c);
}

static const struct {
    int status;
    const char *reason;
} g_reasons[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {413, "Content Too Large"},
    {418, "I'm a teapot"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

static const char *
status_reason(int status)
{
    size_t i;

    for (i = 0; i < sizeof(g_reasons) / sizeof(g_reasons[0]); i++)
        if (g_reasons[i].status == status)
            return g_reasons[i].reason;
    return "Status";
}

/* 1xx, 204 and 304 carry no body and no Content-Length (RFC 9110 §8.6). */
static bool
status_has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

/*
 * Appends a response head. content_length >= 0 sends Content-Length;
 * OUT_CHUNKED is chunked for HTTP/1.1 clients and close-delimited for
 * HTTP/1.0 ones (RFC 9112 §7: 1.0 has no chunked); OUT_CLOSE_DELIMITED
 * sends neither. extra, if set, is whole "Name: value\r\n" lines.
 */
void
out_head(struct conn *c, const struct http_req *req, int status, const char *ctype,
         int64_t content_length, const char *extra)
{
    struct buf *b = &c->out;

    buf_str(b, "HTTP/1.1 ");
    buf_ulong(b, (unsigned long)status);
    buf_append(b, " ", 1);
    buf_str(b, status_reason(status));
    buf_append(b, "\r\n", 2);
    if (ctype != NULL) {
        buf_str(b, "Content-Type: ");
        buf_str(b, ctype);
        buf_append(b, "\r\n", 2);
    }
    c->chunked_out = false;
    if (content_length >= 0) {
        if (status_has_body(status)) {
            buf_str(b, "Content-Length: ");
            buf_ulong(b, (unsigned long)content_length);
            buf_append(b, "\r\n", 2);
        }
    } else if (content_length == OUT_CHUNKED && req->minor >= 1) {
        buf_str(b, "Transfer-Encoding: chunked\r\n");
        c->chunked_out = true;
    } else {
        c->closing = true;
    }
    if (!req->keep_alive)
        c->closing = true;
    if (status == 101)
        ; /* extra carries "Connection: Upgrade" */
    else if (c->closing)
        buf_str(b, "Connection: close\r\n");
    else if (req->minor == 0)
        buf_str(b, "Connection: keep-alive\r\n");
    if (extra != NULL)
        buf_str(b, extra);
    buf_append(b, "\r\n", 2);
}

/* One piece of a streamed body: a chunk, or raw bytes without chunking. */
void
out_chunk(struct conn *c, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char size[20];
    size_t i = sizeof(size);

    if (n == 0)
        return; /* a zero-size chunk would end the body */
    if (c->chunked_out) {
        size[--i] = '\n';
        size[--i] = '\r';
        for (size_t v = n; v != 0; v >>= 4)
            size[--i] = hex[v & 15];
        buf_append(&c->out, size + i, sizeof(size) - i);
    }
    buf_append(&c->out, p, n);
    if (c->chunked_out)
        buf_append(&c->out, "\r\n", 2);
}

/* Ends a streamed body; a close-delimited one ends when the conn closes. */
void
out_chunk_end(struct conn *c)
{
    if (c->chunked_out)
        buf_append(&c->out, "0\r\n\r\n", 5);
    c->chunked_out = false;
}

void
out_reply(struct conn *c, const struct http_req *req, int status, const char *ctype,
          const char *body, size_t body_len)
{
    out_head(c, req, status, ctype, (int64_t)body_len, NULL);
    if (!req->head_only && status_has_body(status))
        buf_append(&c->out, body, body_len);
}
