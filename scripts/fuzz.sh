#!/usr/bin/env bash
# Runs every libFuzzer target of the fuzz build for SECONDS each (default 60).
#
#   bash scripts/fuzz.sh [SECONDS]
#
# Builds build-fuzz/ (clang, -Dfuzz=true, ASan + UBSan; clang and llvm are
# installed by scripts/deps.sh when missing), then runs each executable
# named fuzz_* in build-fuzz/tests/fuzz/, so a target added to
# tests/fuzz/meson.build is run without touching this script. Each runs
# with tests/fuzz/NAME.dict (when there is one) on a temporary copy of
# tests/fuzz/corpus/NAME, so what a run finds does not litter the repo.
# Prints one line per target:
#
#   fuzz_NAME: N executions, 0 crashes
#
# and exits 1 when any target crashed, leaked, timed out or printed a
# sanitizer report. The input that did it is kept in
# build-fuzz/fuzz-artifacts/NAME/ (with the log): fix the bug, then add
# the input to tests/fuzz/corpus/NAME/ so the replay test keeps it fixed.
set -euo pipefail

seconds=${1:-60}
case $seconds in
'' | *[!0-9]*)
    echo "usage: $0 [SECONDS]" >&2
    exit 2
    ;;
esac

cd "$(dirname "$0")/.."
root=$PWD
build=build-fuzz

bash scripts/deps.sh clang llvm

if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$build"

mapfile -t targets < <(find "$build/tests/fuzz" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x |
    sort)
if [ ${#targets[@]} -eq 0 ]; then
    echo "no fuzz_* executables in $build/tests/fuzz (is -Dfuzz=true set?)" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sanitizer_re='ERROR: (Address|Leak|Memory|Thread|UndefinedBehavior)Sanitizer|runtime error: |SUMMARY: [A-Za-z]*Sanitizer'
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

failed=0
for bin in "${targets[@]}"; do
    target=$(basename "$bin")
    name=${target#fuzz_}
    work="$tmp/$name"
    mkdir -p "$work/corpus" "$work/artifacts"
    if [ -d "tests/fuzz/corpus/$name" ]; then
        cp -R "tests/fuzz/corpus/$name/." "$work/corpus/"
    else
        echo "# $target: no seed corpus tests/fuzz/corpus/$name, starting empty" >&2
    fi
    args=(-max_total_time="$seconds" -timeout=25 -print_final_stats=1
          -artifact_prefix="$work/artifacts/")
    [ -f "tests/fuzz/$name.dict" ] && args+=(-dict="$root/tests/fuzz/$name.dict")

    rc=0
    (cd "$work" && "$root/$bin" "${args[@]}" corpus) >"$work/log" 2>&1 || rc=$?

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
    [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$work/log" | tail -n 1 | tr -d '#')
    [ -n "$execs" ] || execs=0
    crashes=$(find "$work/artifacts" -type f | wc -l)
    reports=$(grep -Ec "$sanitizer_re" "$work/log" || true)
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes=1 # died without leaving an input (e.g. out of memory in the harness)
    fi
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ] || [ "$reports" -ne 0 ]; then
        [ "$crashes" -ne 0 ] || crashes=1
        keep="$build/fuzz-artifacts/$name"
        mkdir -p "$keep"
        cp -R "$work/artifacts/." "$keep/"
        cp "$work/log" "$keep/log"
        echo "$target: $execs executions, $crashes crashes (exit $rc; inputs and log in $keep)"
        grep -E -m 5 "$sanitizer_re|invariant failed|deadly signal|Test unit written" \
            "$work/log" | sed 's/^/#   /' || true
        failed=1
    else
        echo "$target: $execs executions, 0 crashes"
    fi
done
exit "$failed"
