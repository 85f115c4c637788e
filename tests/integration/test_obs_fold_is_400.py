#!/usr/bin/env python3
"""A header continued by obs-fold (RFC 9112 §5.2) answers 400."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))
    h.check_bad_request(t, gw, b'GET /echo HTTP/1.1\r\nHost: x\r\nX-Folded: first\r\n'
                        b'  second\r\n\r\n', 400, 'obs-fold with spaces')
    h.check_bad_request(t, gw, b'GET /echo HTTP/1.1\r\nHost: x\r\nX-Folded: first\r\n'
                        b'\tsecond\r\n\r\n', 400, 'obs-fold with a tab')
    h.check_bad_request(t, gw, b'GET /echo HTTP/1.1\r\n Host: x\r\n\r\n', 400,
                        'whitespace before the first header')


h.run(main)
