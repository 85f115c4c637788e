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

#endif
