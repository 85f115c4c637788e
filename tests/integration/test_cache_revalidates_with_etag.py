#!/usr/bin/env python3
"""A stale entry with a validator is revalidated upstream (SPEC section 7,
RFC 9111 section 4.3): its ETag goes as If-None-Match, the upstream's 304
makes the stored entry answer (X-Cache: REVALIDATED, the stored status and
body) and fresh again (the next request is a HIT); a client's own
conditional request is passed through instead."""
import time

import harness as h
import sessions as s


def stats(mock):
    return h.json_body(h.get(mock.port, '/stats')) or {}


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('cached', '/counted', auth='none', cache={'ttl': '1s'})]
    gw = env.start_sluice(h.default_config(mock.port, redis_port=redis.port, routes=routes))
    s.wait_ready(gw)
    first = h.get(gw.port, '/counted?etag=9')
    t.eq(first.header('etag'), '"v9"', 'the entry has an ETag')
    t.ok(h.poll(lambda: h.get(gw.port, '/counted?etag=9').header('x-cache') == 'HIT', 3), 'stored')
    time.sleep(1.3)
    before = stats(mock)
    r = h.get(gw.port, '/counted?etag=9')
    after = stats(mock)
    t.eq(r.header('x-cache'), 'REVALIDATED', 'stale with an ETag: revalidated upstream')
    t.eq((r.status, r.body), (200, first.body), 'the stored entry answers (status and body)')
    t.eq(after.get('revalidated', 0) - before.get('revalidated', 0), 1,
         'the upstream saw one conditional request')
    t.eq(after.get('counted'), before.get('counted'), 'and sent no new body')
    t.ok(h.poll(lambda: h.get(gw.port, '/counted?etag=9').header('x-cache') == 'HIT', 2),
         'fresh again after the 304')
    time.sleep(1.3)
    r = h.get(gw.port, '/counted?etag=9', [('If-None-Match', '"v9"')])
    t.eq(r.status, 304, "a client's own conditional request gets the upstream's 304")


if __name__ == '__main__':
    h.run(main)
