-- limits_reset.lua: forgets a caller's usage of every limit of every plan
-- (DELETE /v1/users/{user}/limits, SPEC section 8).
--
-- KEYS[1]  the user's session index PREFIX{u:USER}:sessions (routes the call)
-- ARGV[1]  "PREFIX{u:USER}"
-- ARGV[2]  number of plans, then per plan: name, number of concurrent
--          limits, their names
-- Returns  the number of keys deleted
local base, a, gone = ARGV[1], 3, 0
for _ = 1, tonumber(ARGV[2]) do
    local plan = ARGV[a]
    local n = tonumber(ARGV[a + 1])
    gone = gone + redis.call('DEL', base .. ':rl:' .. plan)
    for i = 1, n do
        gone = gone + redis.call('DEL', base .. ':c:' .. plan .. ':' .. ARGV[a + 1 + i])
    end
    a = a + 2 + n
end
return gone
