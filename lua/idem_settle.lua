-- idem_settle.lua: the request that owns an Idempotency-Key's marker
-- changes it (SPEC section 7, src/policy/idempotency.h); nothing happens
-- when the key no longer holds its marker (the lease ended and another
-- request took the key, or a record is there).
--
-- KEYS[1]  PREFIX{u:USER}:idem:<key>
-- ARGV[1]  how the owner's marker begins: "SLIM <owner> "
-- ARGV[2]  "set": the value becomes ARGV[3] with a TTL of ARGV[4] ms (the
--          stored response, or a marker with the whole body's fingerprint);
--          "renew": the marker's lease restarts at ARGV[4] ms;
--          "del": the key is freed
-- ARGV[3]  the value for "set", else ""
-- ARGV[4]  ms
-- Returns  1 when the key held the owner's marker (and was changed), else 0
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, #ARGV[1]) ~= ARGV[1] then
    return 0
end
local mode = ARGV[2]
if mode == 'set' then
    redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
elseif mode == 'renew' then
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
elseif mode == 'del' then
    redis.call('DEL', KEYS[1])
else
    return redis.error_reply('idem_settle: unknown mode')
end
return 1
