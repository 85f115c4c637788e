-- session_list.lua: a user's live sessions, O(the user's sessions): no
-- KEYS or SCAN. Sessions that expired (idle or past their end) are
-- dropped from the index on the way.
--
-- KEYS[1]  user's index   PREFIX{u:USER}:sessions
-- ARGV[1]  session key prefix PREFIX{u:USER}:s: (same hash tag as KEYS[1])
-- ARGV[2]  now, Unix ms: a session past its absolute end is not listed
-- Returns  a flat array: id, plan, created_at, expires_at, idle_expires_in_ms, ...
local out = {}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, id in ipairs(ids) do
    local key = ARGV[1] .. id
    local s = redis.call('HMGET', key, 'plan', 'created_at', 'expires_at')
    local pttl = redis.call('PTTL', key)
    if s[2] and pttl > 0 and tonumber(s[3]) > tonumber(ARGV[2]) then
        out[#out + 1] = id
        out[#out + 1] = s[1] or ''
        out[#out + 1] = s[2]
        out[#out + 1] = s[3]
        out[#out + 1] = tostring(pttl)
    else
        redis.call('ZREM', KEYS[1], id)
    end
end
return out
