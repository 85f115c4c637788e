#!/usr/bin/env python3
"""HTTP/1.1 requests need exactly one Host (RFC 9112 §3.2): none or two
answer 400; an HTTP/1.0 request without Host is fine. A well-formed request
line naming a major version other than 1 ("HTTP/3.1" matches HTTP-version,
RFC 9112 §2.3) is not malformed but unsupported: 505 HTTP Version Not
Supported (RFC 9110 §15.6.6), as nginx answers."""
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
    h.check_bad_request(t, gw, b'GET /small HTTP/3.1\r\nHost: x\r\n\r\n', 505,
                        'HTTP/3.1 request line')
    h.check_bad_request(t, gw, b'GET /small HTTP/1.1x\r\nHost: x\r\n\r\n', 400,
                        'malformed HTTP version')


h.run(main)
