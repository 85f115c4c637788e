#!/usr/bin/env python3
"""On a Redis Cluster, a gateway whose redis.url node dies still hears the
other gateways' purges (issue 11 item 3, a fleet that agrees; issue 10's
pub/sub invalidation): a PUBLISH on any cluster node reaches the
subscribers of every node, so the gateway's subscriber moves to another
master of the slot map instead of waiting for the dead one. Gateway B
names the victim in redis.url; the route's keys live on another master;
after the victim is killed, B's subscriber is on a live master and a purge
on gateway A makes B answer a miss 150 ms later, where its hot copy would
otherwise be trusted for a second."""
import json
import time

import harness as h
import sessions as s


def numsub(node):
    return int(node.cli('PUBSUB', 'NUMSUB', 'sluice:cache:forget').split()[-1])


def main(t, env):
    nodes = s.start_cluster(env, extra_args=['--cluster-require-full-coverage', 'no'])
    victim, rest = nodes[0], nodes[1:]
    route = next(name for name in ('cached%d' % i for i in range(64))
                 if s.cluster_owner(nodes, int(victim.cli('CLUSTER', 'KEYSLOT', '{c:%s}' % name)))
                 .port != victim.port)
    mock = env.start_mock()
    routes = [h.route(route, '/counted', auth='none', cache={'ttl': '60s'})]
    a = env.start_sluice(h.default_config(mock.port, redis_port=rest[0].port, routes=routes))
    b = env.start_sluice(h.default_config(mock.port, redis_port=victim.port, routes=routes))
    for gw in (a, b):
        t.ok(s.wait_ready(gw, 10.0), 'gateway is ready on the cluster')
    t.ok(h.poll(lambda: numsub(victim) == 1 and numsub(rest[0]) == 1, 5),
         "each gateway subscribes on its redis.url node", [numsub(x) for x in nodes])

    victim.kill()
    t.ok(h.poll(lambda: sum(numsub(x) for x in rest) == 2, 5),
         "B's subscriber moves to a live master", [numsub(x) for x in rest])

    path = '/counted?k=after-death'
    first = h.get(b.port, path)
    t.eq(first.header('x-cache'), 'MISS', 'first request on B is a miss')
    t.ok(h.poll(lambda: h.get(b.port, path).header('x-cache') == 'HIT', 3), 'then a hit on B')
    old = (h.json_body(first) or {}).get('counted')
    r = a.admin('POST', '/v1/cache/purge', body=json.dumps({'route': route, 'path': path}))
    t.eq(r.status, 200, 'purge on gateway A')
    time.sleep(0.15)
    r = h.get(b.port, path)
    t.eq(r.header('x-cache'), 'MISS', 'gateway B answers a miss 150 ms after the purge')
    t.ok((h.json_body(r) or {}).get('counted') != old, 'with a new upstream answer',
         (old, (h.json_body(r) or {}).get('counted')))


if __name__ == '__main__':
    h.run(main)
