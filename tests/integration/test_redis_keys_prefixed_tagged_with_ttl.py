#!/usr/bin/env python3
"""Every Redis key starts with redis.prefix, carries one Cluster hash tag
right after it (the user's {u:NAME} for what a request touches, {a:IP} for
an anonymous caller), and has a TTL, except the small per-route cache
generation counters (SPEC section 9). Traffic here touches every kind of
key: sessions, window, token and concurrency limits, anonymous limits,
the GET cache (shared and per user), the POST cache and idempotency
records."""
import json
import re

import harness as h
import sessions as s

PREFIX = 'gw9:'


def main(t, env):
    plans = {'free': {'limits': [{'name': 'per_minute', 'requests': 1000, 'window': '1m'},
                                 {'name': 'tpm', 'tokens': 1000000, 'window': '1m'},
                                 {'name': 'in_flight', 'concurrent': 5}]}}
    routes = [h.route('chat', '/v1/chat/completions', methods=['POST'], auth='required',
                      plan='free', cache={'methods': ['POST'], 'ttl': '60s'}),
              h.route('idem', '/echo', methods=['POST'], auth='optional', plan='free',
                      idempotency=True),
              h.route('shared', '/counted', auth='optional', cache={'ttl': '60s', 'scope': 'shared'}),
              h.route('mine', '/v1/models', auth='required', plan='free',
                      cache={'ttl': '60s', 'scope': 'user'}),
              h.route('open', '/small', auth='optional')]
    mock, redis, kp = env.start_mock(), s.Redis(env), s.keygen(env)
    cfg = s.config(mock.port, redis.port, [{'secret': kp['secret']}], routes=routes,
                   plans=plans, redis={'prefix': PREFIX})
    cfg['anonymous'] = {'key': 'client_ip',
                        'limits': [{'name': 'anon', 'requests': 1000, 'window': '1m'}]}
    gw = env.start_sluice(cfg)
    s.wait_ready(gw)
    alice = s.bearer(s.token_for(gw, 'alice', plan='free'))
    chat = json.dumps({'model': 'm', 'messages': [{'role': 'user', 'content': 'hi'}],
                       'max_tokens': 5})
    json_ct = [('Content-Type', 'application/json')]

    statuses = [
        h.fetch(gw.port, 'POST', '/v1/chat/completions', alice + json_ct, chat).status,
        h.fetch(gw.port, 'POST', '/echo', alice + [('Idempotency-Key', 'k-1')], b'{}').status,
        h.fetch(gw.port, 'POST', '/echo', [('Idempotency-Key', 'k-2')], b'{}').status,
        h.get(gw.port, '/counted').status,
        h.get(gw.port, '/v1/models', alice).status,
        h.get(gw.port, '/small').status,
        h.get(gw.port, '/small', alice).status,
    ]
    t.eq(statuses, [200] * 7, 'every request of the scene answered 200')
    r = gw.admin('POST', '/v1/cache/purge', body='{"route": "shared"}')
    t.eq(r.status, 200, 'a route purge (which bumps its generation counter): 200')

    def settled():
        ttls = redis.key_ttls()
        tags = {re.match(r'^[^{]*(\{[^}]*\})', k).group(1) for k in ttls if '{' in k}
        return ttls if {'{u:alice}', '{a:127.0.0.1}'} <= tags and len(ttls) >= 11 else None

    ttls = h.poll(settled, 3.0) or redis.key_ttls()
    t.diag('keys: %s' % json.dumps(ttls, sort_keys=True))
    names = sorted(ttls)
    t.eq([k for k in names if not k.startswith(PREFIX)], [], 'every key starts with redis.prefix')
    t.eq([k for k in names if not re.match(re.escape(PREFIX) + r'\{[^{}]+\}', k)], [],
         'every key has its hash tag right after the prefix')
    t.ok(any(k.startswith(PREFIX + '{u:alice}:s:') for k in names),
         "alice's session lives under {u:alice}", names)
    t.ok(sum(k.startswith(PREFIX + '{u:alice}:') for k in names) >= 3,
         "alice's session, limits and idempotency record are all under {u:alice}", names)
    t.ok(any(k.startswith(PREFIX + '{a:127.0.0.1}:') for k in names),
         'the anonymous caller has keys under {a:127.0.0.1}', names)
    no_ttl = [k for k, v in ttls.items() if v == -1]
    t.ok(no_ttl and all(k.endswith(':gen') for k in no_ttl),
         'only cache generation counters live without a TTL', no_ttl)
    t.ok(len([k for k in names if not k.endswith(':gen')]) >= 8,
         'the scene made keys of every kind', names)


h.run(main)
