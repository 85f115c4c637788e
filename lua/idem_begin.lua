-- idem_begin.lua: a request with an Idempotency-Key claims the key
-- (SPEC section 7, src/policy/idempotency.h): the first one writes a
-- running marker it owns and runs; any other learns what the key holds
-- (a marker: still running; a stored response: finished) and the gateway
-- compares fingerprints. Atomic: two requests never both run.
--
-- KEYS[1]  PREFIX{u:USER}:idem:<key>  string: "SLIM <owner> <fingerprint>"
--          (running) or "SLR1 ..." (a stored response)
-- ARGV[1]  the marker to write
-- ARGV[2]  its lease, ms
-- Returns  1 when the marker was written, else the key's value
local v = redis.call('GET', KEYS[1])
if v then
    return v
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
