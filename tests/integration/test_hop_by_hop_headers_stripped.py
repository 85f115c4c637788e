#!/usr/bin/env python3
"""Hop-by-hop headers (and any named in Connection:) are not forwarded;
client copies of X-Sluice-User/Session/Plan are removed; the upstream's
set_headers replace client values (SPEC sections 4, 5)."""
import harness as h

HOP = ['keep-alive', 'te', 'trailer', 'proxy-connection', 'upgrade', 'x-custom-hop',
       'x-other-hop']


def main(t, env):
    mock = env.start_mock()
    gw = env.start_sluice(h.default_config(mock.port))

    hdrs = [
        ('Connection', 'keep-alive, X-Custom-Hop'),
        ('Connection', 'X-Other-Hop'),
        ('X-Custom-Hop', 'must-not-pass'),
        ('X-Other-Hop', 'must-not-pass'),
        ('Keep-Alive', 'timeout=5, max=100'),
        ('TE', 'trailers'),
        ('Trailer', 'X-Foo'),
        ('Proxy-Connection', 'keep-alive'),
        ('Upgrade', 'h2c'),
        ('X-Sluice-User', 'mallory'),
        ('X-Sluice-Session', 'forged-session'),
        ('x-sluice-plan', 'enterprise'),
        ('X-Api-Key', 'client-supplied-key'),
        ('X-Keep-Me', 'yes'),
        ('Accept', 'application/json'),
    ]
    r, e = h.echo(gw.port, headers=hdrs)
    t.eq(r.status, 200, 'GET /echo with hop-by-hop headers answers 200')
    got = {k.lower() for k, _ in (e or {}).get('headers', [])}
    for name in HOP:
        t.ok(name not in got, '%s not forwarded' % name, 'upstream got %r'
             % h.echo_headers(e, name))
    conn_vals = ','.join(h.echo_headers(e, 'connection')).lower()
    t.ok('x-custom-hop' not in conn_vals and 'x-other-hop' not in conn_vals,
         'client Connection header not forwarded', 'upstream Connection: %r' % conn_vals)
    for name in ('x-sluice-user', 'x-sluice-session', 'x-sluice-plan'):
        t.ok(all(v not in ('mallory', 'forged-session', 'enterprise')
                 for v in h.echo_headers(e, name)),
             'client %s removed' % name, 'upstream got %r' % h.echo_headers(e, name))
    t.eq(h.echo_headers(e, 'x-api-key'), ['k-123'], 'set_headers x-api-key replaces the client value')
    t.eq(h.echo_headers(e, 'x-keep-me'), ['yes'], 'end-to-end header X-Keep-Me forwarded')
    t.eq(h.echo_headers(e, 'accept'), ['application/json'], 'Accept forwarded')
    t.ok(len(h.echo_headers(e, 'host')) == 1, 'upstream gets exactly one Host')

    # without any client value, set_headers still adds it
    r, e = h.echo(gw.port, 'POST', '/echo', body=b'{}')
    t.eq(h.echo_headers(e, 'x-api-key'), ['k-123'], 'set_headers x-api-key added')
    t.ok(not h.echo_headers(e, 'x-sluice-user'),
         'no X-Sluice-User on an auth: none route without a token',
         repr(h.echo_headers(e, 'x-sluice-user')))

    t.ok(r.header('transfer-encoding') is None or r.header('content-length') is None,
         'response does not carry both Content-Length and Transfer-Encoding')


h.run(main)
