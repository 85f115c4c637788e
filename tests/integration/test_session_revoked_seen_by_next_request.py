#!/usr/bin/env python3
"""Revoking a session takes effect on the very next request, on every
gateway sharing the Redis (SPEC sections 5, 8): a second sluice process
that has verified (and cached) the token refuses it at once with 401
session_revoked; revoking all of a user's sessions does the same."""
import harness as h
import sessions as s


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    kp = s.keygen(env)
    cfg = s.config(mock.port, redis.port, [{'secret': kp['secret']}],
                   routes=[h.route('secure', '/echo', auth='required')])
    a = env.start_sluice(cfg, name='a.yaml')
    b = env.start_sluice(cfg, name='b.yaml')
    s.wait_ready(a)
    s.wait_ready(b)
    r, j = s.create_session(a, 'alice')
    token, sid = j['token'], j['session_id']
    other = s.token_for(a, 'alice')
    bob = s.token_for(a, 'bob')
    for gw in (a, b):
        t.eq(h.get(gw.port, '/echo', s.bearer(token)).status, 200, 'valid before revocation')

    r = a.admin('DELETE', '/v1/users/alice/sessions/' + sid)
    t.eq(r.status, 204, 'revoke one: 204')
    r = h.get(b.port, '/echo', s.bearer(token))
    t.eq(r.status, 401, 'the other gateway refuses the revoked token at once')
    t.eq((h.json_body(r) or {}).get('error'), 'session_revoked', 'error is session_revoked')
    t.eq(r.header('www-authenticate'), 'Bearer realm="sluice", error="invalid_token"',
         'challenge names invalid_token')
    t.eq(h.get(a.port, '/echo', s.bearer(token)).status, 401, 'and so does the first')
    t.eq(h.get(b.port, '/echo', s.bearer(other)).status, 200, "the user's other session lives")
    r = a.admin('DELETE', '/v1/users/alice/sessions/' + sid)
    t.eq(r.status, 404, 'revoking it again: 404')

    r = b.admin('DELETE', '/v1/users/alice/sessions')
    t.eq(r.status, 204, 'revoke all: 204')
    t.eq(h.get(a.port, '/echo', s.bearer(other)).status, 401, 'revoke all reaches every session')
    t.eq(h.get(a.port, '/echo', s.bearer(bob)).status, 200, "another user's session is untouched")


h.run(main)
