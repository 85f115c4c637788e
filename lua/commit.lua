-- commit.lua: settles a token reservation once the exchange ended
-- (SPEC section 6): the bucket that was charged the estimate is corrected
-- by the real usage (up, or down as a refund). A bucket that already left
-- the window is not touched: it no longer counts.
--
-- KEYS[1]  window hash PREFIX{TAG}:rl:PLAN (check.lua)
-- ARGV[1]  limit name
-- ARGV[2]  bucket index the reservation went to
-- ARGV[3]  correction, tokens (used - reserved; negative refunds)
-- Returns  1 when applied, 0 when the bucket had gone
local p = ARGV[1] .. ':'
local f = p .. ARGV[2]
local v = redis.call('HMGET', KEYS[1], f, p .. 't')
if not v[1] then
    return 0
end
local delta = tonumber(ARGV[3])
local cnt = tonumber(v[1]) + delta
if cnt < 0 then
    delta = delta - cnt
    cnt = 0
end
local total = math.max(0, (tonumber(v[2]) or 0) + delta)
redis.call('HSET', KEYS[1], f, cnt, p .. 't', total)
return 1
