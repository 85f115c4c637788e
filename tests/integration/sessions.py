"""
sessions.py - helpers for tests of sessions and tokens (SPEC sections 5, 8):
a redis-server that a test can kill and restart on its port, key pairs
from `sluice keygen`, a config with tokens and plans, sessions created
through the admin API, and Redis's own command counts.
"""

import json
import os
import shutil
import socket
import subprocess
import time
from datetime import datetime, timezone

import harness as h


class Redis:
    """A redis-server of this test's own, on a fixed port it keeps across
    restarts (so a restarted Redis is the same address for sluice)."""

    def __init__(self, env, extra_args=(), port=None, tls=None):
        """tls: {'cert': ..., 'key': ..., 'ca': ...} serves TLS only, on port."""
        self.env = env
        self.port = port or h.free_port()
        self.extra = list(extra_args)
        self.tls = tls
        self.proc = None
        self.start()

    def start(self, timeout=5.0):
        exe = shutil.which('redis-server')
        if not exe:
            raise RuntimeError('redis-server not found')
        ports = ['--port', str(self.port)]
        if self.tls:
            ports = ['--port', '0', '--tls-port', str(self.port), '--tls-cert-file',
                     self.tls['cert'], '--tls-key-file', self.tls['key'], '--tls-ca-cert-file',
                     self.tls['ca'], '--tls-auth-clients', 'no']
        self.proc = self.env._spawn('redis', [exe] + ports + [
            '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', self.env.tmp,
            '--dbfilename', 'dump-%d.rdb' % self.port, '--enable-debug-command', 'yes'] + self.extra)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.alive():
            if h.port_accepts(self.port):
                return
            time.sleep(0.02)
        raise RuntimeError('redis-server did not start on %d' % self.port)

    def kill(self):
        self.proc.stop(grace_s=0.5)
        h.poll(lambda: not h.port_accepts(self.port), 3.0)

    def cli(self, *args):
        """Runs redis-cli against this server; returns its stdout, stripped."""
        tls = ['--tls', '--cacert', self.tls['ca']] if self.tls else []
        r = subprocess.run(['redis-cli', '-p', str(self.port)] + tls + [str(a) for a in args],
                           capture_output=True, timeout=10, text=True)
        return r.stdout.strip()

    def key_ttls(self):
        """{key: PTTL in ms} for every key (redis-cli --scan): -1 is a key
        without a TTL, -2 one that expired in between."""
        keys = [k for k in self.cli('--scan').splitlines() if k]
        return {k: int(self.cli('PTTL', k) or -2) for k in keys}

    def commandstats(self):
        """{command: calls} from INFO commandstats."""
        out = {}
        for line in self.cli('INFO', 'commandstats').splitlines():
            if not line.startswith('cmdstat_'):
                continue
            name, rest = line[len('cmdstat_'):].split(':', 1)
            fields = dict(kv.split('=', 1) for kv in rest.split(','))
            out[name] = int(fields['calls'])
        return out

    def calls_since(self, before, exclude=('info', 'ping')):
        """Commands run since the stats `before` (INFO itself and PINGs aside)."""
        now = self.commandstats()
        return {k: v - before.get(k, 0) for k, v in now.items()
                if v - before.get(k, 0) > 0 and k not in exclude}


def keygen(env, local=False):
    """{'secret': 'k4.secret...', 'public': ..., 'pid': ...} from `sluice keygen`."""
    r = env.run_sluice(['keygen'] + (['--local'] if local else []))
    if r.returncode != 0:
        raise RuntimeError('sluice keygen failed: %s' % r.stderr)
    out = {}
    for line in r.stdout.decode().splitlines():
        k, v = line.split(':', 1)
        out[k.strip()] = v.strip()
    return out


def config(mock_port, redis_port, keys, routes=None, tokens=None, redis=None, plans=None, **kw):
    """h.default_config with redis, tokens (keys: list of {'secret': ...}) and
    plans (default: 'free' and 'pro' with a limit too large to count)."""
    if routes is None:
        routes = [h.route('secure', '/echo', auth='required'),
                  h.route('maybe', '/v1/models', auth='optional'),
                  h.route('open', '/small')]
    cfg = h.default_config(mock_port, redis_port=redis_port, routes=routes, **kw)
    t = {'keys': keys}
    t.update(tokens or {})
    cfg['tokens'] = t
    if redis:
        cfg['redis'] = dict(cfg['redis'], **redis)
    cfg['plans'] = plans or {'free': {'limits': [{'name': 'per_minute', 'requests': 1000000,
                                         'window': '1m'}]},
                    'pro': {'limits': [{'name': 'per_minute', 'requests': 1000000,
                                        'window': '1m'}]}}
    return cfg


def create_session(gw, user='alice', plan=None, ttl=None):
    """POST /v1/sessions; returns (response, parsed JSON or None)."""
    body = {'user': user}
    if plan is not None:
        body['plan'] = plan
    if ttl is not None:
        body['ttl'] = ttl
    import json
    r = gw.admin('POST', '/v1/sessions', body=json.dumps(body),)
    return r, h.json_body(r)


