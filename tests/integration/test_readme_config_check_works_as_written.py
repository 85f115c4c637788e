#!/usr/bin/env python3
"""README's `build/sluice -t -c conf/sluice.yaml`, run as written from a
fresh checkout's root with nothing exported (no SLUICE_ADMIN_TOKEN),
exits 0: the demo configuration is valid on its own."""
import subprocess
import harness as h


def main(t, env):
    p = subprocess.run([env.sluice_bin, '-t', '-c', 'conf/sluice.yaml'], cwd=h.REPO,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=10,
                       env={k: v for k, v in h.os.environ.items()
                            if not k.startswith('SLUICE_')})
    o = (p.stdout + p.stderr).decode('utf-8', 'replace')
    t.eq(p.returncode, 0, 'sluice -t -c conf/sluice.yaml without SLUICE_ADMIN_TOKEN: exit 0', o)
    t.ok('conf/sluice.yaml: configuration is valid' in o, 'it says the file is valid', o)


h.run(main)
