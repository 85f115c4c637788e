#!/usr/bin/env python3
"""A request with both Content-Length and Transfer-Encoding is refused with
400 (request smuggling, RFC 9112 §6.1); the gateway keeps serving."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))
    h.check_bad_request(t, gw, b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n'
                        b'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
                        400, 'CL then TE')
    h.check_bad_request(t, gw, b'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n'
                        b'Content-Length: 0\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
                        400, 'TE then CL 0')
    # the smuggled request must not reach upstream as a second request
    with h.Client(gw.port) as c:
        c.send(b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n'
               b'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /status/299 HTTP/1.1\r\nHost: x\r\n\r\n')
        r = c.read_response()
        t.eq(r.status, 400, 'smuggling attempt answers 400')
        t.ok(c.wait_closed(2.0), 'connection closed after the 400 (no smuggled request answered)')


h.run(main)
