/*
 * redis_tls.c - OpenSSL client sessions for the Redis client (see
 * redis_tls.h). The socket stays the client's: OpenSSL only reads and
 * writes it, and says through WANT_READ / WANT_WRITE what it waits for.
 */
#include "redis/redis_tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config/redis_url.h"
#include "sluice.h"

struct redis_tls_ctx {
    SSL_CTX *ssl_ctx; /* owns */
    char name[256];   /* checked against the certificate, sent as SNI */
    bool verify;
};

struct redis_tls {
    SSL *ssl;                  /* owns */
    struct redis_tls_ctx *ctx; /* borrowed */
    size_t retry_len;          /* bytes of a write that must be offered again; 0 = none */
    char err[300];             /* why the last read or write failed */
};

static void
last_error(char *err, size_t cap, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[200];
    ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(err, cap, "%s: %s", what, e ? buf : "unknown TLS error");
    ERR_clear_error();
}

static int
load_files(SSL_CTX *c, const struct redis_tls_options *o, char *err, size_t cap)
{
    int ok = o->ca_file[0] != '\0' ? SSL_CTX_load_verify_locations(c, o->ca_file, NULL)
                                   : SSL_CTX_set_default_verify_paths(c);
    if (ok != 1) {
        last_error(err, cap, "cannot load the CA certificates");
        return -1;
    }
    if (o->cert_file[0] == '\0')
        return 0;
    if (SSL_CTX_use_certificate_chain_file(c, o->cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(c, o->key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(c) != 1) {
        last_error(err, cap, "cannot load the client certificate");
        return -1;
    }
    return 0;
}

struct redis_tls_ctx *
redis_tls_ctx_new(const struct redis_tls_options *o, const char *url_host, char *err, size_t cap)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    if (c == NULL) {
        last_error(err, cap, "SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    /* The client's output buffer may be reallocated between a blocked
     * write and its retry (commands are appended), never its content. */
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(c, o->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (load_files(c, o, err, cap) < 0) {
        SSL_CTX_free(c);
        return NULL;
    }
    struct redis_tls_ctx *ctx = xcalloc(1, sizeof(*ctx));
    ctx->ssl_ctx = c;
    ctx->verify = o->verify;
    snprintf(ctx->name, sizeof(ctx->name), "%s", o->server_name[0] ? o->server_name : url_host);
    return ctx;
}

void
redis_tls_ctx_free(struct redis_tls_ctx *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* An IP literal is matched against IP SANs and sent without SNI (RFC
 * 6066 §3 forbids literals there); a name against DNS SANs, and sent. */
static void
set_peer_name(SSL *ssl, const struct redis_tls_ctx *ctx)
{
    unsigned char addr[16];
    bool is_ip =
        inet_pton(AF_INET, ctx->name, addr) == 1 || inet_pton(AF_INET6, ctx->name, addr) == 1;
    if (!is_ip)
        SSL_set_tlsext_host_name(ssl, ctx->name);
    if (!ctx->verify)
        return;
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(param, ctx->name);
    } else {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        SSL_set1_host(ssl, ctx->name);
    }
}

struct redis_tls *
redis_tls_new(struct redis_tls_ctx *ctx, int fd)
{
    struct redis_tls *tls = xcalloc(1, sizeof(*tls));
    tls->ctx = ctx;
    tls->ssl = SSL_new(ctx->ssl_ctx);
    if (tls->ssl == NULL)
        abort(); /* out of memory, as xmalloc */
    SSL_set_fd(tls->ssl, fd);
    set_peer_name(tls->ssl, ctx);
    SSL_set_connect_state(tls->ssl);
    return tls;
}

void
redis_tls_free(struct redis_tls *tls)
{
    if (tls == NULL)
        return;
    SSL_free(tls->ssl);
    free(tls);
}

/* Maps an SSL_get_error() code to the contract's want. */
static enum redis_io_want
want_of(int code)
{
    if (code == SSL_ERROR_WANT_READ)
        return REDIS_IO_WANT_READ;
    if (code == SSL_ERROR_WANT_WRITE)
        return REDIS_IO_WANT_WRITE;
    return REDIS_IO_ERROR;
}

int
redis_tls_handshake(struct redis_tls *tls, enum redis_io_want *want, char *err, size_t cap)
{
    ERR_clear_error();
    int r = SSL_connect(tls->ssl);
    if (r == 1)
        return 0;
    *want = want_of(SSL_get_error(tls->ssl, r));
    if (*want != REDIS_IO_ERROR)
        return -1;
    long vr = SSL_get_verify_result(tls->ssl);
    if (vr != X509_V_OK)
        snprintf(err, cap, "TLS: certificate verification failed: %s",
                 X509_verify_cert_error_string(vr));
    else
        last_error(err, cap, "TLS handshake failed");
    return -1;
}

ssize_t
redis_tls_read(struct redis_tls *tls, void *buf, size_t len, enum redis_io_want *want)
{
    ERR_clear_error();
    int r = SSL_read(tls->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    if (r > 0)
        return r;
    int code = SSL_get_error(tls->ssl, r);
    if (code == SSL_ERROR_ZERO_RETURN)
        return 0; /* close_notify */
    *want = want_of(code);
    if (*want == REDIS_IO_ERROR)
        last_error(tls->err, sizeof(tls->err), "TLS read failed");
    return -1;
}

ssize_t
redis_tls_write(struct redis_tls *tls, const void *buf, size_t len, enum redis_io_want *want)
{
    if (tls->retry_len != 0) {
        SL_ASSERT(len >= tls->retry_len);
        len = tls->retry_len;
    }
    ERR_clear_error();
    int r = SSL_write(tls->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    if (r > 0) {
        tls->retry_len = 0;
        return r;
    }
    *want = want_of(SSL_get_error(tls->ssl, r));
    tls->retry_len = *want != REDIS_IO_ERROR ? (len > INT32_MAX ? INT32_MAX : len) : 0;
    if (*want == REDIS_IO_ERROR)
        last_error(tls->err, sizeof(tls->err), "TLS write failed");
    return -1;
}

const char *
redis_tls_error(const struct redis_tls *tls)
{
    return tls->err[0] ? tls->err : "TLS error";
}
