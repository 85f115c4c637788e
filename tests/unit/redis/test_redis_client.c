/*
 * test_redis_client.c - the Redis client (redis/redis_client.h) against
 * real redis-server processes this program starts on free ports (found on
 * PATH, `--save '' --appendonly no`) and kills: pipelining in order and in
 * few writes, EVALSHA across SCRIPT FLUSH, timeouts, a killed server, a
 * restarted one, AUTH (requirepass and ACL users), a unix socket with a db,
 * and TLS (a throwaway CA made with the openssl CLI: verification on, a
 * wrong CA, a wrong name, verify off, a client certificate), and a
 * three-master Redis Cluster (commands spread by slot, pipelined per node,
 * a script on every master, free and retire with commands pending).
 *
 * Every callback checks that it runs exactly once and never inside the
 * call that issued its command.
 */
#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "config/redis_url.h"
#include "redis/redis_client.h"
#include "redis/redis_script.h"
#include "util/clock.h"

static struct event_base *base;
static char tmp[64];
static bool in_call; /* set around every redis_client_command/_script */

/* ---- redis-server processes -------------------------------------------- */

static int
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

static bool
port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok_ = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok_;
}

/* Starts redis-server with extra arguments (NULL-terminated) and waits
 * until wait_port accepts or wait_path exists. */
