-- session_create.lua: stores a new session and indexes it under its user
-- (SPEC sections 8, 9, 11).
--
-- KEYS[1]  session hash   PREFIX{u:USER}:s:SESSION_ID
-- KEYS[2]  user's index   PREFIX{u:USER}:sessions (zset: session id -> expires_at ms)
-- ARGV[1]  session id
-- ARGV[2]  plan ("" for none)
-- ARGV[3]  created_at, Unix ms
-- ARGV[4]  expires_at, Unix ms (the token's exp)
-- ARGV[5]  idle TTL, ms
-- Returns  1
local expires_at = tonumber(ARGV[4])
local idle = tonumber(ARGV[5])
local left = expires_at - tonumber(ARGV[3])
if idle > left then
    idle = left
end
redis.call('HSET', KEYS[1], 'plan', ARGV[2], 'created_at', ARGV[3],
           'expires_at', ARGV[4], 'idle_ttl_ms', ARGV[5])
redis.call('PEXPIRE', KEYS[1], idle)
-- Entries past their absolute end drop out of the index here and in the list.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
redis.call('ZADD', KEYS[2], expires_at, ARGV[1])
-- The index lives as long as its longest-lived session.
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], tonumber(last[2]))
return 1
