#!/usr/bin/env python3
"""A background refresh (stale-while-revalidate) whose upstream is gone
fails quietly: the stale entry keeps answering (X-Cache: STALE, its stored
body) request after request, each failed refresh ends its flight so the
next stale hit may try again, and the gateway neither hangs nor crashes."""
import time

import harness as h
import sessions as s


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('swr', '/counted', auth='none', cache={'ttl': '1s'})]
    gw = env.start_sluice(h.default_config(mock.port, redis_port=redis.port, routes=routes))
    s.wait_ready(gw)
    path = '/counted?max_age=1&swr=30'
    first = h.get(gw.port, path)
    t.ok(h.poll(lambda: h.get(gw.port, path).header('x-cache') == 'HIT', 3), 'stored')
    time.sleep(1.3)
    mock.proc.stop()
    for i in range(3):
        r = h.get(gw.port, path)
        t.eq((r.status, r.header('x-cache'), r.body), (200, 'STALE', first.body),
             'upstream gone, stale answer %d' % i)
        time.sleep(0.2)  # the failed refresh ends; the next one tries again
    t.eq(h.get(gw.port, '/counted?k=new').status, 502, 'a key with nothing stored: 502')


if __name__ == '__main__':
    h.run(main)
