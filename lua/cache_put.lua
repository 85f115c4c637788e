-- cache_put.lua: stores an entry, unless the route was purged since the
-- lookup (its generation moved on: the response may predate the purge).
--
-- KEYS[1]  the route's generation PREFIX{c:ROUTE}:gen
-- ARGV[1]  entry key prefix PREFIX{c:ROUTE}:e:
-- ARGV[2]  the request's key (hex)
-- ARGV[3]  the generation seen at lookup ("" = the current one)
-- ARGV[4]  the entry (policy/response_record.h)
-- ARGV[5]  its TTL, ms
-- Returns  1 stored, 0 not (purged meanwhile); the key's lock
--          (cache_get.lua) is released either way
local gen = redis.call('GET', KEYS[1]) or '0'
redis.call('DEL', string.sub(ARGV[1], 1, -3) .. 'l:' .. ARGV[2])
if ARGV[3] ~= '' and ARGV[3] ~= gen then
    return 0
end
redis.call('SET', ARGV[1] .. gen .. ':' .. ARGV[2], ARGV[4], 'PX', ARGV[5])
return 1
