/*
 * redis_tls.h - TLS (rediss://) under the Redis client, with OpenSSL on a
 * non-blocking socket the client drives itself. The client's transport
 * interface is three calls with one contract, the same for a plain socket
 * (read(2)/write(2), in redis_client.c) and for TLS (here):
 *
 *   handshake --want READ/WRITE--> (wait for the socket) --> handshake ... --> 0
 *   read / write: > 0 bytes moved, 0 = EOF (read), -1 with *want set:
 *                 REDIS_IO_WANT_READ / _WANT_WRITE = retry when the socket is
 *                 ready for that (TLS may need to write to read, and to read
 *                 to write), REDIS_IO_ERROR = the connection is broken.
 *
 * Verification is on by default: the chain must end at ca_file (or the
 * system store), and the certificate must name server_name (or the URL's
 * host; an IP literal is matched against IP SANs). SNI carries the name.
 */
#ifndef SLUICE_REDIS_TLS_H
#define SLUICE_REDIS_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct redis_tls_options;
struct redis_tls_ctx; /* certificates and settings, one per client */
struct redis_tls;     /* one connection */

enum redis_io_want { REDIS_IO_ERROR, REDIS_IO_WANT_READ, REDIS_IO_WANT_WRITE };

/* Loads the CA store and the client certificate. NULL on failure, with
 * err (cap bytes) saying why. o is read, not kept. */
struct redis_tls_ctx *redis_tls_ctx_new(const struct redis_tls_options *o, const char *url_host,
                                        char *err, size_t cap);
void redis_tls_ctx_free(struct redis_tls_ctx *ctx);

/* Starts a client session on connected socket fd (borrowed: the caller
 * closes it after redis_tls_free). ctx is borrowed and must outlive it. */
struct redis_tls *redis_tls_new(struct redis_tls_ctx *ctx, int fd);
void redis_tls_free(struct redis_tls *tls);

/* 0 when the handshake is done; -1 with *want (and err on REDIS_IO_ERROR:
 * a verification failure names its reason). */
int redis_tls_handshake(struct redis_tls *tls, enum redis_io_want *want, char *err, size_t cap);
ssize_t redis_tls_read(struct redis_tls *tls, void *buf, size_t len, enum redis_io_want *want);
/* A write that returned -1 with a want must be retried with the same bytes
 * first: the caller may append to its buffer, never change what was offered. */
ssize_t redis_tls_write(struct redis_tls *tls, const void *buf, size_t len,
                        enum redis_io_want *want);

/* Why the last read or write returned REDIS_IO_ERROR; static in tls. */
const char *redis_tls_error(const struct redis_tls *tls);

#endif
