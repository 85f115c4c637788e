#!/usr/bin/env python3
"""A herd across gateways (SPEC section 7): 50 concurrent misses for one
key, spread over two sluice processes on one Redis, make one upstream
request: the first lookup takes the key's lock in Redis (cache_get.lua),
the other gateway's requests look again until the entry is stored. A URL
whose response may not be stored leaves a "pass" marker instead, so a herd
on it is not held on the lock: every request goes upstream and is
answered by it."""
import threading

import harness as h
import sessions as s


def counted(mock):
    return (h.json_body(h.get(mock.port, '/stats')) or {}).get('counted', 0)


def herd(gws, path, n=50):
    out = []
    lock = threading.Lock()
    start = threading.Barrier(n)

    def one(i):
        start.wait(5)
        r = h.get(gws[i % len(gws)].port, path)
        with lock:
            out.append((r.status, (h.json_body(r) or {}).get('counted'), r.header('x-cache')))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(15)
    return out


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('cached', '/counted', auth='none', cache={'ttl': '60s'})]
    gws = [env.start_sluice(h.default_config(mock.port, redis_port=redis.port, routes=routes))
           for _ in range(2)]
    for gw in gws:
        s.wait_ready(gw)

    before = counted(mock)
    out = herd(gws, '/counted?k=herd')
    t.eq(len(out), 50, 'all 50 answered')
    t.eq({st for st, _, _ in out}, {200}, 'all 200')
    t.eq(counted(mock) - before, 1, 'two gateways, 50 concurrent misses: the upstream was asked once')
    t.eq(len({c for _, c, _ in out}), 1, 'every client got the same answer')
    t.eq(redis.cli('--scan', '--pattern', '*:l:*'), '', 'the lock was released by the put')

    before = counted(mock)
    out = herd(gws, '/counted?no_store=1&k=pass', n=20)
    t.eq([st for st, _, _ in out], [200] * 20, 'uncacheable herd: all 200')
    t.eq(counted(mock) - before, 20, 'uncacheable: every request went upstream')
    t.eq(len({c for _, c, _ in out}), 20, 'each got its own upstream answer')
    locks = [k for k in redis.cli('--scan', '--pattern', '*:l:*').splitlines() if k]
    t.eq(len(locks), 1, 'one lock key for the uncacheable URL', locks)
    t.eq(redis.cli('GET', locks[0]) if locks else None, 'pass', 'it says pass')


if __name__ == '__main__':
    h.run(main)
