/*
 * resp.h - encodes a command as RESP (a multi-bulk array of binary-safe
 * strings), as redisFormatCommandArgv does, without its sprintf per
 * argument: this runs for every authenticated request. Pure.
 */
#ifndef SLUICE_RESP_H
#define SLUICE_RESP_H

#include <stddef.h>

/* Bytes resp_encode() writes for these arguments. */
size_t resp_encoded_len(int argc, const size_t *lens);

/* Writes "*<argc>\r\n" then "$<len>\r\n<arg>\r\n" for each argument into
 * out (resp_encoded_len() bytes); returns the bytes written. */
size_t resp_encode(char *out, int argc, const char *const *argv, const size_t *lens);

/* Writes the decimal digits of v into out (20 bytes suffice); returns how many. */
size_t resp_format_uint(char *out, size_t v);
/* How many digits resp_format_uint writes for v. */
size_t resp_digits(size_t v);

/*
 * A command built by hand, for an argument made of several pieces that
 * should be copied once, straight into the command (a stored entry):
 *
 *   n = resp_put_header(out, '*', 3);            "*3\r\n"
 *   n += resp_put_bulk(out + n, "SET", 3);       "$3\r\nSET\r\n"
 *   n += resp_put_header(out + n, '$', total);   "$<total>\r\n", then the
 *                                                pieces and "\r\n" by hand
 */
/* Writes marker, the digits of v and CRLF ("*3\r\n", "$7\r\n"): at most
 * 23 bytes, 1 + resp_digits(v) + 2; returns how many. */
size_t resp_put_header(char *out, char marker, size_t v);
/* Writes one bulk string "$<len>\r\n<p>\r\n": resp_bulk_len(len) bytes. */
size_t resp_put_bulk(char *out, const char *p, size_t len);
size_t resp_bulk_len(size_t len);

#endif
