#!/usr/bin/env python3
"""The startup line names the worker count in good English: "(1 worker)"
for one, "(2 workers)" for two."""
import harness as h


def main(t, env):
    mock = env.start_mock()
    for n, word in ((1, 'worker'), (2, 'workers')):
        gw = env.start_sluice(h.default_config(mock.port, workers=n), name='w%d.yaml' % n)
        m = gw.proc.wait_line('stderr', r'listening on \S+ \((\d+ \w+)\)', 3.0)
        t.eq(m.group(1) if m else None, '%d %s' % (n, word), 'workers: %d logs "(%d %s)"'
             % (n, n, word))
        gw.proc.stop()
        gw.proc.expect_exit = True


h.run(main)
