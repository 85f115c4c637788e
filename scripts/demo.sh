#!/usr/bin/env bash
# The demo: a local redis-server, the mock LLM upstream on 127.0.0.1:9000,
# and sluice with conf/sluice.yaml on 127.0.0.1:8080 (admin on 8081).
# Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[ -f build/build.ninja ] || meson setup build --buildtype=release
ninja -C build

export SLUICE_ADMIN_TOKEN=${SLUICE_ADMIN_TOKEN:-demo-admin-token}
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
    redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no >/tmp/sluice-demo-redis.log &
    pids+=($!)
fi
build/tools/mock_llm/mock_llm --listen 127.0.0.1:9000 >/tmp/sluice-demo-mock.log &
pids+=($!)
sleep 0.3
build/sluice -c conf/sluice.yaml &
pids+=($!)
sleep 0.5

cat <<MSG

sluice is running on http://127.0.0.1:8080 (admin http://127.0.0.1:8081). Try:
  curl -s http://127.0.0.1:8080/v1/models
  curl -s http://127.0.0.1:8080/v1/chat/completions -d '{"model":"mock","messages":[{"role":"user","content":"hi"}]}'
  curl -sN http://127.0.0.1:8080/v1/chat/completions -d '{"model":"mock","stream":true,"messages":[]}'
  curl -s http://127.0.0.1:8081/readyz ; curl -s http://127.0.0.1:8081/metrics | head
Ctrl-C stops the demo.
MSG
wait "${pids[-1]}"
