#!/usr/bin/env python3
"""A client that sends half a head and stalls gets 408 after
http.header_timeout (1s here)."""
import time
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    with h.Client(gw.port, timeout=5) as c:
        t0 = time.monotonic()
        c.send(b'GET /small HTTP/1.1\r\nHost: x\r\nX-Partial: ')
        r = c.read_response()
        dt = time.monotonic() - t0
        h.check_json_error(t, r, 408, 'stalled head')
        t.ok(0.8 <= dt <= 3.0, '408 comes after about header_timeout (1s)', 'after %.2f s' % dt)
        t.ok(c.wait_closed(2.0), 'connection closed after the 408')
    h.check_serves(t, gw, 'stalled head')

    # trickling bytes does not extend the head deadline forever
    with h.Client(gw.port, timeout=5) as c:
        t0 = time.monotonic()
        c.send(b'GET /small HTTP/1.1\r\n')
        status = None
        try:
            for i in range(40):
                if c.readable(0.1):
                    break
                c.send(b'X-T%d: 1\r\n' % i)
            r = c.read_response()
            status = r.status
        except (EOFError, BrokenPipeError, ConnectionResetError) as e:
            status = 'closed without a response: %r' % e
        dt = time.monotonic() - t0
        t.ok(status == 408 and dt < 3.5,
             'a head trickled byte by byte is cut off near header_timeout',
             'status %r after %.2f s' % (status, dt))
    h.check_serves(t, gw, 'trickled head')

    # On a keep-alive connection, a stalled second head, sent right after the
    # first answer (the connection's timer is still armed from the first
    # request) or after a pause (the idle sweep took it back), gets its 408
    # header_timeout after its own first byte.
    for pause in (0.0, 0.5):
        with h.Client(gw.port, timeout=5) as c:
            t.eq(c.fetch('GET', '/small').status, 200, 'first request served')
            time.sleep(pause)
            t0 = time.monotonic()
            c.send(b'GET /small HTTP/1.1\r\nHost: x\r\nX-Partial: ')
            r = c.read_response()
            dt = time.monotonic() - t0
            h.check_json_error(t, r, 408, 'stalled second head (pause %.1fs)' % pause)
            t.ok(0.8 <= dt <= 3.0, 'its 408 comes about header_timeout after it began',
                 'after %.2f s' % dt)


h.run(main)
