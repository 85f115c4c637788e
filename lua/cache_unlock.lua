-- cache_unlock.lua: the request that held a key's lock (cache_get.lua)
-- ended without storing an entry. A failed exchange frees the lock (the
-- next request may try); a response that may not be stored leaves "pass"
-- for ARGV[4] ms, so waiters go upstream at once instead of queueing on
-- the lock one by one.
--
-- KEYS[1]  the route's generation PREFIX{c:ROUTE}:gen (routes the call)
-- ARGV[1]  entry key prefix PREFIX{c:ROUTE}:e:
-- ARGV[2]  the request's key (hex)
-- ARGV[3]  "pass" or ""
-- ARGV[4]  the pass marker's TTL, ms
local lock = string.sub(ARGV[1], 1, -3) .. 'l:' .. ARGV[2]
if ARGV[3] == 'pass' then
    redis.call('SET', lock, 'pass', 'PX', ARGV[4])
else
    redis.call('DEL', lock)
end
return 1
