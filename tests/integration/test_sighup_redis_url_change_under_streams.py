#!/usr/bin/env python3
"""A SIGHUP that changes redis.url (issue 11, SPEC section 11): one sluice
(two workers, auth required and a plan of a window and a concurrency limit)
serves a steady load of authenticated requests and SSE streams while its
config goes from Redis A to Redis B, then from B to a three-master Redis
Cluster given as redis.url plus redis.nodes seeds. The sessions were copied
to B and to the cluster beforehand, as an operator moving Redis would.

After each reload: the new Redis receives the requests' commands (new
connections), the old one is left with no connection from sluice (its
connections drained and closed), no request failed, and every SSE stream
that was in flight across the reload delivered all of its events."""
import threading
import time

import harness as h
import sessions as s

EVENTS = 20
INTERVAL_MS = 100  # a stream lasts ~2 s: it spans the reload


def sluice_clients(node):
    """Connections to node other than redis-cli's own (its last command is
    CLIENT LIST) and than the one MIGRATE of copy_keys left open (Redis
    caches it for 10 s; its last command is RESTORE)."""
    lines = [x for x in node.cli('CLIENT', 'LIST').splitlines() if x]
    return [x for x in lines if ' cmd=client' not in x and ' cmd=restore' not in x]


def copy_keys(src, dst_nodes):
    """Copies every key of src to the dst node that owns its slot (or to the
    single dst)."""
    keys = [k for k in src.cli('--scan').splitlines() if k]
    for k in keys:
        dst = dst_nodes[0]
        if len(dst_nodes) > 1:
            dst = s.cluster_owner(dst_nodes, int(dst_nodes[0].cli('CLUSTER', 'KEYSLOT', k)))
        out = src.cli('MIGRATE', '127.0.0.1', dst.port, '', 0, 5000, 'COPY', 'REPLACE', 'KEYS', k)
        if out != 'OK':
            raise RuntimeError('MIGRATE %s: %s' % (k, out))
    return len(keys)


def evalsha_calls(nodes):
    return sum(x.commandstats().get('evalsha', 0) for x in nodes)


class Load:
    """Authenticated requests on keep-alive connections, and SSE streams
    started one after another, each read to its end."""

    def __init__(self, port, tokens):
        self.port, self.tokens = port, tokens
        self.results, self.streams = [], []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.requests, args=(i,)) for i in range(4)]
        self.threads += [threading.Thread(target=self.sse, args=(i,)) for i in range(3)]
        for th in self.threads:
            th.start()

    def requests(self, i):
        c = h.Client(self.port, timeout=10)
        n = i
        while not self.stop.is_set():
            tok = self.tokens[n % len(self.tokens)]
            n += 1
            try:
                st = c.fetch('GET', '/echo', s.bearer(tok)).status
            except Exception as e:  # noqa: BLE001 - a failed request is a result too
                st = repr(e)
                c.close()
                c = h.Client(self.port, timeout=10)
            self.results.append(st)
        c.close()

    def sse(self, i):
        while not self.stop.is_set():
            tok = self.tokens[i % len(self.tokens)]
            start = time.monotonic()
            try:
                with h.Client(self.port, timeout=10) as c:
                    r = c.fetch('GET', '/sse?events=%d&interval_ms=%d' % (EVENTS, INTERVAL_MS),
                                s.bearer(tok))
                    got = (r.status, r.body.count(b'data:'))
            except Exception as e:  # noqa: BLE001
                got = (repr(e), 0)
            self.streams.append((start, time.monotonic(), got))

    def finish(self):
        self.stop.set()
        for th in self.threads:
            th.join(15)


def spanning(streams, t_reload):
    """The streams that started before t_reload and ended after it."""
    return [g for a, b, g in streams if a < t_reload < b]


