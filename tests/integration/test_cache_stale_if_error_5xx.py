#!/usr/bin/env python3
"""stale-if-error for an upstream 5xx (RFC 5861 section 4): a stale entry
within the route's stale_if_error time answers in place of the upstream's
503 (X-Cache: STALE, the stored body); on a route without stale_if_error
the upstream's 503 passes to the client as it is."""
import time

import harness as h
import sessions as s


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('sie', '/counted', auth='none', cache={'ttl': '1s', 'stale_if_error': '30s'})]
    gw = env.start_sluice(h.default_config(mock.port, redis_port=redis.port, routes=routes))
    plain_routes = [h.route('plain', '/counted', auth='none', cache={'ttl': '1s'})]
    gw2 = env.start_sluice(h.default_config(mock.port, redis_port=redis.port, routes=plain_routes))
    s.wait_ready(gw)
    s.wait_ready(gw2)
    before = h.json_body(h.get(mock.port, '/stats'))['counted']
    path = '/counted?max_age=1&fail_after=%d' % (before + 1)
    first = h.get(gw.port, path)
    t.eq(first.status, 200, 'the first answer is a 200')
    t.ok(h.poll(lambda: h.get(gw.port, path).header('x-cache') == 'HIT', 3), 'stored')
    time.sleep(1.3)
    r = h.get(gw.port, path)
    t.eq((r.status, r.header('x-cache')), (200, 'STALE'), 'the upstream said 503: the stale entry answers')
    t.eq(r.body, first.body, 'the stored body')
    t.eq(len(r.header_all('x-cache')), 1, 'one X-Cache field')
    r = h.get(gw.port, path)
    t.eq((r.status, r.header('x-cache')), (200, 'STALE'), 'again: the connection was not left broken')

    before = h.json_body(h.get(mock.port, '/stats'))['counted']
    path = '/counted?max_age=1&fail_after=%d' % (before + 1)
    t.eq(h.get(gw2.port, path).status, 200, 'plain route: a 200 first')
    t.ok(h.poll(lambda: h.get(gw2.port, path).header('x-cache') == 'HIT', 3), 'plain route: stored')
    time.sleep(1.3)
    r = h.get(gw2.port, path)
    t.eq(r.status, 503, 'no stale_if_error: the upstream 503 passes')


if __name__ == '__main__':
    h.run(main)
