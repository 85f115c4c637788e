#!/usr/bin/env python3
"""An upstream that answers before it has read the request body (the mock's
/early/413 answers on the head and then parses whatever follows as new
requests, as a naive server would): the client gets that answer, the rest of
the client's body is neither sent on that upstream connection nor parsed by
the gateway as a request of its own (request smuggling), the upstream
connection is not reused, and later requests are answered correctly."""
import json
import time

import harness as h

SMUGGLED = b'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n'


def answered_again(c, timeout):
    """True when more bytes come on c within timeout (EOF is not an answer)."""
    try:
        return c._fill(timeout=timeout) and bool(c.buf)
    except OSError:  # timeout, or reset
        return False


def mock_smuggled(mock):
    r = h.get(mock.port, '/stats')
    return json.loads(r.body)['smuggled']


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port, http={'max_body_size': '8MiB'}))

    # Content-Length body: the head goes first; the body, a stream of
    # requests, only once the early answer is in.
    body = SMUGGLED * 4000
    with h.Client(gw.port) as c:
        c.send(b'POST /early/413 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % len(body))
        r = c.read_response('POST')
        t.eq(r.status, 413, "the upstream's early answer reaches the client")
        try:
            c.send(body)
        except OSError:
            pass  # the gateway may already have closed: fine
        t.ok(not answered_again(c, 1.0), 'no answer for bytes of the body', repr(c.buf[:200]))

    # Chunked body, the same way.
    with h.Client(gw.port) as c:
        c.send(b'POST /early/401 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n')
        r = c.read_response('POST')
        t.eq(r.status, 401, 'early answer to a chunked upload reaches the client')
        chunk = SMUGGLED * 100
        try:
            c.send(b'%x\r\n%s\r\n' % (len(chunk), chunk) * 20 + b'0\r\n\r\n' + SMUGGLED)
        except OSError:
            pass
        t.ok(not answered_again(c, 1.0), 'no answer after the early one (chunked)', repr(c.buf[:200]))

    time.sleep(0.2)
    t.eq(mock_smuggled(mock), 0, 'no body bytes reached the upstream as a request')

    # Pooled connections are clean: every answer matches its request.
    for i in range(20):
        r = h.get(gw.port, '/small')
        if r.status != 200 or r.body != b'hello\n':
            t.ok(False, 'request %d after the early answers is answered right' % i,
                 '%d %r' % (r.status, r.body[:100]))
            break
    else:
        t.ok(True, 'twenty requests after the early answers are answered right')
    t.eq(mock_smuggled(mock), 0, 'still nothing smuggled')


h.run(main)
