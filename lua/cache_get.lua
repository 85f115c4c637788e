-- cache_get.lua: a cache lookup (SPEC section 7): the route's generation
-- (a purge of the whole route increments it: O(1)), then the entry of this
-- key under it; with ARGV[3], the fleet's lock on a missing entry, so a
-- herd on a cold key makes one upstream request across gateways.
--
-- KEYS[1]  the route's generation PREFIX{c:ROUTE}:gen (no TTL: a counter)
-- ARGV[1]  entry key prefix PREFIX{c:ROUTE}:e: (same hash tag)
-- ARGV[2]  the request's key (hex)
-- ARGV[3]  optional: the lock's TTL, ms; the lock is PREFIX{c:ROUTE}:l:KEY
-- Returns  {generation, entry or false[, lock]}, lock (only when the entry
--          is missing and ARGV[3] was given): 1 taken (this request goes
--          upstream), 0 held by another (wait and look again), 2 that
--          key's last response could not be stored (go upstream, unlocked)
local gen = redis.call('GET', KEYS[1]) or '0'
local entry = redis.call('GET', ARGV[1] .. gen .. ':' .. ARGV[2])
if entry or not ARGV[3] then
    return {gen, entry}
end
local lock = string.sub(ARGV[1], 1, -3) .. 'l:' .. ARGV[2]
if redis.call('SET', lock, '1', 'NX', 'PX', ARGV[3]) then
    return {gen, false, 1}
end
return {gen, false, redis.call('GET', lock) == 'pass' and 2 or 0}
