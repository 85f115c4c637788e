#!/usr/bin/env python3
"""conf/sluice.reference.yaml is exactly what `sluice --help-config` prints
(generated from the directive tables, so it cannot drift), and it is a valid
configuration for `sluice -t`. Regenerate it with:
    build/sluice --help-config > conf/sluice.reference.yaml"""
import os

import harness as h

REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'conf',
                         'sluice.reference.yaml')


def main(t, env):
    p = env.run_sluice(['--help-config'])
    t.eq(p.returncode, 0, '--help-config: exit 0')
    with open(REFERENCE, 'rb') as f:
        checked_in = f.read()
    t.ok(p.stdout == checked_in, 'conf/sluice.reference.yaml is up to date',
         'regenerate: build/sluice --help-config > conf/sluice.reference.yaml')

    path = env.write('reference.yaml', p.stdout.decode())
    key = [l.split(': ', 1)[1] for l in env.run_sluice(['keygen']).stdout.decode().splitlines()
           if l.startswith('secret: ')][0]
    c = env.run_sluice(['-t', '-c', path], extra_env={
        'SLUICE_ADMIN_TOKEN': 'tok', 'OPENAI_API_KEY': 'sk-x', 'SLUICE_SECRET_KEY': key})
    t.eq(c.returncode, 0, 'the reference is a valid configuration',
         (c.stdout + c.stderr).decode('utf-8', 'replace'))


h.run(main)
