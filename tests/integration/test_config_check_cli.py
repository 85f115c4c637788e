#!/usr/bin/env python3
"""sluice -t -c FILE checks a config: exit 0, or FILE:LINE:COL: message and
exit 1 (unknown key, unset ${VAR}, undefined upstream); sluice -V prints a
version (SPEC sections 2, 3, 11)."""
import re
import harness as h

GOOD = """\
listen: 127.0.0.1:18080
workers: 1
admin:
  listen: 127.0.0.1:18081
  token: ${SLUICE_IT_ADMIN_TOKEN}
http:
  header_timeout: 1s
  max_header_size: 8KiB
upstreams:
  llm:
    servers: ["127.0.0.1:9000"]
    read_timeout: 2s
    set_headers: { x-api-key: "k-123" }
routes:
  - name: all
    match: { path_prefix: / }
    upstream: llm
    auth: none
"""


def out(p):
    return (p.stdout + p.stderr).decode('utf-8', 'replace')


def keygen(env, args=()):
    p = env.run_sluice(['keygen'] + list(args))
    return dict(line.split(': ', 1) for line in out(p).splitlines() if ': ' in line)


def check_token_keys(t, env, env_ok):
    """Keys are decoded at load: a malformed or wrong-kind key is refused
    at its value's line and column (SPEC section 11)."""
    pub, loc = keygen(env), keygen(env, ['--local'])
    sec = pub['secret']
    line = GOOD.count('\n') + 4  # tokens:, format:, keys:, then the key

    def keys_config(fmt, entries):
        return GOOD + 'tokens:\n  format: %s\n  keys:\n' % fmt + ''.join(
            '    - %s: %s\n' % e for e in entries)

    good = [('public', [('secret', sec), ('public', keygen(env)['public'])]),
            ('local', [('local', loc['local'])]),
            ('public', [('public', pub['public'])])]
    for fmt, entries in good:
        path = env.write('keys_good.yaml', keys_config('paseto-v4-' + fmt, entries))
        p = env.run_sluice(['-t', '-c', path], extra_env=env_ok)
        t.eq(p.returncode, 0, 'good %s keys %s: exit 0' % (fmt, [k for k, _ in entries]), out(p))

    bad = [('public under secret', 'public', 'secret', pub['public'], 'k4.secret'),
           ('secret under public', 'public', 'public', sec, 'k4.public'),
           ('local key, public format', 'public', 'local', loc['local'], 'format'),
           ('secret key, local format', 'local', 'secret', sec, 'format'),
           ('bad base64', 'public', 'secret', 'k4.secret.' + '!' * 86, 'malformed'),
           ('padding', 'public', 'public', pub['public'] + '=', 'malformed'),
           ('wrong length', 'public', 'public', pub['public'][:-4], 'malformed'),
           ('halves disagree', 'public', 'secret',
            sec[:60] + ('A' if sec[60] != 'A' else 'B') + sec[61:], 'malformed')]
    for what, fmt, kind, key, word in bad:
        path = env.write('keys_bad.yaml', keys_config('paseto-v4-' + fmt, [(kind, key)]))
        p = env.run_sluice(['-t', '-c', path], extra_env=env_ok)
        o = out(p)
        t.eq(p.returncode, 1, 'key %s: exit 1' % what, o)
        t.ok(re.search(re.escape(path) + r':%d:\d+: ' % line, o), 'key %s: FILE:%d:COL:' % (what, line),
             o)
        t.ok(word in o, 'key %s: message says %s' % (what, word), o)
        t.ok(key not in o or kind == 'public', 'key %s: a secret is not echoed' % what, o)


