#!/usr/bin/env python3
"""HTTP/1.1 requests need exactly one Host (RFC 9112 §3.2): none or two
answer 400; an HTTP/1.0 request without Host is fine."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))
    h.check_bad_request(t, gw, b'GET /small HTTP/1.1\r\n\r\n', 400, 'HTTP/1.1 without Host')
    h.check_bad_request(t, gw, b'GET /small HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400,
                        'two Host headers')
    with h.Client(gw.port) as c:
        c.send(b'GET /small HTTP/1.0\r\n\r\n')
        t.eq(c.read_response().status, 200, 'HTTP/1.0 without Host answers 200')
    with h.Client(gw.port) as c:
        c.send(b'GET /small HTTP/3.1\r\nHost: x\r\n\r\n')
        r = c.read_response()
        t.ok(r.status in (400, 505), 'unknown HTTP version answers 400 or 505', 'got %d' % r.status)
    h.check_serves(t, gw, 'unknown version')


h.run(main)