def token_for(gw, user='alice', **kw):
    r, j = create_session(gw, user, **kw)
    if r.status != 201 or not j or 'token' not in j:
        raise RuntimeError('session creation failed: %d %r' % (r.status, r.body[:300]))
    return j['token']


def retry_after_and_t(r):
    """(Retry-After, the t of the RateLimit field) of a response; Retry-After
    is its list of values unless there is exactly one. SPEC section 6: a
    429's Retry-After is whole seconds, never earlier than t."""
    import re
    ra = r.header_all('retry-after')
    m = re.search(r';t=(\d+)', r.header('ratelimit', ''))
    return (int(ra[0]) if len(ra) == 1 and ra[0].isdigit() else ra,
            int(m.group(1)) if m else None)


def rfc3339(ts):
    """A Unix time as a PASETO exp/iat/nbf claim."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def node_sign(secret, payload, footer):
    """A v4.public token signed by the npm paseto package (an independent
    implementation), for claims sluice's own minting never makes."""
    p = h.node_paseto(['sign', secret, json.dumps(payload), json.dumps(footer)])
    if p.returncode != 0:
        raise RuntimeError('node sign failed: %s' % p.stderr.decode())
    return p.stdout.decode().strip()


def bearer(token):
    return [('Authorization', 'Bearer ' + token)]


def wait_ready(gw, timeout=5.0):
    """Until /readyz says Redis is up (sluice connected and loaded its scripts)."""
    def ready():
        r = h.get(gw.admin_port, '/readyz')
        j = h.json_body(r) or {}
        return (j.get('redis') or {}).get('status') == 'up'
    return h.poll(ready, timeout)


class Gateway:
    """The usual scene of a session test: the mock, a Redis of its own, a key
    pair, and one sluice with an `auth: required` route /echo, ready."""

    def __init__(self, env, **config_kw):
        self.mock = env.start_mock()
        self.redis = Redis(env)
        self.kp = keygen(env)
        config_kw.setdefault('routes', [h.route('secure', '/echo', auth='required')])
        self.cfg = config(self.mock.port, self.redis.port, [{'secret': self.kp['secret']}],
                          **config_kw)
        self.gw = env.start_sluice(self.cfg)
        wait_ready(self.gw)


# ---- Redis Cluster


def make_certs(d):
    """A throwaway CA (ca.crt), another (other.crt), and server.crt/key for
    localhost and 127.0.0.1 signed by the first, in d."""
    ec = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'
    script = (
        "cd %s && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext && "
        "openssl req -x509 %s -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca && "
        "openssl req -x509 %s -keyout other.key -out other.crt -days 2 -subj /CN=other-ca && "
        "openssl req %s -keyout server.key -out server.csr -subj /CN=localhost && "
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
        "-out server.crt -days 2 -extfile san.ext") % (d, ec, ec, ec)
    subprocess.run(script, shell=True, check=True, capture_output=True, timeout=30)


def start_cluster(env, n=3, extra_args=()):
    """n redis-servers (Redis objects) made one cluster of n masters by
    redis-cli --cluster create, once every node says cluster_state:ok."""
    nodes = []
    for _ in range(n):
        port, bus = h.free_port(), h.free_port()
        nodes.append(Redis(env, port=port, extra_args=[
            '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes-%d.conf' % port,
            '--cluster-port', str(bus), '--cluster-node-timeout', '5000'] + list(extra_args)))
    r = subprocess.run(['redis-cli', '--cluster', 'create'] +
                       ['127.0.0.1:%d' % x.port for x in nodes] +
                       ['--cluster-replicas', '0', '--cluster-yes'],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError('cluster create failed: %s %s' % (r.stdout, r.stderr))

    def ok():
        infos = [x.cli('CLUSTER', 'INFO') for x in nodes]
        return all('cluster_state:ok' in i and 'cluster_known_nodes:%d' % n in i and
                   'cluster_slots_ok:16384' in i for i in infos)
    if not h.poll(ok, 10.0):
        raise RuntimeError('cluster_state never ok')
    return nodes


def cluster_node_id(node):
    return node.cli('CLUSTER', 'MYID')


def cluster_owner(nodes, slot):
    """The node that serves slot (CLUSTER NODES of the first: 'myself' rows)."""
    for x in nodes:
        for line in x.cli('CLUSTER', 'NODES').splitlines():
            f = line.split()
            if 'myself' not in f[2]:
                continue
            for r in f[8:]:
                if r.startswith('['):
                    continue
                lo, _, hi = r.partition('-')
                if int(lo) <= slot <= int(hi or lo):
                    return x
    return None


def cluster_owner_auth(nodes, auth, key):
    """The port of the master that serves key's slot, asking with redis-cli
    options auth (an ACL user on a cluster with no default user)."""
    slot = int(nodes[0].cli(*auth, 'CLUSTER', 'KEYSLOT', key))
    for line in nodes[0].cli(*auth, 'CLUSTER', 'NODES').splitlines():
        f = line.split()
        if 'master' not in f[2]:
            continue
        for rng in f[8:]:
            lo, _, hi = rng.partition('-')
            if not rng.startswith('[') and int(lo) <= slot <= int(hi or lo):
                return f[1].split('@')[0]
    return None

