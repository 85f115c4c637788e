#!/usr/bin/env python3
"""With `on_error: open`, a request whose session check cannot reach Redis
is admitted on the token's signature and expiry alone (SPEC section 6);
a forged token is still 401."""
import harness as h
import sessions as s


def main(t, env):
    g = s.Gateway(env, redis={'on_error': 'open', 'timeout': '200ms'})
    mock, redis, kp, gw = g.mock, g.redis, g.kp, g.gw
    token = s.token_for(gw, 'alice')
    fresh = s.token_for(gw, 'bob')  # never used before the outage: not in any cache
    redis.kill()
    r, e = h.echo(gw.port, headers=s.bearer(token))
    t.eq(r.status, 200, 'Redis down, on_error open: admitted')
    t.eq(h.echo_headers(e, 'x-sluice-user'), ['alice'], 'still authenticated as the user')
    t.eq(h.get(gw.port, '/echo', s.bearer(fresh)).status, 200,
         'a token first seen during the outage is verified and admitted')
    r = h.get(gw.port, '/echo', s.bearer(token[:-3] + 'AAA'))
    t.eq(r.status, 401, 'a forged token is still refused')
    t.eq(h.get(gw.port, '/echo').status, 401, 'no token is still refused')


h.run(main)
