#!/usr/bin/env python3
"""/metrics has every family SPEC section 11 names, with its type and its
labels: sluice_requests_total{route,status}, sluice_request_duration_seconds
(histogram), sluice_ratelimit_decisions_total{limit,decision},
sluice_cache_results_total{route,result}, sluice_redis_duration_seconds
(histogram), sluice_redis_errors_total (which counts once Redis is gone),
sluice_upstream_up{upstream,server}."""
import re

import harness as h
import sessions as s


def families(text):
    """{name: type} from the # TYPE lines."""
    return dict(re.findall(r'^# TYPE (\S+) (\S+)$', text, re.M))


def samples(text, name):
    """[(labels dict, value)] of metric name (exactly that name)."""
    out = []
    for m in re.finditer(r'^%s(?:\{(.*)\})? (\S+)$' % re.escape(name), text, re.M):
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1) or ''))
        out.append((labels, float(m.group(2))))
    return out


def main(t, env):
    plans = {'free': {'limits': [{'name': 'per_minute', 'requests': 2, 'window': '1m'}]}}
    routes = [h.route('secure', '/echo', auth='required', plan='free'),
              h.route('cached', '/counted', cache={'ttl': '60s'})]
    g = s.Gateway(env, routes=routes, plans=plans)
    gw = g.gw
    alice = s.bearer(s.token_for(gw, 'alice'))
    bob = s.bearer(s.token_for(gw, 'bob'))
    got = [h.get(gw.port, '/echo', alice).status for _ in range(3)]
    t.eq(got, [200, 200, 429], 'two admitted, one refused')
    t.eq(h.get(gw.port, '/counted').header('x-cache'), 'MISS', 'a cache miss')

    def scrape():
        return gw.admin('GET', '/metrics', token=None).body.decode('utf-8', 'replace')

    text = h.poll(lambda: (lambda x: x if samples(x, 'sluice_requests_total') and
                           samples(x, 'sluice_cache_results_total') else None)(scrape()), 2.0) \
        or scrape()
    fam = families(text)
    want = {'sluice_requests_total': 'counter', 'sluice_request_duration_seconds': 'histogram',
            'sluice_ratelimit_decisions_total': 'counter', 'sluice_cache_results_total': 'counter',
            'sluice_redis_duration_seconds': 'histogram', 'sluice_redis_errors_total': 'counter',
            'sluice_upstream_up': 'gauge'}
    for name, typ in want.items():
        t.eq(fam.get(name), typ, '# TYPE %s %s' % (name, typ))

    def has(name, labels, value=None):
        return any(all(l.get(k) == v for k, v in labels.items()) and
                   (value is None or v == value) for l, v in samples(text, name))

    t.ok(has('sluice_requests_total', {'route': 'secure', 'status': '200'}, 2.0),
         'sluice_requests_total{route="secure",status="200"} 2', text[:3000])
    t.ok(has('sluice_requests_total', {'route': 'secure', 'status': '429'}, 1.0),
         'sluice_requests_total{route="secure",status="429"} 1')
    t.ok(has('sluice_ratelimit_decisions_total', {'limit': 'per_minute', 'decision': 'admitted'}, 2.0),
         'sluice_ratelimit_decisions_total{limit="per_minute",decision="admitted"} 2')
    t.ok(has('sluice_ratelimit_decisions_total', {'limit': 'per_minute', 'decision': 'refused'}, 1.0),
         'sluice_ratelimit_decisions_total{limit="per_minute",decision="refused"} 1')
    t.ok(has('sluice_cache_results_total', {'route': 'cached', 'result': 'MISS'}, 1.0),
         'sluice_cache_results_total{route="cached",result="MISS"} 1')
    t.ok(has('sluice_upstream_up', {'upstream': 'llm', 'server': '127.0.0.1:%d' % g.mock.port}, 1.0),
         'sluice_upstream_up{upstream="llm",server="127.0.0.1:PORT"} 1')
    count = samples(text, 'sluice_redis_duration_seconds_count')
    t.ok(count and count[0][1] >= 3, 'sluice_redis_duration_seconds counts the Redis calls', count)
    t.ok(samples(text, 'sluice_request_duration_seconds_count'),
         'sluice_request_duration_seconds_count present')
    t.eq([v for _, v in samples(text, 'sluice_redis_errors_total')], [0.0],
         'sluice_redis_errors_total 0 while Redis answers')

    g.redis.kill()
    t.eq(h.get(gw.port, '/echo', bob).status, 503, 'Redis gone: 503 (on_error: closed)')
    errors = h.poll(lambda: sum(v for _, v in samples(scrape(), 'sluice_redis_errors_total')), 3.0)
    t.ok(errors and errors >= 1, 'sluice_redis_errors_total counts the failure', errors)


h.run(main)
