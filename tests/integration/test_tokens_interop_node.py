#!/usr/bin/env python3
"""Tokens interoperate with an independent PASETO v4 implementation (npm's
`paseto` package under Node.js, SPEC section 5): a token that Node signs
with sluice's secret key, for a live session, admits a request; one with
an exp long past is 401 token_expired; one Node signs with another key is
401 invalid_token; a token sluice mints verifies in Node."""
import json
import time

import harness as h
import sessions as s


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    kp, other = s.keygen(env), s.keygen(env)
    gw = env.start_sluice(s.config(mock.port, redis.port, [{'secret': kp['secret']}],
                                   routes=[h.route('secure', '/echo', auth='required')]))
    s.wait_ready(gw)
    r, j = s.create_session(gw, 'alice')
    sid, ours = j['session_id'], j['token']
    now = time.time()
    claims = {'sub': 'alice', 'jti': sid, 'iat': s.rfc3339(now), 'exp': s.rfc3339(now + 3600)}
    footer = {'kid': kp['pid']}

    token = s.node_sign(kp['secret'], claims, footer)
    r, e = h.echo(gw.port, headers=s.bearer(token))
    t.eq(r.status, 200, "a Node-signed token for a live session: 200")
    t.eq(h.echo_headers(e, 'x-sluice-session'), [sid], 'it names the session')

    expired = s.node_sign(kp['secret'], dict(claims, exp=s.rfc3339(now - 120)), footer)
    r = h.get(gw.port, '/echo', s.bearer(expired))
    t.eq(r.status, 401, 'expired beyond the 30 s leeway: 401')
    t.eq((h.json_body(r) or {}).get('error'), 'token_expired', 'error is token_expired')
    within = s.node_sign(kp['secret'], dict(claims, exp=s.rfc3339(now - 10)), footer)
    t.eq(h.get(gw.port, '/echo', s.bearer(within)).status, 200, 'expired 10 s ago: within leeway')
    no_kid = s.node_sign(kp['secret'], claims, {})
    t.eq(h.get(gw.port, '/echo', s.bearer(no_kid)).status, 200,
         'no kid: tried with the signing key, which made it')
    forged = s.node_sign(other['secret'], claims, footer)
    r = h.get(gw.port, '/echo', s.bearer(forged))
    t.eq((r.status, (h.json_body(r) or {}).get('error')), (401, 'invalid_token'),
         'signed by another key under our kid: 401 invalid_token')

    p = h.node_paseto(['verify', kp['public'], ours])
    t.eq(p.returncode, 0, "sluice's own token verifies in Node", p.stderr.decode())
    payload = json.loads(p.stdout.decode() or '{}')
    t.eq((payload.get('sub'), payload.get('jti')), ('alice', sid), 'with our sub and jti')
    p = h.node_paseto(['verify', other['public'], ours])
    t.ok(p.returncode != 0, "and not under another key")


h.run(main)
