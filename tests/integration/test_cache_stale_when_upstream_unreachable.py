#!/usr/bin/env python3
"""A cache cut off from its upstream may answer with a stale entry (RFC
9111 section 4.2.4) without any stale-if-error, unless the response forbade
it: must-revalidate (like no-cache, proxy-revalidate and s-maxage) makes
the failure the gateway's 502."""
import time

import harness as h
import sessions as s


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('cached', '/counted', auth='none', cache={'scope': 'shared'})]
    gw = env.start_sluice(h.default_config(mock.port, redis_port=redis.port, routes=routes))
    s.wait_ready(gw)
    plain, strict = '/counted?max_age=1', '/counted?max_age=1&must_revalidate=1'
    first = h.get(gw.port, plain)
    h.get(gw.port, strict)
    for p in (plain, strict):
        t.ok(h.poll(lambda: h.get(gw.port, p).header('x-cache') == 'HIT', 3), 'stored: ' + p)
    time.sleep(1.3)
    mock.proc.stop()
    r = h.get(gw.port, plain)
    t.eq((r.status, r.header('x-cache')), (200, 'STALE'), 'upstream gone: the stale entry')
    t.eq(r.body, first.body, 'its stored body')
    r = h.get(gw.port, strict)
    t.eq((r.status, r.header('x-cache')), (502, 'MISS'), 'must-revalidate: the 502 stands')


if __name__ == '__main__':
    h.run(main)
