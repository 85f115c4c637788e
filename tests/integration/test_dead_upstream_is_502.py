#!/usr/bin/env python3
"""An upstream whose port is closed answers 502 with a JSON error, quickly,
and other routes keep working."""
import time
import harness as h


def main(t, env):
    mock = env.start_mock()
    dead = h.free_port()  # nothing listens there
    cfg = h.default_config(mock.port, routes=[h.route('dead', '/dead', upstream='dead'),
                                              h.route('all', '/')])
    cfg['upstreams']['dead'] = {'servers': ['127.0.0.1:%d' % dead], 'connect_timeout': '1s'}
    gw = env.start_sluice(cfg)

    for i in range(3):
        t0 = time.monotonic()
        r = h.get(gw.port, '/dead/x')
        h.check_json_error(t, r, 502, 'dead upstream, attempt %d' % (i + 1))
        t.ok(time.monotonic() - t0 < 1.5, 'attempt %d answered fast (connection refused)' % (i + 1))
    with h.Client(gw.port) as c:
        r1 = c.fetch('GET', '/dead/y')
        t.eq(r1.status, 502, '502 on a keep-alive connection')
        # The request was read whole, so the client connection goes on
        # (proxy.c upstream_failed: only unread request bytes close it).
        t.eq(r1.header('connection'), None, 'the 502 does not close the client connection')
        try:
            r2 = c.fetch('GET', '/small')
            t.eq(r2.status, 200, 'client connection usable after the 502')
        except EOFError as e:
            t.ok(False, 'client connection usable after the 502', repr(e))
    h.check_serves(t, gw, 'dead upstream')


h.run(main)
