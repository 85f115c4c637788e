#!/usr/bin/env python3
"""The admin session API (SPEC sections 8, 11): create answers 201 with
token, session_id, expires_at (the token's exp, max_lifetime ahead); a bad
user, an undefined plan or a bad ttl is 400; list shows live sessions with
their fields and drops expired ones; ttl sets the idle timeout, which each
use restarts (sliding); errors are JSON with a message; no admin token,
401. Keys live under the user's hash tag with a TTL."""
import json
import time
from datetime import datetime, timezone

import harness as h
import sessions as s


def parse_time(text):
    return datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=timezone.utc).timestamp()


def main(t, env):
    g = s.Gateway(env, tokens={'max_lifetime': '2h', 'session_ttl': '10m'})
    mock, redis, kp, gw = g.mock, g.redis, g.kp, g.gw

    now = time.time()
    r, j = s.create_session(gw, 'alice', plan='free')
    t.eq(r.status, 201, 'create: 201')
    t.eq(sorted((j or {}).keys()), ['expires_at', 'session_id', 'token'], 'create: the three fields')
    t.ok(abs(parse_time(j['expires_at']) - (now + 7200)) < 5, 'expires_at is max_lifetime ahead',
         j['expires_at'])
    sid = j['session_id']
    key = 'sluice:{u:alice}:s:' + sid
    t.eq(redis.cli('EXISTS', key), '1', 'the session lives under the user hash tag')
    ttl = int(redis.cli('PTTL', key))
    t.ok(590000 < ttl <= 600000, 'its TTL is session_ttl', ttl)
    t.ok(int(redis.cli('PTTL', 'sluice:{u:alice}:sessions')) > 0, 'the index has a TTL too')

    r = gw.admin('GET', '/v1/users/alice/sessions')
    t.eq(r.status, 200, 'list: 200')
    lst = (h.json_body(r) or {}).get('sessions')
    t.eq([x.get('session_id') for x in lst or []], [sid], 'list: the one session')
    first = (lst or [{}])[0]
    t.eq(sorted(first.keys()), ['created_at', 'expires_at', 'idle_expires_at', 'plan',
                                'session_id'], 'list: the fields of SPEC section 11')
    t.eq(first.get('plan'), 'free', 'list: the plan')
    t.eq(first.get('expires_at'), j['expires_at'], 'list: expires_at as created')
    t.ok(abs(parse_time(first['idle_expires_at']) - (now + 600)) < 5, 'list: idle_expires_at')
    t.ok(abs(parse_time(first['created_at']) - now) < 5, 'list: created_at')

    bad = [('no user', {}), ('user with a space', {'user': 'a b'}),
           ('user with a brace', {'user': 'a{b'}), ('empty user', {'user': ''}),
           ('user of 257 bytes', {'user': 'u' * 257}), ('user not a string', {'user': 7}),
           ('non-ASCII user', {'user': 'é'}), ('undefined plan', {'user': 'a', 'plan': 'gold'}),
           ('ttl zero', {'user': 'a', 'ttl': 0}), ('ttl negative', {'user': 'a', 'ttl': -5}),
           ('ttl a string', {'user': 'a', 'ttl': '60'}), ('ttl fractional', {'user': 'a', 'ttl': 1.5})]
    for what, body in bad:
        r = gw.admin('POST', '/v1/sessions', body=json.dumps(body))
        t.eq(r.status, 400, 'create with %s: 400' % what)
        e = h.json_body(r) or {}
        t.ok(e.get('error') == 'bad_request' and e.get('message'), '%s: JSON error with a message'
             % what, r.body[:200])
    r = gw.admin('POST', '/v1/sessions', body='{not json')
    t.eq(r.status, 400, 'create with a body that is not JSON: 400')
    t.eq(s.create_session(gw, 'u' * 256)[0].status, 201, 'a user of 256 bytes is fine')

    r = gw.admin('POST', '/v1/sessions', body='{"user":"alice"}', token='wrong')
    t.eq(r.status, 401, 'wrong admin token: 401')
    t.ok((h.json_body(r) or {}).get('message'), '401 carries a message')
    r = gw.admin('DELETE', '/v1/users/alice/sessions/nope')
    t.eq(r.status, 404, 'revoke an unknown session: 404')
    t.eq((h.json_body(r) or {}).get('error'), 'not_found', '404 is JSON')
    r = gw.admin('GET', '/v1/users/a%20b/sessions')
    t.eq(r.status, 400, 'list for a bad user name: 400')
    r = gw.admin('DELETE', '/v1/users/alice%00x/sessions')
    t.eq(r.status, 400, 'an encoded NUL in the user name: 400, never alice')
    t.eq(redis.cli('EXISTS', key), '1', "and alice's session is untouched")

    # ttl: the idle timeout, restarted by each use
    short = s.token_for(gw, 'carol', ttl=1)
    gone = s.token_for(gw, 'carol', ttl=1)
    for i in range(4):
        time.sleep(0.5)
        t.eq(h.get(gw.port, '/echo', s.bearer(short)).status, 200,
             'used every 0.5 s, a ttl=1 session lives on (%d)' % i)
    r = h.get(gw.port, '/echo', s.bearer(gone))
    t.eq(r.status, 401, 'idle past its ttl: 401')
    t.eq((h.json_body(r) or {}).get('error'), 'session_revoked', 'idle past its ttl: session_revoked')
    lst = (h.json_body(gw.admin('GET', '/v1/users/carol/sessions')) or {}).get('sessions')
    t.eq(len(lst or []), 1, 'the expired session dropped out of the list')
    t.eq(redis.cli('ZCARD', 'sluice:{u:carol}:sessions'), '1', 'and out of the index')


h.run(main)
