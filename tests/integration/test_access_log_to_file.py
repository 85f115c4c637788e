#!/usr/bin/env python3
"""log.access: PATH appends one JSON line per request to that file."""
import json
import os
import harness as h


def main(t, env):
    mock = env.start_mock()
    cfg = h.default_config(mock.port)
    path = env.path('access.log')
    cfg['log'] = {'access': path}
    gw = env.start_sluice(cfg)
    for i in range(3):
        h.get(gw.port, '/small', [('X-Request-Id', 'file-%d' % i)])

    def lines():
        if not os.path.exists(path):
            return None
        with open(path) as f:
            got = [json.loads(line) for line in f if line.strip()]
        return got if len(got) >= 3 else None

    got = h.poll(lines, 2.0) or []
    t.eq([x.get('request_id') for x in got], ['file-0', 'file-1', 'file-2'],
         'three JSON lines in the access log file')
    t.eq(gw.access_lines(), [], 'nothing on stdout')


h.run(main)
