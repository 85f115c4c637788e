#!/usr/bin/env python3
"""Concurrent misses for one key make one upstream request (SPEC section
7), also when the answer is a stream. A leader's SSE response on a cache
route lasts 1.5 s here, longer than the 500 ms a coalesced miss may wait,
so the misses that come while it streams follow it: each is answered at
once with the leader's head, the events so far and then each event as it
passes (chunked), X-Cache: MISS with Cache-Status `fwd=miss; collapsed`
(RFC 9211). The upstream serves one stream for five clients, each gets
every event, and the ones that came early get their first event long
before the stream ends. A follower that leaves midway costs the others
nothing; a leader whose client leaves does not cut its followers: its
exchange runs on without it, to the end, and is stored."""
import json
import socket
import threading
import time

import harness as h
import sessions as s

EVENTS, INTERVAL_MS = 10, 150


def read_stream(port, path, delay_s, out, name, leave_after=None, body=None):
    """GET path (POST body, if given) after delay_s; out[name] =
    dict(head, body, first_s, whole)."""
    time.sleep(delay_s)
    sock = socket.create_connection(('127.0.0.1', port), timeout=10)
    start = time.monotonic()
    if body is None:
        sock.sendall(('GET %s HTTP/1.1\r\nHost: test.local\r\n\r\n' % path).encode())
    else:
        sock.sendall(('POST %s HTTP/1.1\r\nHost: test.local\r\nContent-Type: application/json'
                      '\r\nContent-Length: %d\r\n\r\n%s' % (path, len(body), body)).encode())
    data, first = b'', None
    while True:
        try:
            got = sock.recv(65536)
        except OSError:
            got = b''
        if not got:
            break
        data += got
        head, _, rest = data.partition(b'\r\n\r\n')
        if first is None and b'data:' in rest:
            first = time.monotonic() - start
        if leave_after is not None and rest.count(b'data:') >= leave_after:
            break
        if rest.endswith(b'0\r\n\r\n'):
            break
    sock.close()
    head, _, raw = data.partition(b'\r\n\r\n')
    body, whole = b'', False
    while raw:
        size_line, _, raw = raw.partition(b'\r\n')
        try:
            size = int(size_line, 16)
        except ValueError:
            break
        if size == 0:
            whole = True
            break
        body, raw = body + raw[:size], raw[size + 2:]
    out[name] = {'head': head.decode('latin-1'), 'body': body, 'first_s': first, 'whole': whole}


def streams(mock_port):
    return h.json_body(h.get(mock_port, '/stats'))['streams']


