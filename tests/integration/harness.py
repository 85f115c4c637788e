"""
harness.py - shared helpers for sluice integration tests.

Each scenario is one script (relayd regress style):

    client (raw socket) --> sluice -c <inline config> --> mock_llm
                                 \--> redis-server (optional)

A test file looks like:

    import harness as h

    def main(t, env):
        mock = env.start_mock()
        gw = env.start_sluice(h.default_config(mock.port))
        r = h.get(gw.port, '/small')
        t.eq(r.status, 200, 'GET /small is proxied')

    h.run(main)

run() parses --sluice/--mock (or SLUICE_BIN/MOCK_LLM_BIN), prints TAP, kills
every process it started (also on exceptions, SIGTERM and a watchdog), and
exits 1 when any check failed. Every socket has a timeout, so nothing waits
forever. Ports come from binding port 0; files live in a private temp dir,
so tests can run in parallel.
"""

import argparse
import copy
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
WATCHDOG_S = 50          # meson's timeout is 60 s: clean up before it kills us
DEFAULT_TIMEOUT_S = 5.0  # every socket operation is bounded by this
SANITIZER_RE = r'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error: |SUMMARY: \w+Sanitizer'
REQUEST_ID_RE = re.compile(r'^[A-Za-z0-9._-]{1,128}$')


# --------------------------------------------------------------------------
# TAP


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0
        self.lock = threading.Lock()

    def ok(self, cond, desc, diag=None):
        with self.lock:
            self.n += 1
            print('%s %d - %s' % ('ok' if cond else 'not ok', self.n, desc), flush=True)
            if not cond:
                self.failed += 1
                if diag is not None:
                    self.diag(diag)
        return bool(cond)

    def eq(self, got, want, desc, diag=None):
        msg = 'got  %r\nwant %r' % (got, want)
        if diag is not None:
            msg += '\n' + str(diag)
        return self.ok(got == want, desc, msg)

    def diag(self, msg):
        for line in str(msg).splitlines():
            print('# ' + line, flush=True)


# --------------------------------------------------------------------------
# processes


