#!/usr/bin/env python3
"""A client that sends its head but stalls in the body gets 408 after
http.body_timeout (1s here); the gateway keeps serving."""
import time
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port, http={'body_timeout': '1s'}))

    for what, data in [('Content-Length body', b'POST /echo HTTP/1.1\r\nHost: x\r\n'
                        b'Content-Length: 10\r\n\r\nabc'),
                       ('chunked body', b'POST /echo HTTP/1.1\r\nHost: x\r\n'
                        b'Transfer-Encoding: chunked\r\n\r\n5\r\nab')]:
        with h.Client(gw.port, timeout=5) as c:
            t0 = time.monotonic()
            c.send(data)
            r = c.read_response()
            dt = time.monotonic() - t0
            h.check_json_error(t, r, 408, 'stalled %s' % what)
            t.ok(0.8 <= dt <= 3.0, 'stalled %s: 408 after about body_timeout' % what,
                 'after %.2f s' % dt)
            t.ok(c.wait_closed(2.0), 'stalled %s: connection closed after the 408' % what)
        h.check_serves(t, gw, 'stalled %s' % what)

    # a body that keeps arriving (each piece within body_timeout) is not cut
    with h.Client(gw.port, timeout=5) as c:
        c.send(b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n')
        for piece in (b'ab', b'cd', b'ef'):
            time.sleep(0.4)
            c.send(piece)
        r = c.read_response()
        t.eq((r.status, (h.json_body(r) or {}).get('body')), (200, 'abcdef'),
             'a body trickled over 1.2 s in 400 ms steps is accepted')


h.run(main)
