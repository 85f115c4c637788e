-- commit.lua: settles a token reservation once the exchange ended
-- (SPEC section 6): the bucket that was charged the estimate is corrected
-- by the real usage (up, or down as a refund). A bucket that already left
-- the window is not touched: it no longer counts.
--
-- KEYS[1]  limits hash PREFIX{TAG}:rl:PLAN (check.lua)
-- ARGV[1]  limit name
-- ARGV[2]  bucket index the reservation went to
-- ARGV[3]  correction, tokens (used - reserved; negative refunds)
-- Returns  1 when applied, 0 when the bucket had gone
local p, b = ARGV[1] .. ':', ARGV[2]
local v = redis.call('HMGET', KEYS[1], p .. 'hi', p .. 't', p .. 'a')
local t, ar = tonumber(v[2]) or 0, tonumber(v[3]) or 0
local newest = v[1] == b -- the newest bucket's count is t - a (check.lua)
local cnt
if newest then
    cnt = t - ar
else
    local c = redis.call('HGET', KEYS[1], p .. b)
    if not c then
        return 0
    end
    cnt = tonumber(c)
end
local delta = tonumber(ARGV[3])
cnt = cnt + delta
if cnt < 0 then
    delta = delta - cnt
    cnt = 0
end
t = math.max(0, t + delta)
if newest then
    redis.call('HSET', KEYS[1], p .. 't', t)
else
    redis.call('HSET', KEYS[1], p .. b, cnt, p .. 't', t, p .. 'a', math.max(0, ar + delta))
end
return 1