def run_clients(gw, path, jobs, body=None):
    out = {}
    threads = [threading.Thread(target=read_stream, args=(gw.port, path, d, out, n, leave, body))
               for n, d, leave in jobs]
    for th in threads:
        th.start()
    for th in threads:
        th.join(20)
    return out


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    routes = [h.route('events', '/sse', auth='none', cache={'ttl': '60s'}),
              h.route('chat', '/v1/chat/completions', methods=['POST'], auth='none',
                      cache={'methods': ['POST'], 'ttl': '60s', 'scope': 'shared'})]
    cfg = h.default_config(mock.port, redis_port=redis.port, routes=routes,
                           upstream={'read_timeout': '10s'})
    gw = env.start_sluice(cfg)
    s.wait_ready(gw)

    path = '/sse?events=%d&interval_ms=%d&max_age=60&k=one' % (EVENTS, INTERVAL_MS)
    before = streams(mock.port)
    out = run_clients(gw, path, [('leader', 0, None), ('early', 0.1, None), ('early2', 0.2, None),
                                 ('after_wait', 0.7, None), ('late', 1.1, None),
                                 ('leaves', 0.3, 2)])
    t.eq(streams(mock.port) - before, 1, 'six clients, one upstream stream')
    lead = out['leader']
    t.ok(lead['whole'] and lead['body'].count(b'data:') == EVENTS, 'the leader gets every event',
         lead['body'][:200])
    t.ok('X-Cache: MISS' in lead['head'] and 'collapsed' not in lead['head'], 'the leader: a miss')
    for name in ('early', 'early2', 'after_wait', 'late'):
        f = out[name]
        t.ok(f['whole'], '%s: the stream ends with its last chunk' % name)
        t.eq(f['body'], lead['body'], "%s: the same events as the leader's" % name)
        t.ok('X-Cache: MISS' in f['head'] and 'fwd=miss; collapsed' in f['head'],
             '%s: X-Cache: MISS, Cache-Status fwd=miss; collapsed' % name, f['head'])
        t.ok('Transfer-Encoding: chunked' in f['head'], '%s: relayed chunked' % name)
    t.ok(out['early']['first_s'] is not None and out['early']['first_s'] < 0.8,
         'a follower gets its first event while the stream still runs (it lasts 1.5 s)',
         out['early']['first_s'])
    t.ok(out['leaves']['body'].count(b'data:') >= 2, 'a follower that left had its events')
    t.ok(h.poll(lambda: h.get(gw.port, path).header('x-cache') == 'HIT', 3),
         'the stream was stored: the next request is a hit')

    # The leader's client leaves midway: its exchange runs on without it,
    # so the follower still gets the whole stream, and it is stored.
    path = '/sse?events=%d&interval_ms=%d&max_age=60&k=two' % (EVENTS, INTERVAL_MS)
    before = streams(mock.port)
    out = run_clients(gw, path, [('leader', 0, 3), ('follower', 0.1, None)])
    f = out['follower']
    t.ok(f['whole'] and f['body'].count(b'data:') == EVENTS,
         "the leader's client left: the follower still gets every event, and the end",
         f['body'][-80:])
    t.eq(streams(mock.port) - before, 1, 'from the one upstream stream')
    t.ok(h.poll(lambda: h.get(gw.port, path).header('x-cache') == 'HIT', 3),
         'and the whole stream was stored: the next request is a hit')

    # The leader's client leaves, then its upstream dies mid-stream: the
    # follower's body is cut (no last chunk), nothing is stored, and the
    # next request is served afresh.
    path = '/sse?events=%d&interval_ms=%d&max_age=60&reset_after=6&k=dies' % (EVENTS, INTERVAL_MS)
    out = run_clients(gw, path, [('leader', 0, 2), ('follower', 0.1, None)])
    f = out['follower']
    t.ok(not f['whole'] and f['body'].count(b'data:') == 6,
         'the upstream died after 6 events: the follower got them, and no end', f['body'][-80:])
    again = run_clients(gw, path, [('next', 0, None)])['next']
    t.ok('X-Cache: MISS' in again['head'] and 'collapsed' not in again['head'],
         'nothing was stored: the next request goes upstream itself', again['head'])

    # A follower whose client leaves at once is noticed at its next failed
    # write, while the leader still streams (3 s), not at the stream's end.
    path = '/sse?events=20&interval_ms=%d&max_age=60&k=three' % INTERVAL_MS
    threads = [threading.Thread(target=read_stream, args=(gw.port, path, d, {}, n, leave))
               for n, d, leave in (('leader', 0, None), ('gone', 0.2, 1))]
    for th in threads:
        th.start()
    rec = gw.wait_access(lambda r: 'k=three' in r.get('path', '') and r.get('upstream_ms') is None,
                         timeout=2.0)
    t.ok(rec is not None, "a follower's leaving ends its exchange before the leader's stream ends",
         rec)
    for th in threads:
        th.join(20)

    # A follower's connection goes on: a request pipelined behind it is
    # answered after its stream ends; a HEAD while the leader streams does
    # not follow (no body to relay) and is answered on its own.
    path = '/sse?events=%d&interval_ms=%d&max_age=60&k=four' % (EVENTS, INTERVAL_MS)
    leader = threading.Thread(target=read_stream, args=(gw.port, path, 0, {}, 'leader'))
    leader.start()
    time.sleep(0.2)
    sock = socket.create_connection(('127.0.0.1', gw.port), timeout=10)
    sock.sendall(('GET %s HTTP/1.1\r\nHost: test.local\r\n\r\n'
                  'GET /sse?events=1&max_age=60&k=next HTTP/1.1\r\nHost: test.local\r\n\r\n'
                  % path).encode())
    data = b''
    while data.count(b'0\r\n\r\n') < 2:
        got = sock.recv(65536)
        if not got:
            break
        data += got
    sock.close()
    first, _, second = data.partition(b'0\r\n\r\nHTTP/1.1 ')
    t.ok(b'fwd=miss; collapsed' in first and first.count(b'data:') == EVENTS,
         'a pipelined follower gets the whole stream', first[:300])
    t.ok(second.startswith(b'200') and b'data:' in second and second.endswith(b'0\r\n\r\n'),
         'and the request behind it is answered after it', second[:300])
    r = h.fetch(gw.port, 'HEAD', path)
    t.eq((r.status, r.body), (200, b''), 'a HEAD while the leader streams: 200, no body')
    leader.join(20)

    # An LLM's streamed answer to a POST (the route caches POST): the same
    # body from three clients at once, one upstream answer.
    body = json.dumps({'model': 'mock-llm', 'stream': True, 'max_tokens': 8,
                       'messages': [{'role': 'user', 'content': 'hi'}]})
    before = streams(mock.port)
    out = run_clients(gw, '/v1/chat/completions?delay_ms=150',
                      [('leader', 0, None), ('f1', 0.1, None), ('f2', 0.3, None)], body=body)
    t.eq(streams(mock.port) - before, 1, 'three POSTs of one body, one upstream answer')
    for name in ('f1', 'f2'):
        t.ok(out[name]['whole'] and out[name]['body'] == out['leader']['body'],
             '%s: the whole answer, the same events' % name)
        t.ok('fwd=miss; collapsed' in out[name]['head'], '%s: collapsed' % name)
    t.ok(out['leader']['body'].rstrip().endswith(b'data: [DONE]'), 'the answer ends as an LLM\'s does')


if __name__ == '__main__':
    h.run(main)
