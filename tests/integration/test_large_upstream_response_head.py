#!/usr/bin/env python3
"""Large upstream response heads: a 4 KB header passes intact; a 1 MB one is
refused as 502 (or passed), never a crash or a hang."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    r = h.get(gw.port, '/headers-big?n=4000')
    t.eq(r.status, 200, '4 KB upstream header answers 200')
    t.eq(len(r.header('x-big') or ''), 4000, 'X-Big passed through intact')

    r = h.get(gw.port, '/headers-big?n=1048576', timeout=5)
    t.ok(r.status in (200, 502), '1 MB upstream header answers 502 (or 200)', 'got %d' % r.status)
    if r.status == 502:
        h.check_json_error(t, r, 502, '1 MB upstream header')
    h.check_serves(t, gw, 'huge upstream head')


h.run(main)
