#!/usr/bin/env python3
"""redis.nodes seeds: when redis.url's node is down at start, sluice finds
the Redis Cluster through a seed (CLUSTER SLOTS at its connect), connects
to every master and serves sessions; the config check accepts the list and
names a bad item by position."""
import harness as h
import sessions as s


def main(t, env):
    nodes = s.start_cluster(env)
    mock = env.start_mock()
    kp = s.keygen(env)
    dead = h.free_port()  # nothing listens there
    cfg = s.config(mock.port, dead, [{'secret': kp['secret']}],
                   routes=[h.route('secure', '/echo', auth='required')],
                   redis={'nodes': ['127.0.0.1:%d' % nodes[1].port,
                                    '127.0.0.1:%d' % nodes[2].port]})
    gw = env.start_sluice(cfg)
    t.ok(s.wait_ready(gw, 10.0), "ready through a seed, redis.url's node being down")
    t.ok(gw.proc.wait_line('stderr', r'is a cluster node: \d+ masters', 5.0) is not None,
         'sluice found the cluster from a seed')
    users = ['user%d' % i for i in range(12)]
    tokens = {u: s.token_for(gw, u) for u in users}
    where = {s.cluster_owner(nodes, int(nodes[0].cli('CLUSTER', 'KEYSLOT', '{u:%s}' % u))).port
             for u in users}
    t.eq(len(where), 3, 'the users live on all three masters')
    statuses = [h.get(gw.port, '/echo', s.bearer(tokens[u])).status for u in users]
    t.eq(statuses, [200] * len(users), 'every user is served')

    bad = dict(cfg, redis=dict(cfg['redis'], nodes=['127.0.0.1:1', '127.0.0.1:99999']))
    path = env.write('bad.yaml', h.to_yaml(dict(bad, listen='127.0.0.1:1')))
    r = env.run_sluice(['-t', '-c', path])
    err = r.stderr.decode()
    t.ok(r.returncode != 0 and "redis.nodes[1]: bad host:port '127.0.0.1:99999'" in err,
         'sluice -t names the bad seed', err)


if __name__ == '__main__':
    h.run(main)
