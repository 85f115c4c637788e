#!/usr/bin/env python3
"""Rate limits while Redis is unreachable (SPEC section 6).

on_error: open admits on the token's signature and expiry alone and counts
against an in-process fallback limiter with the same limits divided by the
number of live gateways. That number is learnt from heartbeats
(src/policy/fleet.c: worker 0 runs lua/heartbeat.lua at start and every
5 s; the reply is ZCARD of PREFIX{fleet}:gateways, this gateway included,
and is kept through the outage). Here one gateway has its own Redis, so
the count is 1 (checked in Redis before the outage) and the fallback limit
is the full 5 per minute: exactly 5 admitted during the outage (no limited
request was made before it, and the fallback's window is far from
sliding past them), the 6th refused with 429 rate_limited, one Retry-After
and the RateLimit fields.

on_error: closed answers 503 redis_unavailable with exactly one Retry-After.

Redis restarted empty (no data, no scripts): after /readyz says Redis is
up, and once Redis answers the worker (it reconnects by itself, with a
backoff of at most 2 s: the old token then gets 401 session_revoked, SPEC
section 5, which only Redis can say), a new session is created and every
request with it succeeds, counted in Redis again (the admin API sees
them)."""
import harness as h
import sessions as s

Q = 5


def limited_gateway(env, **redis):
    plans = {'free': {'limits': [{'name': 'per_minute', 'requests': Q, 'window': '1m'}]}}
    return s.Gateway(env, routes=[h.route('secure', '/echo', auth='required', plan='free')],
                     plans=plans, redis=dict(timeout='200ms', **redis))


def used(gw, user):
    r = gw.admin('GET', '/v1/users/%s/limits' % user)
    lim = {x['name']: x for x in (h.json_body(r) or {}).get('limits', [])}
    return lim.get('per_minute', {}).get('used')


def restarted_serves(t, g, old_token, what):
    t.ok(h.poll(lambda: h.get(g.gw.admin_port, '/readyz').status == 503, 3.0),
         '%s: /readyz has seen Redis down' % what)
    g.redis.start()  # the same port, empty: no sessions, no scripts
    t.ok(s.wait_ready(g.gw, 5.0), '%s: /readyz sees Redis up again' % what)
    # The worker reconnects by itself (backoff up to 2 s): until then Redis
    # is unreachable for it. Only Redis can say the session is gone.
    seen = []

    def revoked():
        r = h.get(g.gw.port, '/echo', s.bearer(old_token))
        seen.append(r.status)
        return (r.status, (h.json_body(r) or {}).get('error')) == (401, 'session_revoked')
    t.ok(h.poll(revoked, 4.0),
         '%s: once Redis answers, the old session is gone with the data: 401 session_revoked'
         % what, 'statuses while polling: %r' % seen)
    token = s.token_for(g.gw, 'alice', plan='free')
    statuses = [h.get(g.gw.port, '/echo', s.bearer(token)).status for _ in range(Q)]
    t.eq(statuses, [200] * Q, '%s: with a new session every request succeeds' % what)
    t.eq(used(g.gw, 'alice'), Q, '%s: and is counted in Redis again' % what)


def main(t, env):
    # ---- on_error: open -------------------------------------------------
    g = limited_gateway(env, on_error='open')
    token = s.token_for(g.gw, 'alice', plan='free')
    bob = s.token_for(g.gw, 'bob', plan='free')
    fleet = 'sluice:{fleet}:gateways'
    t.ok(h.poll(lambda: g.redis.cli('ZCARD', fleet) == '1', 3.0),
         'open: the heartbeat counts one live gateway', g.redis.cli('ZCARD', fleet))
    g.redis.kill()

    results = [h.get(g.gw.port, '/echo', s.bearer(token)) for _ in range(Q + 1)]
    t.eq([r.status for r in results[:Q]], [200] * Q,
         'open, Redis down: the fallback admits the whole limit (%d / 1 gateway)' % Q)
    for i, r in enumerate(results[:Q]):
        t.eq([x.split(';')[:2] for x in r.header_all('ratelimit')],
             [['"per_minute"', 'r=%d' % (Q - 1 - i)]],
             'open, Redis down: request %d carries RateLimit with what remains' % (i + 1))
    r = results[Q]
    body = h.json_body(r) or {}
    t.eq(r.status, 429, 'open, Redis down: request %d is refused' % (Q + 1))
    t.eq((body.get('error'), body.get('limit')), ('rate_limited', 'per_minute'),
         'open, Redis down: rate_limited by per_minute')
    t.eq(len(r.header_all('retry-after')), 1, 'open, Redis down: one Retry-After')
    t.eq(r.header_all('retry-after'), [str(body.get('retry_after'))],
         'open, Redis down: Retry-After matches the body')
    t.eq(len(r.header_all('ratelimit')), 1, 'open, Redis down: RateLimit on the 429')
    ra, tt = s.retry_after_and_t(r)
    t.ok(isinstance(ra, int) and tt is not None and ra >= tt,
         'open, Redis down: Retry-After is not before t', (ra, tt))
    t.eq(h.get(g.gw.port, '/echo', s.bearer(bob)).status, 200,
         'open, Redis down: another user has a fallback budget of its own')
    restarted_serves(t, g, token, 'open')

    # ---- on_error: closed -----------------------------------------------
    c = limited_gateway(env, on_error='closed')
    token = s.token_for(c.gw, 'alice', plan='free')
    t.eq(h.get(c.gw.port, '/echo', s.bearer(token)).status, 200, 'closed, Redis up: 200')
    c.redis.kill()
    for i in range(3):
        r = h.get(c.gw.port, '/echo', s.bearer(token))
        t.eq((r.status, (h.json_body(r) or {}).get('error')), (503, 'redis_unavailable'),
             'closed, Redis down: 503 redis_unavailable (%d)' % (i + 1))
        t.eq(len(r.header_all('retry-after')), 1, 'closed, Redis down: exactly one Retry-After',
             r.headers)
    restarted_serves(t, c, token, 'closed')


if __name__ == '__main__':
    h.run(main)
