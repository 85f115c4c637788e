/*
 * caller.c - the caller's tag of a request.
 */
#include "policy/caller.h"

#include <arpa/inet.h>
#include <string.h>

#include "http/http_headers.h"
#include "net/conn.h"

static bool
ip_literal(struct sl_slice s)
{
    char tmp[INET6_ADDRSTRLEN];
    unsigned char bin[sizeof(struct in6_addr)];
    if (s.len == 0 || s.len >= sizeof(tmp))
        return false;
    memcpy(tmp, s.p, s.len);
    tmp[s.len] = '\0';
    return inet_pton(AF_INET, tmp, bin) == 1 || inet_pton(AF_INET6, tmp, bin) == 1;
}

static void
put_tag(char out[CALLER_TAG_MAX + 1], const char *kind, const char *p, size_t len)
{
    if (len > CALLER_TAG_MAX - 2)
        len = CALLER_TAG_MAX - 2;
    memcpy(out, kind, 2);
    memcpy(out + 2, p, len);
    out[2 + len] = '\0';
}

void
caller_tag(const struct req *req, char out[CALLER_TAG_MAX + 1])
{
    if (req->id.user[0] != '\0') {
        put_tag(out, "u:", req->id.user, strlen(req->id.user));
        return;
    }
    char peer[INET6_ADDRSTRLEN];
    struct sl_slice ip =
        http_headers_client_ip(&req->head, conn_peer_ip(req->conn, peer), req->conn->peer_trusted);
    if (!ip_literal(ip))
        ip = conn_peer_ip(req->conn, peer);
    put_tag(out, "a:", ip.p, ip.len);
}
