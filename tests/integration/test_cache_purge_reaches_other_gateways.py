#!/usr/bin/env python3
"""A purge or an invalidation on one gateway reaches the other gateways'
in-process copies promptly (issue 10 item 5): each worker trusts a hot
copy for up to a second without asking Redis, so gateway B's next hit
after gateway A's purge would still be the old answer unless A tells B.
A publishes on Redis pub/sub; B's admin thread listens and its workers
forget. Here B asks 150 ms after the purge, well inside the second its
hot copy would otherwise be trusted, and must get a fresh answer (MISS).
The same after an unsafe method on A (RFC 9111 section 4.4), and again
after Redis restarted: B's subscription comes back by itself."""
import json
import time

import harness as h
import sessions as s


def warm(t, gw, path, label):
    """A miss, then a hit from Redis (which puts the hot copy)."""
    first = h.get(gw.port, path)
    t.eq(first.header('x-cache'), 'MISS', label + ': first request is a miss')
    t.ok(h.poll(lambda: h.get(gw.port, path).header('x-cache') == 'HIT', 3), label + ': then a hit')
    return (h.json_body(first) or {}).get('counted')


def check_forgotten(t, b, path, old, label):
    time.sleep(0.15)
    r = h.get(b.port, path)
    t.eq(r.header('x-cache'), 'MISS', label + ': gateway B answers a miss 150 ms later')
    t.ok((h.json_body(r) or {}).get('counted') != old, label + ': with a new upstream answer',
         (old, (h.json_body(r) or {}).get('counted')))


def purge(t, a, path, label):
    r = a.admin('POST', '/v1/cache/purge', body=json.dumps({'route': 'cached', 'path': path}))
    t.eq(r.status, 200, label + ': purge on gateway A')


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('cached', '/counted', auth='none', cache={'ttl': '60s'})]
    a, b = [env.start_sluice(h.default_config(mock.port, redis_port=redis.port, routes=routes))
            for _ in range(2)]
    for gw in (a, b):
        s.wait_ready(gw)
    time.sleep(0.3)  # both subscriptions are up

    path = '/counted?k=purged'
    old = warm(t, b, path, 'purge')
    purge(t, a, path, 'purge')
    check_forgotten(t, b, path, old, 'purge')

    path = '/counted?k=posted'
    old = warm(t, b, path, 'unsafe method')
    r = h.fetch(a.port, 'POST', path, body=b'{}')
    t.eq(r.status, 200, 'unsafe method: POST through gateway A')
    check_forgotten(t, b, path, old, 'unsafe method')

    redis.kill()
    redis.start()
    for gw in (a, b):
        s.wait_ready(gw)
    t.ok(h.poll(lambda: redis.cli('PUBSUB', 'NUMSUB', 'sluice:cache:forget').split()[-1:] == ['2'],
                5), 'after a Redis restart both subscriptions are back, one per gateway',
         redis.cli('PUBSUB', 'NUMSUB', 'sluice:cache:forget'))
    path = '/counted?k=restarted'
    old = warm(t, b, path, 'after restart')
    purge(t, a, path, 'after restart')
    check_forgotten(t, b, path, old, 'after restart')


if __name__ == '__main__':
    h.run(main)
