#!/usr/bin/env python3
"""Concurrent misses for one key make one upstream request (SPEC section 7):
50 clients ask for the same uncached URL at once; the upstream is asked
once (the first miss leads, the others wait for its answer and are served
from the stored entry) and every client gets the same answer."""
import threading

import harness as h
import sessions as s


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('cached', '/counted', auth='none', cache={'ttl': '60s'})]
    gw = env.start_sluice(h.default_config(mock.port, redis_port=redis.port, routes=routes))
    s.wait_ready(gw)
    before = (h.json_body(h.get(mock.port, '/stats')) or {}).get('counted', 0)

    out = []
    lock = threading.Lock()
    start = threading.Barrier(50)

    def one():
        start.wait(5)
        r = h.get(gw.port, '/counted?k=1')
        with lock:
            out.append((r.status, (h.json_body(r) or {}).get('counted'), r.header('x-cache')))
    threads = [threading.Thread(target=one) for _ in range(50)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(15)
    after = (h.json_body(h.get(mock.port, '/stats')) or {}).get('counted', 0)
    t.eq(len(out), 50, 'all 50 answered')
    t.eq({st for st, _, _ in out}, {200}, 'all 200')
    t.eq(after - before, 1, 'the upstream was asked once for 50 concurrent misses')
    t.eq(len({c for _, c, _ in out}), 1, 'every client got the same answer')
    t.eq(sum(1 for _, _, x in out if x == 'HIT'), 49, '49 of them are answered as hits')


if __name__ == '__main__':
    h.run(main)
