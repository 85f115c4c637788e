-- session_revoke_all.lua: revokes every session of a user, O(the user's
-- sessions) through the index.
--
-- KEYS[1]  user's index   PREFIX{u:USER}:sessions
-- ARGV[1]  session key prefix PREFIX{u:USER}:s: (same hash tag as KEYS[1])
-- Returns  how many sessions were deleted
local n = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    n = n + redis.call('DEL', ARGV[1] .. id)
end
redis.call('DEL', KEYS[1])
return n
