#!/usr/bin/env bash
# bench/run.sh - sluice side by side with nginx and HAProxy, in one command.
#
#   bash bench/run.sh                 # full run (~5 minutes)
#   DURATION=3 bash bench/run.sh      # quick run
#
# See bench/README.md for what is measured and how to read the ratios.
# Everything listens on 127.0.0.1 only; every process started here is
# stopped on exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SLUICE=${SLUICE:-build-release/sluice}
MOCK=${MOCK:-build-release/tools/mock_llm/mock_llm}
DURATION=${DURATION:-10}          # seconds per measured wrk run
WARMUP=${WARMUP:-2}               # seconds of unmeasured load before each run
REPEAT=${REPEAT:-1}               # passes over the whole matrix; medians reported
THREADS=${THREADS:-2}             # wrk threads (one per core on the reference box)
CONNS=${CONNS:-50 200}
SIZES=${SIZES:-small 16k}
TARGETS=${TARGETS:-direct nginx haproxy sluice}
TTFE_REPS=${TTFE_REPS:-20}
IDLE_N=${IDLE_N:-10000}
IDLE_HOLD=${IDLE_HOLD:-5}
KEEPALIVE=${KEEPALIVE:-64}        # idle upstream connections each proxy may keep
SYSCALLS=${SYSCALLS:-auto}        # auto: count syscalls/request if perf works; 0: skip
# Optional CPU pinning, e.g. WRK_CPUS=0 SERVER_CPUS=1 (see README: off by default).
WRK_CPUS=${WRK_CPUS:-}
SERVER_CPUS=${SERVER_CPUS:-}
OUT=${OUT:-bench/results/latest.md}

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- prerequisites -----------------------------------------------------------

need_install=()
for t in wrk nginx haproxy curl cc; do
    command -v "$t" >/dev/null || need_install+=("$t")
done
if ((${#need_install[@]})); then
    log "installing: ${need_install[*]}"
    pkgs=(); for t in "${need_install[@]}"; do
        [[ $t == cc ]] && pkgs+=(build-essential) || pkgs+=("$t")
    done
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}"
    # Debian starts the packaged services on install; they are not used here
    # and would only add noise (and hold port 80).
    for s in nginx haproxy; do
        systemctl disable --now "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true
    done
fi

if [[ ! -x $SLUICE || ! -x $MOCK ]]; then
    log "building release binaries"
    # A failed build is not fatal: the mock alone is enough to bench the others.
    if ! { [[ -f build-release/build.ninja ]] || meson setup build-release --buildtype=release >&2; } ||
       ! ninja -C build-release >&2; then
        log "warning: build failed; continuing with what exists"
    fi
fi
[[ -x $MOCK ]] || die "mock upstream $MOCK not found"
if [[ ! -x $SLUICE ]]; then
    log "warning: $SLUICE not found; sluice will be skipped"
    TARGETS=${TARGETS//sluice/}
fi

# 10k idle connections need >10k descriptors in the client and in the proxy.
# Containers often cap the hard limit (20000 here); take what we can get.
ulimit -n 100000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
# HAProxy reserves two descriptors per connection (client and server side)
# and refuses to start if maxconn does not fit, so it sets the ceiling.
HAPROXY_MAXCONN=$(( (NOFILE - 100) / 2 ))
if ((IDLE_N + 50 > HAPROXY_MAXCONN)); then
    IDLE_N=$((HAPROXY_MAXCONN - 50))
    log "open-file limit is $NOFILE: holding $IDLE_N idle connections instead"
fi

TMP=$(mktemp -d /tmp/sluice-bench.XXXXXX)
CLK_TCK=$(getconf CLK_TCK)

pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        local alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.2
    done
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Command prefixes rather than functions: timeout(1) and $! need real
# processes (taskset execs, so a server's PID stays its own).
SRV=(); [[ -n $SERVER_CPUS ]] && SRV=(taskset -c "$SERVER_CPUS")
WRK=(wrk); [[ -n $WRK_CPUS ]] && WRK=(taskset -c "$WRK_CPUS" wrk)

# Ports below the ephemeral range, so wrk's own sockets never collide with them.
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 12000))
        [[ -z $(ss -Htln "sport = :$p") ]] && { echo "$p"; return; }
    done
}

