-- session_revoke.lua: revokes one session (SPEC section 8).
--
-- KEYS[1]  session hash   PREFIX{u:USER}:s:SESSION_ID
-- KEYS[2]  user's index   PREFIX{u:USER}:sessions
-- ARGV[1]  session id
-- Returns  1 when the session existed, 0 when it did not
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
