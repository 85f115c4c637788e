-- cache_del.lua: drops one URL's entry (an unsafe method's success, RFC
-- 9111 §4.4, or POST /v1/cache/purge with a path).
--
-- KEYS[1]  the route's generation PREFIX{c:ROUTE}:gen
-- ARGV[1]  entry key prefix PREFIX{c:ROUTE}:e:
-- ARGV[2..]  keys (hex) to drop
-- Returns  the number dropped
local gen = redis.call('GET', KEYS[1]) or '0'
local n = 0
for i = 2, #ARGV do
    n = n + redis.call('DEL', ARGV[1] .. gen .. ':' .. ARGV[i])
end
return n