class Proc:
    """A child process whose stdout and stderr are collected line by line."""

    def __init__(self, name, argv, env=None, cwd=None, preexec_fn=None):
        self.name = name
        self.argv = argv
        self.lines = {'stdout': [], 'stderr': []}
        self.cond = threading.Condition()
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env, cwd=cwd,
                                  preexec_fn=preexec_fn)
        self.pid = self.p.pid
        self.threads = []
        for stream in ('stdout', 'stderr'):
            th = threading.Thread(target=self._reader, args=(stream, getattr(self.p, stream)),
                                  daemon=True)
            th.start()
            self.threads.append(th)

    def _reader(self, stream, pipe):
        try:
            for raw in iter(pipe.readline, b''):
                line = raw.decode('utf-8', 'replace').rstrip('\r\n')
                with self.cond:
                    self.lines[stream].append(line)
                    self.cond.notify_all()
        except (OSError, ValueError):
            pass

    def wait_line(self, stream, pattern, timeout, start=0):
        """First line at index >= start matching regex pattern, or None after timeout."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                buf = self.lines[stream]
                while i < len(buf):
                    m = rx.search(buf[i])
                    if m:
                        return m
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or (self.p.poll() is not None and not self._readers_alive()):
                    return None
                self.cond.wait(min(left, 0.05))

    def _readers_alive(self):
        return any(th.is_alive() for th in self.threads)

    def count(self, stream):
        with self.cond:
            return len(self.lines[stream])

    def text(self, stream):
        with self.cond:
            return '\n'.join(self.lines[stream])

    def alive(self):
        return self.p.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout):
        """Exit code, or None when still running after timeout."""
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace_s=2.0):
        if self.p.poll() is None:
            try:
                self.p.terminate()
                self.p.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self.p.kill()
                try:
                    self.p.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
            except OSError:
                pass
        for th in self.threads:
            th.join(timeout=1)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
    finally:
        s.close()


def port_accepts(port, host='127.0.0.1', timeout=0.2):
    try:
        s = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return False
    s.close()
    return True


# --------------------------------------------------------------------------
# configuration


_BARE = re.compile(r'^[A-Za-z/][A-Za-z0-9_./-]*$')
_YAML_WORDS = {'true', 'false', 'yes', 'no', 'on', 'off', 'null', 'y', 'n', '~'}


def _scalar(v):
    if v is True:
        return 'true'
    if v is False:
        return 'false'
    if v is None:
        return 'null'
    if isinstance(v, (int, float)):
        return str(v)
    s = str(v)
    if _BARE.match(s) and s.lower() not in _YAML_WORDS:
        return s
    return json.dumps(s)


def _flow(v):
    if isinstance(v, dict):
        return '{ ' + ', '.join('%s: %s' % (k, _flow(x)) for k, x in v.items()) + ' }'
    if isinstance(v, (list, tuple)):
        return '[' + ', '.join(_flow(x) for x in v) + ']'
    return _scalar(v)


def to_yaml(cfg):
    """Block style at the top two levels, flow style below (as a human writes it)."""
    out = []
    for key, val in cfg.items():
        if isinstance(val, dict) and val:
            out.append('%s:' % key)
            for k2, v2 in val.items():
                out.append('  %s: %s' % (k2, _flow(v2)))
        elif isinstance(val, list) and val and isinstance(val[0], dict):
            out.append('%s:' % key)
            for item in val:
                out.append('  - %s' % _flow(item))
        else:
            out.append('%s: %s' % (key, _flow(val)))
    return '\n'.join(out) + '\n'


def default_config(mock_port, *, admin=True, redis_port=None, workers=1, http=None,
                   upstream=None, routes=None, log=True):
    """A config with one upstream 'llm' (the mock) and routes 'chat' and 'all'.
    listen and admin.listen are filled in by Env.start_sluice."""
    cfg = {'workers': workers}
    if admin:
        cfg['admin'] = {'token': 'secret-admin'}
    if redis_port is not None:
        cfg['redis'] = {'url': 'redis://127.0.0.1:%d/0' % redis_port}
    h = {'header_timeout': '1s', 'max_header_size': '8KiB', 'max_body_size': '1MiB',
         'drain_timeout': '5s', 'trusted_proxies': ['10.0.0.0/8']}
    h.update(http or {})
    cfg['http'] = h
    if log:
        cfg['log'] = {'access': 'stdout'}
    up = {'servers': ['127.0.0.1:%d' % mock_port], 'keepalive': 16, 'read_timeout': '2s',
          'set_headers': {'x-api-key': 'k-123'}}
    up.update(upstream or {})
    cfg['upstreams'] = {'llm': up}
    if routes is None:
        routes = [
            {'name': 'chat', 'match': {'path_prefix': '/v1/chat/completions', 'methods': ['POST']},
             'upstream': 'llm', 'auth': 'none'},
            {'name': 'all', 'match': {'path_prefix': '/'}, 'upstream': 'llm', 'auth': 'none'},
        ]
    cfg['routes'] = routes
    return cfg


def route(name, prefix, upstream='llm', methods=None, auth='none', **extra):
    m = {'path_prefix': prefix}
    if methods:
        m['methods'] = methods
    r = {'name': name, 'match': m, 'upstream': upstream, 'auth': auth}
    r.update(extra)
    return r


def _port_of(addr):
    return int(str(addr).rsplit(':', 1)[1])


# --------------------------------------------------------------------------
# the environment: temp dir, mock, redis, sluice


class Mock:
    def __init__(self, proc, port):
        self.proc = proc
        self.port = port


class Sluice:
    def __init__(self, env, proc, cfg, cfg_path):
        self.env = env
        self.proc = proc
        self.cfg = cfg
        self.cfg_path = cfg_path
        listen = cfg['listen'] if isinstance(cfg['listen'], list) else [cfg['listen']]
        self.ports = [_port_of(a) for a in listen]
        self.port = self.ports[0]
        self.admin_port = _port_of(cfg['admin']['listen']) if 'admin' in cfg else None

    def write_config(self, cfg_or_text):
        text = cfg_or_text if isinstance(cfg_or_text, str) else to_yaml(cfg_or_text)
        if not isinstance(cfg_or_text, str):
            self.cfg = cfg_or_text
        tmp = self.cfg_path + '.tmp'
        with open(tmp, 'w') as f:
            f.write(text)
        os.replace(tmp, self.cfg_path)

    def reload(self):
        self.proc.signal(signal.SIGHUP)

    def alive(self):
        return self.proc.alive()

    def access_lines(self):
        """Access-log records (JSON objects with a request_id) written to stdout so far."""
        out = []
        with self.proc.cond:
            lines = list(self.proc.lines['stdout'])
        for line in lines:
            line = line.strip()
            if not line.startswith('{'):
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                out.append({'_unparsable': line})
                continue
            if isinstance(obj, dict) and ('request_id' in obj or 'status' in obj):
                out.append(obj)
        return out

    def wait_access(self, pred, timeout=2.0):
        """First access record for which pred(rec) is true, polling up to timeout."""
        deadline = time.monotonic() + timeout
        while True:
            for rec in self.access_lines():
                if pred(rec):
                    return rec
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)

    def admin(self, method, path, body=None, token='secret-admin', timeout=DEFAULT_TIMEOUT_S):
        hdrs = []
        if token:
            hdrs.append(('Authorization', 'Bearer ' + token))
        return fetch(self.admin_port, method, path, headers=hdrs, body=body, timeout=timeout)


class Env:
    def __init__(self, args, tap):
        self.args = args
        self.t = tap
        self.sluice_bin = args.sluice
        self.mock_bin = args.mock
        self.tmp = tempfile.mkdtemp(prefix='sluice-it-')
        self.procs = []
        self.lock = threading.Lock()
        self._redis_port = None

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, text):
        p = self.path(name)
        with open(p, 'w') as f:
            f.write(text)
        return p

    def _spawn(self, name, argv, env=None, preexec_fn=None):
        proc = Proc(name, argv, env=env, cwd=self.tmp, preexec_fn=preexec_fn)
        with self.lock:
            self.procs.append(proc)
        return proc

    def start_mock(self, timeout=5.0):
        if not os.access(self.mock_bin, os.X_OK):
            raise RuntimeError('mock upstream not found: %s (use --mock)' % self.mock_bin)
        proc = self._spawn('mock_llm', [self.mock_bin, '--port', '0'])
        m = proc.wait_line('stdout', r'listening on [0-9.]+:(\d+)', timeout)
        if not m:
            raise RuntimeError('mock_llm did not report its port; stderr:\n' + proc.text('stderr'))
        return Mock(proc, int(m.group(1)))

    def redis_port(self):
        """Port of a redis-server for this test: SLUICE_TEST_REDIS, or one started here."""
        if self._redis_port is not None:
            return self._redis_port
        reuse = os.environ.get('SLUICE_TEST_REDIS')
        if reuse:
            self._redis_port = _port_of(reuse)
            return self._redis_port
        exe = shutil.which('redis-server')
        if not exe:
            raise RuntimeError('redis-server not found (install it: apt-get install redis-server)')
        for _ in range(3):
            port = free_port()
            proc = self._spawn('redis', [exe, '--port', str(port), '--bind', '127.0.0.1',
                                         '--save', '', '--appendonly', 'no',
                                         '--dir', self.tmp])
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and proc.alive():
                if port_accepts(port):
                    self._redis_port = port
                    return port
                time.sleep(0.02)
            proc.stop()
        raise RuntimeError('redis-server did not start')

    def start_sluice(self, cfg, name='sluice.yaml', wait=True, extra_env=None, timeout=5.0,
                     nofile=None):
        """Writes cfg (a dict; listen/admin ports are filled in when absent) and
        runs `sluice -c FILE` until its ports accept. Retries with fresh ports
        when a port was taken in between. nofile=(soft, hard) sets the child's
        RLIMIT_NOFILE before exec (sluice raises soft to hard, so set both)."""
        preexec = None
        if nofile is not None:
            import resource
            limits = (int(nofile[0]), int(nofile[1]))

            def preexec():
                resource.setrlimit(resource.RLIMIT_NOFILE, limits)
        last_err = ''
        for _ in range(3):
            c = copy.deepcopy(cfg)
            if 'listen' not in c:
                c['listen'] = '127.0.0.1:%d' % free_port()
            if 'admin' in c and 'listen' not in c['admin']:
                c['admin'] = dict(c['admin'], listen='127.0.0.1:%d' % free_port())
                # keep listen first for readability
                c['admin'] = {'listen': c['admin'].pop('listen'), **c['admin']}
            c = {'listen': c.pop('listen'), **c}
            path = self.write(name, to_yaml(c))
            env = dict(os.environ)
            env.update(extra_env or {})
            proc = self._spawn('sluice', [self.sluice_bin, '-c', path], env=env,
                               preexec_fn=preexec)
            gw = Sluice(self, proc, c, path)
            if not wait:
                return gw
            ports = gw.ports + ([gw.admin_port] if gw.admin_port else [])
            deadline = time.monotonic() + timeout
            while proc.alive() and time.monotonic() < deadline:
                if all(port_accepts(p) for p in ports):
                    return gw
                time.sleep(0.02)
            last_err = proc.text('stderr')
            proc.stop()
            if 'in use' not in last_err.lower():
                break
            # Another test took the port in between: this one's exit is
            # expected, not a crash; try again with fresh ports.
            proc.expect_exit = True
        raise RuntimeError('sluice did not start; config:\n%s\nstderr:\n%s'
                           % (to_yaml(c), last_err))

    def run_sluice(self, args, timeout=10, extra_env=None, unset_env=()):
        env = dict(os.environ)
        env.update(extra_env or {})
        for k in unset_env:
            env.pop(k, None)
        return subprocess.run([self.sluice_bin] + list(args), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout, env=env, cwd=self.tmp)

    def stop_sluices_and_scan(self, t):
        """Stops every sluice (SIGTERM, so sanitizers report leaks at exit) and
        fails when its stderr holds an AddressSanitizer/LeakSanitizer/UBSan report."""
        for p in self.procs:
            if p.name != 'sluice':
                continue
            p.stop(grace_s=8.0)
            m = p.wait_line('stderr', SANITIZER_RE, 0, start=0)
            if m:
                lines = p.lines['stderr']
                i = next((k for k, l in enumerate(lines) if re.search(SANITIZER_RE, l)), 0)
                t.ok(False, 'sluice (pid %d): no sanitizer report' % p.pid,
                     '\n'.join(lines[i:i + 40]))

    def cleanup(self):
        with self.lock:
            procs = list(self.procs)
        for p in reversed(procs):
            try:
                p.stop()
            except Exception:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def dump_logs(self):
        for p in self.procs:
            if p.name != 'sluice':
                continue
            err = p.lines['stderr'][-40:]
            out = p.lines['stdout'][-10:]
            rc = p.p.poll()
            self.t.diag('--- %s pid %d (exit %s) stderr tail:' % (p.name, p.pid, rc))
            for line in err:
                self.t.diag('  ' + line)
            if out:
                self.t.diag('--- stdout tail:')
                for line in out:
                    self.t.diag('  ' + line)


# --------------------------------------------------------------------------
# raw HTTP client


class Response:
    def __init__(self, version, status, reason, headers, head_raw):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers            # [(name, value)] as received
        self.head_raw = head_raw
        self.body = b''
        self.chunked = False
        self.complete = True              # False: the peer closed before the body's end
        self.trailers = []

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def json(self):
        return json.loads(self.body.decode('utf-8'))

    def __repr__(self):
        return '<Response %s %s %r body=%r>' % (self.status, self.reason, self.headers,
                                                self.body[:200])


class Client:
    """One client connection. Reads are buffered; every wait is bounded."""

    def __init__(self, port, host='127.0.0.1', timeout=DEFAULT_TIMEOUT_S):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b''
        self.eof = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def settimeout(self, s):
        self.timeout = s
        self.sock.settimeout(s)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode('latin-1')
        self.sock.sendall(data)

    def request(self, method, path, headers=None, body=None, version='HTTP/1.1',
                host='test.local'):
        """Sends one request. headers: list of (name, value) or dict. A bytes body
        gets a Content-Length unless headers already frame it."""
        self.send(build_request(method, path, headers, body, version, host))

    def _fill(self, timeout=None):
        """Reads more bytes into buf; False on EOF."""
        if self.eof:
            return False
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b''
        finally:
            self.sock.settimeout(self.timeout)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError('connection closed after %d of %d bytes' % (len(self.buf), n))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_line(self, limit=1 << 20):
        while b'\r\n' not in self.buf:
            if len(self.buf) > limit:
                raise ValueError('line too long')
            if not self._fill():
                raise EOFError('connection closed in a line: %r' % self.buf[:200])
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def read_head(self):
        """Reads a status line and headers; returns a Response without body."""
        while b'\r\n\r\n' not in self.buf:
            if len(self.buf) > (1 << 20):
                raise ValueError('response head too large')
            if not self._fill():
                raise EOFError('connection closed before a response head (got %r)'
                               % self.buf[:200])
        head, self.buf = self.buf.split(b'\r\n\r\n', 1)
        lines = head.decode('latin-1').split('\r\n')
        m = re.match(r'^(HTTP/\d\.\d) (\d{3})(?: (.*))?$', lines[0])
        if not m:
            raise ValueError('bad status line %r' % lines[0])
        headers = []
        for line in lines[1:]:
            if ':' not in line:
                raise ValueError('bad header line %r' % line)
            k, v = line.split(':', 1)
            headers.append((k, v.strip(' \t')))
        return Response(m.group(1), int(m.group(2)), m.group(3) or '', headers, head + b'\r\n\r\n')

    def read_response(self, method='GET', allow_truncated=False):
        """Reads one full response (skipping 100 Continue). Framing: no body for
        HEAD/1xx/204/304, chunked, Content-Length, else until close."""
        while True:
            r = self.read_head()
            if r.status == 100:
                continue
            break
        try:
            self._read_body(r, method)
        except EOFError:
            if not allow_truncated:
                raise
            r.complete = False
        return r

    def _read_body(self, r, method):
        if method == 'HEAD' or 100 <= r.status < 200 or r.status in (204, 304):
            return
        te = (r.header('transfer-encoding') or '').lower()
        if 'chunked' in te:
            r.chunked = True
            parts = []
            while True:
                line = self.read_line()
                size = int(line.split(b';', 1)[0].strip(), 16)
                if size == 0:
                    break
                parts.append(self.read_exact(size))
                r.body = b''.join(parts)
                if self.read_exact(2) != b'\r\n':
                    raise ValueError('chunk not followed by CRLF')
            r.body = b''.join(parts)
            while True:
                line = self.read_line()
                if not line:
                    break
                k, _, v = line.decode('latin-1').partition(':')
                r.trailers.append((k, v.strip()))
            return
        cl = r.header('content-length')
        if cl is not None:
            n = int(cl)
            while len(self.buf) < n:
                if not self._fill():
                    r.body = self.buf
                    self.buf = b''
                    raise EOFError('body truncated at %d of %d' % (len(r.body), n))
            r.body, self.buf = self.buf[:n], self.buf[n:]
            return
        r.body = self.read_until_close()

    def read_until_close(self, limit=64 << 20):
        while not self.eof and len(self.buf) < limit:
            self._fill()
        out, self.buf = self.buf, b''
        return out

    def wait_closed(self, timeout=2.0):
        """True when the peer closes (EOF or reset) within timeout; extra bytes are dropped."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self._fill(timeout=left)
            except socket.timeout:
                return False
        return True

    def readable(self, timeout=0.0):
        if self.buf:
            return True
        r, _, _ = select.select([self.sock], [], [], timeout)
        return bool(r)

    def close(self, rst=False):
        try:
            if rst:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.sock.close()
        except OSError:
            pass

    def fetch(self, method, path, headers=None, body=None, version='HTTP/1.1', **kw):
        self.request(method, path, headers, body, version, **kw)
        return self.read_response(method)


