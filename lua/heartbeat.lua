-- heartbeat.lua: a gateway announces that it is alive and learns how many
-- are (SPEC section 6), so that while Redis is down later each one applies
-- its share of every limit.
--
-- KEYS[1]  PREFIX{fleet}:gateways  zset: gateway id -> heartbeat end, ms
-- ARGV[1]  this gateway's id
-- ARGV[2]  how long a heartbeat lasts, ms (a few heartbeat intervals)
-- Returns  the number of live gateways, this one included
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return redis.call('ZCARD', KEYS[1])
