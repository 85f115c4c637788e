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
# A fresh signing key per demo run unless one is given: tokens of an
# earlier run then stop verifying, as after a key rotation.
if [ -z "${SLUICE_SECRET_KEY:-}" ]; then
    SLUICE_SECRET_KEY=$(build/sluice keygen | sed -n 's/^secret: //p')
    export SLUICE_SECRET_KEY
fi
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
for _ in $(seq 50); do curl -sf http://127.0.0.1:8081/readyz >/dev/null && break; sleep 0.1; done

admin=(-H "Authorization: Bearer $SLUICE_ADMIN_TOKEN")
session=$(curl -s "${admin[@]}" http://127.0.0.1:8081/v1/sessions -d '{"user":"demo","plan":"free"}')
token=$(printf '%s' "$session" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
if [ -z "$token" ]; then
    echo "could not create a demo session: $session" >&2
    exit 1
fi

cat <<MSG

sluice is running on http://127.0.0.1:8080 (admin http://127.0.0.1:8081).
A session for user "demo" was created (admin token: $SLUICE_ADMIN_TOKEN):
  TOKEN=$token
Try:
  curl -s http://127.0.0.1:8080/v1/chat/completions -H "Authorization: Bearer \$TOKEN" -d '{"model":"mock","messages":[{"role":"user","content":"hi"}]}'
  curl -sN http://127.0.0.1:8080/v1/chat/completions -H "Authorization: Bearer \$TOKEN" -d '{"model":"mock","stream":true,"messages":[]}'
  curl -s http://127.0.0.1:8080/v1/chat/completions -d '{}'          # no token: 401 missing_token
  curl -s http://127.0.0.1:8080/v1/models                            # auth: optional
  curl -s -H "Authorization: Bearer $SLUICE_ADMIN_TOKEN" http://127.0.0.1:8081/v1/users/demo/sessions
  curl -s -X DELETE -H "Authorization: Bearer $SLUICE_ADMIN_TOKEN" http://127.0.0.1:8081/v1/users/demo/sessions   # revoke: the next call is 401
  curl -s -H "Authorization: Bearer $SLUICE_ADMIN_TOKEN" http://127.0.0.1:8081/v1/users/demo/limits   # usage of every limit
  curl -s http://127.0.0.1:8081/readyz ; curl -s http://127.0.0.1:8081/metrics | head
Ctrl-C stops the demo.
MSG
wait "${pids[-1]}"
