#!/usr/bin/env python3
"""An `auth: required` route never lets a request through unverified: no
token is 401 missing_token (RFC 6750 §3.1 challenge, no error code); a
token from the header or the session cookie is 401 invalid_token until
token verification lands (SPEC section 5)."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    routes = [h.route('secure', '/echo', auth='required'), h.route('open', '/small')]
    gw = env.start_sluice(h.default_config(mock.port, routes=routes))

    r = h.get(gw.port, '/echo')
    t.eq(r.status, 401, 'no token: 401')
    t.eq((h.json_body(r) or {}).get('error'), 'missing_token', 'error is missing_token')
    t.eq(r.header('www-authenticate'), 'Bearer realm="sluice"', 'challenge without error code')

    for what, headers in [('bearer header', [('Authorization', 'Bearer v4.public.x')]),
                          ('session cookie', [('Cookie', 'a=1; sluice_session=v4.public.x')])]:
        r = h.get(gw.port, '/echo', headers)
        t.eq(r.status, 401, '%s: 401' % what)
        t.eq((h.json_body(r) or {}).get('error'), 'invalid_token', '%s: invalid_token' % what)
        t.ok('error="invalid_token"' in (r.header('www-authenticate') or ''),
             '%s: challenge names invalid_token' % what)

    r = h.get(gw.port, '/echo', [('Cookie', 'not_sluice_session=x')])
    t.eq((h.json_body(r) or {}).get('error'), 'missing_token', 'a look-alike cookie is no token')
    t.eq(h.get(gw.port, '/small').status, 200, 'an auth: none route still serves')


h.run(main)
