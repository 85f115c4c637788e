#!/usr/bin/env python3
"""TLS and ACL credentials work on a Redis Cluster too (issue 11 item 1),
and auth, limits, the cache and Idempotency-Key run through it (its CI
list): three masters that speak TLS only (the cluster bus too), whose
default user is off and whose one user is `gw`; sluice names one node as
rediss://gw:...@localhost, verifies every node's certificate against a
throwaway CA, reaches the other masters by the addresses the slot map
gives, with the same credentials, and serves: sessions of users spread
over the three masters, a limit exact at its amount, a cache miss then a
hit, a replayed Idempotency-Key. Every master then has a client
authenticated as gw."""
import json
import os
import subprocess

import harness as h
import sessions as s

AUTH = ['--user', 'gw', '--pass', 'gwpass', '--no-auth-warning']


def main(t, env):
    s.make_certs(env.tmp)
    crt = lambda n: os.path.join(env.tmp, n)  # noqa: E731
    tls = {'cert': crt('server.crt'), 'key': crt('server.key'), 'ca': crt('ca.crt')}
    nodes = []
    for _ in range(3):
        port, bus = h.free_port(), h.free_port()
        nodes.append(s.Redis(env, port=port, tls=tls, extra_args=[
            '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes-%d.conf' % port,
            '--cluster-port', str(bus), '--cluster-node-timeout', '5000',
            '--tls-cluster', 'yes', '--user', 'gw', 'on', '>gwpass', '~*', '&*', '+@all',
            '--user', 'default', 'off']))
    r = subprocess.run(['redis-cli', '--tls', '--cacert', crt('ca.crt')] + AUTH +
                       ['--cluster', 'create'] + ['127.0.0.1:%d' % x.port for x in nodes] +
                       ['--cluster-replicas', '0', '--cluster-yes'],
                       capture_output=True, text=True, timeout=30)
    t.eq(r.returncode, 0, 'a TLS cluster with an ACL user is made', r.stdout[-300:] + r.stderr)
    t.ok(h.poll(lambda: all('cluster_state:ok' in x.cli(*AUTH, 'CLUSTER', 'INFO') for x in nodes),
                10), 'cluster_state:ok on every node')
    t.eq(nodes[0].cli('PING'), 'NOAUTH Authentication required.', 'no default user to fall back on')

    mock = env.start_mock()
    kp = s.keygen(env)
    plans = {'free': {'limits': [{'name': 'per_minute', 'requests': 3, 'window': '1m'}]},
             'pro': {'limits': [{'name': 'per_minute', 'requests': 1000000, 'window': '1m'}]}}
    routes = [h.route('secure', '/echo', auth='required'),
              h.route('counted', '/counted', auth='required', idempotency=True,
                      methods=['GET', 'POST']),
              h.route('cached', '/small', auth='none', cache={'ttl': '60s'})]
    cfg = s.config(mock.port, None, [{'secret': kp['secret']}], routes=routes, plans=plans)
    cfg['redis'] = {'url': 'rediss://gw:gwpass@localhost:%d/0' % nodes[0].port,
                    'timeout': '500ms', 'tls': {'ca_file': crt('ca.crt')}}
    gw = env.start_sluice(cfg)
    t.ok(s.wait_ready(gw, 10.0), 'sluice is ready on the TLS cluster')

    users = ['user%d' % i for i in range(12)]
    owners = {s.cluster_owner_auth(nodes, AUTH, '{u:%s}' % u) for u in users}
    t.eq(len(owners), 3, 'the users live on all three masters', owners)
    tokens = {u: s.token_for(gw, u, plan='pro') for u in users}
    statuses = [h.get(gw.port, '/echo', s.bearer(tokens[u])).status for u in users]
    t.eq(statuses, [200] * len(users), 'every user is served through their own master')

    limited = s.bearer(s.token_for(gw, 'limited', plan='free'))
    got = [h.get(gw.port, '/echo', limited).status for _ in range(4)]
    t.eq(got, [200, 200, 200, 429], 'a limit of 3 admits exactly 3')

    t.eq(h.get(gw.port, '/small').header('x-cache'), 'MISS', 'cache: a miss first')
    t.ok(h.poll(lambda: h.get(gw.port, '/small').header('x-cache') == 'HIT', 3), 'then a hit')

    tok = s.bearer(tokens['user0'])
    post = lambda: h.fetch(gw.port, 'POST', '/counted', tok + [('Idempotency-Key', 'k-1'),  # noqa
                                                               ('Content-Type', 'application/json')],
                           b'{"q":1}')
    first, again = post(), post()
    t.eq((first.status, again.status), (200, 200), 'Idempotency-Key: both answered')
    t.eq(again.header('idempotent-replayed'), 'true', 'the second is the replay')
    t.eq(again.body, first.body, 'of the same answer')

    for x in nodes:
        clients = x.cli(*AUTH, 'CLIENT', 'LIST')
        t.ok('user=gw' in clients and 'user=default' not in clients,
             'master %d: sluice is connected as gw' % x.port)
    r = gw.admin('POST', '/v1/cache/purge', body=json.dumps({'route': 'cached'}))
    t.eq(r.status, 200, 'a purge runs on the cluster')
    t.eq(h.get(gw.port, '/small').header('x-cache'), 'MISS', 'and the next request is a miss')


if __name__ == '__main__':
    h.run(main)
