#!/usr/bin/env python3
"""On a Redis Cluster, a master that goes away fails only the requests
whose keys it holds, each once and at once (503 with on_error: closed,
never a hang), while users on the other masters are served; when it
comes back on its port sluice reconnects to it by itself and its users
are served again."""
import time

import harness as h
import sessions as s


def main(t, env):
    # without full coverage the other masters keep serving their slots
    nodes = s.start_cluster(env, extra_args=['--cluster-require-full-coverage', 'no'])
    mock = env.start_mock()
    kp = s.keygen(env)
    cfg = s.config(mock.port, nodes[0].port, [{'secret': kp['secret']}],
                   routes=[h.route('secure', '/echo', auth='required')],
                   redis={'timeout': '500ms'})
    gw = env.start_sluice(cfg)
    t.ok(s.wait_ready(gw, 10.0), 'sluice is ready on the cluster')

    users = ['user%d' % i for i in range(24)]
    tokens = {u: s.token_for(gw, u) for u in users}
    where = {u: s.cluster_owner(nodes, int(nodes[0].cli('CLUSTER', 'KEYSLOT', '{u:%s}' % u)))
             for u in users}
    # the victim is not redis.url's node: the health PING and the admin API
    # keep a ready node to go to
    victim = nodes[2]
    lost = [u for u in users if where[u].port == victim.port]
    kept = [u for u in users if where[u].port != victim.port]
    t.ok(lost and kept, 'users on the victim and on the others', (len(lost), len(kept)))

    victim.kill()
    for u in lost[:3]:
        start = time.monotonic()
        r = h.get(gw.port, '/echo', s.bearer(tokens[u]))
        took = time.monotonic() - start
        t.eq(r.status, 503, '%s (on the dead master) is refused: 503' % u)
        t.ok(took < 1.5, 'at once, not after a hang', took)
    statuses = [h.get(gw.port, '/echo', s.bearer(tokens[u])).status for u in kept]
    t.eq(statuses, [200] * len(kept), 'users on the other masters are served')

    victim.start()
    # its data is gone (no persistence): new sessions for its users, once
    # sluice is connected to it again
    def back():
        r, j = s.create_session(gw, lost[0])
        return r.status == 201 and h.get(gw.port, '/echo', s.bearer(j['token'])).status == 200
    t.ok(h.poll(back, 15.0, interval=0.2), 'after the restart sluice reconnects and serves its users')
    statuses = [h.get(gw.port, '/echo', s.bearer(tokens[u])).status for u in kept]
    t.eq(statuses, [200] * len(kept), 'and the others still')


if __name__ == '__main__':
    h.run(main)
