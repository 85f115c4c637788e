#!/usr/bin/env python3
"""A request with Expect: 100-continue completes: the client gets at most an
interim 100 before the final response, and the body arrives intact (curl
sends Expect for large uploads)."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    body = b'z' * 5000
    with h.Client(gw.port, timeout=5) as c:
        c.send(b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n'
               b'Expect: 100-continue\r\n\r\n' % len(body))
        interim = None
        if c.readable(1.0):
            r = c.read_head()
            interim = r.status
        t.ok(interim in (None, 100), 'nothing or 100 Continue before the body is sent',
             'got %r' % interim)
        c.send(body)
        r = c.read_response()
        t.eq(r.status, 200, 'final response 200')
        t.eq((h.json_body(r) or {}).get('body'), body.decode(), 'body intact upstream')
        t.eq(c.fetch('GET', '/small').status, 200, 'connection reusable afterwards')

    # a client that sends the body right away (does not wait for 100)
    with h.Client(gw.port, timeout=5) as c:
        c.send(b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n'
               b'Expect: 100-continue\r\n\r\nhello')
        r = c.read_response()
        t.eq(r.status, 200, 'body sent without waiting: 200')
        t.eq((h.json_body(r) or {}).get('body'), 'hello', 'body intact')
        r = c.fetch('GET', '/small')
        t.eq(r.status, 200, 'next request on the connection is not confused by a late 100')


h.run(main)
