-- check.lua: the one Redis call a request makes before it is forwarded
-- (SPEC sections 5, 6): is its session alive, and (with the rate-limits
-- work) does every limit of its plan admit it. Every key is under the
-- caller's hash tag, so the script runs unchanged on Redis Cluster.
--
-- KEYS[1]  session hash   PREFIX{u:USER}:s:SESSION_ID
-- ARGV[1]  "1": sliding (each use restarts the idle timer), "0": not
-- Returns  1 when the session exists, 0 when it does not (revoked, or
--          idle past its TTL)
--
-- Two commands, on the hot path of every request: the idle timer may run
-- a little past the session's absolute end (at most one idle TTL), which
-- is harmless: the gateway refuses a token past its exp before asking
-- Redis, and session_list.lua does not list a session past its end.
local idle = redis.call('HGET', KEYS[1], 'idle_ttl_ms')
if not idle then
    return 0
end
if ARGV[1] == '1' then
    redis.call('PEXPIRE', KEYS[1], idle)
end
return 1
