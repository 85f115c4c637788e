#!/usr/bin/env python3
"""The admin API under /v1 needs `Authorization: Bearer <admin.token>`: 401
with WWW-Authenticate without it or with a wrong one (SPEC section 8); with
it, the session endpoints run (a bad body is 400), the limit endpoints
answer 503 redis_unavailable (this gateway has no Redis), the cache purge
200 (nothing to purge) or 404 for an unknown route, and other paths 404. /metrics, /healthz and /readyz need no token."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    for token, what in ((None, 'no token'), ('wrong', 'a wrong token')):
        r = gw.admin('POST', '/v1/sessions', body=b'{"user":"alice"}', token=token)
        h.check_json_error(t, r, 401, 'POST /v1/sessions with %s' % what)
        t.ok((r.header('www-authenticate') or '').startswith('Bearer'),
             '%s: WWW-Authenticate: Bearer' % what, repr(r.header('www-authenticate')))

    h.check_json_error(t, gw.admin('POST', '/v1/sessions', body=b'{}'), 400,
                       'POST /v1/sessions with the token and no user')
    for method in ('GET', 'DELETE'):
        r = gw.admin(method, '/v1/users/alice/limits')
        h.check_json_error(t, r, 503, '%s /v1/users/alice/limits without Redis' % method)
        t.eq((h.json_body(r) or {}).get('error'), 'redis_unavailable', 'error: redis_unavailable')
    r = gw.admin('POST', '/v1/cache/purge', body=b'{}')
    t.eq((r.status, h.json_body(r)), (200, {'purged': 0}),
         'POST /v1/cache/purge with the token: no cache route, nothing purged')
    h.check_json_error(t, gw.admin('POST', '/v1/cache/purge', body=b'{"route":"nope"}'), 404,
                       'purging a route that is not a cache route')
    h.check_json_error(t, gw.admin('GET', '/v1/nothing'), 404, 'unknown /v1 path')

    for path in ('/metrics', '/healthz'):
        t.eq(gw.admin('GET', path, token=None).status, 200, '%s needs no token' % path)


h.run(main)