def build_request(method, path, headers=None, body=None, version='HTTP/1.1', host='test.local'):
    if isinstance(headers, dict):
        headers = list(headers.items())
    headers = list(headers or [])
    names = {k.lower() for k, _ in headers}
    if host and 'host' not in names:
        headers.insert(0, ('Host', host))
    if isinstance(body, str):
        body = body.encode('utf-8')
    if body is not None and 'content-length' not in names and 'transfer-encoding' not in names:
        headers.append(('Content-Length', str(len(body))))
    out = '%s %s %s\r\n' % (method, path, version)
    out += ''.join('%s: %s\r\n' % (k, v) for k, v in headers)
    out += '\r\n'
    return out.encode('latin-1') + (body or b'')


def chunked(body, size=4096):
    """body encoded as chunks of at most size bytes, with the last-chunk."""
    out = []
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out.append(b'%x\r\n' % len(part) + part + b'\r\n')
    out.append(b'0\r\n\r\n')
    return b''.join(out)


def fetch(port, method, path, headers=None, body=None, timeout=DEFAULT_TIMEOUT_S, **kw):
    """One request on a new connection."""
    with Client(port, timeout=timeout) as c:
        return c.fetch(method, path, headers, body, **kw)


def get(port, path, headers=None, timeout=DEFAULT_TIMEOUT_S):
    return fetch(port, 'GET', path, headers, timeout=timeout)


