#!/usr/bin/env python3
"""Anonymous callers (SPEC sections 6, 9, 11): on an `auth: optional` route,
a request without a token is limited by `anonymous.key: client_ip` with the
`anonymous.limits`, keyed under the tag {a:<ip>}. client_ip is the peer's
address, or, only when the peer is a trusted proxy (`http.trusted_proxies`),
the last address of X-Forwarded-For. So with trusted_proxies: [127.0.0.1]
two XFF addresses have budgets of their own (and an XFF that differs only
before its last address shares the last one's); without trusted proxies
XFF is ignored and every request shares the peer's budget. Without an
`anonymous:` block anonymous requests are not limited: no RateLimit fields,
never a 429. Three gateways, one Redis, a prefix each."""
import harness as h
import sessions as s

Q = 3
POLICY = '"anon_per_minute";q=%d;w=60' % Q


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    kp = s.keygen(env)
    keys = [{'secret': kp['secret']}]
    routes = [h.route('maybe', '/echo', auth='optional')]
    anonymous = {'key': 'client_ip',
                 'limits': [{'name': 'anon_per_minute', 'requests': Q, 'window': '1m'}]}

    def gateway(prefix, trusted, anon, name):
        cfg = s.config(mock.port, redis.port, keys, routes=routes, redis={'prefix': prefix},
                       http={'trusted_proxies': trusted})
        if anon:
            cfg['anonymous'] = anonymous
        gw = env.start_sluice(cfg, name=name)
        s.wait_ready(gw)
        return gw

    trusted = gateway('gwa:', ['127.0.0.1'], True, 'trusted.yaml')
    untrusted = gateway('gwb:', [], True, 'untrusted.yaml')
    unlimited = gateway('gwc:', [], False, 'unlimited.yaml')

    def get(gw, xff=None):
        return h.get(gw.port, '/echo', [('X-Forwarded-For', xff)] if xff else None)

    def budget(gw, xff, what):
        """Q admitted with the RateLimit fields, then a 429 naming the limit."""
        for i in range(Q):
            r = get(gw, xff)
            t.eq(r.status, 200, '%s: request %d of %d admitted' % (what, i + 1, Q))
            t.eq(r.header_all('ratelimit-policy'), [POLICY], '%s: RateLimit-Policy' % what)
            t.eq([x.split(';')[:2] for x in r.header_all('ratelimit')],
                 [['"anon_per_minute"', 'r=%d' % (Q - 1 - i)]], '%s: RateLimit r' % what)
        r = get(gw, xff)
        t.eq((r.status, (h.json_body(r) or {}).get('limit')), (429, 'anon_per_minute'),
             '%s: request %d refused by anon_per_minute' % (what, Q + 1))
        ra, tt = s.retry_after_and_t(r)
        t.ok(isinstance(ra, int) and tt is not None and ra >= tt,
             '%s: one Retry-After, not before t' % what, (ra, tt))

    # Trusted proxy: the last X-Forwarded-For address is the caller.
    budget(trusted, None, 'trusted peer, no XFF (the peer 127.0.0.1)')
    budget(trusted, '192.0.2.1, 203.0.113.9', 'XFF ..., 203.0.113.9')
    r = get(trusted, '198.51.100.1, 203.0.113.9')
    t.eq(r.status, 429, 'another XFF ending in 203.0.113.9 shares its budget')
    r = get(trusted, '203.0.113.10')
    t.eq(r.status, 200, 'XFF 203.0.113.10 has a budget of its own')
    t.eq([x.split(';')[:2] for x in r.header_all('ratelimit')],
         [['"anon_per_minute"', 'r=%d' % (Q - 1)]], 'and a full one')
    names = set(redis.cli('--scan', '--pattern', 'gwa:*').splitlines())
    for ip in ('127.0.0.1', '203.0.113.9', '203.0.113.10'):
        t.ok(any(k.startswith('gwa:{a:%s}:' % ip) for k in names),
             'the caller %s is kept under the tag {a:%s}' % (ip, ip), sorted(names))
    t.ok(not any('192.0.2.1' in k or '198.51.100.1' in k for k in names),
         'addresses before the last one are no caller', sorted(names))

    # Untrusted peer: X-Forwarded-For is ignored; everyone is 127.0.0.1.
    for i, xff in enumerate(['203.0.113.1', '203.0.113.2', None]):
        r = get(untrusted, xff)
        t.eq(r.status, 200, 'untrusted peer, XFF %s: admitted' % xff)
        t.eq([x.split(';')[:2] for x in r.header_all('ratelimit')],
             [['"anon_per_minute"', 'r=%d' % (Q - 1 - i)]],
             'untrusted peer, XFF %s: counted against the one peer budget' % xff)
    r = get(untrusted, '203.0.113.4')
    t.eq((r.status, (h.json_body(r) or {}).get('limit')), (429, 'anon_per_minute'),
         'untrusted peer: a fresh XFF address does not get a fresh budget')
    names = set(redis.cli('--scan', '--pattern', 'gwb:*').splitlines())
    t.ok(any(k.startswith('gwb:{a:127.0.0.1}:') for k in names), 'kept under {a:127.0.0.1}',
         sorted(names))
    t.ok(not any('203.0.113' in k for k in names), 'no key for an XFF address', sorted(names))

    # No anonymous: block: never limited, no RateLimit fields.
    statuses, fields = [], []
    for i in range(3 * Q + 5):
        r = get(unlimited, '203.0.113.%d' % (i % 2) if i % 3 else None)
        statuses.append(r.status)
        fields += [k for k, _ in r.headers if k.lower() in ('ratelimit', 'ratelimit-policy')]
    t.eq(set(statuses), {200}, 'without anonymous: every anonymous request admitted')
    t.eq(fields, [], 'without anonymous: no RateLimit fields')
    names = [k for k in redis.cli('--scan', '--pattern', 'gwc:*').splitlines() if '{a:' in k]
    t.eq(names, [], 'without anonymous: no limit keys in Redis')


if __name__ == '__main__':
    h.run(main)
