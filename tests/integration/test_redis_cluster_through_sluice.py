#!/usr/bin/env python3
"""sluice in front of a three-master Redis Cluster, redis.url naming one
node: it finds the cluster at connect, sends each user's commands to the
master of their hash tag's slot, so sessions, limits (exact at their
amount) and revocation work as on one Redis; then one user's slot moves to
another master (SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE) while
requests run, and none fails: sluice follows -ASK, -TRYAGAIN and -MOVED."""
import threading
import time

import harness as h
import sessions as s


def errorstats(node):
    """{'ASK': n, 'MOVED': n, ...}: error replies the node gave (INFO errorstats)."""
    out = {}
    for line in node.cli('INFO', 'errorstats').splitlines():
        if line.startswith('errorstat_'):
            name, rest = line[len('errorstat_'):].split(':', 1)
            out[name] = int(rest.split('=', 1)[1])
    return out


def slot_map_reads(nodes):
    return sum(x.commandstats().get('cluster|slots', 0) for x in nodes)


def main(t, env):
    nodes = s.start_cluster(env)
    mock = env.start_mock()
    kp = s.keygen(env)
    plans = {'free': {'limits': [{'name': 'per_minute', 'requests': 1000000, 'window': '1m'}]},
             'pro': {'limits': [{'name': 'per_minute', 'requests': 1000000, 'window': '1m'}]},
             'tight': {'limits': [{'name': 'per_minute', 'requests': 5, 'window': '1m'}]}}
    cfg = s.config(mock.port, nodes[0].port, [{'secret': kp['secret']}],
                   routes=[h.route('secure', '/echo', auth='required')], plans=plans,
                   redis={'timeout': '1s'})
    gw = env.start_sluice(cfg)
    t.ok(s.wait_ready(gw, 10.0), 'sluice is ready on the cluster (every master connected)')
    t.ok(gw.proc.wait_line('stderr', r'is a cluster node: 3 masters', 5.0) is not None,
         'sluice logs that it found a cluster of three masters', gw.proc.text('stderr')[-2000:])

    users = ['user%d' % i for i in range(30)]
    tokens = {}
    for u in users:
        r, j = s.create_session(gw, u)
        if r.status == 201 and j and 'token' in j:
            tokens[u] = j['token']
    t.eq(len(tokens), len(users), 'a session is created for each of %d users' % len(users))

    slots = {u: int(nodes[0].cli('CLUSTER', 'KEYSLOT', '{u:%s}' % u)) for u in users}
    where = {u: s.cluster_owner(nodes, slots[u]) for u in users}
    t.eq(len({x.port for x in where.values() if x}), 3, 'the users hash to all three masters')
    sizes = [int(x.cli('DBSIZE') or 0) for x in nodes]
    t.ok(all(n > 0 for n in sizes), 'every master holds session keys', sizes)
    for u in users[:5]:
        n = int(where[u].cli('CLUSTER', 'COUNTKEYSINSLOT', slots[u]) or 0)
        t.ok(n > 0, "%s's keys are on the master of slot %d" % (u, slots[u]), n)

    statuses = [h.get(gw.port, '/echo', s.bearer(tokens[u])).status for u in users]
    t.eq(statuses, [200] * len(users), 'an authenticated request succeeds for every user')

    tight = s.token_for(gw, 'tight-user', plan='tight')
    got = [h.get(gw.port, '/echo', s.bearer(tight)).status for _ in range(7)]
    t.eq(got, [200] * 5 + [429] * 2, 'a limit of 5 admits exactly 5, then refuses')

    r, j = s.create_session(gw, 'revoked-user')
    tok, sid = j['token'], j['session_id']
    t.eq(h.get(gw.port, '/echo', s.bearer(tok)).status, 200, 'valid before revocation')
    r = gw.admin('DELETE', '/v1/users/revoked-user/sessions/' + sid)
    t.eq(r.status, 204, 'revoke: 204')
    t.eq(h.get(gw.port, '/echo', s.bearer(tok)).status, 401, 'refused after revocation')

    # ---- move one user's slot to another master under traffic
    mover = users[0]
    slot = slots[mover]
    src = where[mover]
    dst = next(x for x in nodes if x.port != src.port)
    results = []
    stop = threading.Event()

    def traffic():
        while not stop.is_set():
            try:
                results.append(h.get(gw.port, '/echo', s.bearer(tokens[mover])).status)
            except Exception as e:  # a failed request is a result too
                results.append(repr(e))

    reads_before = slot_map_reads(nodes)
    th = threading.Thread(target=traffic)
    th.start()
    time.sleep(0.2)
    before = len(results)
    src_id, dst_id = s.cluster_node_id(src), s.cluster_node_id(dst)
    t.eq(dst.cli('CLUSTER', 'SETSLOT', slot, 'IMPORTING', src_id), 'OK', 'IMPORTING')
    t.eq(src.cli('CLUSTER', 'SETSLOT', slot, 'MIGRATING', dst_id), 'OK', 'MIGRATING')
    time.sleep(0.2)  # requests now meet a migrating slot with every key still at the source
    moved = 0
    for _ in range(50):
        keys = [k for k in src.cli('CLUSTER', 'GETKEYSINSLOT', slot, 1000).splitlines() if k]
        if not keys:
            break
        out = src.cli('MIGRATE', '127.0.0.1', dst.port, '', 0, 5000, 'REPLACE', 'KEYS', *keys)
        if out in ('OK', 'NOKEY'):
            moved += len(keys)
        time.sleep(0.05)  # requests now meet keys split between the two
    t.ok(moved > 0, 'keys migrated', moved)
    time.sleep(0.2)
    for x in nodes:
        x.cli('CLUSTER', 'SETSLOT', slot, 'NODE', dst_id)
    time.sleep(0.3)  # and then a slot map that changed under them (MOVED)
    stop.set()
    th.join(10)
    during = results[before:]
    t.ok(len(during) >= 20, 'requests ran during the migration', len(during))
    errs = errorstats(src)
    t.ok(errs.get('ASK', 0) > 0, 'the source answered -ASK (sluice sent ASKING to the target)',
         errs)
    t.ok(dst.commandstats().get('asking', 0) > 0, 'the target saw ASKING')
    t.ok(errs.get('MOVED', 0) > 0, 'the source answered -MOVED after the slot moved', errs)
    t.diag('source errors: %r; target errors: %r' % (errs, errorstats(dst)))
    reads = slot_map_reads(nodes) - reads_before
    t.ok(1 <= reads <= 3, 'the slot map was read again once per change, not per request', reads)
    bad = [x for x in results if x != 200]
    t.eq(bad, [], 'no request failed while the slot moved (%d requests)' % len(results))
    t.ok(int(dst.cli('CLUSTER', 'COUNTKEYSINSLOT', slot) or 0) > 0 and
         int(src.cli('CLUSTER', 'COUNTKEYSINSLOT', slot) or 0) == 0,
         "the user's keys are on the new master")
    statuses = [h.get(gw.port, '/echo', s.bearer(tokens[u])).status for u in users]
    t.eq(statuses, [200] * len(users), 'afterwards every user is still served')
    r = gw.admin('DELETE', '/v1/users/%s/sessions' % mover)
    t.eq(r.status, 204, "revoking the moved user's sessions: 204")
    t.eq(h.get(gw.port, '/echo', s.bearer(tokens[mover])).status, 401,
         'and the revocation is seen on the new master')


if __name__ == '__main__':
    h.run(main)