def raw_exchange(port, data, timeout=DEFAULT_TIMEOUT_S):
    """Sends data on a new connection and reads one response."""
    with Client(port, timeout=timeout) as c:
        c.send(data)
        return c.read_response()


def echo(port, method='GET', path='/echo', headers=None, body=None):
    """Request to the mock's /echo; returns (response, parsed echo)."""
    r = fetch(port, method, path, headers, body)
    try:
        return r, r.json()
    except ValueError:
        return r, None


def echo_headers(e, name):
    """Values of header name (case-insensitive) as the upstream received them."""
    name = name.lower()
    return [v for k, v in (e or {}).get('headers', []) if k.lower() == name]


def json_body(r):
    try:
        return r.json()
    except (ValueError, UnicodeDecodeError):
        return None


# --------------------------------------------------------------------------
# common checks


def check_json_error(t, r, status, what):
    """r has the given status and a JSON body {"error": ...}."""
    t.eq(r.status, status, '%s: status %d' % (what, status))
    j = json_body(r)
    t.ok(isinstance(j, dict) and 'error' in j, '%s: JSON body with "error"' % what,
         'body %r' % r.body[:300])


def check_serves(t, gw, what, path='/small'):
    """The gateway still answers a good request on a new connection."""
    try:
        r = get(gw.port, path)
        t.eq(r.status, 200, '%s: gateway still serves GET %s' % (what, path))
    except Exception as e:  # noqa: BLE001 - report, do not abort the test
        t.ok(False, '%s: gateway still serves GET %s' % (what, path), repr(e))


