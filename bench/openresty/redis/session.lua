-- Redis script (peer "nginx_lua_session"): the session check.
-- KEYS[1] session hash bench:{u:USER}:s:SESSION; ARGV[1] idle TTL in ms.
-- Returns 1 (live, idle timer restarted) or 0 (no such session).
if not redis.call('HGET', KEYS[1], 'user') then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
