#!/usr/bin/env bash
# bench/run.sh - sluice side by side with nginx and HAProxy, in one command.
#
#   bash bench/run.sh                 # full run (~10 minutes)
#   DURATION=3 bash bench/run.sh      # quick run
#   TARGETS="nginx_lua_session sluice sluice_auth" bash bench/run.sh
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
ALL_TARGETS="direct nginx haproxy sluice nginx_lua_session nginx_lua_zset sluice_auth sluice_limits sluice_flood sluice_forged nginx_cache sluice_cache sluice_cache_miss sluice_fleet sluice_fleet_cluster"
TARGETS=${TARGETS:-$ALL_TARGETS}
TTFE_REPS=${TTFE_REPS:-20}
IDLE_N=${IDLE_N:-10000}
IDLE_HOLD=${IDLE_HOLD:-5}
KEEPALIVE=${KEEPALIVE:-64}        # idle upstream connections each proxy may keep
SYSCALLS=${SYSCALLS:-auto}        # auto: count syscalls/request if perf works; 0: skip
SESSION_TTL_MS=${SESSION_TTL_MS:-3600000}  # session idle TTL, peers and sluice alike (1h)
ZSET_WINDOW_MS=${ZSET_WINDOW_MS:-60000}    # the Lua peer's sliding-log window (sluice's per_minute)
ZSET_LIMIT=${ZSET_LIMIT:-100000000}        # never reached: nothing is refused
REDIS_POOL=${REDIS_POOL:-1024}    # Lua peers' Redis keep-alive pool per worker (never reconnects)
# Optional CPU pinning, e.g. WRK_CPUS=0 SERVER_CPUS=1 (see README: off by default).
WRK_CPUS=${WRK_CPUS:-}
SERVER_CPUS=${SERVER_CPUS:-}
OUT=${OUT:-bench/results/latest.md}

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- prerequisites -----------------------------------------------------------

LUA_MOD_DIR=/usr/lib/nginx/modules        # Debian's libnginx-mod-http-{ndk,lua}
wants() { [[ " $TARGETS " == *" $1"* ]]; } # wants nginx_lua: any nginx_lua_* target
uses_redis() { [[ $1 == nginx_lua_* || $1 == sluice_* ]] && [[ $1 != sluice ]]; }
NEED_REDIS=0; for t in $TARGETS; do uses_redis "$t" && NEED_REDIS=1; done

# command or file -> Debian package
need_install=()
for t in wrk nginx haproxy curl cc pkg-config; do
    command -v "$t" >/dev/null || need_install+=("$t")
done
if wants nginx_lua && [[ ! -f $LUA_MOD_DIR/ngx_http_lua_module.so ]]; then need_install+=(lua-mod); fi
if ((NEED_REDIS)); then
    command -v redis-server >/dev/null || need_install+=(redis-server)
    command -v redis-cli >/dev/null || need_install+=(redis-tools)
fi
if wants sluice_forged && ! pkg-config --exists libsodium 2>/dev/null; then need_install+=(libsodium-dev); fi
if ((${#need_install[@]})); then
    log "installing: ${need_install[*]}"
    pkgs=(); for t in "${need_install[@]}"; do
        case $t in
            cc) pkgs+=(build-essential) ;;
            lua-mod) pkgs+=(libnginx-mod-http-lua libnginx-mod-http-ndk) ;;
            *) pkgs+=("$t") ;;
        esac
    done
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}"
    # Debian starts the packaged services on install; they are not used here
    # and would only add noise (and hold ports 80 and 6379).
    for s in nginx haproxy redis-server; do
        systemctl disable --now "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true
    done
fi

# Always (re)build: ninja is a no-op when current, and a stale binary would
# measure an older commit than the report names.
if [[ $SLUICE == build-release/sluice ]]; then
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
    TARGETS=$(tr ' ' '\n' <<<"$TARGETS" | { grep -v '^sluice' || true; } | tr '\n' ' ')
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
declare -A AUTH=() EXPECT=()   # per target: Authorization header wrk sends; expected status
# per target with Redis servers of its own: their ports and pids (else the shared one)
declare -A REDIS_PORTS_OF=() REDIS_PIDS_OF=()

# --- Redis ------------------------------------------------------------------

# One redis-server for every target that needs one (the Lua peers and
# sluice's auth targets share it), no persistence. Its CPU and INFO
# commandstats are read around every measured run, for every target (the
# ones that do not use it show its idle cost: ~0).
REDIS_PID=""; REDIS_PORT=""
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
if ((NEED_REDIS)); then
    REDIS_PORT=$(free_port)
    "${SRV[@]}" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
        --daemonize no --protected-mode no --logfile "$TMP/redis.log" >"$TMP/redis.out" 2>&1 &
    REDIS_PID=$!; pids+=("$REDIS_PID")
    wait_port "$REDIS_PORT" "$REDIS_PID" redis-server || { cat "$TMP/redis.out" "$TMP/redis.log" >&2; die "redis-server did not start"; }
    log "redis-server $(redis-server --version | awk '{print $3}' | tr -d v=) on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID)"
    # The Lua peers' session: the token is the opaque string "bench:peer-session".
    rcli HSET 'bench:{u:bench}:s:peer-session' user bench plan bench >/dev/null
    rcli PEXPIRE 'bench:{u:bench}:s:peer-session' "$SESSION_TTL_MS" >/dev/null
