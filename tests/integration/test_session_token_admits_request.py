#!/usr/bin/env python3
"""A valid session token admits a request on an `auth: required` route
(SPEC section 5): from the Authorization header or the session cookie.
The upstream learns who it is for (X-Sluice-User/Session/Plan, never the
client's own copies) and never sees the client's token; other cookies
pass. `auth: optional` is anonymous without a token (or with a Basic
Authorization, RFC 6750 section 3.1) and refuses a bad one."""
import harness as h
import sessions as s


def main(t, env):
    mock = env.start_mock()
    redis = s.Redis(env)
    kp = s.keygen(env)
    routes = [h.route('secure', '/echo', methods=['GET'], auth='required'),
              h.route('maybe', '/echo', methods=['POST'], auth='optional')]
    gw = env.start_sluice(s.config(mock.port, redis.port, [{'secret': kp['secret']}],
                                   routes=routes))
    s.wait_ready(gw)
    r, j = s.create_session(gw, 'alice', plan='pro')
    t.eq(r.status, 201, 'session created')
    token, sid = j['token'], j['session_id']
    t.ok(token.startswith('v4.public.'), 'the token is PASETO v4.public')

    r, e = h.echo(gw.port, headers=s.bearer(token) + [('X-Sluice-User', 'mallory'),
                                                      ('X-Sluice-Plan', 'enterprise')])
    t.eq(r.status, 200, 'Bearer token: 200')
    t.eq(h.echo_headers(e, 'x-sluice-user'), ['alice'], 'upstream gets the user, once')
    t.eq(h.echo_headers(e, 'x-sluice-session'), [sid], 'upstream gets the session id')
    t.eq(h.echo_headers(e, 'x-sluice-plan'), ['pro'], "upstream gets the session's plan")
    t.eq(h.echo_headers(e, 'authorization'), [], "the client's token is not forwarded")

    r, e = h.echo(gw.port, headers=[('Cookie', 'theme=dark; sluice_session=%s; lang=en' % token)])
    t.eq(r.status, 200, 'session cookie: 200')
    t.eq(h.echo_headers(e, 'cookie'), ['theme=dark; lang=en'],
         'the token cookie is removed, the others kept')
    t.eq(h.echo_headers(e, 'x-sluice-user'), ['alice'], 'cookie: upstream gets the user')

    rec = gw.wait_access(lambda x: x.get('path') == '/echo' and x.get('status') == 200)
    t.eq((rec or {}).get('user'), 'alice', 'the access log names the user')

    # auth: optional
    r, e = h.echo(gw.port, method='POST', body='{}')
    t.eq(r.status, 200, 'optional, no token: 200 (anonymous)')
    t.eq(h.echo_headers(e, 'x-sluice-user'), [], 'anonymous: no X-Sluice-User')
    r, e = h.echo(gw.port, method='POST', body='{}',
                  headers=[('Authorization', 'Basic dXNlcjpwdw=='), ('X-Sluice-User', 'bob')])
    t.eq(r.status, 200, 'optional, Basic credentials: no bearer token, anonymous')
    t.eq(h.echo_headers(e, 'x-sluice-user'), [], "the client's X-Sluice-User is removed")
    t.eq(h.echo_headers(e, 'authorization'), ['Basic dXNlcjpwdw=='],
         'an Authorization of another scheme is forwarded')
    r, e = h.echo(gw.port, method='POST', body='{}', headers=s.bearer(token))
    t.eq(r.status, 200, 'optional, valid token: 200')
    t.eq(h.echo_headers(e, 'x-sluice-user'), ['alice'], 'optional, valid token: authenticated')
    r = h.fetch(gw.port, 'POST', '/echo', s.bearer(token[:-4] + 'AAAA'), body='{}')
    t.eq(r.status, 401, 'optional, bad token: 401')
    t.eq((h.json_body(r) or {}).get('error'), 'invalid_token', 'optional, bad token: invalid_token')


h.run(main)
