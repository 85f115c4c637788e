-- Redis script (peer "nginx_lua_zset"): the session check, then a ZSET
-- sliding-log rate limit (one entry per admitted request), in one call.
-- KEYS[1] session hash, KEYS[2] the user's log bench:{u:USER}:rl:per_minute
-- ARGV[1] session idle TTL ms, ARGV[2] now ms, ARGV[3] window ms,
-- ARGV[4] limit, ARGV[5] a member unique to this request.
-- Returns 1 (admitted), 0 (no such session), -1 (over the limit).
if not redis.call('HGET', KEYS[1], 'user') then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local now, window = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return -1 end
redis.call('ZADD', KEYS[2], now, ARGV[5])
redis.call('PEXPIRE', KEYS[2], window)
return 1