wait_port() { # PORT PID NAME
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { log "$3 exited during start-up"; return 1; }
        sleep 0.1
    done
    log "$3 did not listen on port $1"; return 1
}

cpu_ticks() { # utime+stime of a whole process (all threads)
    local s
    s=$(<"/proc/$1/stat") || { echo 0; return; }
    s=${s##*) }                       # the command name may contain spaces
    # shellcheck disable=SC2086
    set -- $s
    echo $(( ${12} + ${13} ))
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --- upstream ---------------------------------------------------------------

# stdbuf: the port line must not sit in a stdio buffer while we wait for it.
# The proxies use keep-alive upstream, so the mock's CPU per request is the
# same for all of them: we record it as a check that no proxy reconnects.
"${SRV[@]}" stdbuf -oL "$MOCK" --port 0 >"$TMP/mock.out" 2>"$TMP/mock.err" &
MOCK_PID=$!; pids+=("$MOCK_PID")
for _ in $(seq 100); do
    grep -q 'listening on' "$TMP/mock.out" 2>/dev/null && break
    kill -0 "$MOCK_PID" 2>/dev/null || { cat "$TMP/mock.err" >&2; die "mock exited"; }
    sleep 0.1
done
UPORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/mock.out" | head -1)
[[ -n $UPORT ]] || die "mock did not print its port"
log "mock upstream on 127.0.0.1:$UPORT (pid $MOCK_PID)"

declare -A PORT PID MEASURE_PID
PORT[direct]=$UPORT; PID[direct]=$MOCK_PID; MEASURE_PID[direct]=$MOCK_PID

# --- nginx ------------------------------------------------------------------

# master_process on as in production; we measure the single worker, which
# does all the work (the master only sleeps).
start_nginx() {
    local d=$TMP/nginx p; p=$(free_port); mkdir -p "$d/logs"
    local user=""; ((EUID == 0)) && user="user root;"
    cat >"$d/nginx.conf" <<EOF
$user
worker_processes 1;
daemon off;
master_process on;
pid $d/nginx.pid;
error_log $d/error.log warn;
worker_rlimit_nofile $NOFILE;
events { worker_connections $((NOFILE - 100)); }
http {
    access_log off;
    # nginx closes a keep-alive connection after 1000 requests by default,
    # on both sides; HAProxy does not. Raised so that all proxies keep their
    # connections for the whole run and we compare forwarding, not policy.
    keepalive_requests 1000000;
    upstream u {
        server 127.0.0.1:$UPORT;
        keepalive $KEEPALIVE;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$p;
        location / {
            proxy_pass http://u;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location /sse {
            proxy_pass http://u;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
EOF
    "${SRV[@]}" nginx -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" 2>"$d/start.log" &
    PID[nginx]=$!; pids+=("${PID[nginx]}"); PORT[nginx]=$p
    wait_port "$p" "${PID[nginx]}" nginx || { cat "$d/start.log" "$d/error.log" >&2; return 1; }
    MEASURE_PID[nginx]=$(pgrep -P "${PID[nginx]}" | head -1)
    [[ -n ${MEASURE_PID[nginx]} ]] || { log "no nginx worker"; return 1; }
}

# --- HAProxy ----------------------------------------------------------------

start_haproxy() {
    local d=$TMP/haproxy p; p=$(free_port); mkdir -p "$d"
    local maxconn=$HAPROXY_MAXCONN
    cat >"$d/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn $maxconn
defaults
    mode http
    option http-keep-alive
    http-reuse always
    maxconn $maxconn
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 75s
frontend f
    bind 127.0.0.1:$p
    default_backend b
backend b
    server s1 127.0.0.1:$UPORT
EOF
    "${SRV[@]}" haproxy -db -f "$d/haproxy.cfg" >"$d/out.log" 2>&1 &
    PID[haproxy]=$!; pids+=("${PID[haproxy]}"); PORT[haproxy]=$p; MEASURE_PID[haproxy]=${PID[haproxy]}
    wait_port "$p" "${PID[haproxy]}" haproxy || { cat "$d/out.log" >&2; return 1; }
}

# --- sluice -----------------------------------------------------------------

start_sluice() {
    local d=$TMP/sluice p; p=$(free_port); mkdir -p "$d"
    cat >"$d/sluice.yaml" <<EOF
listen: 127.0.0.1:$p
workers: 1
log: { access: "off" }
upstreams:
  u: { servers: [127.0.0.1:$UPORT], keepalive: $KEEPALIVE }
routes:
  - { name: all, match: { path_prefix: / }, upstream: u, auth: none }
EOF
    if ! "$SLUICE" -t -c "$d/sluice.yaml" >"$d/check.log" 2>&1; then
        log "sluice refused the configuration:"; cat "$d/check.log" >&2; return 1
    fi
    "${SRV[@]}" "$SLUICE" -c "$d/sluice.yaml" >"$d/out.log" 2>&1 &
    PID[sluice]=$!; pids+=("${PID[sluice]}"); PORT[sluice]=$p; MEASURE_PID[sluice]=${PID[sluice]}
    wait_port "$p" "${PID[sluice]}" sluice || { tail -20 "$d/out.log" >&2; return 1; }
}

# Start each proxy and check it really forwards; a target that does not is
# dropped from the run (and reported) rather than aborting the whole bench.
PROBLEMS=()
active=()
for t in $TARGETS; do
    if [[ $t != direct ]]; then
        if ! "start_$t"; then PROBLEMS+=("$t: failed to start"); continue; fi
    fi
    for path in /small /bytes/16384; do
        if ! body=$(curl -fsS --max-time 5 "http://127.0.0.1:${PORT[$t]}$path" 2>&1); then
            PROBLEMS+=("$t: GET $path failed: ${body:0:200}")
            continue 2
        fi
    done
    active+=("$t")
    log "$t on 127.0.0.1:${PORT[$t]} (pid ${PID[$t]}, measured pid ${MEASURE_PID[$t]})"
done
TARGETS=${active[*]}
[[ -n $TARGETS ]] || die "no target answers"

alive() { kill -0 "${PID[$1]}" 2>/dev/null; }
dead_report() { # a proxy died mid-run: keep its last words
    local f=$TMP/$1/out.log; [[ $1 == nginx ]] && f=$TMP/nginx/error.log
    PROBLEMS+=("$1: process died during the run; last output: $(tail -5 "$f" 2>/dev/null | tr '\n' ' ')")
    TARGETS=${TARGETS//$1/}
}

path_of() { case $1 in small) echo /small ;; 16k) echo /bytes/16384 ;; *) die "size $1" ;; esac; }

# wrk's latency lines look like "     99%    5.21ms"; normalise to ms.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
        if (f < 0) print "nan"; else printf "%.3f", n * f }'
}

# --- throughput / latency / CPU ---------------------------------------------

RAW=$TMP/raw.tsv   # rep target size conns rps p50 p99 cpu_us up_cpu_us errors
: >"$RAW"
# Sizes and connection counts outside, targets inside: slow drift of the
# machine (thermal, noisy neighbours) then lands on every target alike.
for rep in $(seq "$REPEAT"); do
  for size in $SIZES; do
    for c in $CONNS; do
      for t in $TARGETS; do
        alive "$t" || { dead_report "$t"; continue; }
        url="http://127.0.0.1:${PORT[$t]}$(path_of "$size")"
        timeout $((WARMUP + 30)) "${WRK[@]}" -t"$THREADS" -c"$c" -d"${WARMUP}s" "$url" >/dev/null 2>&1 || true
        mp=${MEASURE_PID[$t]}
        c0=$(cpu_ticks "$mp"); u0=$(cpu_ticks "$MOCK_PID")
        out=$(timeout $((DURATION + 30)) "${WRK[@]}" -t"$THREADS" -c"$c" -d"${DURATION}s" --latency "$url" 2>&1) || true
        c1=$(cpu_ticks "$mp"); u1=$(cpu_ticks "$MOCK_PID")
        alive "$t" || { dead_report "$t"; continue; }
        rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
        reqs=$(awk '/requests in/ {print $1}' <<<"$out")
        p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
        p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
        errs=$(awk '/Socket errors/ {gsub(/,/, ""); s += $4 + $6 + $8 + $10}
                    /Non-2xx/ {s += $NF} END {print s + 0}' <<<"$out")
        if [[ -z $rps || -z $reqs || $reqs == 0 ]]; then
            PROBLEMS+=("$t $size c=$c: wrk produced no result: $(tr '\n' ' ' <<<"${out:0:300}")")
            continue
        fi
        read -r cpu up <<<"$(awk -v a="$c0" -v b="$c1" -v ua="$u0" -v ub="$u1" -v r="$reqs" -v hz="$CLK_TCK" \
            'BEGIN { printf "%.2f %.2f", (b - a) / hz * 1e6 / r, (ub - ua) / hz * 1e6 / r }')"
        [[ $t == direct ]] && cpu=nan      # no proxy; the upstream's share is in "up"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
            "$rep" "$t" "$size" "$c" "$rps" "$p50" "$p99" "$cpu" "$up" "$errs" >>"$RAW"
        log "$(printf 'rep %s %-7s %-5s c=%-3s %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms  cpu %6s us/req  errors %s' \
            "$rep" "$t" "$size" "$c" "$rps" "$p50" "$p99" "$cpu" "$errs")"
        ((errs == 0)) || PROBLEMS+=("$t $size c=$c: $errs wrk errors (socket errors or non-2xx)")
      done
    done
  done
done

# --- syscalls per request (optional) ----------------------------------------

# perf counts the raw_syscalls tracepoint in the kernel: cheap, but not free,
# so it runs in a separate short pass and never touches the numbers above.
declare -A SYSC=()
if [[ $SYSCALLS != 0 ]] && perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1; then
    sdur=$(( DURATION < 3 ? DURATION : 3 ))
    for t in $TARGETS; do
        alive "$t" || continue
        url="http://127.0.0.1:${PORT[$t]}/small"
        perf stat -x, -e raw_syscalls:sys_enter -p "${MEASURE_PID[$t]}" -o "$TMP/perf.$t" \
            -- sleep $((sdur + 1)) 2>/dev/null &
        ppid=$!
        sleep 0.5
        out=$(timeout $((sdur + 30)) "${WRK[@]}" -t"$THREADS" -c50 -d"${sdur}s" "$url" 2>&1) || true
        wait "$ppid" || true
        reqs=$(awk '/requests in/ {print $1}' <<<"$out")
        calls=$(awk -F, '/raw_syscalls/ {print $1}' "$TMP/perf.$t" 2>/dev/null)
        if [[ -n $reqs && $calls =~ ^[0-9]+$ ]]; then
            SYSC[$t]=$(awk -v c="$calls" -v r="$reqs" 'BEGIN { printf "%.2f", c / r }')
        fi
    done
elif [[ $SYSCALLS != 0 ]]; then
    log "perf cannot count syscalls here; skipping syscalls/request"
fi

# --- SSE time to first event ------------------------------------------------

cc -O2 -Wall -o "$TMP/sse_ttfe" bench/sse_ttfe.c
cc -O2 -Wall -o "$TMP/idle_conns" bench/idle_conns.c

declare -A TTFE
sse_path="/sse?events=3&interval_ms=1000"
for t in $TARGETS; do
    alive "$t" || { dead_report "$t"; continue; }
    out=$(timeout $((TTFE_REPS * 6 + 30)) "$TMP/sse_ttfe" 127.0.0.1 "${PORT[$t]}" "$sse_path" "$TTFE_REPS" 2>"$TMP/ttfe.err") || \
        PROBLEMS+=("$t: SSE: $(sort -u "$TMP/ttfe.err" | head -3 | tr '\n' ' ')")
    TTFE[$t]=$(awk '/^median/ {print $2}' <<<"$out")
    log "$t SSE first event: median ${TTFE[$t]:-?} ms"
done

# --- idle connection memory ---------------------------------------------------

declare -A IDLE
for t in $TARGETS; do
    [[ $t == direct ]] && continue
    alive "$t" || { dead_report "$t"; continue; }
    mp=${MEASURE_PID[$t]}
    sleep 1                                  # let the previous test's sockets go
    r0=$(rss_kib "$mp")
    "$TMP/idle_conns" 127.0.0.1 "${PORT[$t]}" "$IDLE_N" "$IDLE_HOLD" >"$TMP/idle.$t" 2>&1 &
    ipid=$!; pids+=("$ipid")
    for _ in $(seq 1200); do
        grep -q '^ready' "$TMP/idle.$t" && break
        kill -0 "$ipid" 2>/dev/null || break
        sleep 0.1
    done
    sleep 1                                  # the proxy may still be settling
    r1=$(rss_kib "$mp" 2>/dev/null || echo 0)
    timeout $((IDLE_HOLD + 30)) tail --pid="$ipid" -f /dev/null || kill -KILL "$ipid" 2>/dev/null || true
    read -r _ ok failed <<<"$(grep '^ready' "$TMP/idle.$t" || echo 'ready 0 0')"
    still=$(awk '/^alive/ {print $2}' "$TMP/idle.$t")
    per=nan; ((ok > 0)) && per=$(awk -v a="$r0" -v b="$r1" -v n="$ok" 'BEGIN { printf "%.2f", (b - a) / n }')
    IDLE[$t]="$ok|${still:-?}|$r0|$r1|$per"
    ((failed == 0)) || PROBLEMS+=("$t: $failed of $IDLE_N idle connections could not be opened")
    log "$t idle: $ok open ($failed failed), ${still:-?} alive after ${IDLE_HOLD}s, RSS $r0 -> $r1 KiB, $per KiB/conn"
    alive "$t" || dead_report "$t"
done

# --- report -------------------------------------------------------------------

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# med TARGET SIZE CONNS COLUMN
med() { awk -F'\t' -v t="$1" -v s="$2" -v c="$3" -v k="$4" '$2 == t && $3 == s && $4 == c { print $k }' "$RAW" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b + 0 == 0) print "–"; else printf "%.2f", a / b }'; }
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "nan" || v == "") print "–"; else printf f, v }'; }

