#!/usr/bin/env python3
"""http.hot_cache_size bounds the in-process layer of the cache (issue 10
item 5): with the default, hits on a hot key after the first read from
Redis cost no Redis command; with hot_cache_size: 0 nothing is kept in
memory, so every hit reads Redis (cache_get.lua's two GETs)."""
import harness as h
import sessions as s


def gets_for_hits(t, gw, redis, path, label):
    h.get(gw.port, path)
    t.ok(h.poll(lambda: h.get(gw.port, path).header('x-cache') == 'HIT', 3), label + ': stored')
    before = redis.commandstats()
    hits = [h.get(gw.port, path).header('x-cache') for _ in range(3)]
    t.eq(hits, ['HIT'] * 3, label + ': three hits')
    return redis.calls_since(before).get('get', 0)


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('cached', '/counted', auth='none', cache={'ttl': '60s'})]
    gw = env.start_sluice(h.default_config(mock.port, redis_port=redis.port, routes=routes))
    off = env.start_sluice(h.default_config(mock.port, redis_port=redis.port, routes=routes,
                                            http={'hot_cache_size': '0'}))
    s.wait_ready(gw)
    s.wait_ready(off)
    t.eq(gets_for_hits(t, gw, redis, '/counted?k=hot', 'default'), 0,
         'default size: hot hits read nothing from Redis')
    t.eq(gets_for_hits(t, off, redis, '/counted?k=cold', 'size 0'), 6,
         'hot_cache_size: 0: each of the three hits reads Redis (2 GETs each)')


if __name__ == '__main__':
    h.run(main)
