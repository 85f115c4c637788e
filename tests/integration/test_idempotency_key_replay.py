#!/usr/bin/env python3
"""Idempotency-Key (SPEC sections 7, 11; draft-ietf-httpapi-idempotency-key-header):
a POST with a key runs once per user and key; a retry after it finished
replays the stored response, byte for byte, with Idempotent-Replayed: true;
a retry while it runs gets 409; the same key with another body gets 422,
also while the first runs; a 5xx is not stored (the retry runs again); a
malformed key is 400; users do not share keys; records have a TTL; with
Redis down, on_error decides (closed: 503, open: forwarded as it is)."""
import json
import threading
import time

import harness as h
import sessions as s


def post(port, path, key=None, body=b'{"q":1}', token=None, headers=(), keys=None):
    hdrs = list(headers)
    if token:
        hdrs += s.bearer(token)
    for k in (keys if keys is not None else ([key] if key is not None else [])):
        hdrs.append(('Idempotency-Key', k))
    hdrs.append(('Content-Type', 'application/json'))
    return h.fetch(port, 'POST', path, hdrs, body)


def counted(r):
    return (h.json_body(r) or {}).get('counted')


def main(t, env):
    routes = [h.route('counted', '/counted', auth='required', idempotency=True,
                      idempotency_ttl='1h'),
              h.route('chat', '/v1/chat/completions', auth='required', idempotency=True),
              h.route('status', '/status/', auth='required', idempotency=True),
              h.route('bytes', '/bytes/', auth='required', idempotency=True),
              h.route('plain', '/echo', auth='required'),
              h.route('anon', '/public/', idempotency=True)]
    g = s.Gateway(env, routes=routes)
    port, redis = g.gw.port, g.redis
    alice, bob = s.token_for(g.gw, 'alice'), s.token_for(g.gw, 'bob')

    def value(key, user='alice'):
        return redis.cli('GET', 'sluice:{u:%s}:idem:%s' % (user, key))

    def pttl(key, user='alice'):
        return int(redis.cli('PTTL', 'sluice:{u:%s}:idem:%s' % (user, key)) or -2)

    # -- first run, then replays -------------------------------------------
    r1 = post(port, '/counted', 'k-1', token=alice)
    t.eq(r1.status, 200, 'the first POST runs')
    n1 = counted(r1)
    t.ok(isinstance(n1, int), 'the upstream counted it', r1.body)
    t.eq(r1.header('idempotent-replayed'), None, 'a first run is not marked replayed')
    t.ok(value('k-1').startswith('SLR1 '), 'its response is stored under {u:alice}:idem:<key>',
         value('k-1')[:80])
    ttl = pttl('k-1')
    t.ok(0 < ttl <= 3600 * 1000, 'the record lives the route\'s idempotency_ttl (1h)', ttl)

    r2 = post(port, '/counted', 'k-1', token=alice)
    t.eq(r2.status, r1.status, 'the retry has the same status')
    t.eq(r2.body, r1.body, 'the retry replays the body byte for byte')
    t.eq(r2.header('idempotent-replayed'), 'true', 'Idempotent-Replayed: true')
    t.eq(r2.header('content-type'), r1.header('content-type'), 'stored fields come back')
    t.ok(h.REQUEST_ID_RE.match(r2.header('x-request-id', '')), 'a replay has its own request id')
    r3 = post(port, '/counted', 'k-other', token=alice)
    t.eq(counted(r3), n1 + 1, 'the upstream saw the first request once: the replays never reached it',
         r3.body)

    with h.Client(port) as c:
        hdrs = s.bearer(alice) + [('Idempotency-Key', 'k-1')]
        r = c.fetch('POST', '/counted', hdrs, b'{"q":1}')
        r_next = c.fetch('POST', '/counted', hdrs, b'{"q":2}')
        r_last = c.fetch('GET', '/echo', s.bearer(alice))
    t.eq((r.header('idempotent-replayed'), r_next.status, r_last.status), ('true', 422, 200),
         'the connection goes on after a replay and a 422 (the body at hand is consumed)')
    r = post(port, '/counted', 'k-1', body=b'{"q":2}', token=alice)
    h.check_json_error(t, r, 422, 'the same key with another body')
    t.eq((h.json_body(r) or {}).get('error'), 'idempotency_key_reused', '422 error code')
    r = post(port, '/counted', 'k-1', token=bob)
    t.eq(r.status, 200, 'another user with the same key runs his own request')
    t.eq(r.header('idempotent-replayed'), None, 'not a replay of alice\'s')
    t.eq(counted(r), n1 + 2, 'and it reached the upstream')
    t.ok(value('k-1', 'bob').startswith('SLR1 '), 'bob\'s record is under {u:bob}')
    r = h.fetch(port, 'PUT', '/counted', s.bearer(alice) + [('Idempotency-Key', 'k-1')], b'{"q":1}')
    t.eq((counted(r), r.header('idempotent-replayed')), (n1 + 3, None),
         'a PUT is not an Idempotency-Key request: it runs')

    # -- the body is the whole body ----------------------------------------
    big = json.dumps({'messages': ['x' * 9000, 'y' * 9000]}).encode()
    r1 = post(port, '/counted', 'k-big', body=big, token=alice)
    r2 = post(port, '/counted', 'k-big', body=big, token=alice)
    t.eq((r2.body, r2.header('idempotent-replayed')), (r1.body, 'true'),
         'a 18 KB body is replayed')
    other = big[:15000] + b'z' + big[15001:]
    r = post(port, '/counted', 'k-big', body=other, token=alice)
    t.eq(r.status, 422, 'a body that differs only at byte 15000 (same length) is 422')
    chunked = [('Transfer-Encoding', 'chunked')]
    r1 = post(port, '/counted', 'k-chunked', body=h.chunked(big, 1000), token=alice,
              headers=chunked)
    r2 = post(port, '/counted', 'k-chunked', body=h.chunked(big, 7000), token=alice,
              headers=chunked)
    t.eq((r1.status, r2.header('idempotent-replayed'), r2.body), (200, 'true', r1.body),
         'a chunked body is fingerprinted without its framing: other chunk sizes replay')
    r = post(port, '/counted', 'k-chunked', body=h.chunked(other, 1000), token=alice,
             headers=chunked)
    t.eq(r.status, 422, 'and another chunked body is 422')

    # -- while the first runs ----------------------------------------------
    slow = json.dumps({'model': 'm', 'messages': [{'role': 'user', 'content': 'hi'}]}).encode()
    first = {}

    def run_first():
        first['r'] = post(port, '/v1/chat/completions', 'k-slow', body=slow, token=alice,
                          headers=[('X-Mock-Delay-Ms', '1500')])
    th = threading.Thread(target=run_first)
    th.start()
    t.ok(h.poll(lambda: value('k-slow').startswith('SLIM '), 2.0),
         'a running marker is written before the request is forwarded', value('k-slow'))
    lease = pttl('k-slow')
    t.ok(0 < lease <= 60000, 'the marker is a lease with a TTL (60 s)', lease)
    r = post(port, '/v1/chat/completions', 'k-slow', body=slow, token=alice)
    h.check_json_error(t, r, 409, 'a retry while the first runs')
    t.eq((h.json_body(r) or {}).get('error'), 'conflict', '409 error code')
    r = post(port, '/v1/chat/completions', 'k-slow', body=slow.replace(b'hi', b'ho'), token=alice)
    t.eq(r.status, 422, 'another body while the first runs is 422, not 409')
    th.join(5)
    t.eq(first.get('r') and first['r'].status, 200, 'the first request finishes')
    r = post(port, '/v1/chat/completions', 'k-slow', body=slow, token=alice)
    t.eq((r.status, r.header('idempotent-replayed')), (200, 'true'), 'then a retry replays it')
    t.eq(r.body, first['r'].body, 'with the first one\'s body')
    r = post(port, '/v1/chat/completions', 'k-slow', body=slow.replace(b'hi', b'ho'), token=alice)
    t.eq(r.status, 422, 'and another body is still 422 after it finished')

    # -- bodies that arrive in parts ------------------------------------------
    # The marker is written with the bytes that came with the head; once the
    # body has streamed upstream whole, the marker carries its whole hash.
    long_body = json.dumps({'model': 'm', 'messages': ['a' * 12000]}).encode()
    cut = 5000

    def start_parts(key, body, extra=()):
        c = h.Client(port)
        hdrs = s.bearer(alice) + [('Idempotency-Key', key), ('Content-Length', str(len(body)))]
        c.send(h.build_request('POST', '/v1/chat/completions', hdrs + list(extra)) + body[:cut])
        return c
    c = start_parts('k-parts', long_body, [('X-Mock-Delay-Ms', '1000')])
    t.ok(h.poll(lambda: value('k-parts').startswith('SLIM '), 2.0), 'a marker for a partial body')
    t.eq(value('k-parts').split(' ')[4], '-', 'its fingerprint is provisional (no whole hash)')
    c.send(long_body[cut:])
    t.ok(h.poll(lambda: value('k-parts').split(' ')[4:5] != ['-'], 2.0),
         'once the body streamed whole, the marker has its whole hash', value('k-parts')[:120])
    late = long_body[:9000] + b'b' + long_body[9001:]
    r = post(port, '/v1/chat/completions', 'k-parts', body=late, token=alice)
    t.eq(r.status, 422, 'so a body differing past the first one\'s first bytes is 422 while it runs')
    r = post(port, '/v1/chat/completions', 'k-parts', body=long_body, token=alice)
    t.eq(r.status, 409, 'and the same body is 409')
    first_parts = c.read_response('POST')
    c.close()
    t.eq(first_parts.status, 200, 'the first one finishes')
    c = start_parts('k-parts', long_body)
    r = c.read_response('POST')
    c.close()
    t.eq((r.status, r.header('idempotent-replayed'), r.body), (200, 'true', first_parts.body),
         'a retry whose body has not all arrived is replayed on what did (length and first bytes)')
    c = start_parts('k-parts', long_body[:100] + b'c' + long_body[101:])
    r = c.read_response('POST')
    c.close()
    t.eq(r.status, 422, 'and is 422 when those bytes differ')

    # -- streams ---------------------------------------------------------------
    sse = json.dumps({'model': 'm', 'stream': True, 'messages': ['hi']}).encode()
    r1 = post(port, '/v1/chat/completions', 'k-sse', body=sse, token=alice)
    r2 = post(port, '/v1/chat/completions', 'k-sse', body=sse, token=alice)
    t.ok(r1.status == 200 and b'data: [DONE]' in r1.body, 'a streamed (SSE) answer passes',
         r1.body[-80:])
    t.eq((r2.header('idempotent-replayed'), r2.body, r2.header('content-type')),
         ('true', r1.body, 'text/event-stream'), 'and is replayed as the same events')

    # -- what is not stored --------------------------------------------------
    r = post(port, '/bytes/1100000', 'k-huge', token=alice)
    t.eq((r.status, len(r.body)), (200, 1100000), 'a response over 1 MiB passes')
    t.ok(h.poll(lambda: value('k-huge') == '', 1.0), 'but is not kept: the key is released')
    r = post(port, '/status/500', 'k-500', token=alice)
    t.eq(r.status, 500, 'an upstream 500 passes')
    t.ok(h.poll(lambda: value('k-500') == '', 1.0), 'and is not stored: the key is released',
         value('k-500'))
    r = post(port, '/status/500', 'k-500', token=alice)
    t.eq((r.status, r.header('idempotent-replayed')), (500, None),
         'the retry runs again instead of replaying')
    r = post(port, '/status/429', 'k-429', token=alice)
    t.eq(r.status, 429, 'an upstream 429 passes')
    t.ok(h.poll(lambda: value('k-429') == '', 1.0), 'and is not stored ("try again later")')
    r = post(port, '/status/404', 'k-404', token=alice)
    r2 = post(port, '/status/404', 'k-404', token=alice)
    t.eq((r2.status, r2.header('idempotent-replayed')), (404, 'true'), 'a 404 is stored and replayed')

    # -- keys ------------------------------------------------------------------
    for bad, what in [('', 'an empty key'), ('x' * 256, 'a 256-byte key'),
                      ('a b', 'a bare key with a space'), ('"abc', 'an unclosed sf-string'),
                      ('"a\\b"', 'an sf-string with a bad escape'),
                      ('\u00e9t\u00e9', 'a key that is not ASCII')]:
        r = post(port, '/counted', bad, token=alice)
        h.check_json_error(t, r, 400, what)
        t.eq((h.json_body(r) or {}).get('error'), 'invalid_idempotency_key', what + ': error code')
    r = post(port, '/counted', keys=['k-a', 'k-b'], token=alice)
    t.eq(r.status, 400, 'two Idempotency-Key fields are 400')
    r1 = post(port, '/counted', 'x' * 255, token=alice)
    r2 = post(port, '/counted', 'x' * 255, token=alice)
    t.eq((r1.status, r2.header('idempotent-replayed')), (200, 'true'), 'a 255-byte key works')
    r1 = post(port, '/counted', '"k-quoted"', token=alice)
    r2 = post(port, '/counted', 'k-quoted', token=alice)
    t.eq((r1.status, r2.header('idempotent-replayed'), r2.body), (200, 'true', r1.body),
         'the draft\'s sf-string form "k" and the bare k name the same key')

    # -- routes, anonymous callers ----------------------------------------------
    r1 = post(port, '/echo', 'k-plain', token=alice)
    r2 = post(port, '/echo', 'k-plain', token=alice)
    t.eq((r1.status, r2.header('idempotent-replayed')), (200, None),
         'a route without idempotency: true ignores the key (and forwards it)')
    t.eq(h.echo_headers(h.json_body(r1), 'idempotency-key'), ['k-plain'], 'the key reaches the upstream')
    r1 = post(port, '/public/a', 'k-anon')
    r2 = post(port, '/public/a', 'k-anon')
    t.eq((r1.status, r2.header('idempotent-replayed'), r2.body), (200, 'true', r1.body),
         'an anonymous caller is keyed by its client IP')
    t.ok(redis.cli('GET', 'sluice:{a:127.0.0.1}:idem:k-anon').startswith('SLR1 '),
         'under {a:IP}')
    r = post(port, '/public/b', 'k-anon')
    t.eq(r.status, 422, 'the same key on another target is another request: 422')

    ttls = {k: v for k, v in redis.key_ttls().items() if ':idem:' in k}
    t.ok(ttls and all(v > 0 for v in ttls.values()), 'every idempotency key has a TTL', ttls)

    # -- Redis down ----------------------------------------------------------
    redis.kill()
    r = post(port, '/public/c', 'k-down')
    h.check_json_error(t, r, 503, 'Redis down, on_error: closed')
    t.eq((h.json_body(r) or {}).get('error'), 'redis_unavailable', '503 error code')
    t.eq(post(port, '/public/c').status, 200, 'a request without a key needs no Redis')
    cfg = dict(g.cfg, redis=dict(g.cfg['redis'], on_error='open'))
    gw2 = env.start_sluice(cfg, name='open.yaml')
    r = post(gw2.port, '/public/c', 'k-down')
    t.eq((r.status, r.header('idempotent-replayed')), (200, None),
         'on_error: open forwards it as it is')


if __name__ == '__main__':
    h.run(main)
