#!/usr/bin/env python3
"""When the peer is a trusted proxy, the peer address is appended to
X-Forwarded-For (SPEC section 11)."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port, http={'trusted_proxies': ['127.0.0.1']}))

    r, e = h.echo(gw.port, headers=[('X-Forwarded-For', '1.2.3.4')])
    t.eq(r.status, 200, 'GET /echo answers 200')
    t.eq(h.echo_headers(e, 'x-forwarded-for'), ['1.2.3.4, 127.0.0.1'],
         'peer address appended to the client X-Forwarded-For')
    t.eq(h.echo_headers(e, 'x-forwarded-proto'), ['http'], 'X-Forwarded-Proto: http')

    r, e = h.echo(gw.port)
    t.eq(h.echo_headers(e, 'x-forwarded-for'), ['127.0.0.1'],
         'X-Forwarded-For is the peer when the trusted proxy sent none')

    r, e = h.echo(gw.port, headers=[('X-Forwarded-For', '1.1.1.1'),
                                    ('X-Forwarded-For', '2.2.2.2')])
    t.eq(h.echo_headers(e, 'x-forwarded-for'), ['1.1.1.1, 2.2.2.2, 127.0.0.1'],
         'several X-Forwarded-For headers combined, then the peer appended')

    # a CIDR that covers 127.0.0.1 works too
    gw2 = env.start_sluice(h.default_config(mock.port, http={'trusted_proxies': ['127.0.0.0/8']}),
                           name='cidr.yaml')
    r, e = h.echo(gw2.port, headers=[('X-Forwarded-For', '5.6.7.8')])
    t.eq(h.echo_headers(e, 'x-forwarded-for'), ['5.6.7.8, 127.0.0.1'],
         'trusted_proxies 127.0.0.0/8 appends as well')


h.run(main)
