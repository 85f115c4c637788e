#!/usr/bin/env python3
"""Key rotation (SPEC sections 5, 11): the first key signs, every key
verifies, chosen by the footer's kid. A gateway whose keys are [new
secret, old public] accepts tokens the old key signed and signs with the
new one; after a reload that drops the old key, its tokens are refused at
once (verified claims are not kept across a key change). paseto-v4-local
tokens work the same way, and a v4.public token is no v4.local one."""
import time

import harness as h
import sessions as s


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    old, new = s.keygen(env), s.keygen(env)
    routes = [h.route('secure', '/echo', auth='required')]
    before = env.start_sluice(s.config(mock.port, redis.port, [{'secret': old['secret']}],
                                       routes=routes), name='before.yaml')
    s.wait_ready(before)
    old_token = s.token_for(before, 'alice')

    cfg = s.config(mock.port, redis.port, [{'secret': new['secret']}, {'public': old['public']}],
                   routes=routes)
    gw = env.start_sluice(cfg, name='after.yaml')
    s.wait_ready(gw)
    t.eq(h.get(gw.port, '/echo', s.bearer(old_token)).status, 200,
         'a token of the old key verifies through its kid')
    new_token = s.token_for(gw, 'alice')
    t.eq(h.get(gw.port, '/echo', s.bearer(new_token)).status, 200, 'the new key signs')
    t.eq(h.get(before.port, '/echo', s.bearer(new_token)).status, 401,
         'a gateway without the new key refuses its tokens')

    cfg2 = s.config(mock.port, redis.port, [{'secret': new['secret']}], routes=routes)
    cfg2.update({k: gw.cfg[k] for k in ('listen', 'admin')})
    gw.write_config(cfg2)
    gw.reload()
    def refused():
        return h.get(gw.port, '/echo', s.bearer(old_token)).status == 401
    t.ok(h.poll(refused, 3.0), 'after a reload without the old key its token is refused')
    t.eq(h.get(gw.port, '/echo', s.bearer(new_token)).status, 200, 'the new key still works')

    local = s.keygen(env, local=True)
    lcfg = s.config(mock.port, redis.port, [{'local': local['local']}], routes=routes,
                    tokens={'format': 'paseto-v4-local'})
    lg = env.start_sluice(lcfg, name='local.yaml')
    s.wait_ready(lg)
    ltoken = s.token_for(lg, 'bob')
    t.ok(ltoken.startswith('v4.local.'), 'paseto-v4-local mints v4.local tokens')
    t.eq(h.get(lg.port, '/echo', s.bearer(ltoken)).status, 200, 'a v4.local token admits')
    r = h.get(lg.port, '/echo', s.bearer(new_token))
    t.eq((r.status, (h.json_body(r) or {}).get('error')), (401, 'invalid_token'),
         'a v4.public token is refused by a v4.local gateway')


h.run(main)
