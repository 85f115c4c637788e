#!/usr/bin/env python3
"""Token rules of SPEC sections 5 and 11, with tokens signed by an
independent PASETO implementation (npm `paseto`): a token without a kid
is tried with the signing key only (one signed by a verify-only key is
refused, though its kid would have admitted it); exp is required; an
expired token is token_expired with the invalid_token challenge; the
tokens.header and tokens.cookie settings name where the token is read."""
import time

import harness as h
import sessions as s

CHALLENGE = 'Bearer realm="sluice", error="invalid_token"'


def main(t, env):
    mock, redis = env.start_mock(), s.Redis(env)
    signer, verifier = s.keygen(env), s.keygen(env)
    cfg = s.config(mock.port, redis.port,
                   [{'secret': signer['secret']}, {'public': verifier['public']}],
                   routes=[h.route('secure', '/echo', auth='required')],
                   tokens={'header': 'x-session-token', 'cookie': 'sid'})
    gw = env.start_sluice(cfg)
    s.wait_ready(gw)
    r, j = s.create_session(gw, 'alice')
    sid, own = j['session_id'], j['token']
    now = time.time()
    claims = {'sub': 'alice', 'jti': sid, 'iat': s.rfc3339(now), 'exp': s.rfc3339(now + 3600)}
    no_exp = {k: v for k, v in claims.items() if k != 'exp'}

    def send(token, how='header'):
        hdrs = {'header': [('X-Session-Token', 'Bearer ' + token)],
                'cookie': [('Cookie', 'sid=' + token)],
                'authorization': s.bearer(token),
                'default cookie': [('Cookie', 'sluice_session=' + token)]}[how]
        r = h.get(gw.port, '/echo', hdrs)
        return r.status, (h.json_body(r) or {}).get('error'), r.header('www-authenticate')

    t.eq(send(own)[0], 200, 'tokens.header x-session-token: Bearer token admitted')
    t.eq(send(own, 'cookie')[0], 200, 'tokens.cookie sid: admitted')
    t.eq(send(own, 'authorization')[:2], (401, 'missing_token'),
         'Authorization is not read when tokens.header names another header')
    t.eq(send(own, 'default cookie')[:2], (401, 'missing_token'),
         'nor the default cookie name')

    kid_v = s.node_sign(verifier['secret'], claims, {'kid': verifier['pid']})
    t.eq(send(kid_v)[0], 200, 'the verify-only key admits a token naming its kid')
    t.eq(send(s.node_sign(signer['secret'], claims, {}))[0], 200,
         'no kid, signed by the signing key: admitted')
    t.eq(send(s.node_sign(verifier['secret'], claims, {})), (401, 'invalid_token', CHALLENGE),
         'no kid, signed by the verify-only key: tried with the signing key only, refused')
    t.eq(send(s.node_sign(signer['secret'], no_exp, {'kid': signer['pid']})),
         (401, 'invalid_token', CHALLENGE), 'no exp: invalid_token (exp is required)')
    expired = s.node_sign(signer['secret'], dict(claims, exp=s.rfc3339(now - 45)),
                        {'kid': signer['pid']})
    t.eq(send(expired), (401, 'token_expired', CHALLENGE),
         'exp 45 s past (beyond the 30 s leeway): token_expired, invalid_token challenge')


h.run(main)
