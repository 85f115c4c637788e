#!/usr/bin/env python3
"""With RLIMIT_NOFILE at 64 and ~100 clients connected, accept() fails with
EMFILE: the gateway neither crashes nor spins (CPU over 1 s well under 0.5 s),
requests on connections it did accept get an answer or a clean close, and once
the clients go away a new connection is served 200 again within 3 s.

What sluice does while the table is full (documented here, checked below):
the worker pauses its listeners for 100 ms at a time instead of retrying
accept() in a loop; a request on an already accepted connection is answered
200 when a pooled upstream connection is free, else 502 with a JSON error
("cannot create a socket"), never left hanging.

The admin listener (main thread) is probed too, with a /healthz connection
left pending in its backlog, as a liveness probe would while the table is
full: it must not spin either."""
import os
import time
import harness as h

NOFILE = 64
CLIENTS = 100
HELD = 4


def fd_count(pid):
    try:
        return len(os.listdir('/proc/%d/fd' % pid))
    except OSError:
        return -1


def cpu_seconds(pid):
    """utime + stime of the whole process (every thread), in seconds."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def cpu_over(pid, seconds=1.0):
    a = cpu_seconds(pid)
    time.sleep(seconds)
    return cpu_seconds(pid) - a


def main(t, env):
    mock = env.start_mock()
    cfg = h.default_config(mock.port, http={'header_timeout': '10s', 'idle_timeout': '30s'})
    gw = env.start_sluice(cfg, nofile=(NOFILE, NOFILE))
    pid = gw.proc.pid

    with open('/proc/%d/limits' % pid) as f:
        lim = [l for l in f if l.startswith('Max open files')]
    t.ok(lim and lim[0].split()[3:5] == [str(NOFILE)] * 2,
         'sluice runs with RLIMIT_NOFILE %d/%d' % (NOFILE, NOFILE), repr(lim))
    t.eq(h.get(gw.port, '/small').status, 200, 'GET /small before the table fills')
    # The client socket of that GET may close a moment later: take the
    # smallest count seen over a short while as the resting count.
    samples = []
    for _ in range(10):
        samples.append(fd_count(pid))
        time.sleep(0.03)
    base = min(samples)
    t.diag('open fds at rest: %d' % base)

    # a few connections that are surely accepted before the table fills
    held = [h.Client(gw.port, timeout=5) for _ in range(HELD)]
    t.ok(h.poll(lambda: fd_count(pid) >= base + HELD, 3.0, 0.02),
         '%d held connections accepted' % HELD, 'fds %d, base %d' % (fd_count(pid), base))

    # fill the table: more clients than free descriptors; the kernel completes
    # the handshakes (backlog), so connect() succeeds even when accept() fails
    clients = []
    failed = 0
    for _ in range(CLIENTS):
        try:
            clients.append(h.Client(gw.port, timeout=5))
        except OSError:
            failed += 1
    t.eq(failed, 0, '%d client connections established (kernel backlog)' % CLIENTS)
    full = h.poll(lambda: fd_count(pid) >= NOFILE - 1, 3.0, 0.02)
    t.ok(full, 'descriptor table fills up (%d fds)' % fd_count(pid))
    t.diag('open fds while full: %d' % fd_count(pid))
    time.sleep(0.3)  # let accept() hit EMFILE a few times

    t.ok(gw.alive(), 'sluice alive with the table full')
    used = cpu_over(pid)
    t.ok(used < 0.5, 'no busy loop while accept() fails: %.2f s CPU in 1 s' % used)

    # requests on accepted connections, all in flight at once so most need a
    # new upstream socket: a response or a clean close, never a hang
    outcomes = []
    sent = []
    for i, c in enumerate(held):
        try:
            c.request('GET', '/delay/300')
            sent.append(c)
        except OSError as e:
            t.diag('held connection %d: send failed: %r' % (i, e))
            sent.append(None)
    for i, c in enumerate(sent):
        what = 'held connection %d while full' % i
        if c is None:
            outcomes.append('send failed')
            continue
        try:
            r = c.read_response()
        except (OSError, ValueError, EOFError) as e:
            outcomes.append(repr(e))
            t.ok(False, '%s: a response within 5 s' % what, repr(e))
            continue
        outcomes.append(r.status)
        # A request that got an upstream socket (pooled or freed) is
        # proxied; one that found none is the gateway out of sockets:
        # 503 overloaded (proxy.c upstream_failed, SPEC section 4).
        if r.status != 200:
            h.check_json_error(t, r, 503, '%s: no socket left' % what)
            t.eq((h.json_body(r) or {}).get('error'), 'overloaded',
                 '%s: error is overloaded' % what)
    t.diag('held-connection outcomes while full: %r' % outcomes)
    t.ok(gw.alive(), 'sluice alive after requests while full')

    # the admin listener (main thread) sees a pending connection too, as a
    # liveness probe would
    probe = None
    try:
        probe = h.Client(gw.admin_port, timeout=5)
        probe.request('GET', '/healthz')
    except OSError as e:
        t.diag('admin connect failed while full: %r' % e)
    time.sleep(0.3)
    n0 = gw.proc.count('stderr')
    used = cpu_over(pid)
    logged = gw.proc.count('stderr') - n0
    t.ok(used < 0.5, 'no busy loop with an admin connection pending: %.2f s CPU in 1 s' % used)
    t.ok(logged < 100, 'no log flood with an admin connection pending: %d stderr lines in 1 s'
         % logged, '\n'.join(gw.proc.lines['stderr'][n0:n0 + 3]))

    # release everything and check recovery
    for c in clients + held:
        c.close(rst=True)
    if probe is not None:
        probe.close(rst=True)
    start = time.monotonic()
    last = {}

    def serves():
        last['r'] = h.get(gw.port, '/small', timeout=1)
        return last['r'].status == 200
    t.ok(h.poll(serves, 3.0, 0.05), 'a new connection is served 200 within 3 s of the clients leaving',
         repr(last.get('r')))
    t.diag('recovered after %.2f s' % (time.monotonic() - start))
    with h.Client(gw.port) as c:
        statuses = [c.fetch('GET', '/echo').status for _ in range(5)]
    t.eq(statuses, [200] * 5, 'keep-alive requests after recovery')
    r = gw.admin('GET', '/healthz', timeout=2)
    t.eq(r.status, 200, 'admin /healthz after recovery')
    r = gw.admin('GET', '/readyz', timeout=2)
    t.diag('/readyz after recovery: %d %s' % (r.status, r.body[:200]))
    t.ok(fd_count(pid) < NOFILE // 2, 'descriptors released (%d open)' % fd_count(pid))
    used = cpu_over(pid, 0.5)
    t.ok(used < 0.25, 'idle again after recovery: %.2f s CPU in 0.5 s' % used)


h.run(main)
