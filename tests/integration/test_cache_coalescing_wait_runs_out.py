#!/usr/bin/env python3
"""A coalesced miss waits at most 500 ms for the leader's answer (SPEC
section 7): with a leader whose upstream takes 1.5 s, a miss 0.1 s after
it waits, then goes upstream itself when the wait runs out (MISS, not a
HIT from the leader's entry); a miss 0.8 s after a leader no longer waits
on the flight, whether another request waited on it or none did (it
looks again on the fleet's lock, 10 times 50 ms, and then goes upstream
before the leader's answer: a MISS too); once the leader's answer is
stored, the URL is a HIT."""
import threading
import time

import harness as h
import sessions as s


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('slow', '/delay/', auth='none', cache={'ttl': '60s'})]
    cfg = h.default_config(mock.port, redis_port=redis.port, routes=routes,
                           upstream={'read_timeout': '5s'})
    gw = env.start_sluice(cfg)
    s.wait_ready(gw)

    out = {}
    lock = threading.Lock()

    def one(name, path, after_s):
        time.sleep(after_s)
        r = h.get(gw.port, path)
        with lock:
            out[name] = (r.status, r.header('x-cache'))
    jobs = [('leader', '/delay/1500?k=1', 0), ('waiter', '/delay/1500?k=1', 0.1),
            ('late', '/delay/1500?k=1', 0.8),
            ('leader2', '/delay/1500?k=2', 0), ('late_alone', '/delay/1500?k=2', 0.8)]
    threads = [threading.Thread(target=one, args=j) for j in jobs]
    for th in threads:
        th.start()
    for th in threads:
        th.join(15)
    t.eq(out.get('leader'), (200, 'MISS'), 'the leader goes upstream')
    t.eq(out.get('waiter'), (200, 'MISS'),
         'a miss 0.1 s later waits 500 ms, then goes upstream itself (not a HIT from the leader)')
    t.eq(out.get('late'), (200, 'MISS'), 'a miss after the wait ran out goes upstream')
    t.eq(out.get('leader2'), (200, 'MISS'), 'another key: its own leader')
    t.eq(out.get('late_alone'), (200, 'MISS'),
         'a miss 0.8 s after a leader nobody waited on goes upstream too')
    t.ok(h.poll(lambda: h.get(gw.port, '/delay/1500?k=1').header('x-cache') == 'HIT', 3),
         'once stored, the URL is a HIT')


if __name__ == '__main__':
    h.run(main)
