#!/usr/bin/env python3
"""A request with Expect: 100-continue completes (curl sends Expect for large
uploads). sluice forwards the expectation (RFC 9110 §10.1.1: a proxy either
answers 417 or forwards the request); the mock upstream, still waiting for
the body, answers 100 Continue, and a proxy MUST forward a 1xx it did not
ask for itself (RFC 9110 §15.2): the client gets exactly one 100 Continue
before it sends the body, then the final 200, and the body arrives intact."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    body = b'z' * 5000
    with h.Client(gw.port, timeout=5) as c:
        c.send(b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n'
               b'Expect: 100-continue\r\n\r\n' % len(body))
        t.ok(c.readable(3.0), 'an interim response arrives while the body is held back')
        r = c.read_head()
        t.eq(r.status, 100, 'the upstream\'s 100 Continue is forwarded before the body is sent')
        t.ok(not c.readable(0.2), 'nothing more until the body is sent', repr(c.buf[:200]))
        c.send(body)
        r = c.read_head()
        t.eq(r.status, 200, 'then the final response, 200 (a single 100 before it)')
        c._read_body(r, 'POST')
        t.eq((h.json_body(r) or {}).get('body'), body.decode(), 'body intact upstream')
        c.request('GET', '/small')
        t.eq(c.read_head().status, 200, 'connection reusable afterwards: next head is a 200')

    # A client that sends the body right away. The upstream MAY omit the 100
    # once it has the body (RFC 9110 §10.1.1), so at most one 100 may come,
    # and only before the final response: the next request's first head is
    # its own 200, not a late 100.
    with h.Client(gw.port, timeout=5) as c:
        c.send(b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n'
               b'Expect: 100-continue\r\n\r\nhello')
        heads = [c.read_head()]
        if heads[0].status == 100:
            heads.append(c.read_head())
        t.eq(heads[-1].status, 200, 'body sent without waiting: 200',
             [x.status for x in heads])
        c._read_body(heads[-1], 'POST')
        t.eq((h.json_body(heads[-1]) or {}).get('body'), 'hello', 'body intact')
        c.request('GET', '/small')
        r = c.read_head()
        t.eq(r.status, 200, 'next request on the connection is not confused by a late 100')


h.run(main)
