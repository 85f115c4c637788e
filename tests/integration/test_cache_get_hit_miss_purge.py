#!/usr/bin/env python3
"""A cache: route answers a GET from Redis once it was stored (SPEC section
7, RFC 9111 as a shared cache): X-Cache MISS then HIT (with Age and
Cache-Status), HEAD from the stored GET, the upstream asked once; freshness
from max-age, else the route's ttl; no-store, private, no-cache and
Set-Cookie responses are not stored; a client's no-cache asks upstream
again; Vary'd fields must match; If-None-Match gets a 304 from a hit; an
unsafe method invalidates the URL; POST /v1/cache/purge drops a URL or a
whole route; a killed Redis is a miss, never an error."""
import json
import time

import harness as h
import sessions as s


def counted(r):
    return (h.json_body(r) or {}).get('counted')


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('cached', '/counted', auth='none', cache={'ttl': '60s'}),
              h.route('short', '/small', auth='none', cache={'ttl': '1s'}),
              h.route('locked', '/echo', auth='required', cache={'ttl': '60s'})]
    cfg = h.default_config(mock.port, redis_port=redis.port, routes=routes)
    gw = env.start_sluice(cfg)
    s.wait_ready(gw)
    get = lambda path, hdrs=None: h.get(gw.port, path, hdrs)

    r1 = get('/counted?a=1')
    t.eq(r1.status, 200, 'first GET: 200')
    t.eq(r1.header('x-cache'), 'MISS', 'first GET: X-Cache: MISS')
    t.eq(r1.header('cache-status'), 'sluice; fwd=miss', 'Cache-Status says why it was forwarded')

    def hit():
        return get('/counted?a=1')
    t.ok(h.poll(lambda: hit().header('x-cache') == 'HIT', 3), 'a later GET is a HIT')
    r2 = hit()
    t.eq(counted(r2), counted(r1), 'the hit is the stored body: the upstream was asked once')
    t.eq(r2.header('cache-status'), 'sluice; hit', 'Cache-Status: hit')
    t.ok(r2.header('age') is not None and int(r2.header('age')) >= 0, 'a hit carries Age')
    t.eq(r2.header('content-length'), str(len(r2.body)), 'with its Content-Length')
    t.ok(r2.header('date') is not None, 'and a Date')
    with h.Client(gw.port) as c:
        c.send(b'HEAD /counted?a=1 HTTP/1.1\r\nHost: x\r\n\r\n')
        r = c.read_response(method='HEAD')
        t.eq((r.status, r.header('x-cache')), (200, 'HIT'), 'HEAD is answered from the stored GET')
        t.eq(r.body, b'', 'without a body')
    t.eq(counted(get('/counted?a=2')), counted(r1) + 1, 'another query is another entry')

    # What is not stored.
    for q, why in (('no_store=1', 'no-store'), ('private=1', 'private'),
                   ('no_cache=1', 'no-cache'), ('cookie=1', 'Set-Cookie'), ('status=500', 'a 500')):
        a = get('/counted?%s' % q)
        time.sleep(0.2)
        b = get('/counted?%s' % q)
        t.ok(b.header('x-cache') == 'MISS' and counted(b) == counted(a) + 1,
             'a response with %s is not stored' % why, (a.header('x-cache'), b.header('x-cache')))

    # max-age wins over the route's ttl; 0 is not stored.
    a = get('/counted?max_age=0')
    time.sleep(0.2)
    t.eq(get('/counted?max_age=0').header('x-cache'), 'MISS', 'max-age=0: not stored')

    # The client's own Cache-Control.
    r = get('/counted?a=1', [('Cache-Control', 'no-cache')])
    t.eq(r.header('x-cache'), 'MISS', 'a client no-cache goes upstream')
    t.eq(r.header('cache-status'), 'sluice; fwd=request', 'Cache-Status: fwd=request')
    r = get('/counted?never=1', [('Cache-Control', 'only-if-cached')])
    t.eq(r.status, 504, 'only-if-cached with nothing stored: 504')

    # Vary.
    a = get('/counted?vary=1', [('Accept', 'text/a')])
    t.ok(h.poll(lambda: get('/counted?vary=1', [('Accept', 'text/a')]).header('x-cache') == 'HIT',
                3), 'Vary: the same Accept hits')
    t.eq(get('/counted?vary=1', [('Accept', 'text/b')]).header('x-cache'), 'MISS',
         'Vary: another Accept misses')

    # Validation.
    get('/counted?etag=7')
    t.ok(h.poll(lambda: get('/counted?etag=7').header('x-cache') == 'HIT', 3), 'ETag entry stored')
    r = get('/counted?etag=7', [('If-None-Match', '"v7"')])
    t.eq((r.status, r.body), (304, b''), 'If-None-Match of the stored ETag: 304 from the cache')

    get('/counted?lm=1')
    t.ok(h.poll(lambda: get('/counted?lm=1').header('x-cache') == 'HIT', 3), 'Last-Modified stored')
    r = get('/counted?lm=1', [('If-Modified-Since', 'Wed, 02 Dec 2026 00:00:00 GMT')])
    t.eq((r.status, r.body), (304, b''), 'If-Modified-Since after Last-Modified: 304 from the cache')
    r = get('/counted?lm=1', [('If-Modified-Since', 'Mon, 30 Nov 2026 00:00:00 GMT')])
    t.eq(r.status, 200, 'If-Modified-Since before Last-Modified: the entry, 200')

    # An unsafe method invalidates the URL (RFC 9111 section 4.4).
    get('/counted?inv=1')
    t.ok(h.poll(lambda: get('/counted?inv=1').header('x-cache') == 'HIT', 3), 'stored')
    r = h.fetch(gw.port, 'POST', '/counted?inv=1', [], '{}')
    t.eq(r.header('x-cache'), 'BYPASS', 'a POST on a cache route: BYPASS')
    t.ok(h.poll(lambda: get('/counted?inv=1').header('x-cache') == 'MISS', 3),
         'and the URL is dropped after it succeeded')

    # Purge.
    t.ok(h.poll(lambda: get('/counted?a=1').header('x-cache') == 'HIT', 3), 'a=1 is a hit again')
    r = gw.admin('POST', '/v1/cache/purge', body=json.dumps({'path': '/counted?a=1'}))
    t.eq((r.status, h.json_body(r)), (200, {'purged': 1}), 'purge one URL: 200 {"purged":1}')
    t.eq(get('/counted?a=1').header('x-cache'), 'MISS', 'that URL misses')
    t.ok(h.poll(lambda: get('/counted?a=2').header('x-cache') == 'HIT', 3), 'a=2 still hits')
    r = gw.admin('POST', '/v1/cache/purge', body=json.dumps({'route': 'cached'}))
    t.eq((r.status, h.json_body(r)), (200, {'purged': 1}), 'purge a whole route: O(1)')
    t.eq(get('/counted?a=2').header('x-cache'), 'MISS', 'every entry of it misses')
    t.eq(gw.admin('POST', '/v1/cache/purge', body='{"path": 5}').status, 400, 'a bad body: 400')

    # The route's ttl.
    get('/small')
    t.ok(h.poll(lambda: get('/small').header('x-cache') == 'HIT', 3), 'ttl 1s: stored')
    time.sleep(1.2)
    t.eq(get('/small').header('x-cache'), 'MISS', 'and expired after it')

    metrics = h.get(gw.admin_port, '/metrics').body.decode()
    t.ok('sluice_cache_results_total{route="cached",result="HIT"}' in metrics, 'metrics: hits')
    rec = gw.wait_access(lambda x: x.get('cache') == 'HIT')
    t.ok(rec is not None, 'the access log names the cache result')

    # A request refused before the cache ran still says what the cache did.
    r = h.get(gw.port, '/echo')
    t.eq((r.status, r.header('x-cache')), (401, 'BYPASS'),
         'a request refused before the cache stage (401, no token) on a cache route: '
         'X-Cache: BYPASS')

    # A corrupt or truncated entry in Redis is a miss, never a broken answer.
    import hashlib
    for junk in ('garbage', 'SLR1 1 200 0 5 999\nabc', 'SLR1 1 200 0 2 0\nab'):
        target = '/counted?corrupt=%d' % len(junk)
        digest = hashlib.blake2b(b'\0' * 8 + target.encode(), digest_size=16).hexdigest()
        key = 'sluice:{c:cached}:e:%s:%s' % (redis.cli('GET', 'sluice:{c:cached}:gen') or '0',
                                             digest)
        redis.cli('SET', key, junk)
        r = get(target)
        t.eq((r.status, r.header('x-cache')), (200, 'MISS'), 'a corrupt entry %r: a miss' % junk)
        t.ok(h.poll(lambda: redis.cli('GET', key).startswith('SLR1 ') and
                    redis.cli('GET', key) != junk, 2),
             'and the entry under that very key is replaced by a good one')

    # Redis gone: a miss, not an error.
    redis.kill()
    r = get('/counted?a=3')
    t.eq((r.status, r.header('x-cache')), (200, 'MISS'), 'Redis down: a miss, answered 200')



if __name__ == '__main__':
    h.run(main)
