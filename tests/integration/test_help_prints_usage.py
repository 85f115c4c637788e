#!/usr/bin/env python3
"""`sluice --help` and `sluice -h` print the usage on stdout and exit 0
(SPEC section 2); an unknown option still prints it on stderr, exit 2."""
import harness as h


def main(t, env):
    for flag in ('--help', '-h'):
        p = env.run_sluice([flag])
        o, e = p.stdout.decode(), p.stderr.decode()
        t.eq(p.returncode, 0, '%s: exit 0' % flag, e)
        t.ok(o.startswith('usage: sluice') and '-t -c FILE' in o and '--help' in o,
             '%s: usage on stdout' % flag, o)
        t.eq(e, '', '%s: nothing on stderr' % flag)
    p = env.run_sluice(['--bogus'])
    t.eq(p.returncode, 2, '--bogus: exit 2')
    t.ok('usage: sluice' in p.stderr.decode(), '--bogus: usage on stderr', p.stderr.decode())


h.run(main)
