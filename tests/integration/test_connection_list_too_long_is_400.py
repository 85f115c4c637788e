#!/usr/bin/env python3
"""A Connection list naming more options than the gateway holds (32) is
refused with 400, never passed with some options left unremoved; 32
options are served."""
import harness as h


def conn_list(n, first=0):
    return ', '.join('X-Opt-%d' % i for i in range(first, n))


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    hdrs = [('Connection', conn_list(32))] + [('X-Opt-%d' % i, 'hop') for i in range(32)]
    r, e = h.echo(gw.port, headers=hdrs)
    t.eq(r.status, 200, '32 Connection options: served')
    t.eq([i for i in range(32) if h.echo_headers(e, 'x-opt-%d' % i)], [],
         '32 Connection options: none of the named fields forwarded')

    raw = h.build_request('GET', '/echo', [('Connection', conn_list(20)),
                                           ('Connection', conn_list(33, 20))])
    h.check_bad_request(t, gw, raw, 400, '33 Connection options over two fields')


h.run(main)
