-- renew.lua: extends the lease of a concurrency slot that a long request
-- (an LLM stream, a WebSocket tunnel) still holds, so that only the slots
-- of a gateway that stopped renewing them (it crashed) expire.
--
-- KEYS[1]  limits hash PREFIX{TAG}:rl:PLAN (check.lua)
-- ARGV[1]  the slot's field, NAME:s:<slot id>
-- ARGV[2]  lease, ms
-- Returns  1 when renewed, 0 when the slot is gone (reset, or expired)
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
    return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], now + lease)
if redis.call('PTTL', KEYS[1]) < lease then
    redis.call('PEXPIRE', KEYS[1], 2 * lease)
end
return 1
