#!/usr/bin/env python3
"""Bad header names (space before the colon, space or separators inside, no
colon, empty name) answer 400 (RFC 9112 §5.1)."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))
    for line, what in [(b'Foo : x', 'space before colon'),
                       (b'Fo o: x', 'space inside the name'),
                       (b'NoColonHere', 'line without a colon'),
                       (b': empty-name', 'empty name'),
                       (b'X@Y: 1', 'separator @ in the name'),
                       (b'X\x01Y: 1', 'control character in the name')]:
        h.check_bad_request(t, gw, b'GET /echo HTTP/1.1\r\nHost: x\r\n' + line + b'\r\n\r\n',
                            400, what)
    h.check_bad_request(t, gw, b'GET /echo HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n',
                        400, 'NUL in a header value')


h.run(main)
