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
    # A size that does not fit 64 bits is a bad chunk size (SPEC section 4:
    # 400), refused while the size line is read, before any body byte could
    # count against max_body_size (413 is for a body that really is large).
    h.check_bad_request(t, gw, head + b'fffffffffffffffffffff\r\nhello\r\n', 400,
                        'overflowing chunk size')


h.run(main)