def main(t, env):
    env_ok = {'SLUICE_IT_ADMIN_TOKEN': 'tok'}
    good = env.write('good.yaml', GOOD)
    p = env.run_sluice(['-t', '-c', good], extra_env=env_ok)
    t.eq(p.returncode, 0, 'good config: exit 0')
    if p.returncode:
        t.diag(out(p))

    # unknown key on line 8, column 3
    bad = env.write('unknown.yaml', GOOD.replace('  max_header_size: 8KiB\n',
                                                 '  max_header_size: 8KiB\n  bogus_key: 1\n'))
    p = env.run_sluice(['-t', '-c', bad], extra_env=env_ok)
    o = out(p)
    t.eq(p.returncode, 1, 'unknown key: exit 1')
    t.ok(re.search(r'(^|\n)' + re.escape(bad) + r':9:\d+: ', o), 'unknown key: FILE:9:COL: message',
         o)
    t.ok(bad + ':9:3:' in o, 'unknown key: column 3', o)
    t.ok('bogus_key' in o, 'unknown key: message names the key', o)

    # unknown top-level key
    bad = env.write('unknown_top.yaml', GOOD + 'frobnicate: true\n')
    p = env.run_sluice(['-t', '-c', bad], extra_env=env_ok)
    o = out(p)
    nl = GOOD.count('\n') + 1
    t.eq(p.returncode, 1, 'unknown top-level key: exit 1')
    t.ok(bad + ':%d:1:' % nl in o, 'unknown top-level key: FILE:%d:1:' % nl, o)

    # unset ${VAR}
    p = env.run_sluice(['-t', '-c', good], unset_env=['SLUICE_IT_ADMIN_TOKEN'])
    o = out(p)
    t.eq(p.returncode, 1, 'unset ${VAR}: exit 1')
    t.ok('SLUICE_IT_ADMIN_TOKEN' in o, 'unset ${VAR}: message names the variable', o)
    t.ok(re.search(re.escape(good) + r':5:\d+: ', o), 'unset ${VAR}: FILE:5:COL:', o)

    # route naming an undefined upstream
    bad = env.write('noupstream.yaml', GOOD.replace('    upstream: llm\n', '    upstream: nope\n'))
    p = env.run_sluice(['-t', '-c', bad], extra_env=env_ok)
    o = out(p)
    t.eq(p.returncode, 1, 'undefined upstream: exit 1')
    t.ok(re.search(re.escape(bad) + r':17:\d+: ', o), 'undefined upstream: FILE:17:COL:', o)
    t.ok('nope' in o, 'undefined upstream: message names it', o)

    # malformed YAML and a bad duration
    bad = env.write('syntax.yaml', GOOD.replace('routes:\n', 'routes: [\n'))
    p = env.run_sluice(['-t', '-c', bad], extra_env=env_ok)
    t.eq(p.returncode, 1, 'YAML syntax error: exit 1')
    t.ok(re.search(re.escape(bad) + r':\d+:\d+: ', out(p)), 'YAML syntax error: FILE:LINE:COL:',
         out(p))
    bad = env.write('duration.yaml', GOOD.replace('header_timeout: 1s', 'header_timeout: 1 fortnight'))
    p = env.run_sluice(['-t', '-c', bad], extra_env=env_ok)
    t.eq(p.returncode, 1, 'bad duration: exit 1')
    t.ok(bad + ':7:' in out(p), 'bad duration: FILE:7:', out(p))

    check_token_keys(t, env, env_ok)

    # redis.url is parsed at load: a bad URL is FILE:LINE:COL, the password not echoed
    nl = GOOD.count('\n') + 1
    bad = env.write('redis_url.yaml', GOOD + 'redis:\n  url: "redis://:hunter2@h:99999/0"\n')
    p = env.run_sluice(['-t', '-c', bad], extra_env=env_ok)
    o = out(p)
    t.eq(p.returncode, 1, 'bad redis.url: exit 1')
    t.ok(bad + ':%d:8: ' % (nl + 1) in o, 'bad redis.url: FILE:%d:8:' % (nl + 1), o)
    t.ok('port' in o and 'hunter2' not in o, 'bad redis.url: names the problem, not the password', o)
    for url, what in [('http://h:6379', 'not a redis'), ('redis://h/x', '/DB'),
                      ('unix://rel.sock', 'absolute'), ('redis://:p%zz@h', 'escape')]:
        bad = env.write('redis_url2.yaml', GOOD + 'redis:\n  url: "%s"\n' % url)
        p = env.run_sluice(['-t', '-c', bad], extra_env=env_ok)
        t.ok(p.returncode == 1 and bad + ':%d:8: ' % (nl + 1) in out(p) and what in out(p),
             'bad redis.url %s: FILE:LINE:COL: ...%s...' % (url, what), out(p))
    for url in ['redis://u:p@h:6380/2', 'rediss://h', 'unix:///run/redis.sock?db=1',
                'redis://[::1]:6379']:
        good2 = env.write('redis_ok.yaml', GOOD + 'redis:\n  url: "%s"\n' % url)
        p = env.run_sluice(['-t', '-c', good2], extra_env=env_ok)
        t.eq(p.returncode, 0, 'redis.url %s: valid' % url, out(p))

    # redis.tls: files must be readable at load; cert and key go together
    good2 = env.write('redis_tls_ok.yaml', GOOD + 'redis:\n  url: rediss://h\n  tls:\n'
                      '    ca_file: %s\n    server_name: redis.internal\n    verify: false\n' % good)
    p = env.run_sluice(['-t', '-c', good2], extra_env=env_ok)
    t.eq(p.returncode, 0, 'redis.tls with a readable ca_file: valid', out(p))
    bad = env.write('redis_tls_bad.yaml', GOOD + 'redis:\n  url: rediss://h\n  tls:\n'
                    '    ca_file: /nonexistent/ca.pem\n    cert_file: %s\n' % good)
    p = env.run_sluice(['-t', '-c', bad], extra_env=env_ok)
    o = out(p)
    t.eq(p.returncode, 1, 'redis.tls with a missing ca_file: exit 1')
    t.ok(bad + ':%d:14: ' % (nl + 3) in o and '/nonexistent/ca.pem' in o,
         'missing ca_file: FILE:%d:14: names the file' % (nl + 3), o)
    t.ok('cert_file and key_file go together' in o, 'cert_file without key_file: refused', o)

    # missing file
    p = env.run_sluice(['-t', '-c', env.path('does-not-exist.yaml')])
    t.eq(p.returncode, 1, 'missing file: exit 1')

    # -t does not start the gateway: it returns at once even with a good file
    p = env.run_sluice(['-t', '-c', good], extra_env=env_ok, timeout=5)
    t.eq(p.returncode, 0, '-t exits without serving')

    p = env.run_sluice(['-V'])
    o = out(p)
    t.eq(p.returncode, 0, '-V: exit 0')
    t.ok(re.search(r'\d+\.\d+', o), '-V prints a version', o)


h.run(main)