static pid_t
redis_start(int wait_port, const char *wait_path, ...)
{
    const char *argv[40] = {"redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly",
                            "no", "--dir", tmp, "--logfile", "", "--enable-debug-command",
                            "yes"};
    size_t n = 13;
    va_list ap;
    va_start(ap, wait_path);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < 39;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* no orphan if this test crashes */
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        execvp("redis-server", (char **)argv);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        struct stat st;
        if (wait_port ? port_accepts(wait_port) : stat(wait_path, &st) == 0)
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static void
redis_kill(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static pid_t
redis_start_port(int port, const char *extra1, const char *extra2)
{
    char p[16];
    snprintf(p, sizeof(p), "%d", port);
    return redis_start(port, NULL, "--port", p, extra1, extra2, NULL);
}

/* ---- the loop ----------------------------------------------------------- */

static void
noop_cb(evutil_socket_t fd, short what, void *arg)
{
}

/* Runs the loop until *n >= want or ms pass; true when reached. */
static bool
run_until(const int *n, int want, int ms)
{
    int64_t end = clock_now_ms() + ms;
    struct event *tick = evtimer_new(base, noop_cb, NULL);
    while (*n < want && clock_now_ms() < end) {
        struct timeval tv = {0, 5000};
        evtimer_add(tick, &tv);
        event_base_loop(base, EVLOOP_ONCE);
    }
    event_free(tick);
    return *n >= want;
}

static void
run_ms(int ms)
{
    int never = 0;
    run_until(&never, 1, ms);
}

static bool
run_until_ready(struct redis_client *rc, int ms)
{
    int64_t end = clock_now_ms() + ms;
    while (!redis_client_ready(rc) && clock_now_ms() < end)
        run_ms(5);
    return redis_client_ready(rc);
}

/* ---- commands and what their callbacks saw ----------------------------- */

struct rec {
    int calls;
    bool inside; /* a callback ran inside the issuing call */
    const char *err;
    int type;
    long long integer;
    char str[512];
};

static void
rec_cb(void *arg, const struct redisReply *r, const char *err)
{
    struct rec *x = arg;
    x->calls++;
    x->inside |= in_call;
    x->err = err;
    x->type = r ? r->type : 0;
    x->integer = r ? r->integer : 0;
    snprintf(x->str, sizeof(x->str), "%.*s", r && r->str ? (int)r->len : 0,
             r && r->str ? r->str : "");
}

/* Issues a command of NUL-terminated words, NULL-terminated. */
static void
cmd(struct redis_client *rc, struct rec *x, ...)
{
    const char *argv[16];
    size_t lens[16];
    int n = 0;
    va_list ap;
    va_start(ap, x);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < 16; n++) {
        argv[n] = a;
        lens[n] = strlen(a);
    }
    va_end(ap);
    memset(x, 0, sizeof(*x));
    in_call = true;
    redis_client_command(rc, NULL, 0, n, argv, lens, rec_cb, x);
    in_call = false;
}

/* Runs one command to completion. */
static void
cmd_wait(struct redis_client *rc, struct rec *x, const char *a0, const char *a1, const char *a2)
{
    cmd(rc, x, a0, a1, a2, NULL);
    run_until(&x->calls, 1, 3000);
}

static struct redis_client *
client(const char *url, uint32_t timeout_ms, const struct redis_tls_options *tls)
{
    struct redis_target t;
    const char *why;
    if (redis_url_parse(url, &t, &why) != 0) {
        printf("# bad url %s: %s\n", url, why);
        abort();
    }
    if (tls != NULL)
        t.tls_opt = *tls;
    struct redis_client_options opt = {.target = &t, .timeout_ms = timeout_ms, .name = "test"};
    return redis_client_new(base, &opt);
}

static char url[256];

static const char *
tcp_url(int port, const char *userinfo, const char *scheme)
{
    snprintf(url, sizeof(url), "%s://%s%s127.0.0.1:%d/0", scheme ? scheme : "redis",
             userinfo ? userinfo : "", userinfo ? "@" : "", port);
    return url;
}

/* ---- cases -------------------------------------------------------------- */

#define NPIPE 1000
static int pipe_next;
static bool pipe_in_order = true;
static bool pipe_inside;

static void
pipe_cb(void *arg, const struct redisReply *r, const char *err)
{
    int i = (int)(intptr_t)arg;
    char want[16];
    snprintf(want, sizeof(want), "%d", i);
    pipe_inside |= in_call;
    if (err != NULL || i != pipe_next || r->type != REDIS_REPLY_STRING || strcmp(r->str, want) != 0)
        pipe_in_order = false;
    pipe_next++;
}

static void
test_pipeline(int port)
{
    struct redis_client *rc = client(tcp_url(port, NULL, NULL), 1000, NULL);
    ok(!redis_client_ready(rc), "pipeline: not ready inside redis_client_new");
    ok(run_until_ready(rc, 3000), "pipeline: ready (connected, ping.lua loaded)");
    struct redis_client_stats before, after;
    redis_client_stats(rc, &before);
    char nums[NPIPE][8];
    in_call = true;
    for (int i = 0; i < NPIPE; i++) {
        snprintf(nums[i], sizeof(nums[i]), "%d", i);
        const char *argv[] = {"ECHO", nums[i]};
        size_t lens[] = {4, strlen(nums[i])};
        redis_client_command(rc, NULL, 0, 2, argv, lens, pipe_cb, (void *)(intptr_t)i);
    }
    in_call = false;
    is_int(pipe_next, 0, "pipeline: no callback inside the calls");
    ok(run_until(&pipe_next, NPIPE, 5000), "pipeline: %d replies", NPIPE);
    ok(pipe_in_order && !pipe_inside, "pipeline: every reply in order, to its own command");
    redis_client_stats(rc, &after);
    printf("# %d commands from one loop turn: %llu write(s), %llu read(s)\n", NPIPE,
           (unsigned long long)(after.writes - before.writes),
           (unsigned long long)(after.reads - before.reads));
    ok(after.writes - before.writes <= 2, "pipeline: one loop turn's commands in at most 2 writes");
    struct rec info;
    cmd_wait(rc, &info, "INFO", "commandstats", NULL);
    ok(strstr(info.str, "cmdstat_echo:calls=1000,") != NULL, "pipeline: Redis counted 1000 ECHO");
    redis_client_free(rc);
}

static void
script_call(struct redis_client *rc, struct rec *x, const char *arg)
{
    const char *args[] = {arg};
    size_t lens[] = {strlen(arg)};
    memset(x, 0, sizeof(*x));
    in_call = true;
    redis_client_script(rc, redis_script_find("ping"), 0, NULL, NULL, 1, args, lens, rec_cb, x);
    in_call = false;
    run_until(&x->calls, 1, 3000);
}

static void
test_script(int port)
{
    struct redis_client *rc = client(tcp_url(port, NULL, NULL), 1000, NULL);
    struct rec x, y;
    ok(redis_script_find("ping") != NULL && redis_script_find("nope") == NULL,
       "script: ping.lua is embedded");
    script_call(rc, &x, "hello");
    ok(x.calls == 1 && x.err == NULL && strcmp(x.str, "hello") == 0 && !x.inside,
       "script: EVALSHA ping.lua returns ARGV[1] (%s)", x.str);
    cmd_wait(rc, &y, "SCRIPT", "FLUSH", NULL);
    ok(y.err == NULL && strcmp(y.str, "OK") == 0, "script: SCRIPT FLUSH");
    script_call(rc, &x, "again");
    ok(x.calls == 1 && x.err == NULL && x.type == REDIS_REPLY_STRING &&
           strcmp(x.str, "again") == 0,
       "script: after SCRIPT FLUSH the caller still gets the reply (NOSCRIPT reloaded: %s)",
       x.str);
    script_call(rc, &x, "third");
    is_str(x.str, "third", "script: and the reloaded script stays");
    redis_client_free(rc);
}

static void
test_timeout(int port)
{
    struct redis_client *rc = client(tcp_url(port, NULL, NULL), 100, NULL);
    struct rec slow, after, late;
    ok(run_until_ready(rc, 3000), "timeout: ready");
    int64_t t0 = clock_now_ms();
    cmd(rc, &slow, "DEBUG", "SLEEP", "0.3", NULL);
    cmd(rc, &after, "PING", NULL);
    run_until(&slow.calls, 1, 2000);
    int64_t took = clock_now_ms() - t0;
    ok(slow.calls == 1 && slow.err == redis_error_timeout,
       "timeout: DEBUG SLEEP 0.3 with timeout 100ms fails with redis_error_timeout");
    ok(took >= 90 && took < 250, "timeout: after about 100ms (%lld ms)", (long long)took);
    run_until(&after.calls, 1, 2000);
    ok(after.calls == 1 && after.err == redis_error_timeout,
       "timeout: the PING queued behind it times out too");
    run_ms(300);
    is_int(slow.calls, 1, "timeout: the late reply is dropped, the callback not run again");
    cmd_wait(rc, &late, "PING", NULL, NULL);
    ok(late.err == NULL && strcmp(late.str, "PONG") == 0,
       "timeout: later commands work (PONG, not a late reply)");
    ok(redis_client_ready(rc), "timeout: the connection was kept");
    redis_client_free(rc);
}

static void
test_kill_and_restart(void)
{
    int port = free_port();
    pid_t pid = redis_start_port(port, NULL, NULL);
    ok(pid > 0, "kill: redis-server started on %d", port);
    struct redis_client *rc = client(tcp_url(port, NULL, NULL), 5000, NULL);
    ok(run_until_ready(rc, 3000), "kill: ready");
    struct rec sleep_, pings[10], down;
    cmd(rc, &sleep_, "DEBUG", "SLEEP", "2", NULL);
    for (int i = 0; i < 10; i++)
        cmd(rc, &pings[i], "PING", NULL);
    run_ms(50); /* written and in flight */
    redis_kill(pid);
    int64_t t0 = clock_now_ms();
    run_until(&pings[9].calls, 1, 2000);
    run_ms(20);
    bool all = sleep_.calls == 1 && sleep_.err == redis_error_unavailable;
    for (int i = 0; i < 10; i++)
        all = all && pings[i].calls == 1 && pings[i].err == redis_error_unavailable &&
              !pings[i].inside;
    ok(all, "kill: every command in flight failed once with redis_error_unavailable (%lld ms)",
       (long long)(clock_now_ms() - t0));
    ok(!redis_client_ready(rc), "kill: not ready");
    cmd(rc, &down, "PING", NULL);
    is_int(down.calls, 0, "kill: a command while down does not fail inside the call");
    run_until(&down.calls, 1, 1000);
    ok(down.calls == 1 && down.err == redis_error_unavailable && !down.inside,
       "kill: it fails on the next loop turn with redis_error_unavailable");
    run_ms(300); /* a few reconnect attempts, refused */

    pid = redis_start_port(port, NULL, NULL);
    ok(pid > 0, "restart: redis-server restarted on the same port");
    t0 = clock_now_ms();
    ok(run_until_ready(rc, 4000), "restart: the client reconnected by itself (%lld ms)",
       (long long)(clock_now_ms() - t0));
    struct rec back, s;
    cmd_wait(rc, &back, "PING", NULL, NULL);
    ok(back.err == NULL && strcmp(back.str, "PONG") == 0, "restart: commands succeed");
    script_call(rc, &s, "fresh");
    is_str(s.str, "fresh", "restart: the script works on the new server");
    redis_client_free(rc);
    redis_kill(pid);
}

static void
test_auth(void)
{
    int port = free_port();
    pid_t pid = redis_start_port(port, "--requirepass", "s3cr@t");
    ok(pid > 0, "auth: redis-server with requirepass");
    struct rec x, y;
    struct redis_client *rc = client(tcp_url(port, ":s3cr%40t", NULL), 1000, NULL);
    cmd_wait(rc, &x, "PING", NULL, NULL);
    ok(x.err == NULL && strcmp(x.str, "PONG") == 0,
       "auth: a command issued while connecting waits, then PONG (password percent-decoded)");
    const char *argv[] = {"ACL", "SETUSER", "alice", "on", ">a-pw", "~*", "+@all"};
    size_t lens[7];
    for (int i = 0; i < 7; i++)
        lens[i] = strlen(argv[i]);
    memset(&y, 0, sizeof(y));
    redis_client_command(rc, NULL, 0, 7, argv, lens, rec_cb, &y);
    run_until(&y.calls, 1, 2000);
    is_str(y.str, "OK", "auth: ACL SETUSER alice");
    redis_client_free(rc);

    rc = client(tcp_url(port, "alice:a-pw", NULL), 1000, NULL);
    cmd_wait(rc, &x, "ACL", "WHOAMI", NULL);
    ok(x.err == NULL && strcmp(x.str, "alice") == 0, "auth: ACL user: ACL WHOAMI is alice (%s)",
       x.str);
    redis_client_free(rc);

    rc = client(tcp_url(port, ":wrong", NULL), 1000, NULL);
    cmd_wait(rc, &x, "PING", NULL, NULL);
    ok(x.calls == 1 && x.err == redis_error_unavailable && !redis_client_ready(rc),
       "auth: a wrong password: never ready, commands fail with redis_error_unavailable");
    redis_client_free(rc);
    redis_kill(pid);
}

static void
test_unix(void)
{
    char path[128], u[160];
    snprintf(path, sizeof(path), "%s/redis.sock", tmp);
    pid_t pid = redis_start(0, path, "--port", "0", "--unixsocket", path, NULL);
    ok(pid > 0, "unix: redis-server on %s", path);
    snprintf(u, sizeof(u), "unix://%s?db=2", path);
    struct redis_client *rc = client(u, 1000, NULL);
    struct rec x;
    cmd_wait(rc, &x, "CLIENT", "INFO", NULL);
    ok(x.err == NULL && strstr(x.str, " db=2 ") != NULL, "unix: connected, SELECT 2 applied");
    redis_client_free(rc);
    redis_kill(pid);
}

/* ---- TLS ------------------------------------------------------------------ */

static int
sh(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return system(buf);
}

/* A CA, a server certificate for localhost/127.0.0.1, a client one, and
 * an unrelated CA. */
static int
make_certs(void)
{
    const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    return sh("cd %s && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext && "
              "openssl req -x509 %s -keyout ca.key -out ca.crt -days 2 -subj /CN=sluice-test-ca "
              "2>/dev/null && "
              "openssl req -x509 %s -keyout other.key -out other.crt -days 2 -subj /CN=other-ca "
              "2>/dev/null && "
              "openssl req %s -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null "
              "&& openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
              "-out server.crt -days 2 -extfile san.ext 2>/dev/null && "
              "openssl req %s -keyout client.key -out client.csr -subj /CN=sluice 2>/dev/null && "
              "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
              "-out client.crt -days 2 2>/dev/null",
              tmp, ec, ec, ec, ec);
}

static struct redis_tls_options
tls_opts(const char *ca, const char *name, bool verify, bool client_cert)
{
    struct redis_tls_options o;
    memset(&o, 0, sizeof(o));
    if (ca != NULL)
        snprintf(o.ca_file, sizeof(o.ca_file), "%s/%s", tmp, ca);
    if (name != NULL)
        snprintf(o.server_name, sizeof(o.server_name), "%s", name);
    if (client_cert) {
        snprintf(o.cert_file, sizeof(o.cert_file), "%s/client.crt", tmp);
        snprintf(o.key_file, sizeof(o.key_file), "%s/client.key", tmp);
    }
    o.verify = verify;
    return o;
}

static void
tls_case(int port, const struct redis_tls_options *o, bool want_ok, const char *desc)
{
    struct redis_client *rc = client(tcp_url(port, NULL, "rediss"), 1000, o);
    struct rec x;
    cmd_wait(rc, &x, "PING", NULL, NULL);
    if (want_ok)
        ok(x.err == NULL && strcmp(x.str, "PONG") == 0, "tls: %s: PONG", desc);
    else
        ok(x.calls == 1 && x.err == redis_error_unavailable && !redis_client_ready(rc),
           "tls: %s: refused (redis_error_unavailable)", desc);
    redis_client_free(rc);
}

static void
test_tls(void)
{
    int made = make_certs();
    ok(made == 0, "tls: throwaway CA and certificates made with openssl");
    if (made != 0)
        return;
    int port = free_port();
    char p[16], cert[128], key[128], ca[128];
    snprintf(p, sizeof(p), "%d", port);
    snprintf(cert, sizeof(cert), "%s/server.crt", tmp);
    snprintf(key, sizeof(key), "%s/server.key", tmp);
    snprintf(ca, sizeof(ca), "%s/ca.crt", tmp);
    pid_t pid = redis_start(port, NULL, "--port", "0", "--tls-port", p, "--tls-cert-file", cert,
                            "--tls-key-file", key, "--tls-ca-cert-file", ca, "--tls-auth-clients",
                            "optional", NULL);
    ok(pid > 0, "tls: redis-server with --tls-port %d", port);
    if (pid <= 0)
        return;
    struct redis_tls_options o = tls_opts("ca.crt", NULL, true, false);
    tls_case(port, &o, true, "verification on, ca_file, IP SAN of 127.0.0.1");
    o = tls_opts("ca.crt", "localhost", true, false);
    tls_case(port, &o, true, "server_name localhost");
    o = tls_opts("other.crt", NULL, true, false);
    tls_case(port, &o, false, "a wrong CA");
    o = tls_opts("ca.crt", "wrong.example", true, false);
    tls_case(port, &o, false, "a wrong server_name");
    o = tls_opts("other.crt", "wrong.example", false, false);
    tls_case(port, &o, true, "verify: false (wrong CA and name accepted)");
    o = tls_opts(NULL, NULL, true, false);
    tls_case(port, &o, false, "the system store does not know the test CA");
    redis_kill(pid);

    /* mutual TLS: the server requires a client certificate */
    pid = redis_start(port, NULL, "--port", "0", "--tls-port", p, "--tls-cert-file", cert,
                      "--tls-key-file", key, "--tls-ca-cert-file", ca, "--tls-auth-clients", "yes",
                      NULL);
    ok(pid > 0, "tls: redis-server requiring client certificates");
    o = tls_opts("ca.crt", NULL, true, true);
    tls_case(port, &o, true, "mutual TLS with cert_file/key_file");
    o = tls_opts("ca.crt", NULL, true, false);
    tls_case(port, &o, false, "mutual TLS without a client certificate");
    redis_kill(pid);
}

/* ---- retire ------------------------------------------------------------- */

static void
test_retire(int port)
{
    struct redis_client *rc = client(tcp_url(port, NULL, NULL), 1000, NULL);
    struct rec x;
    ok(run_until_ready(rc, 3000), "retire: ready");
    cmd(rc, &x, "PING", NULL);
    redis_client_retire(rc); /* frees itself once the PING is answered */
    run_until(&x.calls, 1, 2000);
    ok(x.calls == 1 && x.err == NULL && strcmp(x.str, "PONG") == 0,
       "retire: a pending command still gets its reply");
    run_ms(20); /* the deferred free; ASan reports a leak if it did not happen */
}

/* ---- Redis Cluster ------------------------------------------------------- */

#define NCLUSTER 3
#define NSPREAD 1000

static int cl_done;
static bool cl_good = true, cl_inside;
static const char *cl_err;

static void
cl_cb(void *arg, const struct redisReply *r, const char *err)
{
    const char *want = arg; /* the reply's string, or NULL for +OK */
    cl_inside |= in_call;
    cl_err = err;
    if (err != NULL || (want == NULL ? r->type != REDIS_REPLY_STATUS
                                     : r->type != REDIS_REPLY_STRING || strcmp(r->str, want)))
        cl_good = false;
    cl_done++;
}

/* Fails like cl_cb, then issues one more GET on the client (arg). */
static int reissued;
static void
reissue_cb(void *arg, const struct redisReply *r, const char *err)
{
    struct redis_client *rc = arg;
    const char *argv[] = {"GET", "{k1}"};
    size_t lens[] = {3, 4};
    reissued++;
    cl_cb(NULL, r, err);
    redis_client_command(rc, argv[1], lens[1], 2, argv, lens, cl_cb, NULL);
}

/* Issues n commands name {kI} [vI] routed by {kI}, from one loop turn. */
static void
cl_issue(struct redis_client *rc, const char *name, int n, char (*keys)[16], char (*vals)[16])
{
    in_call = true;
    for (int i = 0; i < n; i++) {
        const char *argv[] = {name, keys[i], vals[i]};
        size_t lens[] = {strlen(name), strlen(keys[i]), strlen(vals[i])};
        bool set = strcmp(name, "SET") == 0;
        redis_client_command(rc, keys[i], lens[1], set ? 3 : 2, argv, lens, cl_cb,
                             set ? NULL : vals[i]);
    }
    in_call = false;
}

static void
test_cluster(void)
{
    int ports[NCLUSTER];
    pid_t pids[NCLUSTER];
    char create[256] = "redis-cli --cluster create";
    for (int i = 0; i < NCLUSTER; i++) {
        char p[16], bus[16], conf[32];
        ports[i] = free_port();
        snprintf(p, sizeof(p), "%d", ports[i]);
        snprintf(bus, sizeof(bus), "%d", free_port());
        snprintf(conf, sizeof(conf), "nodes-%d.conf", ports[i]);
        pids[i] = redis_start(ports[i], NULL, "--port", p, "--cluster-enabled", "yes",
                              "--cluster-config-file", conf, "--cluster-port", bus, NULL);
        size_t n = strlen(create);
        snprintf(create + n, sizeof(create) - n, " 127.0.0.1:%d", ports[i]);
    }
    ok(pids[0] > 0 && pids[1] > 0 && pids[2] > 0, "cluster: three redis-servers");
    int rc_create = sh("%s --cluster-replicas 0 --cluster-yes >/dev/null 2>&1", create);
    ok(rc_create == 0, "cluster: redis-cli --cluster create");
    bool up = false;
    for (int i = 0; i < 200 && !up; i++) {
        up = true;
        for (int j = 0; j < NCLUSTER; j++)
            up = up && sh("redis-cli -p %d cluster info | grep -q 'cluster_slots_ok:16384' && "
                          "redis-cli -p %d cluster info | grep -q 'cluster_state:ok'",
                          ports[j], ports[j]) == 0;
        if (!up)
            usleep(50000);
    }
    ok(up, "cluster: cluster_state:ok on every node");

    struct redis_client *rc = client(tcp_url(ports[0], NULL, NULL), 1000, NULL);
    ok(run_until_ready(rc, 5000), "cluster: ready (every master connected, scripts loaded)");
    static char keys[NSPREAD][16], vals[NSPREAD][16];
    for (int i = 0; i < NSPREAD; i++) {
        snprintf(keys[i], sizeof(keys[i]), "{k%d}", i);
        snprintf(vals[i], sizeof(vals[i]), "v%d", i);
    }
    struct redis_client_stats before, after;
    redis_client_stats(rc, &before);
    cl_issue(rc, "SET", NSPREAD, keys, vals);
    is_int(cl_done, 0, "cluster: no callback inside the calls");
    ok(run_until(&cl_done, NSPREAD, 5000), "cluster: %d SET answered", NSPREAD);
    ok(cl_good && !cl_inside, "cluster: every SET answered +OK (none redirected to an error)");
    redis_client_stats(rc, &after);
    printf("# %d commands over %d masters from one loop turn: %llu write(s)\n", NSPREAD,
           NCLUSTER, (unsigned long long)(after.writes - before.writes));
    ok(after.writes - before.writes <= 2 * NCLUSTER,
       "cluster: pipelined per node (at most 2 writes per master)");
    int spread = 0;
    for (int j = 0; j < NCLUSTER; j++)
        spread += sh("test \"$(redis-cli -p %d dbsize)\" -gt 200", ports[j]) == 0;
    is_int(spread, NCLUSTER, "cluster: the keys spread over every master");
    cl_done = 0;
    cl_issue(rc, "GET", NSPREAD, keys, vals);
    ok(run_until(&cl_done, NSPREAD, 5000) && cl_good, "cluster: every GET reads its own value");

    /* a script on every master: ping.lua was loaded at each node's connect */
    int scripts_ok = 0;
    for (int i = 0; i < 30; i++) {
        struct rec x = {0};
        const char *args[] = {"hi"};
        size_t lens[] = {2};
        const char *k[] = {keys[i]};
        size_t kl[] = {strlen(keys[i])};
        in_call = true;
        redis_client_script(rc, redis_script_find("ping"), 1, k, kl, 1, args, lens, rec_cb, &x);
        in_call = false;
        run_until(&x.calls, 1, 3000);
        scripts_ok += x.calls == 1 && x.err == NULL && x.type != REDIS_REPLY_ERROR && !x.inside;
    }
    is_int(scripts_ok, 30, "cluster: EVALSHA answers on every master");

    /* free with commands pending: each callback once, with closed */
    cl_done = 0;
    cl_good = true;
    cl_issue(rc, "GET", 100, keys, vals);
    const char *gargv[] = {"GET", "{k7}"};
    size_t glens[] = {3, 4};
    redis_client_command(rc, gargv[1], glens[1], 2, gargv, glens, reissue_cb, rc);
    redis_client_free(rc);
    ok(cl_done == 102 && cl_err == redis_error_closed && reissued == 1,
       "cluster: free fails each pending command once, with closed, and one issued by a "
       "callback meanwhile too (%d)", cl_done);
    run_ms(50);
    is_int(cl_done, 102, "cluster: and never answers them again");

    /* retire: answers what it holds, then frees itself (ASan: no leak) */
    rc = client(tcp_url(ports[1], NULL, NULL), 1000, NULL);
    ok(run_until_ready(rc, 5000), "cluster: a client on another node is ready");
    cl_done = 0;
    cl_good = true;
    cl_issue(rc, "GET", 100, keys, vals);
    redis_client_retire(rc);
    ok(run_until(&cl_done, 100, 3000) && cl_good, "cluster: retire answers its commands");
    run_ms(50);
    for (int i = 0; i < NCLUSTER; i++)
        if (pids[i] > 0)
            redis_kill(pids[i]);
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(tmp, sizeof(tmp), "/tmp/sluice-redis-test-XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return 1;
    base = event_base_new();
    int port = free_port();
    pid_t pid = redis_start_port(port, NULL, NULL);
    ok(pid > 0, "redis-server started on port %d (on PATH?)", port);
    if (pid <= 0)
        return tap_done();
    test_pipeline(port);
    test_script(port);
    test_timeout(port);
    test_retire(port);
    redis_kill(pid);
    test_kill_and_restart();
    test_auth();
    test_unix();
    test_tls();
    test_cluster();
    event_base_free(base);
    sh("rm -rf %s", tmp);
    return tap_done();
}
