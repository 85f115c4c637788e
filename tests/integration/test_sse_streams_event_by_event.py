#!/usr/bin/env python3
"""Server-Sent Events are not buffered: with 3 events 300 ms apart, the first
reaches the client long before the last (SPEC section 4, Streaming)."""
import time
import harness as h


def stream_times(port, path, method='GET', headers=None, body=None):
    """Returns (head, [(t_since_send, bytes)], t_end) for one streamed response."""
    with h.Client(port, timeout=5) as c:
        t0 = time.monotonic()
        c.request(method, path, headers, body)
        head = c.read_head()
        got = []
        if c.buf:
            got.append((time.monotonic() - t0, c.buf))
        data = c.buf
        c.buf = b''
        while True:
            if head.header('content-length') is not None and len(data) >= int(head.header('content-length')):
                break
            if data.endswith(b'\r\n0\r\n\r\n') or data == b'0\r\n\r\n':
                break
            if not c._fill():
                break
            got.append((time.monotonic() - t0, c.buf))
            data += c.buf
            c.buf = b''
        return head, got, time.monotonic() - t0, data


def first_event_time(got):
    acc = b''
    for ts, b in got:
        acc += b
        if b'data:' in acc and (b'\n\n' in acc.split(b'data:', 1)[1] or b'\r\n\r\n' in acc):
            return ts
    return None


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    head, got, total, data = stream_times(gw.port, '/sse?events=3&interval_ms=300')
    t.eq(head.status, 200, 'GET /sse answers 200')
    t.ok('text/event-stream' in (head.header('content-type') or ''),
         'Content-Type text/event-stream passed through', repr(head.headers))
    first = first_event_time(got)
    t.ok(first is not None and first < 0.25, 'first event arrives < 250 ms after the request',
         'first event at %r s' % first)
    t.ok(total > 0.5, 'whole stream takes > 500 ms (events are spaced)', 'total %.3f s' % total)
    t.ok(data.count(b'data:') >= 3, 'all three events arrived', repr(data[:500]))

    # the LLM-style stream: POST with "stream": true and X-Mock-Delay-Ms
    head, got, total, data = stream_times(
        gw.port, '/v1/chat/completions', 'POST',
        [('Content-Type', 'application/json'), ('X-Mock-Delay-Ms', '200')],
        b'{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}')
    t.eq(head.status, 200, 'streamed chat completion answers 200')
    first = first_event_time(got)
    t.ok(first is not None and total - first > 0.3,
         'streamed completion: first event well before the end',
         'first %r total %.3f' % (first, total))


h.run(main)
