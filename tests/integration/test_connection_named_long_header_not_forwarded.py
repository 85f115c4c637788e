#!/usr/bin/env python3
"""A field named in Connection is hop-by-hop whatever the length of its
name (RFC 9110 §7.6.1): a 100-byte name listed in Connection is not
forwarded (the response side: tests/unit/http/test_http_headers.c)."""
import harness as h

LONG = 'X-' + 'Long' * 24 + 'Hop'  # 101 bytes


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    r, e = h.echo(gw.port, headers=[('Connection', 'keep-alive, ' + LONG), (LONG, 'must-not-pass'),
                                    ('X-Keep-Me', 'yes')])
    t.eq(r.status, 200, 'GET /echo answers 200')
    t.eq(h.echo_headers(e, LONG), [], 'a %d-byte name listed in Connection is not forwarded'
         % len(LONG))
    t.eq(h.echo_headers(e, 'x-keep-me'), ['yes'], 'an end-to-end field is forwarded')


h.run(main)
