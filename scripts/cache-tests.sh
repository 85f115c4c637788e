#!/usr/bin/env bash
# Runs the HTTP caching test suite http-tests/cache-tests (RFC 9111) against
# sluice as a reverse proxy: a route with cache: { scope: shared },
# auth: none, no ttl, every method forwarded, in front of the suite's own
# origin server. Prints "required: P/T passed", the optional score and the
# ids of the tests that did not pass.
#
#   bash scripts/cache-tests.sh /path/to/cache-tests        (or CACHE_TESTS_DIR=...)
#   bash scripts/cache-tests.sh /path/to/cache-tests -i freshness-max-age   (one test, dumped)
#
# The suite is not part of this repository (get a checkout of
# github.com/http-tests/cache-tests yourself); only its npm dependencies
# are installed here, into its own directory. Env: SLUICE_BIN (default
# build/sluice, built when missing), CACHE_TESTS_OUT (the results JSON;
# default in the run's temp dir), VERBOSE_OPTIONAL=1 (list the optional
# tests that did not pass too).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"

suite="${CACHE_TESTS_DIR:-}"
if [ $# -gt 0 ] && [ "${1:0:1}" != "-" ]; then
    suite="$1"
    shift
fi
test_id=""
while getopts "i:" opt; do
    case "$opt" in
    i) test_id="$OPTARG" ;;
    *) echo "usage: $0 SUITE_DIR [-i test-id]" >&2; exit 2 ;;
    esac
done
if [ -z "$suite" ] || [ ! -f "$suite/tests/index.mjs" ]; then
    echo "usage: $0 SUITE_DIR [-i test-id]  (a checkout of http-tests/cache-tests; or CACHE_TESTS_DIR)" >&2
    exit 2
fi
suite="$(cd "$suite" && pwd)"

bash "$repo/scripts/deps.sh"
[ -d "$suite/node_modules/undici" ] ||
    (cd "$suite" && npm install --no-audit --no-fund --omit=dev --loglevel=error)

sluice="${SLUICE_BIN:-$repo/build/sluice}"
if [ -z "${SLUICE_BIN:-}" ]; then
    [ -f "$repo/build/build.ninja" ] || meson setup "$repo/build" --buildtype=debugoptimized >/dev/null
    ninja -C "$repo/build" >/dev/null
fi

tmp="$(mktemp -d /tmp/sluice-cache-tests.XXXXXX)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() { # port name pid
    for _ in $(seq 1 250); do
        if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "$1" 2>/dev/null; then
            return 0
        fi
        kill -0 "$3" 2>/dev/null || break
        sleep 0.02
    done
    echo "$2 did not start; its log:" >&2
    cat "$tmp/$2.log" >&2
    exit 1
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
    >"$tmp/redis.log" 2>&1 &
pids+=($!)
wait_port "$redis_port" redis $!

origin_port=$(free_port)
(cd "$suite" && exec env npm_config_protocol=http npm_config_port="$origin_port" \
    npm_config_pidfile="$tmp/origin.pid" node test-engine/server/server.mjs) >"$tmp/origin.log" 2>&1 &
pids+=($!)
wait_port "$origin_port" origin $!

port=$(free_port)
cat >"$tmp/sluice.yaml" <<EOF
listen: 127.0.0.1:$port
workers: 1
redis:
  url: redis://127.0.0.1:$redis_port/0
upstreams:
  origin:
    servers: [127.0.0.1:$origin_port]
    keepalive: 16
    read_timeout: 15s
    idle_timeout: 4s            # under the origin's (Node: 5 s), or a reused connection races its close
routes:
  - name: all
    match: { path_prefix: / }
    upstream: origin
    auth: none
    cache: { scope: shared }
EOF
"$sluice" -c "$tmp/sluice.yaml" >"$tmp/sluice.log" 2>&1 &
pids+=($!)
wait_port "$port" sluice $!
# The cache stage needs its Redis connection: wait until the worker has it.
for _ in $(seq 1 100); do
    [ "$(redis-cli -p "$redis_port" client list 2>/dev/null | grep -vc 'cmd=client')" -ge 1 ] && break
    sleep 0.05
done

if [ -n "$test_id" ]; then
    (cd "$suite" && npm run --silent cli --base="http://127.0.0.1:$port" --id="$test_id")
    exit 0
fi

out="${CACHE_TESTS_OUT:-$tmp/results.json}"
(cd "$suite" && npm run --silent cli --base="http://127.0.0.1:$port") >"$out"

# The score as cache-tests.fyi counts it: tests of kind "required" (or none)
# and "optimal" ("check" tests only gather information), browser-only
# tests left out, a test whose dependency did not pass counted as failed.
cat >"$tmp/score.mjs" <<'EOF'
import fs from 'fs'
const suite = process.argv[2]
const { default: tests } = await import(`${suite}/tests/index.mjs`)
const { determineTestResult, resultTypes } = await import(`${suite}/test-engine/lib/results.mjs`)
const results = JSON.parse(fs.readFileSync(process.argv[3]))
const score = { required: [0, 0, []], optimal: [0, 0, []] }
for (const s of tests) {
  for (const t of s.tests) {
    const kind = t.kind || 'required'
    if (t.browser_only || !(kind in score)) continue
    const r = determineTestResult(tests, t.id, results)
    const k = score[kind]
    k[1]++
    if (r === resultTypes.pass) k[0]++
    else k[2].push(`${t.id} ${r[2]} ${JSON.stringify(results[t.id] ?? null)}`)
  }
}
console.log(`required: ${score.required[0]}/${score.required[1]} passed`)
console.log(`optional: ${score.optimal[0]}/${score.optimal[1]} passed`)
console.log('required tests not passed:')
for (const line of score.required[2]) console.log(`  ${line}`)
if (process.env.VERBOSE_OPTIONAL) {
  console.log('optional tests not passed:')
  for (const line of score.optimal[2]) console.log(`  ${line}`)
}
EOF
node "$tmp/score.mjs" "$suite" "$out"
