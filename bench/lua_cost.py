#!/usr/bin/env python3
"""lua_cost.py - what one request's script costs inside Redis, measured
without wrk, the gateway or the upstream: a deterministic figure for
choosing between versions of lua/check.lua.

Starts its own redis-server (--save '' --appendonly no) on a free port,
loads the scripts, creates a session, then drives N requests in pipelined
batches of BATCH, each with the arguments the gateway would send:

  limits   lua/check.lua, the bench's sluice_limits plan (per_minute 1e8
           per 1m, per_hour 1e9 per 1h, in_flight 1000 concurrent), a
           sliding session, Redis's clock; then the slot's HDEL, as the
           gateway sends after the response
  auth     lua/check.lua, the session alone (sluice_auth)
  zset     bench/openresty/redis/zset.lua (nginx_lua_zset)
  session  bench/openresty/redis/session.lua (nginx_lua_session)

and prints, per request: usec_per_call of EVALSHA (INFO commandstats, the
script's whole run), commands per request, and redis-server's utime+stime
(/proc, 10 ms ticks) over the run.

  python3 bench/lua_cost.py [limits|auth|zset|session ...]   # N=200000 BATCH=50
  PERF=1 python3 bench/lua_cost.py limits   # perf record redis-server meanwhile
  CALLGRIND=/tmp/cg N=5000 python3 bench/lua_cost.py  # instructions per request
                                            # (redis-server under callgrind: deterministic)
"""
import os
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = int(os.environ.get('N', '200000'))
BATCH = int(os.environ.get('BATCH', '50'))
TICK = os.sysconf('SC_CLK_TCK')
CALLGRIND = os.environ.get('CALLGRIND')  # a directory: redis-server under callgrind, Ir/req


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def enc(*args):
    out = [b'*%d\r\n' % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b'$%d\r\n%s\r\n' % (len(a), a))
    return b''.join(out)


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(('127.0.0.1', port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b''

    def _line(self):
        while b'\r\n' not in self.buf:
            self.buf += self.s.recv(1 << 20)
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def reply(self):
        line = self._line()
        k, rest = line[:1], line[1:]
        if k == b'-':
            raise RuntimeError(rest.decode())
        if k in (b'+', b':'):
            return rest.decode() if k == b'+' else int(rest)
        if k == b'$':
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.s.recv(1 << 20)
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v.decode()
        n = int(rest)
        return None if n < 0 else [self.reply() for _ in range(n)]

    def call(self, *args):
        self.s.sendall(enc(*args))
        return self.reply()


def cpu_ticks(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[11]) + int(fields[12])


def commandstats(c):
    out = {}
    for line in c.call('INFO', 'commandstats').splitlines():
        if line.startswith('cmdstat_'):
            name, rest = line[8:].split(':', 1)
            kv = dict(x.split('=') for x in rest.split(','))
            out[name] = (int(kv['calls']), float(kv['usec']))
    return out


SID = 'sidbench0123456789'


INFLIGHT = 50  # as wrk -c50: a slot is released 50 requests after it was taken


def check_args(sha, plan, seq, now=None):
    """As src/policy/ratelimit.c sends them (now: a clock of our own, for
    the warm-up; else Redis's own for windows, the gateway's for a session)."""
    slot = 'gw1:0:%d' % seq
    keys = ['bench:{u:bench}:s:' + SID]
    if now is None:
        now = '' if plan else str(int(time.time() * 1000))
    args = [str(now), '1', '60000']
    if plan:
        keys += ['bench:{u:bench}:rl:bench']
        args += ['r', '100000000', '60000', '1000', 'per_minute',
                 'r', '1000000000', '3600000', '60000', 'per_hour',
                 'c', '1000', 'in_flight', slot]
    cmds = [enc('EVALSHA', sha, len(keys), *keys, *args)]
    if plan and seq > INFLIGHT:
        cmds.append(enc('HDEL', keys[1], 'in_flight:s:gw1:0:%d' % (seq - INFLIGHT)))
    return cmds


def warm_limits(c, sha):
    """The state of a bench run under way: every bucket of the minute
    window used (20 requests a second for the last 61 s), the hour's
    recent ones, INFLIGHT slots held."""
    real = int(time.time() * 1000)
    seq = 0
    for sec in range(61, 0, -1):
        for k in range(20):
            seq += 1
            for cmd in check_args(sha, True, seq, real - sec * 1000 + k):
                c.s.sendall(cmd)
                c.reply()
    return seq


ZSET_FILL = int(os.environ.get('ZSET_FILL', '150000'))


def warm_zset(c):
    """As in a bench run under way: ZSET_FILL entries over the last minute."""
    c.call('EVAL', """local now, n = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 1, n do
    local t = now - 60000 + math.floor(i * 60000 / n)
    redis.call('ZADD', KEYS[1], t, 'fill:' .. i)
end
redis.call('PEXPIRE', KEYS[1], 60000)""", 1, 'bench:{u:bench}:rl:per_minute', int(time.time() * 1000),
           ZSET_FILL)


def zset_args(sha, seq):
    now = int(time.time() * 1000)
    return [enc('EVALSHA', sha, 2, 'bench:{u:bench}:s:' + SID, 'bench:{u:bench}:rl:per_minute',
                3600000, now, 60000, 100000000, '%d:1:%d' % (now, seq))]


def session_args(sha, seq):
    return [enc('EVALSHA', sha, 1, 'bench:{u:bench}:s:' + SID, 3600000)]


def callgrind_total(pid, what):
    """Instructions since the last zeroing, from the dump callgrind_control
    -d just wrote (callgrind.out.PID.N, the newest)."""
    time.sleep(0.5)
    dumps = [os.path.join(CALLGRIND, f) for f in os.listdir(CALLGRIND)
             if f.startswith('callgrind.out.%d.' % pid)]
    newest = max(dumps, key=os.path.getmtime)
    with open(newest) as f:
        for line in f:
            if line.startswith('summary:') or line.startswith('totals:'):
                return int(line.split()[1])
    return 0


def load(c, path):
    with open(os.path.join(REPO, path)) as f:
        return c.call('SCRIPT', 'LOAD', f.read())


def measure(port, pid, what):
    c = Conn(port)
    c.call('FLUSHALL')
    c.call('HSET', 'bench:{u:bench}:s:' + SID, 'user', 'bench', 'plan', 'bench',
           'idle_ttl_ms', 3600000)
    c.call('PEXPIRE', 'bench:{u:bench}:s:' + SID, 3600000)
    if what in ('limits', 'auth'):
        sha = load(c, os.environ.get('CHECK', 'lua/check.lua'))
        make = lambda seq: check_args(sha, what == 'limits', seq)
        want = 1
    elif what == 'zset':
        sha = load(c, 'bench/openresty/redis/zset.lua')
        make = lambda seq: zset_args(sha, seq)
        want = 1
    elif what == 'noop':  # the floor: an EVALSHA that returns 1
        sha = c.call('SCRIPT', 'LOAD', 'return 1')
        make = lambda seq: session_args(sha, seq)
        want = 1
    else:
        sha = load(c, 'bench/openresty/redis/session.lua')
        make = lambda seq: session_args(sha, seq)
        want = 1
    # warm-up (buckets, slots, TTLs), then reset the counters
    seq = 0
    if what == 'limits':
        seq = warm_limits(c, sha)
    elif what == 'zset':
        warm_zset(c)
    for _ in range(200):
        seq += 1
        for cmd in make(seq):
            c.s.sendall(cmd)
            r = c.reply()
    first = r if not isinstance(r, list) else r[0]
    c.call('CONFIG', 'RESETSTAT')
    if CALLGRIND:
        subprocess.run(['callgrind_control', '-z', str(pid)], stdout=subprocess.DEVNULL, check=True)
    t0, cpu0 = time.monotonic(), cpu_ticks(pid)
    done = 0
    bad = 0
    while done < N:
        out, kinds = [], 0
        for _ in range(BATCH):
            seq += 1
            cmds = make(seq)
            out.extend(cmds)
            kinds = len(cmds)
        c.s.sendall(b''.join(out))
        for i in range(BATCH * kinds):
            r = c.reply()
            if i % kinds == 0:
                v = r[0] if isinstance(r, list) else r
                bad += v != want
        done += BATCH
    dt, cpu = time.monotonic() - t0, cpu_ticks(pid) - cpu0
    ir = 0
    if CALLGRIND:
        subprocess.run(['callgrind_control', '-d', what, str(pid)], stdout=subprocess.DEVNULL,
                       check=True)
        ir = callgrind_total(pid, what)
    st = commandstats(c)
    c.call('CONFIG', 'RESETSTAT')
    ev = st.get('evalsha', (1, 0))
    if what == 'limits':
        k = 'bench:{u:bench}:rl:bench'
        print('  limits hash: %d fields, encoding %s' % (c.call('HLEN', k),
                                                        c.call('OBJECT', 'ENCODING', k)))
    if what == 'zset':
        print('  zset: %d entries' % c.call('ZCARD', 'bench:{u:bench}:rl:per_minute'))
    cmds = sum(v[0] for k, v in st.items() if k not in ('config',)) / done
    per = ', '.join('%s %.2f' % (k, v[0] / done) for k, v in sorted(st.items())
                    if k not in ('config', 'info'))
    print('%-8s evalsha %6.2f us/call  redis cpu %6.2f us/req  Ir/req %6.0f  %5.2f cmds/req (%s)  %.0f req/s  wrong answers %d (first %r)'
          % (what, ev[1] / ev[0], cpu * 1e6 / TICK / done, ir / done, cmds, per, done / dt, bad, first))
    c.s.close()


def main():
    whats = sys.argv[1:] or ['limits', 'zset', 'auth', 'session']
    port = free_port()
    tmp = tempfile.mkdtemp(prefix='lua_cost.')
    pre = ['valgrind', '--tool=callgrind', '--callgrind-out-file=%s/callgrind.out.%%p' % CALLGRIND,
           ] if CALLGRIND else []
    srv = subprocess.Popen(pre + ['redis-server', '--bind', '127.0.0.1', '--port', str(port),
                            '--save', '', '--appendonly', 'no', '--dir', tmp],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    perf = None
    try:
        for _ in range(400):
            try:
                Conn(port).call('PING')
                break
            except OSError:
                time.sleep(0.05)
        if os.environ.get('PERF'):
            perf = subprocess.Popen(['perf', 'record', '-g', '-o', os.path.join(tmp, 'perf.data'),
                                     '-p', str(srv.pid)], stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        for what in whats:
            measure(port, srv.pid, what)
        if perf:
            perf.send_signal(2)
            perf.wait()
            print('perf data:', os.path.join(tmp, 'perf.data'))
    finally:
        srv.terminate()
        srv.wait()


if __name__ == '__main__':
    main()
