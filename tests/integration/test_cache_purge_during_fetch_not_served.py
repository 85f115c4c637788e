#!/usr/bin/env python3
"""A response fetched across a purge is not served after it (SPEC section
7, POST /v1/cache/purge): the lookup saw generation G, the route was
purged (G+1) while the upstream answered, and the store, a plain SET
under G, lands where no lookup reads. The next request is a miss. The
control: with no purge in between, the same sequence is a hit."""
import json
import threading
import time

import harness as h
import sessions as s


def fetch_across(t, gw, path, purge, label):
    out = {}
    th = threading.Thread(target=lambda: out.setdefault('r', h.get(gw.port, path, timeout=10)))
    th.start()
    time.sleep(0.25)  # the lookup is done, the upstream still answering
    if purge:
        r = gw.admin('POST', '/v1/cache/purge', body=json.dumps({'route': 'cached'}))
        t.eq(r.status, 200, label + ': the route purged while the upstream answers')
    th.join(10)
    t.eq(out['r'].header('x-cache'), 'MISS', label + ': the first request is a miss')
    time.sleep(0.2)  # its store has been sent and run
    return h.get(gw.port, path).header('x-cache')


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('cached', '/delay', auth='none', cache={'ttl': '60s'})]
    gw = env.start_sluice(h.default_config(mock.port, redis_port=redis.port, routes=routes))
    s.wait_ready(gw)
    t.eq(fetch_across(t, gw, '/delay/600', False, 'control'), 'HIT',
         'control: no purge in between, the next request is a hit')
    t.eq(fetch_across(t, gw, '/delay/601', True, 'purged'), 'MISS',
         'purged during the fetch: the next request is a miss, not the old answer')
    old = [k for k in redis.cli('--scan', '--pattern', '*:e:0:*').splitlines() if k]
    t.eq(len(old), 2, 'both answers were stored under the generation their lookup saw', old)


if __name__ == '__main__':
    h.run(main)