all_targets="direct nginx haproxy sluice"
{
    echo "# sluice benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC') · $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)) · kernel $(uname -r)"
    echo "· $(nginx -v 2>&1 | sed 's/.*version: //') · HAProxy $(haproxy -v | awk 'NR == 1 {print $3}') · $(wrk -v 2>&1 | awk 'NR == 1 {print $1, $2}')"
    echo "· sluice $("$SLUICE" -V 2>/dev/null | head -1 || echo '?') · upstream: $MOCK"
    echo
    echo "wrk -t$THREADS, ${DURATION}s per run after ${WARMUP}s warm-up, $REPEAT pass(es), medians;" \
         "pinning: wrk=${WRK_CPUS:-none} servers=${SERVER_CPUS:-none}; each proxy 1 worker, keep-alive upstream."
    echo
    echo "## Throughput, latency, CPU"
    echo
    echo "| size | conns | target | req/s | × direct | p50 ms | p99 ms | proxy CPU µs/req | upstream CPU µs/req | errors |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
    for size in $SIZES; do for c in $CONNS; do
        drps=$(med direct "$size" "$c" 5)
        for t in $all_targets; do
            rps=$(med "$t" "$size" "$c" 5); [[ $rps == nan ]] && continue
            echo "| $size | $c | $t | $(fmt "$rps" %.0f) | $(ratio "$rps" "$drps") | $(fmt "$(med "$t" "$size" "$c" 6)" %.3f)" \
                 "| $(fmt "$(med "$t" "$size" "$c" 7)" %.3f) | $(fmt "$(med "$t" "$size" "$c" 8)" %.1f)" \
                 "| $(fmt "$(med "$t" "$size" "$c" 9)" %.1f) | $(awk -F'\t' -v t="$t" -v s="$size" -v c="$c" '$2 == t && $3 == s && $4 == c { e += $10 } END { print e + 0 }' "$RAW") |"
        done
    done; done
    echo
    echo "## sluice relative to nginx and HAProxy"
    echo
    echo "Throughput > 1 is better; p99 and CPU/request < 1 are better."
    echo
    echo "| size | conns | req/s ÷ nginx | p99 ÷ nginx | CPU/req ÷ nginx | req/s ÷ haproxy | p99 ÷ haproxy | CPU/req ÷ haproxy |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for size in $SIZES; do for c in $CONNS; do
        row="| $size | $c"
        for ref in nginx haproxy; do
            row+=" | $(ratio "$(med sluice "$size" "$c" 5)" "$(med "$ref" "$size" "$c" 5)")"
            row+=" | $(ratio "$(med sluice "$size" "$c" 7)" "$(med "$ref" "$size" "$c" 7)")"
            row+=" | $(ratio "$(med sluice "$size" "$c" 8)" "$(med "$ref" "$size" "$c" 8)")"
        done
        echo "$row |"
    done; done
    if ((${#SYSC[@]})); then
        echo
        echo "## Syscalls per request (small, 50 connections, separate pass under perf)"
        echo
        echo "| target | syscalls/req |"
        echo "|---|---:|"
        for t in $all_targets; do
            if [[ -n ${SYSC[$t]:-} ]]; then echo "| $t$([[ $t == direct ]] && echo ' (upstream)') | ${SYSC[$t]} |"; fi
        done
    fi
    echo
    echo "## SSE time to first event (median of $TTFE_REPS, connect excluded)"
    echo
    echo "| target | first event ms | added ms vs direct |"
    echo "|---|---:|---:|"
    for t in $all_targets; do
        [[ -n ${TTFE[$t]:-} ]] || continue
        added=$(awk -v a="${TTFE[$t]}" -v b="${TTFE[direct]:-nan}" 'BEGIN { if (a == "nan" || b == "nan") print "–"; else printf "%+.3f", a - b }')
        echo "| $t | $(fmt "${TTFE[$t]}" %.3f) | $([[ $t == direct ]] && echo – || echo "$added") |"
    done
    echo
    echo "## Idle keep-alive connections (memory)"
    echo
    echo "| target | connections opened | still open after ${IDLE_HOLD}s | RSS before KiB | RSS with KiB | KiB per idle conn |"
    echo "|---|---:|---:|---:|---:|---:|"
    for t in nginx haproxy sluice; do
        [[ -n ${IDLE[$t]:-} ]] || continue
        IFS='|' read -r ok still r0 r1 per <<<"${IDLE[$t]}"
        echo "| $t | $ok | $still | $r0 | $r1 | $(fmt "$per" %.2f) |"
    done
    if ((${#PROBLEMS[@]})); then
        echo
        echo "## Problems seen"
        echo
        for p in "${PROBLEMS[@]}"; do echo "- $p"; done
    fi
} >"$TMP/report.md"

{
    cat "$TMP/report.md"
    echo
    echo "## Raw runs"
    echo
    echo '```'
    printf 'rep\ttarget\tsize\tconns\treq/s\tp50ms\tp99ms\tcpu_us\tup_cpu_us\terrors\n'
    cat "$RAW"
    echo '```'
} >"$TMP/full.md"
mkdir -p "$(dirname "$OUT")"
cp "$TMP/full.md" "$OUT"
cat "$TMP/report.md"
log "written to $OUT"
