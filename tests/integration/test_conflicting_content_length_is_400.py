#!/usr/bin/env python3
"""Two differing Content-Length values, or an invalid one, answer 400."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))
    h.check_bad_request(t, gw, b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n'
                        b'Content-Length: 6\r\n\r\nhello!', 400, 'two Content-Length headers')
    h.check_bad_request(t, gw, b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\n'
                        b'hello!', 400, 'Content-Length list 5, 6')
    h.check_bad_request(t, gw, b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
                        400, 'non-numeric Content-Length')
    h.check_bad_request(t, gw, b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
                        400, 'negative Content-Length')
    h.check_bad_request(t, gw, b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello',
                        400, 'Content-Length with a sign')


h.run(main)
