#!/usr/bin/env python3
"""/metrics (no admin token) counts requests by route and status and has a
latency histogram (SPEC sections 10, 11)."""
import re
import harness as h


def sample(text, name, labels):
    """Value of the first sample of metric name whose labels include all of labels."""
    for line in text.splitlines():
        if not line.startswith(name + '{'):
            continue
        m = re.match(r'^[a-z_]+\{(.*)\}\s+([0-9.eE+-]+)', line)
        if not m:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1)))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(m.group(2))
    return None


def main(t, env):
    mock = env.start_mock()
    routes = [h.route('small', '/small'), h.route('all', '/')]
    gw = env.start_sluice(h.default_config(mock.port, routes=routes))

    for _ in range(3):
        t.eq(h.get(gw.port, '/small').status, 200, 'GET /small 200')
    t.eq(h.get(gw.port, '/status/404').status, 404, 'GET /status/404 passes 404 through')
    h.fetch(gw.port, 'POST', '/echo', [('Content-Length', '1'), ('Transfer-Encoding', 'chunked')],
            b'')

    last = {}

    def counted():
        r = gw.admin('GET', '/metrics', token=None)
        last['r'] = r
        text = r.body.decode('utf-8', 'replace')
        v = sample(text, 'sluice_requests_total', {'route': 'small', 'status': '200'})
        # The 400 is counted when its request ends, which may be just after
        # the client has read the reply: wait for it too.
        bad = sample(text, 'sluice_requests_total', {'status': '400'})
        return v is not None and v >= 3 and bad is not None

    t.ok(h.poll(counted, 2.0, 0.1), 'sluice_requests_total{route="small",status="200"} >= 3 and a 400 counted',
         last.get('r') and last['r'].body.decode('utf-8', 'replace')[:2000])
    r = last['r']
    t.eq(r.status, 200, '/metrics answers 200 without an admin token')
    t.ok((r.header('content-type') or '').startswith('text/plain'), '/metrics is text/plain',
         repr(r.header('content-type')))
    text = r.body.decode('utf-8', 'replace')
    t.eq(sample(text, 'sluice_requests_total', {'route': 'small', 'status': '200'}), 3.0,
         'exactly 3 requests counted for route small, status 200')
    t.ok(sample(text, 'sluice_requests_total', {'route': 'all', 'status': '404'}) == 1.0,
         'upstream 404 counted for route all')
    t.ok('sluice_request_duration_seconds_bucket{' in text, 'latency histogram buckets present')
    t.ok(re.search(r'^sluice_request_duration_seconds_bucket\{[^}]*le="\+Inf"[^}]*\} \d', text,
                   re.M), 'histogram has an le="+Inf" bucket')
    t.ok('sluice_request_duration_seconds_count' in text, 'histogram _count present')
    t.ok('# TYPE sluice_requests_total counter' in text, 'TYPE line for sluice_requests_total')
    t.ok(sample(text, 'sluice_requests_total', {'status': '400'}) is not None,
         'a 400 rejected by the parser is counted too')


h.run(main)
