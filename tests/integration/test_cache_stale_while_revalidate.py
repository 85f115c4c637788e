#!/usr/bin/env python3
"""stale-while-revalidate (SPEC section 7; RFC 5861 section 3): a stale
entry within its stale-while-revalidate time is answered at once (X-Cache:
STALE, its stored body, an Age past its freshness) while one background
request per key refreshes it: the next requests get the new entry as a HIT,
and the upstream saw exactly one request for the refresh however many
clients asked meanwhile. With validators the refresh is conditional and a
304 freshens the stored entry. must-revalidate, or a client's own max-age,
forbids it: the request goes upstream itself."""
import json
import threading
import time

import harness as h
import sessions as s


def stats(mock):
    return h.json_body(h.get(mock.port, '/stats')) or {}


def counted(r):
    return json.loads(r.body)['counted']


def stale_then_refreshed(t, gw, mock, path):
    first = h.get(gw.port, path)
    t.eq(first.header('x-cache'), 'MISS', path + ': first a miss')
    t.ok(h.poll(lambda: h.get(gw.port, path).header('x-cache') == 'HIT', 3), path + ': stored')
    time.sleep(1.3)  # past max-age=1, within stale-while-revalidate
    before = stats(mock)['counted']
    results = []

    def ask():
        results.append(h.get(gw.port, path))
    threads = [threading.Thread(target=ask) for _ in range(10)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.eq(sorted({r.status for r in results}), [200], path + ': all answered 200')
    stale = [r for r in results if r.header('x-cache') == 'STALE']
    t.ok(len(stale) >= 1, path + ': the stale entry answered at once', [r.header('x-cache') for r in results])
    t.ok(all(r.body == first.body and int(r.header('age', '0')) >= 1 for r in stale),
         path + ': STALE answers carry the stored body and an Age past freshness')
    t.ok('stale-while-revalidate' in stale[0].header('cache-status', ''),
         path + ': Cache-Status says why', stale[0].header('cache-status'))
    t.ok(h.poll(lambda: h.get(gw.port, path).header('x-cache') == 'HIT', 3),
         path + ': the refreshed entry is a hit')
    return first, before


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('swr', '/counted', auth='none', cache={'ttl': '1s'})]
    gw = env.start_sluice(h.default_config(mock.port, redis_port=redis.port, routes=routes))
    s.wait_ready(gw)

    # A new response: one background request, its body stored.
    path = '/counted?max_age=1&swr=30&k=1'
    first, before = stale_then_refreshed(t, gw, mock, path)
    t.eq(stats(mock)['counted'], before + 1, 'exactly one upstream request refreshed the key')
    hit = h.get(gw.port, path)
    t.eq(counted(hit), counted(first) + 1, 'the hit is the refreshed response')

    # With an ETag: the refresh is conditional; the 304 freshens the entry.
    path = '/counted?max_age=1&swr=30&etag=7&served=1'
    first, before = stale_then_refreshed(t, gw, mock, path)
    after = stats(mock)
    t.eq(after['counted'], before, 'the refresh was answered 304: no new body')
    hit = h.get(gw.port, path)
    t.eq(hit.body, first.body, 'the freshened entry keeps the stored body')
    t.ok(int(hit.header('age', '99')) < 1, 'fresh again from the 304', hit.header('age'))
    t.ok(hit.header('x-served') != first.header('x-served'), "the 304's fields updated the entry",
         (hit.header('x-served'), first.header('x-served')))

    # must-revalidate: never served stale; the request goes upstream itself.
    path = '/counted?max_age=1&swr=30&must_revalidate=1'
    h.get(gw.port, path)
    t.ok(h.poll(lambda: h.get(gw.port, path).header('x-cache') == 'HIT', 3), 'must-revalidate: stored')
    time.sleep(1.3)
    before = stats(mock)['counted']
    r = h.get(gw.port, path)
    t.eq(r.header('x-cache'), 'MISS', 'must-revalidate: a stale entry is not served')
    t.eq(counted(r), before + 1, 'must-revalidate: the answer is the upstream\'s')

    # A client's max-age: it asked for at most that age.
    path = '/counted?max_age=1&swr=30&k=2'
    h.get(gw.port, path)
    t.ok(h.poll(lambda: h.get(gw.port, path).header('x-cache') == 'HIT', 3), 'client max-age: stored')
    time.sleep(1.3)
    r = h.get(gw.port, path, headers={'Cache-Control': 'max-age=1'})
    t.eq(r.header('x-cache'), 'MISS', "the client's max-age=1 forbids the stale answer")


if __name__ == '__main__':
    h.run(main)
