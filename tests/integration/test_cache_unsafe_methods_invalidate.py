#!/usr/bin/env python3
"""An unsafe method's success drops the URL's entry (RFC 9111 section 4.4):
PUT and DELETE are unsafe though idempotent, so after either the next GET
goes upstream (the upstream's new answer, not the stored one); a GET
(safe) leaves it. The first request a fresh gateway sees may be an
unsafe one: it invalidates without having looked anything up."""
import harness as h
import sessions as s


def counted(r):
    return (h.json_body(r) or {}).get('counted')


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('cached', '/counted', auth='none', cache={'scope': 'shared'})]
    gw = env.start_sluice(h.default_config(mock.port, redis_port=redis.port, routes=routes))
    s.wait_ready(gw)
    r = h.fetch(gw.port, 'PUT', '/counted?max_age=60', body=b'abc')
    t.eq(r.status, 200, 'a PUT as the first request: answered (no lookup before it)')
    t.ok(gw.alive(), 'and the gateway is alive')
    for method in ('PUT', 'DELETE'):
        path = '/counted?max_age=60&m=' + method
        first = h.get(gw.port, path)
        t.ok(h.poll(lambda: h.get(gw.port, path).header('x-cache') == 'HIT', 3),
             '%s: the GET is stored' % method)
        r = h.fetch(gw.port, method, path, body=b'abc' if method == 'PUT' else None)
        t.eq(r.status, 200, '%s: the upstream answered 200' % method)
        after = h.get(gw.port, path)
        t.eq(after.header('x-cache'), 'MISS', '%s: the next GET is a miss' % method)
        t.ok(counted(after) > counted(first), '%s: with the upstream\'s new answer' % method,
             (counted(first), counted(after)))


if __name__ == '__main__':
    h.run(main)
