#!/usr/bin/env python3
"""`sluice keygen` prints exactly three lines, `secret: k4.secret.…`,
`public: k4.public.…`, `pid: k4.pid.…`; `sluice keygen --local` prints
`local: k4.local.…` and `lid: k4.lid.…` (SPEC sections 2, 11). Each run
makes a new key, and the keys it prints pass `sluice -t`."""
import re

import harness as h

B64 = r'[A-Za-z0-9_-]+'
CONFIG = """\
listen: 127.0.0.1:18080
upstreams:
  llm: { servers: ["127.0.0.1:9000"] }
routes:
  - { name: all, match: { path_prefix: / }, upstream: llm, auth: none }
tokens:
  format: paseto-v4-%s
  keys:
    - %s: %s
"""


def main(t, env):
    runs = [env.run_sluice(['keygen']) for _ in range(2)]
    outs = [r.stdout.decode() for r in runs]
    t.eq([r.returncode for r in runs], [0, 0], 'keygen: exit 0')
    lines = outs[0].splitlines()
    t.eq([l.split(':', 1)[0] for l in lines], ['secret', 'public', 'pid'],
         'keygen: three lines, secret, public, pid', outs[0])
    pats = [r'secret: k4\.secret\.' + B64, r'public: k4\.public\.' + B64, r'pid: k4\.pid\.' + B64]
    t.ok(len(lines) == 3 and all(re.fullmatch(p, l) for p, l in zip(pats, lines)),
         'keygen: each line is "NAME: PASERK"', outs[0])
    t.ok(outs[0] != outs[1], 'keygen: every run makes a new key pair')
    t.ok(outs[0].endswith('\n') and runs[0].stderr == b'', 'keygen: lines end with a newline, stderr empty',
         repr((outs[0][-5:], runs[0].stderr)))

    r = env.run_sluice(['keygen', '--local'])
    out = r.stdout.decode()
    lines = out.splitlines()
    t.eq(r.returncode, 0, 'keygen --local: exit 0')
    t.eq([l.split(':', 1)[0] for l in lines], ['local', 'lid'], 'keygen --local: local, lid', out)
    t.ok(len(lines) == 2 and re.fullmatch(r'local: k4\.local\.' + B64, lines[0]) and
         re.fullmatch(r'lid: k4\.lid\.' + B64, lines[1]), 'keygen --local: each line "NAME: PASERK"',
         out)

    pub = dict(l.split(': ', 1) for l in outs[0].splitlines())
    loc = dict(l.split(': ', 1) for l in lines)
    for fmt, kind, key in [('public', 'secret', pub['secret']), ('public', 'public', pub['public']),
                           ('local', 'local', loc['local'])]:
        path = env.write('keys.yaml', CONFIG % (fmt, kind, key))
        r = env.run_sluice(['-t', '-c', path])
        t.eq(r.returncode, 0, 'the printed %s key passes sluice -t' % kind,
             (r.stdout + r.stderr).decode())


h.run(main)
