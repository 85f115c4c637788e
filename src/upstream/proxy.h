/*
 * proxy.h - forwards a request that passed its stages, and streams the
 * response back: the exchange between one client connection and one
 * upstream connection (SPEC section 4).
 *
 *  client buf --frame body--> writev(upstream)      (request body streams)
 *  upstream buf --frame--> observers --> writev(client)  (response streams)
 *
 * Bytes are forwarded from the buffer they were read into; a side that
 * cannot take more stops the other side's reads (backpressure), so memory
 * per exchange is two buffers whatever the body sizes.
 */
#ifndef SLUICE_PROXY_H
#define SLUICE_PROXY_H

#include <stdbool.h>

struct req;
struct conn;
struct upstream_conn;

/* The pipeline's forward callback: starts the exchange. */
void proxy_forward(struct req *req);

/* Event entry points, from conn.c and upstream_pool.c. */
void proxy_client_readable(struct conn *c);
void proxy_client_writable(struct conn *c);
void proxy_client_timeout(struct conn *c);
void proxy_upstream_readable(struct upstream_conn *uc);
void proxy_upstream_writable(struct upstream_conn *uc);
void proxy_upstream_timeout(struct upstream_conn *uc);

/* The client connection is closing under an active exchange. */
void proxy_abort(struct req *req);

#endif
