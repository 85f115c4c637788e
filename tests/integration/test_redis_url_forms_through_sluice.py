#!/usr/bin/env python3
"""Every redis.url form of SPEC section 3 carries sessions end to end: a
session created through the admin API admits a request through a gateway
on redis://:pass@ (requirepass), redis://user:pass@ (an ACL user),
unix:///path.sock, and rediss:// (TLS, certificate verified against a
throwaway CA). A TLS Redis whose certificate does not verify is never
used: requests get 503 and /readyz says degraded."""
import os
import subprocess

import harness as h
import sessions as s


def serves(t, env, mock, kp, url, what, redis_extra=None):
    cfg = s.config(mock.port, None, [{'secret': kp['secret']}],
                   routes=[h.route('secure', '/echo', auth='required')])
    cfg['redis'] = dict({'url': url, 'timeout': '500ms'}, **(redis_extra or {}))
    gw = env.start_sluice(cfg, name='%s.yaml' % what.replace(' ', '_'))
    t.ok(s.wait_ready(gw), '%s: Redis is up for sluice' % what)
    r, j = s.create_session(gw, 'alice')
    t.eq(r.status, 201, '%s: session created' % what)
    r = h.get(gw.port, '/echo', s.bearer((j or {}).get('token', '')))
    t.eq(r.status, 200, '%s: the token admits a request' % what)
    return gw


def main(t, env):
    mock = env.start_mock()
    kp = s.keygen(env)

    pw = s.Redis(env, ['--requirepass', 'p@ss/w:rd'])
    serves(t, env, mock, kp, 'redis://:p%%40ss%%2Fw%%3Ard@127.0.0.1:%d/0' % pw.port,
           'password')

    acl = s.Redis(env)
    subprocess.run(['redis-cli', '-p', str(acl.port), 'ACL', 'SETUSER', 'gw', 'on', '>gwpass',
                    '~sluice:*', '+@all'], check=True, capture_output=True, timeout=10)
    subprocess.run(['redis-cli', '-p', str(acl.port), 'ACL', 'SETUSER', 'default', 'off'],
                   check=True, capture_output=True, timeout=10)
    serves(t, env, mock, kp, 'redis://gw:gwpass@127.0.0.1:%d/3' % acl.port, 'ACL user')

    sock = env.path('redis.sock')
    s.Redis(env, ['--unixsocket', sock, '--unixsocketperm', '700'])
    serves(t, env, mock, kp, 'unix://%s?db=1' % sock, 'unix socket')

    s.make_certs(env.tmp)
    crt = lambda n: os.path.join(env.tmp, n)  # noqa: E731
    tls = s.Redis(env, tls={'cert': crt('server.crt'), 'key': crt('server.key'),
                            'ca': crt('ca.crt')})
    serves(t, env, mock, kp, 'rediss://localhost:%d/0' % tls.port, 'TLS',
           {'tls': {'ca_file': crt('ca.crt')}})

    cfg = s.config(mock.port, None, [{'secret': kp['secret']}],
                   routes=[h.route('secure', '/echo', auth='required')])
    cfg['redis'] = {'url': 'rediss://localhost:%d/0' % tls.port, 'timeout': '300ms',
                    'tls': {'ca_file': crt('other.crt')}}
    bad = env.start_sluice(cfg, name='badtls.yaml')
    r = h.get(bad.admin_port, '/readyz')
    t.eq(r.status, 503, 'TLS with a certificate of another CA: /readyz 503')
    r = bad.admin('POST', '/v1/sessions', body='{"user":"alice"}')
    t.eq(r.status, 503, 'and nothing is stored through it (503)')


h.run(main)
