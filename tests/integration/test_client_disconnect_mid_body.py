#!/usr/bin/env python3
"""A client that disconnects in the middle of its request body (Content-Length
or chunked) does not hurt the gateway."""
import time
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    for i, rst in enumerate((False, True)):
        c = h.Client(gw.port)
        c.send(b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' + b'a' * 1000)
        time.sleep(0.1)
        c.close(rst=rst)
        h.check_serves(t, gw, 'Content-Length body cut (%s)' % ('RST' if rst else 'FIN'))

        c = h.Client(gw.port)
        c.send(b'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
               b'3e8\r\n' + b'b' * 500)
        time.sleep(0.1)
        c.close(rst=rst)
        h.check_serves(t, gw, 'chunked body cut (%s)' % ('RST' if rst else 'FIN'))

    # the upstream pool is not poisoned by the aborted bodies
    with h.Client(gw.port) as c:
        for i in range(5):
            r = c.fetch('POST', '/echo', body=b'ok-%d' % i)
            t.eq((h.json_body(r) or {}).get('body'), 'ok-%d' % i, 'later POST %d intact' % i)


h.run(main)
