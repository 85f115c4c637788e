#!/usr/bin/env python3
"""From a peer that is not a trusted proxy, X-Forwarded-For is replaced by the
peer address; X-Forwarded-Proto is http (SPEC sections 4, 11)."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))  # trusted_proxies: [10.0.0.0/8]

    r, e = h.echo(gw.port, headers=[('X-Forwarded-For', '1.2.3.4')])
    t.eq(r.status, 200, 'GET /echo answers 200')
    t.eq(h.echo_headers(e, 'x-forwarded-for'), ['127.0.0.1'],
         'client X-Forwarded-For replaced by the peer address')
    t.eq(h.echo_headers(e, 'x-forwarded-proto'), ['http'], 'X-Forwarded-Proto: http')

    r, e = h.echo(gw.port)
    t.eq(h.echo_headers(e, 'x-forwarded-for'), ['127.0.0.1'],
         'X-Forwarded-For added when the client sent none')

    r, e = h.echo(gw.port, headers=[('X-Forwarded-For', '1.1.1.1'),
                                    ('X-Forwarded-For', '2.2.2.2, 3.3.3.3'),
                                    ('X-Forwarded-Proto', 'https')])
    t.eq(h.echo_headers(e, 'x-forwarded-for'), ['127.0.0.1'],
         'several client X-Forwarded-For headers all replaced')
    t.eq(h.echo_headers(e, 'x-forwarded-proto'), ['http'],
         'client X-Forwarded-Proto from an untrusted peer replaced by http')


h.run(main)
