#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds twice (optimised,
# and with AddressSanitizer + UndefinedBehaviorSanitizer), and runs every
# unit, fuzz-corpus and integration test in both builds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
run_suite() {
    local dir=$1; shift
    [ -f "$dir/build.ninja" ] || meson setup "$dir" "$@"
    ninja -C "$dir"
    local rc=0
    meson test -C "$dir" --print-errorlogs --num-processes 2 || rc=$?
    local log="$dir/meson-logs/testlog.json"
    if [ -f "$log" ]; then
        passed=$((passed + $(grep -c '"result": "OK"' "$log" || true)))
        failed=$((failed + $(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)))
    fi
    [ "$rc" -eq 0 ] || failed=$((failed > 0 ? failed : 1))
}

run_suite build --buildtype=debugoptimized
run_suite build-asan --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