fi
# "cmd calls usec" per line, from INFO commandstats (INFO itself left out:
# it is ours), summed over the servers on PORTS (default: the shared one).
redis_cmdstats() { # [PORT...]
    (($#)) || set -- $REDIS_PORT
    (($#)) || return 0
    local p
    for p in "$@"; do redis-cli -h 127.0.0.1 -p "$p" INFO commandstats; done | tr -d '\r' |
        sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),usec=\([0-9]*\),.*/\1 \2 \3/p' |
        awk '$1 != "info" { n[$1] += $2; u[$1] += $3 } END { for (c in n) print c, n[c], u[c] }' || true
}

# A three-master Redis Cluster for sluice_fleet_cluster (redis-cli --cluster
# create, no replicas, no persistence), on free ports with their bus ports
# given explicitly (port + 10000 could land in the ephemeral range).
CLUSTER_PORTS=(); CLUSTER_PIDS=()
start_cluster() {
    ((${#CLUSTER_PORTS[@]})) && return 0
    local d=$TMP/cluster i p bus pid; mkdir -p "$d"
    for i in 1 2 3; do
        p=$(free_port); while [[ " ${CLUSTER_PORTS[*]} $REDIS_PORT " == *" $p "* ]]; do p=$(free_port); done
        bus=$(free_port); while ((bus == p)); do bus=$(free_port); done
        "${SRV[@]}" redis-server --bind 127.0.0.1 --port "$p" --cluster-enabled yes \
            --cluster-config-file "$d/nodes-$p.conf" --cluster-port "$bus" --cluster-node-timeout 5000 \
            --save '' --appendonly no --daemonize no --protected-mode no --dir "$d" \
            --logfile "$d/redis-$p.log" >"$d/redis-$p.out" 2>&1 &
        pid=$!; pids+=("$pid")
        wait_port "$p" "$pid" "cluster redis-server" || { cat "$d/redis-$p.log" >&2; return 1; }
        CLUSTER_PORTS+=("$p"); CLUSTER_PIDS+=("$pid")
    done
    local addrs=(); for p in "${CLUSTER_PORTS[@]}"; do addrs+=("127.0.0.1:$p"); done
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$d/create.log" 2>&1 ||
        { cat "$d/create.log" >&2; return 1; }
    for _ in $(seq 100); do
        local ok=1
        for p in "${CLUSTER_PORTS[@]}"; do
            redis-cli -p "$p" CLUSTER INFO | grep -q 'cluster_state:ok' || ok=0
        done
        ((ok)) && { log "redis cluster of 3 masters on ${addrs[*]} (pids ${CLUSTER_PIDS[*]})"; return 0; }
        sleep 0.1
    done
    log "the cluster never reached cluster_state:ok"; return 1
}

# --- nginx ------------------------------------------------------------------

# master_process on as in production; we measure the single worker, which
# does all the work (the master only sleeps).
# nginx_conf NAME PORT MAIN_EXTRA HTTP_EXTRA LOCATION_EXTRA: the same config
# for the plain nginx target and the Lua peers, which only add the
# lua module, their Lua set-up and an access_by_lua_block per location.
nginx_conf() {
    local d=$TMP/$1 user=""; ((EUID == 0)) && user="user root;"
    cat >"$d/nginx.conf" <<EOF
$user
$3
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
$4
    upstream u {
        server 127.0.0.1:$UPORT;
        keepalive $KEEPALIVE;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$2;
        location / {
$5
            proxy_pass http://u;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location /sse {
$5
            proxy_pass http://u;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
EOF
}

run_nginx() { # NAME PORT
    local d=$TMP/$1
    "${SRV[@]}" nginx -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" 2>"$d/start.log" &
    PID[$1]=$!; pids+=("${PID[$1]}"); PORT[$1]=$2
    wait_port "$2" "${PID[$1]}" "$1" || { cat "$d/start.log" "$d/error.log" >&2; return 1; }
    MEASURE_PID[$1]=$(pgrep -P "${PID[$1]}" | head -1)
    [[ -n ${MEASURE_PID[$1]} ]] || { log "no $1 worker"; return 1; }
}

start_nginx() {
    local p; p=$(free_port); mkdir -p "$TMP/nginx/logs"
    nginx_conf nginx "$p" "" "" ""
    run_nginx nginx "$p"
}

# nginx's proxy_cache on local disk (page cache), every 200 fresh for 60 s:
# the peer of sluice_cache (whose entries live in Redis).
start_nginx_cache() {
    local p; p=$(free_port); mkdir -p "$TMP/nginx_cache/logs" "$TMP/nginx_cache/cache"
    nginx_conf nginx_cache "$p" "" "    proxy_cache_path $TMP/nginx_cache/cache keys_zone=c:10m;" \
        "            proxy_cache c; proxy_cache_valid 200 60s;"
    run_nginx nginx_cache "$p"
}

# --- OpenResty-style peers: nginx + Debian's lua module ---------------------

# bench/openresty/gateway.lua in access_by_lua_block: the token is taken as
# an opaque "user:session" string (no signature check: cheaper than sluice's
# PASETO verification), then ONE EVALSHA (bench/openresty/redis/SCRIPT.lua,
# SCRIPT LOAD at worker start, NOSCRIPT fallback) over a keep-alive pool of
# ngx.socket.tcp connections (bench/openresty/resp.lua), then proxy_pass as
# the plain nginx target. The client's Authorization is not forwarded
# (sluice does not forward it either).
start_nginx_lua() { # NAME SCRIPT
    local p; p=$(free_port); mkdir -p "$TMP/$1/logs"
    local lua_dir; lua_dir=$(pwd)/bench/openresty
    nginx_conf "$1" "$p" \
"load_module $LUA_MOD_DIR/ndk_http_module.so;
load_module $LUA_MOD_DIR/ngx_http_lua_module.so;" \
"    lua_package_path \"$lua_dir/?.lua;;\";
    init_by_lua_block {
        require(\"gateway\").configure {
            script = \"$2\", dir = \"$lua_dir\",
            redis_host = \"127.0.0.1\", redis_port = $REDIS_PORT, pool_size = $REDIS_POOL,
            session_ttl_ms = $SESSION_TTL_MS, window_ms = $ZSET_WINDOW_MS, limit = $ZSET_LIMIT,
        }
    }
    init_worker_by_lua_block { require(\"gateway\").init_worker() }" \
"            access_by_lua_block { require(\"gateway\").access() }
            proxy_set_header Authorization \"\";"
    run_nginx "$1" "$p" || return 1
    AUTH[$1]="Bearer bench:peer-session"
}
start_nginx_lua_session() { start_nginx_lua nginx_lua_session session; }
start_nginx_lua_zset() { start_nginx_lua nginx_lua_zset zset; }

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

run_sluice() { # NAME: $TMP/NAME/sluice.yaml written, port in $2
    local d=$TMP/$1
    if ! "$SLUICE" -t -c "$d/sluice.yaml" >"$d/check.log" 2>&1; then
        log "$1: sluice refused the configuration:"; cat "$d/check.log" >&2; return 1
    fi
    "${SRV[@]}" "$SLUICE" -c "$d/sluice.yaml" >"$d/out.log" 2>&1 &
    PID[$1]=$!; pids+=("${PID[$1]}"); PORT[$1]=$2; MEASURE_PID[$1]=${PID[$1]}
    wait_port "$2" "${PID[$1]}" "$1" || { tail -20 "$d/out.log" >&2; return 1; }
}

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
    run_sluice sluice "$p"
}

# sluice's cache: every answer a hit from Redis after the first.
start_sluice_cache() {
    local d=$TMP/sluice_cache p; p=$(free_port); mkdir -p "$d"
    cat >"$d/sluice.yaml" <<EOF
listen: 127.0.0.1:$p
workers: 1
log: { access: "off" }
redis: { url: "redis://127.0.0.1:$REDIS_PORT/0", prefix: "sluice:" }
upstreams:
  u: { servers: [127.0.0.1:$UPORT], keepalive: $KEEPALIVE }
routes:
  - { name: all, match: { path_prefix: / }, upstream: u, auth: none, cache: { ttl: 60s } }
EOF
    run_sluice sluice_cache "$p"
}

# sluice's cache on the miss path: the plain target's config plus a cache
# on the route, and wrk makes every URL new (bench/miss_urls.lua, which the
# plain sluice target then runs too): each request is a lookup in Redis
# (which takes the herd lock), a forward, a recorded response and a store.
# It has a redis-server of its own, emptied after every run (the entries
# of a run would otherwise pile up: minutes of 16 KiB bodies), so its
# Redis CPU and commands are the misses' alone.
start_sluice_cache_miss() {
    local d=$TMP/sluice_cache_miss p rp pid; p=$(free_port); mkdir -p "$d"
    rp=$(free_port); while ((rp == p)) || [[ $rp == "$REDIS_PORT" ]]; do rp=$(free_port); done
    "${SRV[@]}" redis-server --bind 127.0.0.1 --port "$rp" --save '' --appendonly no \
        --daemonize no --protected-mode no --logfile "$d/redis.log" >"$d/redis.out" 2>&1 &
    pid=$!; pids+=("$pid")
    wait_port "$rp" "$pid" "sluice_cache_miss redis-server" || { cat "$d/redis.log" >&2; return 1; }
    REDIS_PORTS_OF[sluice_cache_miss]=$rp; REDIS_PIDS_OF[sluice_cache_miss]=$pid
    cat >"$d/sluice.yaml" <<EOF
listen: 127.0.0.1:$p
workers: 1
log: { access: "off" }
redis: { url: "redis://127.0.0.1:$rp/0", prefix: "sluice:" }
upstreams:
  u: { servers: [127.0.0.1:$UPORT], keepalive: $KEEPALIVE }
routes:
  - { name: all, match: { path_prefix: / }, upstream: u, auth: none, cache: { ttl: 10m } }
EOF
    run_sluice sluice_cache_miss "$p"
}

# The sluice targets with sessions (SPEC sections 3, 5, 6, 8): one signing
# key from `sluice keygen` for all of them, an admin listener, the shared
# Redis; the session comes from the admin API, as a client would get it.
SL_SECRET=""; SL_KID=""; ADMIN_TOKEN=""
sluice_keys() {
    [[ -n $SL_SECRET ]] && return 0
    local k; k=$("$SLUICE" keygen) || { log "sluice keygen failed"; return 1; }
    SL_SECRET=$(awk '$1 == "secret:" {print $2}' <<<"$k")
    SL_KID=$(awk '$1 == "pid:" {print $2}' <<<"$k")
    ADMIN_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    [[ $SL_SECRET == k4.secret.* && $SL_KID == k4.pid.* ]] || { log "unexpected keygen output: $k"; return 1; }
}

# start_sluice_session NAME ROUTE_EXTRA PLANS_BLOCK; returns 2 (skip) when
# the admin API cannot create a session (sessions not built yet).
start_sluice_session() {
    local name=$1 d=$TMP/$1 p ap; p=$(free_port); ap=$(free_port); mkdir -p "$d"
    sluice_keys || return 1
    cat >"$d/sluice.yaml" <<EOF
listen: 127.0.0.1:$p
workers: 1
log: { access: "off" }
admin: { listen: 127.0.0.1:$ap, token: "$ADMIN_TOKEN" }
redis: { url: "redis://127.0.0.1:$REDIS_PORT/0", prefix: "sluice:" }
tokens:
  format: paseto-v4-public
  keys: [ { secret: "$SL_SECRET" } ]
  session_ttl: $((SESSION_TTL_MS / 1000))s
  sliding: true
upstreams:
  u: { servers: [127.0.0.1:$UPORT], keepalive: $KEEPALIVE }
$3
routes:
  - { name: all, match: { path_prefix: / }, upstream: u, auth: required$2 }
EOF
    run_sluice "$name" "$p" || return 1
    wait_port "$ap" "${PID[$name]}" "$name admin" || return 1
    local code body tok
    code=$(curl -sS --max-time 5 -o "$d/session.json" -w '%{http_code}' -X POST \
        -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
        --data '{"user":"bench","ttl":3600}' "http://127.0.0.1:$ap/v1/sessions" 2>"$d/session.err") || true
    body=$(tr -d '\n' <"$d/session.json" 2>/dev/null; cat "$d/session.err")
    tok=$(sed -n 's/.*"token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$d/session.json" 2>/dev/null | head -1)
    if [[ $code != 201 || $tok != v4.* ]]; then
        SKIPPED+=("$name: skipped: POST /v1/sessions on sluice's admin API answered ${code:-nothing} (${body:0:160}), not 201 with a token; sessions are not in this build yet?")
        log "${SKIPPED[-1]}"
        kill -TERM "${PID[$name]}" 2>/dev/null; wait "${PID[$name]}" 2>/dev/null || true
        return 2
    fi
    AUTH[$name]="Bearer $tok"
}
start_sluice_auth() { start_sluice_session sluice_auth "" ""; }
start_sluice_limits() {
    start_sluice_session sluice_limits ", plan: bench" "plans:
  bench:
    limits:
      - { name: per_minute, requests: 100000000, window: 1m }
      - { name: per_hour, requests: 1000000000, window: 1h }
      - { name: in_flight, concurrent: 1000 }"
}
# One user flooding after its first refusal: a limit of one request an
# hour, spent before the run, so every measured answer is a remembered 429
# (no Redis command may be sent for it).
start_sluice_flood() {
    local rc=0
    start_sluice_session sluice_flood ", plan: flood" "plans:
  flood:
    limits:
      - { name: per_hour, requests: 1, window: 1h }" || rc=$?
    ((rc == 0)) || return $rc
    curl -sS --max-time 5 -o /dev/null -H "Authorization: ${AUTH[sluice_flood]}" \
        "http://127.0.0.1:${PORT[sluice_flood]}/small" || return 1
    EXPECT[sluice_flood]=429
}
# A well-formed v4.public token naming sluice's key id, signed by another
# key: must be 401 invalid_token without any Redis command. Gated on the
# admin API like the others, so that today's stub (which refuses every
# token unverified) is not measured as if it were the real thing.
start_sluice_forged() {
    local rc=0; start_sluice_session sluice_forged "" "" || rc=$?
    ((rc == 0)) || return $rc
    # shellcheck disable=SC2046 # pkg-config prints several words on purpose
    cc -O2 -Wall -o "$TMP/forge_token" bench/forge_token.c $(pkg-config --cflags --libs libsodium) || return 1
    AUTH[sluice_forged]="Bearer $("$TMP/forge_token" "$SL_KID" bench)"
    EXPECT[sluice_forged]=401
}

# --- two gateways on one Redis or on a Redis Cluster -------------------------

# sluice_fleet and sluice_fleet_cluster: TWO sluice processes (one worker
# each, the sluice_limits configuration: auth required, a plan of two
# windows and one concurrency limit, one signing key) on the shared single
# Redis, or on a three-master Redis Cluster (redis.url naming one node, the
# other two as redis.nodes seeds). Sessions for FLEET_USERS users are made
# through the first gateway's admin API and wrk sends their tokens in turn
# (bench/fleet_tokens.lua), so the users' hash tags spread over the slots.
# One wrk per gateway, in parallel, each with half the threads and
# connections (wrk_measure).
FLEET_USERS=${FLEET_USERS:-200}
declare -A FLEET=() TOKENS=()
fleet_session() { # ADMIN_PORT USER: prints the token
    local out
    out=$(curl -sS --max-time 5 -X POST -H "Authorization: Bearer $ADMIN_TOKEN" \
        -H 'Content-Type: application/json' --data "{\"user\":\"$2\",\"plan\":\"bench\",\"ttl\":3600}" \
        "http://127.0.0.1:$1/v1/sessions" 2>&1) || true
    sed -n 's/.*"token"[[:space:]]*:[[:space:]]*"\(v4\.[^"]*\)".*/\1/p' <<<"$out" | grep . ||
        { log "POST /v1/sessions for $2: ${out:0:200}"; return 1; }
}
start_sluice_fleet_on() { # NAME REDIS_YAML
    local name=$1 m p ap d admin_port=""
    sluice_keys || return 1
    FLEET[$name]=""
    for m in a b; do
        d=$TMP/${name}_$m; p=$(free_port); ap=$(free_port); mkdir -p "$d"
        cat >"$d/sluice.yaml" <<EOF
listen: 127.0.0.1:$p
workers: 1
log: { access: "off" }
admin: { listen: 127.0.0.1:$ap, token: "$ADMIN_TOKEN" }
redis: $2
tokens:
  format: paseto-v4-public
  keys: [ { secret: "$SL_SECRET" } ]
  session_ttl: $((SESSION_TTL_MS / 1000))s
  sliding: true
upstreams:
  u: { servers: [127.0.0.1:$UPORT], keepalive: $KEEPALIVE }
plans:
  bench:
    limits:
      - { name: per_minute, requests: 100000000, window: 1m }
      - { name: per_hour, requests: 1000000000, window: 1h }
      - { name: in_flight, concurrent: 1000 }
routes:
  - { name: all, match: { path_prefix: / }, upstream: u, auth: required, plan: bench }
EOF
        run_sluice "${name}_$m" "$p" || return 1
        wait_port "$ap" "${PID[${name}_$m]}" "${name}_$m admin" || return 1
        FLEET[$name]+="${name}_$m "
        [[ -n $admin_port ]] || admin_port=$ap
    done
    # every master connected before the first session is made
    for _ in $(seq 100); do
        curl -sS --max-time 2 "http://127.0.0.1:$admin_port/readyz" 2>/dev/null | grep -q '"ready"' && break
        sleep 0.1
    done
    local i tok
    TOKENS[$name]=$TMP/$name.tokens; : >"${TOKENS[$name]}"
    for i in $(seq "$FLEET_USERS"); do
        tok=$(fleet_session "$admin_port" "fleet$i") || return 1
        echo "$tok" >>"${TOKENS[$name]}"
    done
    PID[$name]=${PID[${name}_a]}; PORT[$name]=${PORT[${name}_a]}; MEASURE_PID[$name]=${PID[${name}_a]}
    AUTH[$name]="Bearer $(head -1 "${TOKENS[$name]}")"
    # the probe of the main loop asks the first gateway; the second must answer too
    local code
    code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H "Authorization: ${AUTH[$name]}" \
        "http://127.0.0.1:${PORT[${name}_b]}/small") || true
    [[ $code == 200 ]] || { log "$name: the second gateway answered ${code:-nothing}"; return 1; }
}
start_sluice_fleet() {
    REDIS_PORTS_OF[sluice_fleet]=$REDIS_PORT; REDIS_PIDS_OF[sluice_fleet]=$REDIS_PID
    start_sluice_fleet_on sluice_fleet "{ url: \"redis://127.0.0.1:$REDIS_PORT/0\", prefix: \"sluice:\" }"
}
start_sluice_fleet_cluster() {
    start_cluster || return 1
    REDIS_PORTS_OF[sluice_fleet_cluster]=${CLUSTER_PORTS[*]}
    REDIS_PIDS_OF[sluice_fleet_cluster]=${CLUSTER_PIDS[*]}
    start_sluice_fleet_on sluice_fleet_cluster "{ url: \"redis://127.0.0.1:${CLUSTER_PORTS[0]}/0\",\
 nodes: [127.0.0.1:${CLUSTER_PORTS[1]}, 127.0.0.1:${CLUSTER_PORTS[2]}], prefix: \"sluice:\" }"
}

# Start each proxy and check it really forwards (or, for sluice_forged,
# refuses); a target that does not is dropped from the run (and reported)
# rather than aborting the whole bench.
PROBLEMS=()
SKIPPED=()
HARD_ERRORS=0   # wrong answers: make the run exit 1 (after the report)
active=()
for t in $TARGETS; do
    if [[ $t != direct ]]; then
        declare -F "start_$t" >/dev/null || { PROBLEMS+=("$t: no such target"); continue; }
        rc=0; "start_$t" || rc=$?
        ((rc == 2)) && continue
        if ((rc)); then PROBLEMS+=("$t: failed to start"); HARD_ERRORS=$((HARD_ERRORS + 1)); continue; fi
    fi
    hdr=(); [[ -n ${AUTH[$t]:-} ]] && hdr=(-H "Authorization: ${AUTH[$t]}")
    want=${EXPECT[$t]:-200}
    for path in /small /bytes/16384; do
        code=$(curl -sS --max-time 5 -o "$TMP/probe.body" -w '%{http_code}' "${hdr[@]}" \
            "http://127.0.0.1:${PORT[$t]}$path" 2>"$TMP/probe.err") || true
        if [[ $code != "$want" ]]; then
            PROBLEMS+=("$t: GET $path answered ${code:-nothing}, expected $want: $(head -c 200 "$TMP/probe.body" "$TMP/probe.err" 2>/dev/null | tr '\n' ' ')")
            HARD_ERRORS=$((HARD_ERRORS + 1))
            continue 2
        fi
    done
    active+=("$t")
    log "$t on 127.0.0.1:${PORT[$t]} (pid ${PID[$t]}, measured pid ${MEASURE_PID[$t]})"
done
TARGETS=${active[*]}
[[ -n $TARGETS ]] || die "no target answers"

# The processes a target's CPU is read from: its measured process, or
# every gateway of a fleet target.
measured_pids() {
    local m
    if [[ -n ${FLEET[$1]:-} ]]; then for m in ${FLEET[$1]}; do echo "${PID[$m]}"; done
    else echo "${MEASURE_PID[$1]}"; fi
}
alive() {
    local p
    if [[ -n ${FLEET[$1]:-} ]]; then
        for p in $(measured_pids "$1"); do kill -0 "$p" 2>/dev/null || return 1; done
        return 0
    fi
    kill -0 "${PID[$1]}" 2>/dev/null
}
cpu_sum() { local p s=0; for p in "$@"; do s=$((s + $(cpu_ticks "$p"))); done; echo "$s"; }
dead_report() { # a proxy died mid-run: keep its last words
    local f=$TMP/$1/out.log m; [[ $1 == nginx* ]] && f=$TMP/$1/error.log
    if [[ -n ${FLEET[$1]:-} ]]; then f=""; for m in ${FLEET[$1]}; do f+="$TMP/$m/out.log "; done; fi
    # shellcheck disable=SC2086 # f is a list of files for a fleet
    PROBLEMS+=("$1: process died during the run; last output: $(tail -q -n 5 $f 2>/dev/null | tr '\n' ' ')")
    local t rest=""; for t in $TARGETS; do [[ $t == "$1" ]] || rest+="$t "; done
    TARGETS=${rest% }
}
# wrk's arguments for the target's Authorization header, if it has one.
auth_args() { if [[ -n ${AUTH[$1]:-} ]]; then printf '%s\n' -H "Authorization: ${AUTH[$1]}"; fi; }

# Targets whose URLs wrk makes new for every request (bench/miss_urls.lua):
# the miss target, and plain sluice beside it so that both send the same
# URLs (the script costs wrk CPU: plain sluice's figures are then not
# comparable with runs without it).
declare -A NEW_URLS=()
if [[ " $TARGETS " == *" sluice_cache_miss "* ]]; then
    NEW_URLS[sluice_cache_miss]=1
    [[ " $TARGETS " == *" sluice "* ]] && NEW_URLS[sluice]=1
    log "sluice_cache_miss${NEW_URLS[sluice]:+ and sluice}: every URL new (bench/miss_urls.lua)"
fi
# url_args TARGET URL: wrk's last arguments: the URL, and for NEW_URLS
# targets the script and a salt of its own per wrk run (nanoseconds: a
# warm-up's entries are never a later run's hits).
url_args() {
    if [[ -n ${NEW_URLS[$1]:-} ]]; then
        printf '%s\n' -s bench/miss_urls.lua "$2" -- "$$.$(date +%s%N)"
    else
        printf '%s\n' "$2"
    fi
}

path_of() { case $1 in small) echo /small ;; 16k) echo /bytes/16384 ;; *) die "size $1" ;; esac; }

# wrk_run TARGET CONNS SECONDS PATH [wrk options...]: wrk against the
# target, its output on stdout. A fleet target gets one wrk per gateway, in
# parallel, each with its share of THREADS and CONNS and the users' tokens
# in turn (fleet_tokens.lua); their outputs follow each other.
wrk_run() {
    local t=$1 c=$2 d=$3 path=$4; shift 4
    if [[ -z ${FLEET[$t]:-} ]]; then
        local hdr ua; mapfile -t hdr < <(auth_args "$t")
        mapfile -t ua < <(url_args "$t" "http://127.0.0.1:${PORT[$t]}$path")
        timeout $((d + 30)) "${WRK[@]}" -t"$THREADS" -c"$c" -d"${d}s" "$@" "${hdr[@]}" "${ua[@]}" 2>&1 || true
        return 0
    fi
    local members m i=0 wp=()
    read -ra members <<<"${FLEET[$t]}"
    local n=${#members[@]}
    local th=$((THREADS / n)); ((th >= 1)) || th=1
    local cc=$((c / n)); ((cc >= th)) || cc=$th
    for m in "${members[@]}"; do
        timeout $((d + 30)) "${WRK[@]}" -t"$th" -c"$cc" -d"${d}s" "$@" -s bench/fleet_tokens.lua \
            "http://127.0.0.1:${PORT[$m]}$path" -- "${TOKENS[$t]}" "$i" >"$TMP/wrk.$m" 2>&1 &
        wp+=("$!"); i=$((i + 1))
    done
    for m in "${wp[@]}"; do wait "$m" || true; done
    for m in "${members[@]}"; do cat "$TMP/wrk.$m"; done
}

# "req/s requests p50_ms p99_ms socket_errors non_2xx" of wrk's output on
# stdin, nothing if there is no result; of several runs (a fleet): req/s,
# requests and errors summed, p50 the mean, p99 the largest.
wrk_summary() {
    awk 'function ms(v,   n, u) { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
             if (u == "us") return n / 1000; if (u == "ms") return n; if (u == "s") return n * 1000
             if (u == "m") return n * 60000; bad = 1; return 0 }
        /^Requests\/sec:/ { rps += $2; runs++ }
        /requests in/ { reqs += $1 }
        $1 == "50%" { p50 += ms($2); n50++ }
        $1 == "99%" { v = ms($2); if (v > p99) p99 = v; n99++ }
        /Socket errors/ { gsub(/,/, ""); se += $4 + $6 + $8 + $10 }
        /Non-2xx/ { nx += $NF }
        END { if (!runs) exit
              printf "%.2f %d %s %s %d %d\n", rps, reqs, (n50 && !bad) ? sprintf("%.3f", p50 / n50) : "nan",
                     (n99 && !bad) ? sprintf("%.3f", p99) : "nan", se, nx }'
}

# --- throughput / latency / CPU ---------------------------------------------

RAW=$TMP/raw.tsv   # rep target size conns rps p50 p99 cpu_us up_cpu_us errors redis_cpu_us redis_cmds
RAWCMD=$TMP/rawcmd.tsv   # rep target size conns command calls_per_request
: >"$RAW"; : >"$RAWCMD"
RAWUSEC=$TMP/rawusec.tsv   # rep target size conns evalsha_usec_per_call
: >"$RAWUSEC"
RAWSTORE=$TMP/rawstore.tsv   # rep size conns entries_stored_per_request (sluice_cache_miss)
: >"$RAWSTORE"
# Sizes and connection counts outside, targets inside: slow drift of the
# machine (thermal, noisy neighbours) then lands on every target alike.
for rep in $(seq "$REPEAT"); do
  for size in $SIZES; do
    for c in $CONNS; do
      for t in $TARGETS; do
        alive "$t" || { dead_report "$t"; continue; }
        path=$(path_of "$size")
        wrk_run "$t" "$c" "$WARMUP" "$path" >/dev/null
        mapfile -t mps < <(measured_pids "$t")
        # the Redis servers this target uses (the shared one unless it has its own)
        read -ra rports <<<"${REDIS_PORTS_OF[$t]:-$REDIS_PORT}"
        read -ra rpids <<<"${REDIS_PIDS_OF[$t]:-$REDIS_PID}"
        # the miss target's own Redis starts each run empty (see start_sluice_cache_miss)
        [[ $t == sluice_cache_miss ]] && redis-cli -h 127.0.0.1 -p "${rports[0]}" FLUSHALL >/dev/null
        redis_cmdstats "${rports[@]}" >"$TMP/cmd0"
        c0=$(cpu_sum "${mps[@]}"); u0=$(cpu_ticks "$MOCK_PID"); r0=$(cpu_sum "${rpids[@]}")
        out=$(wrk_run "$t" "$c" "$DURATION" "$path" --latency)
        c1=$(cpu_sum "${mps[@]}"); u1=$(cpu_ticks "$MOCK_PID"); r1=$(cpu_sum "${rpids[@]}")
        redis_cmdstats "${rports[@]}" >"$TMP/cmd1"
        alive "$t" || { dead_report "$t"; continue; }
        rps=""; reqs=""; p50=nan; p99=nan; sockerr=0; non2xx=0
        read -r rps reqs p50 p99 sockerr non2xx <<<"$(wrk_summary <<<"$out")" || true
        if [[ -z $rps || -z $reqs || $reqs == 0 ]]; then
            PROBLEMS+=("$t $size c=$c: wrk produced no result: $(tr '\n' ' ' <<<"${out:0:300}")")
            HARD_ERRORS=$((HARD_ERRORS + 1))
            continue
        fi
        # Errors: socket errors, plus answers that are not what the target
        # must answer (2xx; for sluice_forged every answer must be a refusal,
        # checked as 401 by the probe before the run).
        if [[ ${EXPECT[$t]:-200} == 200 ]]; then errs=$((sockerr + non2xx)); else errs=$((sockerr + reqs - non2xx)); fi
        read -r cpu up rcpu <<<"$(awk -v a="$c0" -v b="$c1" -v ua="$u0" -v ub="$u1" -v ra="$r0" -v rb="$r1" -v r="$reqs" -v hz="$CLK_TCK" \
            'BEGIN { printf "%.2f %.2f %.3f", (b - a) / hz * 1e6 / r, (ub - ua) / hz * 1e6 / r, (rb - ra) / hz * 1e6 / r }')"
        [[ $t == direct ]] && cpu=nan      # no proxy; the upstream's share is in "up"
        rcmds=nan
        if [[ -n $REDIS_PID ]]; then
            awk -v rep="$rep" -v t="$t" -v s="$size" -v c="$c" -v r="$reqs" '
                NR == FNR { before[$1] = $2; next }
                { d = $2 - before[$1]; if (d > 0) printf "%s\t%s\t%s\t%s\t%s\t%.5f\n", rep, t, s, c, $1, d / r }
            ' "$TMP/cmd0" "$TMP/cmd1" >>"$RAWCMD"
            # Redis's own time per EVALSHA (usec_per_call over the run): what
            # the scripts cost inside Redis, whatever the scheduler does
            awk -v rep="$rep" -v t="$t" -v s="$size" -v c="$c" '
                NR == FNR { n0[$1] = $2; u0[$1] = $3; next }
                $1 == "evalsha" && $2 > n0[$1] { printf "%s\t%s\t%s\t%s\t%.2f\n", rep, t, s, c, ($3 - u0[$1]) / ($2 - n0[$1]) }
            ' "$TMP/cmd0" "$TMP/cmd1" >>"$RAWUSEC"
            rcmds=$(awk -F'\t' -v rep="$rep" -v t="$t" -v s="$size" -v c="$c" \
                '$1 == rep && $2 == t && $3 == s && $4 == c { x += $6 } END { printf "%.5f", x + 0 }' "$RAWCMD")
        else
            rcpu=nan
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
            "$rep" "$t" "$size" "$c" "$rps" "$p50" "$p99" "$cpu" "$up" "$errs" "$rcpu" "$rcmds" >>"$RAW"
        log "$(printf 'rep %s %-17s %-5s c=%-3s %8.0f req/s  p99 %7.3f ms  cpu %6s us/req  redis %6s us/req %7s cmds/req  errors %s' \
            "$rep" "$t" "$size" "$c" "$rps" "$p99" "$cpu" "$rcpu" "$rcmds" "$errs")"
        if ((errs != 0)); then
            PROBLEMS+=("$t $size c=$c: $errs wrk errors ($sockerr socket errors, $non2xx non-2xx of $reqs; expected status ${EXPECT[$t]:-200})")
            HARD_ERRORS=$((HARD_ERRORS + 1))
        fi
        # Every request of the miss target must have gone the whole miss
        # path, up to its store: a hit, or a response not stored, would make
        # the run measure less. Its Redis held nothing before the run, and
        # an entry is its only key that outlives a request.
        if [[ $t == sluice_cache_miss ]]; then
            stored=$(redis-cli -h 127.0.0.1 -p "${rports[0]}" DBSIZE)
            redis-cli -h 127.0.0.1 -p "${rports[0]}" FLUSHALL >/dev/null
            stored=$(awk -v n="$stored" -v r="$reqs" 'BEGIN { printf "%.4f", n / r }')
            printf '%s\t%s\t%s\t%s\n' "$rep" "$size" "$c" "$stored" >>"$RAWSTORE"
            if awk -v x="$stored" 'BEGIN { exit !(x < 0.98) }'; then
                PROBLEMS+=("$t $size c=$c: $stored entries stored per request: not every request was a stored miss")
                HARD_ERRORS=$((HARD_ERRORS + 1))
            fi
        fi
        # A forged token must cost no Redis command: anything above the
        # gateway's background traffic (health PINGs: ~1e-5 per request) fails.
        if [[ $t == sluice_forged || $t == sluice_flood ]] && awk -v x="$rcmds" 'BEGIN { exit !(x > 0.001) }'; then
            PROBLEMS+=("$t $size c=$c: $rcmds Redis commands per refused request (must be 0)")
            HARD_ERRORS=$((HARD_ERRORS + 1))
        fi
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
        # a fleet: the syscalls of both gateways, per request of both wrk
        perf stat -x, -e raw_syscalls:sys_enter -p "$(measured_pids "$t" | paste -sd,)" -o "$TMP/perf.$t" \
            -- sleep $((sdur + 1)) 2>/dev/null &
        ppid=$!
        sleep 0.5
        out=$(wrk_run "$t" 50 "$sdur" /small)
        wait "$ppid" || true
        reqs=$(awk '/requests in/ { n += $1 } END { if (n) print n }' <<<"$out")
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

# SSE and idle memory are measured on the targets without a token only
# (sse_ttfe and idle_conns send none; the auth targets would answer 401).
declare -A TTFE
sse_path="/sse?events=3&interval_ms=1000"
for t in $TARGETS; do
    [[ -n ${AUTH[$t]:-} ]] && continue
    alive "$t" || { dead_report "$t"; continue; }
    out=$(timeout $((TTFE_REPS * 6 + 30)) "$TMP/sse_ttfe" 127.0.0.1 "${PORT[$t]}" "$sse_path" "$TTFE_REPS" 2>"$TMP/ttfe.err") || \
        PROBLEMS+=("$t: SSE: $(sort -u "$TMP/ttfe.err" | head -3 | tr '\n' ' ')")
    TTFE[$t]=$(awk '/^median/ {print $2}' <<<"$out")
    log "$t SSE first event: median ${TTFE[$t]:-?} ms"
done

# --- idle connection memory ---------------------------------------------------

declare -A IDLE
for t in $TARGETS; do
    [[ $t == direct || -n ${AUTH[$t]:-} ]] && continue
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
# mmm TARGET SIZE CONNS COLUMN FORMAT: "median" or, over several passes,
# "median (min–max)".
mmm() {
    awk -F'\t' -v t="$1" -v s="$2" -v c="$3" -v k="$4" '$2 == t && $3 == s && $4 == c && $k != "nan" { print $k }' "$RAW" |
        sort -g | awk -v f="$5" '{ v[NR] = $1 } END {
            if (NR == 0) { print "–"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            out = sprintf(f, m); if (NR > 1) out = out sprintf(" (" f "–" f ")", v[1], v[NR]); print out }'
}
# pratio A B SIZE CONNS COLUMN [B_COLUMN]: A's median ÷ B's median and,
# over several passes, the min–max of the per-pass ratios (a pass runs A
# and B back to back). A column may be a sum of columns: "8+11".
pratio() {
    awk -F'\t' -v a="$1" -v b="$2" -v s="$3" -v c="$4" -v ka="$5" -v kb="${6:-$5}" '
        function col(k,   ks, n, i, x) { n = split(k, ks, "+"); x = 0
            for (i = 1; i <= n; i++) { if ($ks[i] == "nan") return "nan"; x += $ks[i] }
            return x }
        $3 == s && $4 == c { if ($2 == a && (x = col(ka)) != "nan") A[$1] = x
                             else if ($2 == b && (x = col(kb)) != "nan") B[$1] = x }
        function med(x, n,   i, j, t, v) { n = 0; for (i in x) v[++n] = x[i]
            for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
            return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
        END {
            na = 0; for (r in A) na++; nb = 0; for (r in B) nb++
            if (!na || !nb || med(B) + 0 == 0) { print "–"; exit }
            out = sprintf("%.2f", med(A) / med(B)); n = 0
            for (r in A) if ((r in B) && B[r] + 0 != 0) { q = A[r] / B[r]; if (!n || q < lo) lo = q; if (!n || q > hi) hi = q; n++ }
            if (n > 1) out = out sprintf(" (%.2f–%.2f)", lo, hi); print out }' "$RAW"
}
# cmds TARGET SIZE CONNS: Redis commands per request, by command (median
# over passes), most frequent first.
cmds() {
    awk -F'\t' -v t="$1" -v s="$2" -v c="$3" '$2 == t && $3 == s && $4 == c { print $5, $6 }' "$RAWCMD" |
        sort -k1,1 -k2,2g | awk '
            { v[$1, ++n[$1]] = $2 }
            END { for (k in n) { m = n[k]; x = (m % 2) ? v[k, (m + 1) / 2] : (v[k, m / 2] + v[k, m / 2 + 1]) / 2
                    printf "%s %s\n", x, k } }' |
        sort -k1,1gr | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, ($1 >= 0.01 ? sprintf("%.2f", $1) : "<0.01") }'
}

# usec_per_call TARGET SIZE CONNS: Redis's median time per EVALSHA over passes.
usec_per_call() {
    awk -F'\t' -v t="$1" -v s="$2" -v c="$3" '$2 == t && $3 == s && $4 == c { print $5 }' "$RAWUSEC" |
        median | awk '{ if ($1 == "nan") print "–"; else printf "%.1f", $1 }'
}

all_targets=$ALL_TARGETS
{
    echo "# sluice benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC') · $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)) · kernel $(uname -r)"
    echo "· $(nginx -v 2>&1 | sed 's/.*version: //') · HAProxy $(haproxy -v | awk 'NR == 1 {print $3}') · $(wrk -v 2>&1 | awk 'NR == 1 {print $1, $2}')"
    echo "· sluice $("$SLUICE" -V 2>/dev/null | head -1 || echo '?') · upstream: $MOCK"
    if [[ -n $REDIS_PID ]]; then
        echo "· redis-server $(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')" \
             "· lua module $(dpkg-query -W -f '${Version}' libnginx-mod-http-lua 2>/dev/null || echo '?')"
    fi
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
    if [[ -n $REDIS_PID ]]; then
        echo
        echo "## Sessions and rate limits"
        echo
        echo "One redis-server shared by all targets. Redis CPU µs/req: utime+stime of redis-server"
        echo "over the measured run ÷ requests; commands/req: INFO commandstats deltas (commands run"
        echo "inside a script are counted too, under their own names) ÷ requests. nginx_lua_* take the"
        echo "token as an opaque \"user:session\" string (no signature check), sluice verifies a PASETO"
        echo "v4.public token. Medians over $REPEAT pass(es)$( ((REPEAT > 1)) && echo ', (min–max) over passes')."
        echo
        echo "| size | conns | target | req/s | p99 ms | gateway CPU µs/req | Redis CPU µs/req | Redis cmds/req | per command | errors |"
        echo "|---|---:|---|---:|---:|---:|---:|---:|---|---:|"
        for size in $SIZES; do for c in $CONNS; do
            for t in nginx sluice nginx_lua_session sluice_auth nginx_lua_zset sluice_limits sluice_flood sluice_forged nginx_cache sluice_cache sluice_cache_miss; do
                [[ $(med "$t" "$size" "$c" 5) == nan ]] && continue
                echo "| $size | $c | $t | $(mmm "$t" "$size" "$c" 5 %.0f) | $(mmm "$t" "$size" "$c" 7 %.3f)" \
                     "| $(mmm "$t" "$size" "$c" 8 %.1f) | $(mmm "$t" "$size" "$c" 11 %.2f) | $(mmm "$t" "$size" "$c" 12 %.2f)" \
                     "| $(cmds "$t" "$size" "$c") | $(awk -F'\t' -v t="$t" -v s="$size" -v c="$c" '$2 == t && $3 == s && $4 == c { e += $10 } END { print e + 0 }' "$RAW") |"
            done
        done; done
        echo
        echo "### Sessions: sluice_auth"
        echo
        echo "CPU/request and Redis CPU/request < 1 are better, req/s > 1 is better."
        echo
        echo "| size | conns | CPU/req ÷ sluice | req/s ÷ nginx_lua_session | CPU/req ÷ nginx_lua_session | Redis CPU/req ÷ nginx_lua_session |"
        echo "|---|---:|---:|---:|---:|---:|"
        for size in $SIZES; do for c in $CONNS; do
            echo "| $size | $c | $(pratio sluice_auth sluice "$size" "$c" 8) | $(pratio sluice_auth nginx_lua_session "$size" "$c" 5)" \
                 "| $(pratio sluice_auth nginx_lua_session "$size" "$c" 8) | $(pratio sluice_auth nginx_lua_session "$size" "$c" 11) |"
        done; done
        echo
        echo "### Rate limits: sluice_limits (per_minute, per_hour, in_flight) vs nginx_lua_zset (ZSET sliding log)"
        echo
        echo "| size | conns | CPU/req ÷ sluice | req/s ÷ nginx_lua_zset | CPU/req ÷ nginx_lua_zset | Redis CPU/req ÷ nginx_lua_zset |"
        echo "|---|---:|---:|---:|---:|---:|"
        for size in $SIZES; do for c in $CONNS; do
            echo "| $size | $c | $(pratio sluice_limits sluice "$size" "$c" 8) | $(pratio sluice_limits nginx_lua_zset "$size" "$c" 5)" \
                 "| $(pratio sluice_limits nginx_lua_zset "$size" "$c" 8) | $(pratio sluice_limits nginx_lua_zset "$size" "$c" 11) |"
        done; done
        echo
        echo "### Cache hits: sluice_cache (entries in Redis) vs nginx_cache (proxy_cache)"
        echo
        echo "| size | conns | req/s ÷ nginx_cache | p99 ÷ nginx_cache | CPU/req ÷ nginx_cache | Redis CPU µs/req |"
        echo "|---|---:|---:|---:|---:|---:|"
        for size in $SIZES; do for c in $CONNS; do
            echo "| $size | $c | $(pratio sluice_cache nginx_cache "$size" "$c" 5) | $(pratio sluice_cache nginx_cache "$size" "$c" 7)" \
                 "| $(pratio sluice_cache nginx_cache "$size" "$c" 8) | $(mmm sluice_cache "$size" "$c" 11 %.2f) |"
        done; done
        echo
        if awk -F'\t' '$2 == "sluice_cache_miss" { f = 1 } END { exit !f }' "$RAW"; then
            echo "### Cache misses: sluice_cache_miss (every URL new: lookup, forward, record, store) vs plain sluice"
            echo
            echo "Both with the same URLs (bench/miss_urls.lua). \"+ Redis\": the miss target's gateway CPU plus"
            echo "its redis-server's, per request, ÷ plain sluice's gateway CPU (it sends Redis nothing)."
            echo "Redis µs per EVALSHA: redis-server's own usec_per_call (the lookup's and the store's scripts)."
            echo
            echo "| size | conns | CPU/req ÷ sluice | CPU/req + Redis ÷ sluice | req/s ÷ sluice | Redis CPU µs/req | Redis cmds/req | Redis µs per EVALSHA | entries stored/req |"
            echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
            for size in $SIZES; do for c in $CONNS; do
                echo "| $size | $c | $(pratio sluice_cache_miss sluice "$size" "$c" 8) | $(pratio sluice_cache_miss sluice "$size" "$c" 8+11 8)" \
                     "| $(pratio sluice_cache_miss sluice "$size" "$c" 5) | $(mmm sluice_cache_miss "$size" "$c" 11 %.2f)" \
                     "| $(mmm sluice_cache_miss "$size" "$c" 12 %.2f) | $(usec_per_call sluice_cache_miss "$size" "$c")" \
                     "| $(awk -F'\t' -v s="$size" -v c="$c" '$2 == s && $3 == c { print $4 }' "$RAWSTORE" | median) |"
            done; done
            echo
        fi
        echo "### One-user flood after the first 429: sluice_flood (every answer a remembered refusal)"
        echo
        echo "| size | conns | CPU/refused req ÷ sluice proxied req | Redis cmds/req |"
        echo "|---|---:|---:|---:|"
        for size in $SIZES; do for c in $CONNS; do
            echo "| $size | $c | $(pratio sluice_flood sluice "$size" "$c" 8) | $(mmm sluice_flood "$size" "$c" 12 %.4f) |"
        done; done
        if awk -F'\t' '$2 ~ /^sluice_fleet/ { f = 1 } END { exit !f }' "$RAW"; then
            echo
            echo "### Two gateways: sluice_fleet_cluster (three-master Redis Cluster) vs sluice_fleet (one Redis)"
            echo
            echo "Two sluice processes (one worker each, the sluice_limits plan), $FLEET_USERS users' tokens"
            echo "in turn, one wrk per gateway in parallel (req/s summed, p99 the larger of the two)."
            echo "Gateway CPU: both sluice processes; Redis CPU and commands: every Redis server of the"
            echo "target (one, or the cluster's three masters), per request. All of it shares $(nproc) cores"
            echo "with wrk and the upstream, so CPU per request is the figure to compare; req/s falls with"
            echo "every extra process that wants a core. Goal: req/s ratio ≥ 0.9."
            echo
            echo "| size | conns | target | req/s | p99 ms | gateways CPU µs/req | Redis CPU µs/req | Redis cmds/req | per command | errors |"
            echo "|---|---:|---|---:|---:|---:|---:|---:|---|---:|"
            for size in $SIZES; do for c in $CONNS; do
                for t in sluice_fleet sluice_fleet_cluster; do
                    [[ $(med "$t" "$size" "$c" 5) == nan ]] && continue
                    echo "| $size | $c | $t | $(mmm "$t" "$size" "$c" 5 %.0f) | $(mmm "$t" "$size" "$c" 7 %.3f)" \
                         "| $(mmm "$t" "$size" "$c" 8 %.1f) | $(mmm "$t" "$size" "$c" 11 %.2f) | $(mmm "$t" "$size" "$c" 12 %.2f)" \
                         "| $(cmds "$t" "$size" "$c") | $(awk -F'\t' -v t="$t" -v s="$size" -v c="$c" '$2 == t && $3 == s && $4 == c { e += $10 } END { print e + 0 }' "$RAW") |"
                done
            done; done
            echo
            echo "| size | conns | req/s cluster ÷ single | gateways CPU/req cluster ÷ single | Redis CPU/req cluster ÷ single | p99 cluster ÷ single | Redis µs per EVALSHA single / cluster |"
            echo "|---|---:|---:|---:|---:|---:|---:|"
            for size in $SIZES; do for c in $CONNS; do
                echo "| $size | $c | $(pratio sluice_fleet_cluster sluice_fleet "$size" "$c" 5)" \
                     "| $(pratio sluice_fleet_cluster sluice_fleet "$size" "$c" 8) | $(pratio sluice_fleet_cluster sluice_fleet "$size" "$c" 11)" \
                     "| $(pratio sluice_fleet_cluster sluice_fleet "$size" "$c" 7)" \
                     "| $(usec_per_call sluice_fleet "$size" "$c") / $(usec_per_call sluice_fleet_cluster "$size" "$c") |"
            done; done
        fi
    fi
    if ((${#SKIPPED[@]})); then
        echo
        echo "## Skipped"
        echo
        for p in "${SKIPPED[@]}"; do echo "- $p"; done
    fi
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
    printf 'rep\ttarget\tsize\tconns\treq/s\tp50ms\tp99ms\tcpu_us\tup_cpu_us\terrors\tredis_cpu_us\tredis_cmds\n'
    cat "$RAW"
    echo '```'
    if [[ -s $RAWCMD ]]; then
        echo
        echo "Redis commands per request, by command:"
        echo
        echo '```'
        printf 'rep\ttarget\tsize\tconns\tcommand\tcalls/req\n'
        cat "$RAWCMD"
        echo '```'
    fi
} >"$TMP/full.md"
mkdir -p "$(dirname "$OUT")"
cp "$TMP/full.md" "$OUT"
cat "$TMP/report.md"
log "written to $OUT"
if ((HARD_ERRORS)); then
    log "FAILED: $HARD_ERRORS target(s) or run(s) with wrong answers, errors, or Redis traffic where none is allowed (see \"Problems seen\")"
    exit 1
fi
