#!/usr/bin/env python3
"""Each request writes one JSON access-log line on stdout with ts, request_id,
user, route, method, path, status, bytes_out, upstream_ms, total_ms, cache,
limit (SPEC sections 10, 11)."""
import time
import harness as h

FIELDS = ['ts', 'request_id', 'user', 'route', 'method', 'path', 'status', 'bytes_out',
          'upstream_ms', 'total_ms', 'cache', 'limit']


def main(t, env):
    mock = env.start_mock()
    routes = [h.route('small', '/small'), h.route('echo', '/echo')]
    gw = env.start_sluice(h.default_config(mock.port, routes=routes))

    r1 = h.get(gw.port, '/small?q=1', [('X-Request-Id', 'log-test-1')])
    r2 = h.fetch(gw.port, 'POST', '/echo', [('X-Request-Id', 'log-test-2')], b'hello')
    r3 = h.get(gw.port, '/nothing', [('X-Request-Id', 'log-test-3')])
    t.eq((r1.status, r2.status, r3.status), (200, 200, 404), 'three requests answered')

    rec = gw.wait_access(lambda x: x.get('request_id') == 'log-test-1', 2.0)
    t.ok(rec is not None, 'a JSON line for request log-test-1 within 2 s',
         gw.proc.text('stdout')[-2000:])
    rec = rec or {}
    missing = [f for f in FIELDS if f not in rec]
    t.eq(missing, [], 'all fields present')
    t.eq(rec.get('method'), 'GET', 'method')
    t.eq(rec.get('path'), '/small?q=1', 'path is the request target as received (accesslog.h)')
    t.eq(rec.get('status'), 200, 'status is the number 200')
    t.eq(rec.get('route'), 'small', 'route name')
    t.eq(rec.get('user'), None, 'user null without a token')
    t.ok(isinstance(rec.get('bytes_out'), int) and rec['bytes_out'] >= len(r1.body),
         'bytes_out counts at least the body', repr(rec.get('bytes_out')))
    t.ok(isinstance(rec.get('upstream_ms'), (int, float)) and rec['upstream_ms'] >= 0,
         'upstream_ms is a number', repr(rec.get('upstream_ms')))
    t.ok(isinstance(rec.get('total_ms'), (int, float)) and
         rec['total_ms'] >= (rec.get('upstream_ms') or 0) - 1, 'total_ms >= upstream_ms',
         repr(rec))
    t.ok(isinstance(rec.get('ts'), (str, int, float)), 'ts present', repr(rec.get('ts')))

    rec2 = gw.wait_access(lambda x: x.get('request_id') == 'log-test-2', 2.0) or {}
    t.eq((rec2.get('method'), rec2.get('status'), rec2.get('route')), ('POST', 200, 'echo'),
         'POST /echo logged')
    rec3 = gw.wait_access(lambda x: x.get('request_id') == 'log-test-3', 2.0) or {}
    t.eq((rec3.get('status'), rec3.get('route'), rec3.get('upstream_ms')), (404, None, None),
         '404 logged with route null and upstream_ms null')

    # generated request ids are logged as sent back to the client
    r4 = h.get(gw.port, '/small')
    rid = r4.header('x-request-id')
    rec4 = gw.wait_access(lambda x: rid is not None and x.get('request_id') == rid, 2.0)
    t.ok(rec4 is not None, 'generated X-Request-Id appears in the log', repr(rid))

    # exactly one line per request, also on keep-alive and pipelined connections
    with h.Client(gw.port) as c:
        c.send(b''.join(h.build_request('GET', '/small', [('X-Request-Id', 'pipe-%d' % i)])
                        for i in range(3)))
        for _ in range(3):
            c.read_response()
    time.sleep(0.3)
    recs = gw.access_lines()
    bad = [x for x in recs if '_unparsable' in x]
    t.eq(bad, [], 'every JSON-looking stdout line parses')
    ids = [x.get('request_id') for x in recs]
    for want in ['log-test-1', 'log-test-2', 'log-test-3', 'pipe-0', 'pipe-1', 'pipe-2']:
        t.eq(ids.count(want), 1, 'exactly one line for %s' % want)
    t.eq(len(recs), 7, 'seven requests, seven lines', '\n'.join(map(str, recs)))


h.run(main)
