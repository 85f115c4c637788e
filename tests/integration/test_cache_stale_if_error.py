#!/usr/bin/env python3
"""stale-if-error (SPEC sections 7, 11; RFC 5861): a stale entry within the
route's stale_if_error window answers when the upstream fails (here: it is
gone), with X-Cache: STALE, its stored body and an Age past its freshness;
outside that window, or with nothing stored, the failure is the gateway's
502."""
import time

import harness as h
import sessions as s


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('cached', '/counted', auth='none',
                      cache={'ttl': '1s', 'stale_if_error': '30s'})]
    gw = env.start_sluice(h.default_config(mock.port, redis_port=redis.port, routes=routes))
    s.wait_ready(gw)
    first = h.get(gw.port, '/counted?s=1')
    t.ok(h.poll(lambda: h.get(gw.port, '/counted?s=1').header('x-cache') == 'HIT', 3), 'stored')
    time.sleep(1.3)  # stale now, still within stale_if_error
    mock.proc.stop()
    r = h.get(gw.port, '/counted?s=1')
    t.eq(r.status, 200, 'upstream gone, a stale entry within stale-if-error: 200')
    t.eq(r.header('x-cache'), 'STALE', 'X-Cache: STALE')
    t.eq(r.body, first.body, 'the stored body')
    t.ok(int(r.header('age', '0')) >= 1, 'Age past the freshness', r.header('age'))
    t.eq(len(r.header_all('x-cache')), 1, 'one X-Cache field')
    r = h.get(gw.port, '/counted?s=2')
    t.eq((r.status, r.header('x-cache')), (502, 'MISS'), 'nothing stored: the 502 stands')


if __name__ == '__main__':
    h.run(main)
