#!/usr/bin/env python3
"""An upstream slower than read_timeout (1s here) answers 504."""
import time
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port, upstream={'read_timeout': '1s'}))

    t0 = time.monotonic()
    r = h.get(gw.port, '/delay/3000', timeout=6)
    dt = time.monotonic() - t0
    h.check_json_error(t, r, 504, 'GET /delay/3000')
    t.ok(0.8 <= dt <= 2.5, '504 after about read_timeout (1s)', 'after %.2f s' % dt)
    h.check_serves(t, gw, 'upstream timeout')

    r = h.get(gw.port, '/delay/300')
    t.eq(r.status, 200, 'an upstream faster than read_timeout answers 200')

    # read_timeout is between bytes: a slow drip that keeps sending is fine
    r = h.get(gw.port, '/drip?bytes=5&interval_ms=400', timeout=6)
    t.eq(r.status, 200, 'a drip with 400 ms gaps (total 2 s) is not cut by read_timeout 1s')
    t.eq(len(r.body), 5, 'drip body complete')


h.run(main)
