#!/usr/bin/env python3
"""X-Request-Id: kept when well-formed (1-128 of [A-Za-z0-9._-]), replaced when
malformed, generated when absent; the client gets the same id back."""
import re

import harness as h


def check(t, gw, sent, keep, what):
    hdrs = [] if sent is None else [('X-Request-Id', sent)]
    r, e = h.echo(gw.port, headers=hdrs)
    t.eq(r.status, 200, '%s: answers 200' % what)
    up = h.echo_headers(e, 'x-request-id')
    t.eq(len(up), 1, '%s: upstream gets exactly one X-Request-Id' % what)
    rid = up[0] if up else None
    if keep:
        t.eq(rid, sent, '%s: id kept' % what)
    else:
        t.ok(rid is not None and rid != sent and h.REQUEST_ID_RE.match(rid),
             '%s: a well-formed id is generated' % what, 'upstream got %r' % rid)
    t.eq(r.header('x-request-id'), rid, '%s: response carries the same X-Request-Id' % what)
    return rid


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    check(t, gw, 'abc-DEF_123.x', True, 'well-formed id')
    check(t, gw, 'a' * 128, True, '128-char id')
    check(t, gw, 'Z', True, '1-char id')
    check(t, gw, 'bad id', False, 'id with a space')
    check(t, gw, 'a' * 129, False, '129-char id')
    check(t, gw, 'abc/def', False, 'id with a slash')
    check(t, gw, 'caf\xe9', False, 'id with a non-ASCII byte')
    a = check(t, gw, None, False, 'absent id')
    b = check(t, gw, None, False, 'absent id again')
    t.ok(a != b, 'generated ids differ', '%r %r' % (a, b))

    # A head refused by the parser still gets an id, so that the client's
    # report and the access log line can be matched.
    r = h.raw_exchange(gw.port, b'GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n')
    t.eq(r.status, 400, 'malformed head: 400')
    rid = r.header('x-request-id') or ''
    t.ok(re.fullmatch(r'[A-Za-z0-9._-]{1,128}', rid) is not None,
         'malformed head: the 400 carries a generated X-Request-Id', repr(rid))


h.run(main)
