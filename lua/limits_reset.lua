-- limits_reset.lua: forgets a caller's usage of every limit of every plan
-- (DELETE /v1/users/{user}/limits, SPEC section 8): each plan's limits
-- hash (running totals, buckets and concurrency slots alike).
--
-- KEYS[1]  the user's session index PREFIX{u:USER}:sessions (routes the call)
-- ARGV[1]  "PREFIX{u:USER}"
-- ARGV[2..]  the plan names
-- Returns  the number of keys deleted
local gone = 0
for i = 2, #ARGV do
    gone = gone + redis.call('DEL', ARGV[1] .. ':rl:' .. ARGV[i])
end
return gone