def main(t, env):
    mock = env.start_mock()
    a, b = s.Redis(env), s.Redis(env)
    cluster = s.start_cluster(env)
    kp = s.keygen(env)
    plans = {'free': {'limits': [{'name': 'per_minute', 'requests': 100000000, 'window': '1m'},
                                 {'name': 'in_flight', 'concurrent': 1000}]}}
    routes = [h.route('secure', '/echo', auth='required', plan='free'),
              h.route('stream', '/sse', auth='required', plan='free')]
    cfg = s.config(mock.port, a.port, [{'secret': kp['secret']}], routes=routes, plans=plans,
                   redis={'timeout': '1s'}, workers=2, log=False)
    gw = env.start_sluice(cfg)
    t.ok(s.wait_ready(gw), 'sluice is ready on Redis A')
    tokens = [s.token_for(gw, 'user%d' % i) for i in range(8)]
    n = copy_keys(a, [b])
    t.ok(n >= len(tokens), 'the sessions are copied to Redis B', n)
    copy_keys(a, cluster)

    load = Load(gw.port, tokens)
    time.sleep(1.0)
    b_before = evalsha_calls([b])

    # ---- A -> B
    cfg_b = dict(gw.cfg, redis=dict(gw.cfg['redis'], url='redis://127.0.0.1:%d/0' % b.port))
    gw.write_config(cfg_b)
    t_b = time.monotonic()
    gw.reload()
    t.ok(gw.proc.wait_line('stderr', r'configuration reloaded', 5.0) is not None,
         'the reload is logged')
    t.ok(h.poll(lambda: evalsha_calls([b]) > b_before + 50, 5.0),
         "Redis B runs the requests' scripts after the reload")
    t.ok(h.poll(lambda: sluice_clients(a) == [], 5.0),
         "Redis A is left with no connection from sluice (drained, closed)", sluice_clients(a))
    time.sleep(EVENTS * INTERVAL_MS / 1000.0 + 0.5)  # the streams that span it end
    cluster_before = evalsha_calls(cluster)

    # ---- B -> the cluster, given as a seed URL plus seeds
    cfg_c = dict(gw.cfg, redis=dict(gw.cfg['redis'],
                                    url='redis://127.0.0.1:%d/0' % cluster[0].port,
                                    nodes=['127.0.0.1:%d' % x.port for x in cluster[1:]]))
    gw.write_config(cfg_c)
    t_c = time.monotonic()
    gw.reload()
    t.ok(gw.proc.wait_line('stderr', r'is a cluster node: 3 masters', 5.0) is not None,
         'after the second reload sluice finds the cluster of three masters')
    t.ok(h.poll(lambda: all(x.commandstats().get('evalsha', 0) > 0 for x in cluster), 5.0),
         "every master runs the requests' scripts (the users spread over the slots)",
         [x.commandstats().get('evalsha', 0) for x in cluster])
    t.ok(evalsha_calls(cluster) > cluster_before, 'the cluster serves the requests')
    t.ok(h.poll(lambda: sluice_clients(b) == [], 5.0),
         'Redis B is left with no connection from sluice', sluice_clients(b))
    time.sleep(EVENTS * INTERVAL_MS / 1000.0 + 0.5)
    load.finish()

    bad = [x for x in load.results if x != 200]
    t.ok(len(load.results) >= 200, 'requests ran throughout', len(load.results))
    t.eq(bad, [], 'no request failed across both reloads (%d requests)' % len(load.results))
    for name, at in (('A -> B', t_b), ('B -> cluster', t_c)):
        span = spanning(load.streams, at)
        t.ok(len(span) >= 2, '%s: SSE streams were in flight during the reload' % name, len(span))
        t.eq([g for g in span if g != (200, EVENTS)], [],
             '%s: every stream in flight delivered all %d events' % (name, EVENTS))
    t.eq([g for _, _, g in load.streams if g != (200, EVENTS)], [], 'no stream failed at all')
    t.ok(gw.alive(), 'sluice is alive')


if __name__ == '__main__':
    h.run(main)