def check_bad_request(t, gw, raw, status, what, timeout=DEFAULT_TIMEOUT_S, good_path='/small'):
    """Sends raw bytes on a new connection; expects status with a JSON error,
    then a good request on a new connection succeeds."""
    try:
        with Client(gw.port, timeout=timeout) as c:
            try:
                c.send(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass
            r = c.read_response()
        check_json_error(t, r, status, what)
    except Exception as e:  # noqa: BLE001
        t.ok(False, '%s: got a %d response' % (what, status), repr(e))
    check_serves(t, gw, what, good_path)


def poll(fn, timeout, interval=0.05):
    """Calls fn() until it returns a truthy value or timeout passes; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = fn()
        except Exception:  # noqa: BLE001 - retry until the deadline
            v = None
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


# --------------------------------------------------------------------------
# runner


# --------------------------------------------------------------------------
# A second PASETO implementation (npm `paseto` v3) for interoperability

NPM_DIR = os.environ.get('SLUICE_NPM_DIR', '/tmp/sluice-npm')
PASETO_INTEROP = os.path.join(REPO, 'tests', 'integration', 'paseto_interop.mjs')


def _npm_install_paseto():
    """Installs paseto@3 into NPM_DIR (outside the source tree) once; a
    lock file keeps parallel tests from installing it twice at once."""
    import fcntl
    marker = os.path.join(NPM_DIR, 'node_modules', 'paseto', 'package.json')
    if os.path.exists(marker):
        return
    os.makedirs(NPM_DIR, exist_ok=True)
    with open(os.path.join(NPM_DIR, '.install.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(marker):
            subprocess.run(['npm', 'install', '--prefix', NPM_DIR, '--no-audit', '--no-fund',
                            '--loglevel=error', 'paseto@3'],
                           check=True, stdout=subprocess.DEVNULL, timeout=120)


def node_paseto(args, timeout=20):
    """Runs paseto_interop.mjs with args (['sign', secret, payload_json,
    footer_json] or ['verify', public, token]); returns the
    CompletedProcess (stdout: the token or the payload JSON)."""
    _npm_install_paseto()
    env = dict(os.environ, SLUICE_NPM_DIR=NPM_DIR)
    return subprocess.run(['node', PASETO_INTEROP] + list(args), capture_output=True,
                          timeout=timeout, env=env)


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument('--sluice', default=os.environ.get('SLUICE_BIN')
                   or os.path.join(REPO, 'build', 'sluice'))
    p.add_argument('--mock', default=os.environ.get('MOCK_LLM_BIN')
                   or os.path.join(REPO, 'build', 'tools', 'mock_llm', 'mock_llm'))
    args, _ = p.parse_known_args()
    args.sluice = os.path.abspath(args.sluice)
    args.mock = os.path.abspath(args.mock)
    return args


def run(main):
    args = parse_args()
    t = Tap()
    env = Env(args, t)

    def on_signal(signum, frame):
        raise KeyboardInterrupt('signal %d' % signum)

    def watchdog():
        t.ok(False, 'watchdog: test took longer than %d s' % WATCHDOG_S)
        env.dump_logs()
        env.cleanup()
        print('1..%d' % t.n, flush=True)
        os._exit(1)

    signal.signal(signal.SIGTERM, on_signal)
    wd = threading.Timer(WATCHDOG_S, watchdog)
    wd.daemon = True
    wd.start()
    try:
        if not os.access(args.sluice, os.X_OK):
            raise RuntimeError('sluice not found: %s (use --sluice)' % args.sluice)
        main(t, env)
    except BaseException as e:  # noqa: BLE001 - report any failure as TAP
        t.ok(False, 'test raised %s: %s' % (type(e).__name__, e))
        t.diag(traceback.format_exc())
    finally:
        wd.cancel()
        for p in env.procs:
            if p.name == 'sluice' and not getattr(p, 'expect_exit', False):
                rc = p.p.poll()
                t.ok(rc is None, 'sluice (pid %d) did not crash' % p.pid, 'exit status %s%s'
                     % (rc, ' (signal %d)' % -rc if rc is not None and rc < 0 else ''))
        env.stop_sluices_and_scan(t)
        if t.failed:
            env.dump_logs()
        env.cleanup()
    print('1..%d' % t.n, flush=True)
    sys.exit(1 if t.failed or t.n == 0 else 0)


def websocket_upgrade(client, key='dGhlIHNhbXBsZSBub25jZQ==', connection='Upgrade'):
    """Sends a WebSocket upgrade for /ws on client and returns the response head."""
    client.request('GET', '/ws', [('Connection', connection), ('Upgrade', 'websocket'),
                                  ('Sec-WebSocket-Key', key),
                                  ('Sec-WebSocket-Version', '13')])
    return client.read_head()
