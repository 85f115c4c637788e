#!/usr/bin/env python3
"""A request head over http.max_header_size (8KiB here) answers 431 when its
header fields are too large (RFC 6585 §5, SPEC section 4); a request line
whose target alone overflows the limit answers 414 URI Too Long: "A server
that receives a request-target longer than any URI it wishes to parse MUST
respond with a 414" (RFC 9112 §3), as nginx does."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))
    h.check_bad_request(t, gw, b'GET /small HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 10000
                        + b'\r\n\r\n', 431, 'one 10 KB header')
    many = b''.join(b'X-H%03d: %s\r\n' % (i, b'v' * 90) for i in range(120))
    h.check_bad_request(t, gw, b'GET /small HTTP/1.1\r\nHost: x\r\n' + many + b'\r\n',
                        431, '120 headers of 100 bytes')
    h.check_bad_request(t, gw, b'GET /' + b'p' * 10000 + b' HTTP/1.1\r\nHost: x\r\n\r\n',
                        414, 'request-target of 10 KB')
    # a head just under the limit passes
    r = h.get(gw.port, '/small', [('X-Big', 'a' * 6000)])
    t.eq(r.status, 200, 'a 6 KB head is accepted')


h.run(main)
