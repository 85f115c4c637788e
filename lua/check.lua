-- check.lua: the one Redis call a request makes before it is forwarded
-- (SPEC sections 5, 6): is its session alive, and (with the rate-limits
-- work) does every limit of its plan admit it. Every key is under the
-- caller's hash tag, so the script runs unchanged on Redis Cluster.
--
-- KEYS[1]  session hash   PREFIX{u:USER}:s:SESSION_ID
-- ARGV[1]  "1": sliding (each use restarts the idle timer), "0": not
-- Returns  1 when the session exists, 0 when it does not (revoked, or
--          idle past its TTL)
local s = redis.call('HMGET', KEYS[1], 'idle_ttl_ms', 'expires_at')
if not s[1] then
    return 0
end
if ARGV[1] == '1' then
    -- The idle timer never runs past the session's absolute end.
    local t = redis.call('TIME')
    local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local ttl = tonumber(s[1])
    local left = tonumber(s[2]) - now_ms
    if left < ttl then
        ttl = left
    end
    if ttl <= 0 then
        redis.call('DEL', KEYS[1])
        return 0
    end
    redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
