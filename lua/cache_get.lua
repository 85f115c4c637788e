-- cache_get.lua: a cache lookup (SPEC section 7): the route's generation
-- (a purge of the whole route increments it: O(1)), then the entry of this
-- key under it.
--
-- KEYS[1]  the route's generation PREFIX{c:ROUTE}:gen (no TTL: a counter)
-- ARGV[1]  entry key prefix PREFIX{c:ROUTE}:e: (same hash tag)
-- ARGV[2]  the request's key (hex)
-- Returns  {generation, entry or false}
local gen = redis.call('GET', KEYS[1]) or '0'
return {gen, redis.call('GET', ARGV[1] .. gen .. ':' .. ARGV[2])}
