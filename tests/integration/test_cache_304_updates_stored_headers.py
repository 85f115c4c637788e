#!/usr/bin/env python3
"""A 304 to a revalidation updates the stored entry's fields (RFC 9111
sections 3.2 and 4.3.4): the answer carries the 304's X-Served (not the
stored one) with the stored body, the entry keeps it for the next hit, and
the 304's absent Content-Length does not replace the body's."""
import time

import harness as h
import sessions as s


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('cached', '/counted', auth='none', cache={'ttl': '1s'})]
    gw = env.start_sluice(h.default_config(mock.port, redis_port=redis.port, routes=routes))
    s.wait_ready(gw)
    path = '/counted?etag=4&served=1'
    first = h.get(gw.port, path)
    t.ok(h.poll(lambda: h.get(gw.port, path).header('x-cache') == 'HIT', 3), 'stored')
    served = first.header('x-served')
    time.sleep(1.3)
    r = h.get(gw.port, path)
    t.eq(r.header('x-cache'), 'REVALIDATED', 'stale: revalidated with a 304')
    t.ok(r.header('x-served') not in (None, served), "the 304's X-Served answers",
         (served, r.header('x-served')))
    t.eq(len(r.header_all('x-served')), 1, 'once, replacing the stored one')
    t.eq((r.status, r.body), (200, first.body), 'with the stored status and body')
    t.eq(r.header('content-length'), str(len(first.body)), "the body's Content-Length")
    hit = h.get(gw.port, path)
    t.eq(hit.header('x-cache'), 'HIT', 'fresh again')
    t.eq(hit.header('x-served'), r.header('x-served'), 'the entry kept the updated field')


if __name__ == '__main__':
    h.run(main)
