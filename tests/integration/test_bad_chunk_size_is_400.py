#!/usr/bin/env python3
"""A malformed chunked body (bad chunk size, missing CRLF) answers 400."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))
    head = b'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
    h.check_bad_request(t, gw, head + b'zz\r\nhello\r\n0\r\n\r\n', 400, 'chunk size zz')
    h.check_bad_request(t, gw, head + b'5\r\nhelloXX0\r\n\r\n', 400, 'chunk data without CRLF')
    h.check_bad_request(t, gw, head + b'-5\r\nhello\r\n0\r\n\r\n', 400, 'negative chunk size')
    h.check_bad_request(t, gw, head + b'\r\nhello\r\n0\r\n\r\n', 400, 'empty chunk size')
    # a huge size is either malformed (400) or too large (413); never forwarded
    with h.Client(gw.port) as c:
        c.send(head + b'fffffffffffffffffffff\r\nhello\r\n')
        r = c.read_response()
        t.ok(r.status in (400, 413), 'overflowing chunk size answers 400 or 413',
             'got %d' % r.status)
    h.check_serves(t, gw, 'overflowing chunk size')


h.run(main)
