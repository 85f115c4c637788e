#!/usr/bin/env python3
"""A plan's window limit admits exactly its amount, then refuses with 429,
Retry-After, the RateLimit fields of draft-ietf-httpapi-ratelimit-headers-10
and {"error":"rate_limited","limit":..,"retry_after":..} (SPEC section 6).
A refused request is remembered until the refusal's end: the flood that
follows costs no Redis command. The admin API reports and resets usage."""
import json

import harness as h
import sessions as s


def main(t, env):
    plans = {'free': {'limits': [{'name': 'per_minute', 'requests': 5, 'window': '1m'},
                                 {'name': 'per_day', 'requests': 1000, 'window': '1d'}]}}
    g = s.Gateway(env, routes=[h.route('secure', '/echo', auth='required', plan='free')],
                  plans=plans)
    token = s.token_for(g.gw, 'alice')
    for i in range(5):
        r = h.get(g.gw.port, '/echo', s.bearer(token))
        t.eq(r.status, 200, 'request %d of 5 admitted' % (i + 1))
        t.eq(r.header('ratelimit-policy'), '"per_minute";q=5;w=60, "per_day";q=1000;w=86400',
             'RateLimit-Policy names every limit')
        t.eq(r.header('ratelimit', '').split(';')[:2], ['"per_minute"', 'r=%d' % (4 - i)],
             'RateLimit: the limit closest to refusing, with what remains')
    r = h.get(g.gw.port, '/echo', s.bearer(token))
    t.eq(r.status, 429, 'the sixth is refused')
    body = h.json_body(r) or {}
    t.eq(body.get('error'), 'rate_limited', 'error code')
    t.eq(body.get('limit'), 'per_minute', 'the refusing limit is named')
    retry = int(r.header('retry-after', '0'))
    t.ok(55 <= retry <= 61, 'Retry-After is the real wait, in whole seconds', retry)
    t.eq(body.get('retry_after'), retry, 'the body says the same')
    t.eq(sorted(body), ['error', 'limit', 'retry_after'], 'the body has exactly SPEC\'s fields')
    t.ok(r.header('ratelimit', '').startswith('"per_minute";r=0;t='), 'RateLimit on the 429',
         r.header('ratelimit'))
    rec = g.gw.wait_access(lambda x: x.get('status') == 429)
    t.eq((rec or {}).get('limit'), 'per_minute', 'the access log names the deciding limit')

    before = g.redis.commandstats()
    statuses = [h.get(g.gw.port, '/echo', s.bearer(token)).status for _ in range(50)]
    t.eq(set(statuses), {429}, 'a flood after the refusal is refused')
    calls = g.redis.calls_since(before)
    t.eq(calls, {}, 'and costs no Redis command', calls)

    r = g.gw.admin('GET', '/v1/users/alice/limits')
    t.eq(r.status, 200, 'GET limits: 200')
    lim = {x['name']: x for x in (h.json_body(r) or {}).get('limits', [])}
    t.eq(lim.get('per_minute', {}).get('used'), 5, 'per_minute used 5', lim)
    t.eq(lim.get('per_minute', {}).get('limit'), 5, 'per_minute limit 5')
    t.eq(lim.get('per_minute', {}).get('window'), 60, 'window in seconds')
    t.ok(0 < lim.get('per_minute', {}).get('reset', 0) <= 61, 'reset in seconds (at most a window and a bucket)', lim)
    t.eq(lim.get('per_day', {}).get('used'), 5, 'per_day used 5 (refusals charged nothing)')

    r = g.gw.admin('DELETE', '/v1/users/alice/limits')
    t.eq(r.status, 204, 'DELETE limits: 204')
    t.eq(h.get(g.gw.port, '/echo', s.bearer(token)).status, 200,
         'after the reset the user is admitted again, remembered refusal forgotten')
    metrics = h.get(g.gw.admin_port, '/metrics').body.decode()
    t.ok('sluice_ratelimit_decisions_total{limit="per_minute",decision="refused"}' in metrics,
         'metrics count refusals by limit')
    r = g.gw.admin('GET', '/v1/users/%7Bbad%7D/limits')
    t.eq(r.status, 400, 'a bad user name: 400')


if __name__ == '__main__':
    h.run(main)
