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
struct strbuf;

/* The pipeline's forward callback: starts the exchange. */
void proxy_forward(struct req *req);

/* Appends the head req would send upstream (as proxy_forward sends it):
 * for a fetch of the gateway's own made on the request's behalf. */
void proxy_build_request_head(struct req *req, struct strbuf *out);

/* Event entry points, from conn.c. */
void proxy_client_readable(struct conn *c);
void proxy_client_writable(struct conn *c);
void proxy_client_timeout(struct conn *c);

/* The client connection is closing under an active exchange. */
void proxy_abort(struct req *req);

/* The same, for a request whose stage asked for the exchange to end whole
 * (req->keep_exchange): true when it goes on without the client (the
 * request was sent, the head came): the response is read to its end for
 * the stages' observers, then the request finishes by itself; it counts
 * as the worker's background work meanwhile. False: abort it. */
bool proxy_detach(struct req *req);

#endif
