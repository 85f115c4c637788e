#!/usr/bin/env python3
"""A request path is routed as the upstream will resolve it (RFC 3986 §5.2.4,
§2.3), so no dot segment or escape gets a request for an `auth: required`
route through an `auth: none` one. With `/public/` open and `/v1/` required
(401 for every request until token verification lands), each shape that
resolves into /v1/ is 401, each shape servers resolve differently is 400,
and harmless ones are 200 with the upstream receiving exactly the
normalised path and the untouched query (the mock echoes /public/*)."""
import harness as h

RESOLVES_INTO_V1 = [
    '/public/../v1/chat/completions',
    '/public/./../v1/chat',
    '/public/%2e%2e/v1/chat',
    '/public/%2E%2E/v1/chat',
    '/public/.%2e/v1/chat',
    '/public/%2e./v1/chat',
    '/public//../v1/chat',
    '/public/..//v1/chat',
    '/public/a/b/../../../v1/chat',
    '/%2e/v1/chat',
    '//v1/chat',
    '/%76%31/chat',
    '/public/%2e%2e/v1/chat?next=/public/',
    'http://test.local/public/../v1/chat',
]

REFUSED = [
    '/public/..;/v1/chat',
    '/public/.;/v1/chat',
    '/public/%2e%2e;/v1/chat',
    '/v1;/chat',
    '/public/..%2fv1/chat',
    '/public/%2e%2e%2Fv1/chat',
    '/public/..%5cv1/chat',
    '/public/..\\v1/chat',
    '/public/%00/../../v1/chat',
    '/public/%0d%0a',
    '/public/%ZZ',
    '/public/%4',
    '/../v1/chat',
    '/public/../../v1/chat',
    '/public/x#/../../v1/chat',
    '/public/x?a=1#frag',
    'http://test.local/public/../../v1/chat',
]

# (target sent, target the upstream must receive)
HARMLESS = [
    ('/public/x', '/public/x'),
    ('/public/a/../b', '/public/b'),
    ('/public/./x', '/public/x'),
    ('/public//x', '/public/x'),
    ('/v1/../public/x', '/public/x'),
    ('/public/%7Euser', '/public/~user'),
    ('/public/%3a', '/public/%3A'),
    ('/public/%252e%252e/v1/chat', '/public/%252e%252e/v1/chat'),
    ('/public/%c0%ae%c0%ae/v1/chat', '/public/%C0%AE%C0%AE/v1/chat'),
    ('/public/%2e%2e%2e/v1', '/public/.../v1'),
    ('/public/x?next=/../v1/chat&e=%2e%2e', '/public/x?next=/../v1/chat&e=%2e%2e'),
    ('/public/a/..?q', '/public/?q'),
    ('http://test.local/public/./x?a=%2e', '/public/x?a=%2e'),
]


def main(t, env):
    mock = env.start_mock()
    routes = [h.route('open', '/public/', auth='none'),
              h.route('api', '/v1/', auth='required')]
    gw = env.start_sluice(h.default_config(mock.port, routes=routes))

    r = h.get(gw.port, '/v1/chat')
    t.eq(r.status, 401, 'the required route refuses: 401')

    for target in RESOLVES_INTO_V1:
        r = h.get(gw.port, target)
        t.eq(r.status, 401, '%s resolves into /v1/: 401' % target,
             'body %r' % r.body[:200])
        t.eq((h.json_body(r) or {}).get('error'), 'missing_token', '%s: missing_token' % target)

    for target in REFUSED:
        r = h.get(gw.port, target)
        t.eq(r.status, 400, '%s is refused: 400' % target, 'body %r' % r.body[:200])
        j = h.json_body(r) or {}
        t.eq(j.get('error'), 'bad_request', '%s: bad_request' % target)
        t.eq(j.get('message'), 'request path cannot be resolved unambiguously',
             '%s: says why' % target)

    for target, upstream_target in HARMLESS:
        r = h.get(gw.port, target)
        t.eq(r.status, 200, '%s: 200' % target, 'body %r' % r.body[:200])
        t.eq((h.json_body(r) or {}).get('path'), upstream_target,
             '%s: the upstream receives %s' % (target, upstream_target))

    # The asterisk-form is for OPTIONS only (RFC 9112 §3.2.4); it names no
    # route, as before.
    t.eq(h.fetch(gw.port, 'GET', '*').status, 400, 'GET * is 400')
    t.eq(h.fetch(gw.port, 'OPTIONS', '*').status, 404, 'OPTIONS * is 404 (no route)')

    # Several on one connection: a normalised target is the request's own,
    # not left over from the one before.
    with h.Client(gw.port) as c:
        for target, upstream_target in [('/public/a/../b', '/public/b'),
                                        ('/public/%7e', '/public/~'),
                                        ('/public/x', '/public/x')]:
            r = c.fetch('GET', target)
            t.eq((h.json_body(r) or {}).get('path'), upstream_target,
                 'keep-alive %s: upstream receives %s' % (target, upstream_target))


h.run(main)
