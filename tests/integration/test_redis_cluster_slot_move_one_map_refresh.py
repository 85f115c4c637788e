#!/usr/bin/env python3
"""The MOVED cost of a slot migration (issue 11): two sluice processes (one
worker each) on a three-master Redis Cluster serve a load of many users
while one user's slot moves to another master and then back, each move
done in redis-cli --cluster reshard's order (SETSLOT IMPORTING on the
target, MIGRATING on the source, MIGRATE of the keys, SETSLOT NODE on the
target, then the source, then the third master). Every request succeeds,
the source answers -ASK and then -MOVED, and each gateway's worker reads
the slot map again exactly once per move:
sluice_redis_slot_map_refreshes_total{client="worker 0"} goes up by 1 per
move on each gateway (the MOVEDs of commands already sent when the first
one came back cost no read), and the admin's client, which sends nothing
to that slot, reads it 0 times."""
import re
import threading
import time

import harness as h
import sessions as s


def errorstats(node):
    out = {}
    for line in node.cli('INFO', 'errorstats').splitlines():
        if line.startswith('errorstat_'):
            name, rest = line[len('errorstat_'):].split(':', 1)
            out[name] = int(rest.split('=', 1)[1])
    return out


def refreshes(gw):
    """{client: count} of sluice_redis_slot_map_refreshes_total on gw's /metrics."""
    r = h.get(gw.admin_port, '/metrics')
    out = {}
    for m in re.finditer(r'^sluice_redis_slot_map_refreshes_total\{client="([^"]*)"\} (\d+)$',
                         r.body.decode(), re.M):
        out[m.group(1)] = int(m.group(2))
    return out


def move_slot(t, nodes, slot, src, dst):
    """Moves slot from src to dst as redis-cli --cluster reshard does."""
    src_id, dst_id = s.cluster_node_id(src), s.cluster_node_id(dst)
    t.eq(dst.cli('CLUSTER', 'SETSLOT', slot, 'IMPORTING', src_id), 'OK', 'IMPORTING on the target')
    t.eq(src.cli('CLUSTER', 'SETSLOT', slot, 'MIGRATING', dst_id), 'OK', 'MIGRATING on the source')
    time.sleep(0.2)  # requests meet a migrating slot, every key still at the source
    moved = 0
    for _ in range(50):
        keys = [k for k in src.cli('CLUSTER', 'GETKEYSINSLOT', slot, 2).splitlines() if k]
        if not keys:
            break
        if src.cli('MIGRATE', '127.0.0.1', dst.port, '', 0, 5000, 'REPLACE', 'KEYS', *keys) == 'OK':
            moved += len(keys)
        time.sleep(0.05)  # requests meet keys split between the two (-ASK, -TRYAGAIN)
    t.ok(moved > 0, 'keys migrated', moved)
    time.sleep(0.1)
    third = [x for x in nodes if x.port not in (src.port, dst.port)]
    for x in [dst, src] + third:
        t.eq(x.cli('CLUSTER', 'SETSLOT', slot, 'NODE', dst_id), 'OK',
             'SETSLOT NODE on %d' % x.port)
    time.sleep(0.5)  # requests meet the changed map (-MOVED)


def main(t, env):
    nodes = s.start_cluster(env)
    mock = env.start_mock()
    kp = s.keygen(env)
    plans = {'free': {'limits': [{'name': 'per_minute', 'requests': 100000000, 'window': '1m'},
                                 {'name': 'in_flight', 'concurrent': 1000}]}}
    cfg = s.config(mock.port, nodes[0].port, [{'secret': kp['secret']}],
                   routes=[h.route('secure', '/echo', auth='required', plan='free')],
                   plans=plans, redis={'timeout': '1s'}, log=False)
    gws = [env.start_sluice(cfg), env.start_sluice(cfg, name='sluice-b.yaml')]
    for i, gw in enumerate(gws):
        t.ok(s.wait_ready(gw, 10.0), 'gateway %d is ready on the cluster' % i)

    users = ['user%d' % i for i in range(20)]
    tokens = {u: s.token_for(gws[0], u) for u in users}
    mover = users[0]
    slot = int(nodes[0].cli('CLUSTER', 'KEYSLOT', '{u:%s}' % mover))
    src = s.cluster_owner(nodes, slot)
    dst = next(x for x in nodes if x.port != src.port)

    results = []
    mover_ok = [0, 0]
    stop = threading.Event()

    def traffic(gi, who):
        c = h.Client(gws[gi].port, timeout=10)
        n = 0
        while not stop.is_set():
            u = mover if who == 'mover' else users[1 + n % (len(users) - 1)]
            n += 1
            try:
                st = c.fetch('GET', '/echo', s.bearer(tokens[u])).status
            except Exception as e:  # noqa: BLE001 - a failed request is a result too
                st = repr(e)
                c.close()
                c = h.Client(gws[gi].port, timeout=10)
            results.append(st)
            if who == 'mover' and st == 200:
                mover_ok[gi] += 1
        c.close()

    threads = [threading.Thread(target=traffic, args=(gi, who))
               for gi in (0, 1) for who in ('mover', 'mover', 'others')]
    for th in threads:
        th.start()
    time.sleep(0.3)
    before = [refreshes(gw) for gw in gws]
    t.eq([b.get('worker 0', 0) for b in before], [0, 0], 'no slot map refresh before any move')
    src_errs0 = errorstats(src)

    move_slot(t, nodes, slot, src, dst)
    after1 = [refreshes(gw) for gw in gws]
    src_errs1 = errorstats(src)
    ok_after1 = list(mover_ok)
    move_slot(t, nodes, slot, dst, src)
    after2 = [refreshes(gw) for gw in gws]
    stop.set()
    for th in threads:
        th.join(10)

    t.ok(len(results) >= 200, 'requests ran throughout', len(results))
    bad = [x for x in results if x != 200]
    t.eq(bad, [], 'no request failed while the slot moved twice (%d requests)' % len(results))
    t.ok(all(n > 0 for n in ok_after1) and all(mover_ok[i] > ok_after1[i] for i in (0, 1)),
         "both gateways served the moving user's requests during both moves",
         (ok_after1, mover_ok))
    t.ok(src_errs1.get('ASK', 0) > src_errs0.get('ASK', 0), 'the source answered -ASK during the move',
         src_errs1)
    t.ok(src_errs1.get('MOVED', 0) > src_errs0.get('MOVED', 0),
         'the source answered -MOVED after it', src_errs1)
    for i in (0, 1):
        t.eq(after1[i].get('worker 0', 0) - before[i].get('worker 0', 0), 1,
             'gateway %d: one slot map read for the first move' % i, after1[i])
        t.eq(after2[i].get('worker 0', 0) - after1[i].get('worker 0', 0), 1,
             'gateway %d: one slot map read for the move back' % i, after2[i])
        t.eq(after2[i].get('admin', 0), 0,
             "gateway %d: the admin's client, idle on that slot, read it none" % i, after2[i])
    t.eq(s.cluster_owner(nodes, slot).port, src.port, 'the slot is back on its first master')
    statuses = [h.get(gws[1].port, '/echo', s.bearer(tokens[u])).status for u in users]
    t.eq(statuses, [200] * len(users), 'afterwards every user is served')


if __name__ == '__main__':
    h.run(main)
