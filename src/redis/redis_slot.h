/*
 * redis_slot.h - the Redis Cluster hash slot of a key (Redis Cluster
 * specification, "Keys distribution model"): CRC16 (XMODEM: polynomial
 * 0x1021, initial value 0) of the key mod 16384, or of the content of its
 * first {...} hash tag when that content is not empty, so that keys
 * sharing a tag ({u:USER}, {a:IP}, {c:ROUTE}, {fleet}) share a slot.
 * Pure: no I/O, no allocation.
 */
#ifndef SLUICE_REDIS_SLOT_H
#define SLUICE_REDIS_SLOT_H

#include <stddef.h>
#include <stdint.h>

#define REDIS_SLOT_COUNT 16384

/* CRC16/XMODEM of len bytes of p. */
uint16_t redis_slot_crc16(const char *p, size_t len);

/* The hash slot of key (len bytes, binary safe): 0 .. REDIS_SLOT_COUNT-1. */
unsigned redis_slot_of(const char *key, size_t len);

#endif
