-- check.lua: the one Redis call a request makes before it is forwarded
-- (SPEC sections 5, 6): is its session alive, and does every limit of its
-- plan admit it. Atomic: Redis runs a script alone, so a burst from any
-- number of gateways is decided one request at a time. Every key is under
-- the caller's hash tag, so the script runs unchanged on Redis Cluster.
-- How the limits are kept, and why they never admit too many:
-- docs/ratelimit.md.
--
-- Its cost is a handful of commands whatever the plan (TIME, one HMGET of
-- the session, one HMGET and one HSET of the limits) and as little Lua as
-- possible: Redis's Lua pays ~0.1-0.3 us for each table, number
-- conversion or concatenation, so the gateway passes the field names
-- ready-made and the common path builds almost nothing.
--
-- KEYS[1]  session hash PREFIX{u:USER}:s:ID, when ARGV[2] ~= ""
-- KEYS[2]  (or KEYS[1] without a session) limits hash PREFIX{TAG}:rl:PLAN,
--          when there are limits
-- ARGV[1]  now, Unix ms; "" = Redis's own clock (TIME), which gateways
--          share (tests pass a clock of their own)
-- ARGV[2]  session: "" none, "1" sliding idle timer, "0" fixed
-- ARGV[3]  unused (kept so that the layout stays fixed)
-- ARGV[4]  concurrency slot lease, ms (renewed while the request lasts)
-- ARGV[5]  number of limits N, then 9 arguments per limit:
--          "r"/"t" (requests, tokens): kind, amount, window ms, bucket ms,
--              cost (1, or the token reservation), then the fields
--              NAME:t, NAME:lo, NAME:hi and the bucket prefix NAME:
--          "c" (concurrent): kind, amount, 0, 0, 1, then the fields
--              NAME:n, NAME:s:<slot id> (this request's slot), NAME:s:, ""
-- Returns  {0}: no such session (revoked, or idle past its TTL)
--          {1, 0, 0, per limit: remaining, reset_ms, bucket}: admitted
--          {-1, i, retry_ms, per limit: ...}: refused by limit i (1-based),
--          nothing charged; retry_ms is when the request would pass
--          (bucket: where a token reservation was charged, for commit.lua)
local ARGV, KEYS, tonumber, call, unpack = ARGV, KEYS, tonumber, redis.call, unpack
local now = tonumber(ARGV[1])
if not now then
    local t = call('TIME')
    now = t[1] * 1000 + math.floor(t[2] / 1000)
end

local ki = 1
if ARGV[2] ~= '' then
    local s = call('HMGET', KEYS[1], 'idle_ttl_ms', 'touched')
    if not s[1] then
        return {0}
    end
    -- Restarting the idle timer costs two commands: do it at most once per
    -- tenth of the TTL (and per second), so a session idles out at most
    -- that much before its last use plus its TTL.
    if ARGV[2] == '1' then
        local idle = tonumber(s[1])
        local every = idle / 10
        if every > 1000 then every = 1000 end
        if not s[2] or now - s[2] >= every then
            call('PEXPIRE', KEYS[1], idle)
            call('HSET', KEYS[1], 'touched', now)
        end
    end
    ki = 2
end

local n = tonumber(ARGV[5])
if n == 0 then
    return {1, 0, 0}
end
local key = KEYS[ki]
local floor = math.floor

-- Per limit, in v (stride 8): amount, window, bucket, cost, cur, first,
-- where its fields start in the read, and is-concurrent.
local v, reads, nr, span = {}, {'x'}, 1, 0
for i = 1, n do
    local a, j = 5 + (i - 1) * 9, (i - 1) * 8
    local amount = tonumber(ARGV[a + 2])
    v[j + 1], v[j + 7] = amount, nr
    if ARGV[a + 1] == 'c' then
        v[j + 8] = true
        nr = nr + 1
        reads[nr] = ARGV[a + 6]
        local lease = tonumber(ARGV[4])
        if lease > span then span = lease end
    else
        local w, b, cost = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
        local cur = floor(now / b)
        v[j + 2], v[j + 3], v[j + 4], v[j + 5], v[j + 6], v[j + 8] = w, b, cost, cur,
            floor((now - w) / b), false
        reads[nr + 1], reads[nr + 2], reads[nr + 3] = ARGV[a + 6], ARGV[a + 7], ARGV[a + 8]
        reads[nr + 4] = ARGV[a + 9] .. cur
        nr = nr + 4
        if w + b > span then span = w + b end
    end
end
local state = call('HMGET', key, unpack(reads))
local writes, nw, dels = {}, 0, {}

-- Decide. Per limit, in u (stride 3): total (or slots taken), oldest
-- bucket, current bucket's count; hi is state's.
local u, refused, worst = {}, 0, -1
for i = 1, n do
    local a, j, k = 5 + (i - 1) * 9, (i - 1) * 8, (i - 1) * 3
    local at, wait = v[j + 7], -1
    if v[j + 8] then
        local used = tonumber(state[at + 1]) or 0
        if used >= v[j + 1] then
            -- The upper bound says the limit is reached: count the slot
            -- fields again, dropping those whose lease ended (a gateway
            -- that crashed). Only then: the common case costs nothing.
            local all, prefix = call('HGETALL', key), ARGV[a + 8]
            used = 0
            for f = 1, #all, 2 do
                if string.sub(all[f], 1, #prefix) == prefix then
                    if tonumber(all[f + 1]) > now then
                        used = used + 1
                    else
                        dels[#dels + 1] = all[f]
                    end
                end
            end
            nw = nw + 2; writes[nw - 1], writes[nw] = ARGV[a + 6], used
        end
        u[k + 1] = used
        if used + 1 > v[j + 1] then wait = 1000 end
    else
        local t, lo, pre = tonumber(state[at + 1]) or 0, tonumber(state[at + 2]), ARGV[a + 9]
        if lo and lo < v[j + 6] then
            -- Buckets form a list, oldest first (NAME:IDX holds a count,
            -- NAME:IDX:n the next bucket's index): dropping those that left
            -- the window costs one read each, once: O(1) amortised.
            while lo and lo < v[j + 6] do
                local got = call('HMGET', key, pre .. lo, pre .. lo .. ':n')
                t = t - (tonumber(got[1]) or 0)
                dels[#dels + 1] = pre .. lo
                dels[#dels + 1] = pre .. lo .. ':n'
                lo = tonumber(got[2])
            end
            if not lo then t = 0 end
            nw = nw + 6
            writes[nw - 5], writes[nw - 4] = ARGV[a + 6], t
            writes[nw - 3], writes[nw - 2] = ARGV[a + 7], lo or ''
            writes[nw - 1], writes[nw] = ARGV[a + 8], lo and state[at + 3] or ''
            if not lo then state[at + 3] = false end
        end
        u[k + 1], u[k + 2] = t, lo
        local cost, amount = v[j + 4], v[j + 1]
        if cost > amount then
            wait = v[j + 2] -- more than the whole limit: it never fits (SPEC section 6)
        elseif t + cost > amount then
            -- When would it fit? Walk the buckets from the oldest until
            -- enough have left the window: only on a refusal (which the
            -- gateway remembers).
            local need, idx = t + cost - amount, lo
            wait = v[j + 2]
            while idx do
                local got = call('HMGET', key, pre .. idx, pre .. idx .. ':n')
                need = need - (tonumber(got[1]) or 0)
                if need <= 0 then
                    wait = (idx + 1) * v[j + 3] + v[j + 2] - now
                    break
                end
                idx = tonumber(got[2])
            end
        end
    end
    if wait > worst then
        refused, worst = i, wait
    end
end

-- Charge every limit, only when all admit.
if refused == 0 then
    local lease_end = now + tonumber(ARGV[4])
    for i = 1, n do
        local a, j, k = 5 + (i - 1) * 9, (i - 1) * 8, (i - 1) * 3
        if v[j + 8] then
            u[k + 1] = u[k + 1] + 1
            nw = nw + 4
            writes[nw - 3], writes[nw - 2] = ARGV[a + 6], u[k + 1]
            writes[nw - 1], writes[nw] = ARGV[a + 7], lease_end
        else
            local at, cur, cost = v[j + 7], v[j + 5], v[j + 4]
            local hi, cnt = tonumber(state[at + 3]), tonumber(state[at + 4]) or 0
            if hi ~= cur then
                -- A new bucket joins the list (the common case, one more
                -- request in the current bucket, leaves lo and hi alone).
                if hi then
                    nw = nw + 2; writes[nw - 1], writes[nw] = ARGV[a + 9] .. hi .. ':n', cur
                end
                if not u[k + 2] then u[k + 2] = cur end
                nw = nw + 4
                writes[nw - 3], writes[nw - 2] = ARGV[a + 7], u[k + 2]
                writes[nw - 1], writes[nw] = ARGV[a + 8], cur
                cnt = 0
            end
            u[k + 1] = u[k + 1] + cost
            nw = nw + 4
            writes[nw - 3], writes[nw - 2] = ARGV[a + 6], u[k + 1]
            writes[nw - 1], writes[nw] = reads[at + 4], cnt + cost
        end
    end
end

if #dels > 0 then
    call('HDEL', key, unpack(dels))
end
if nw > 0 then
    -- The hash outlives its newest bucket by a whole window (and a slot by
    -- its lease): its TTL is set to twice that when less than one is left,
    -- so it is set rarely.
    local x = tonumber(state[1])
    local renew = not x or x - now < span
    if renew then
        nw = nw + 2; writes[nw - 1], writes[nw] = 'x', now + 2 * span
    end
    call('HSET', key, unpack(writes))
    if renew then call('PEXPIRE', key, 2 * span) end
end

local out = {refused == 0 and 1 or -1, refused, refused == 0 and 0 or worst}
for i = 1, n do
    local j, k = (i - 1) * 8, (i - 1) * 3
    local amount = v[j + 1]
    if v[j + 8] then
        out[3 * i + 1], out[3 * i + 2], out[3 * i + 3] = amount - u[k + 1], 0, 0
    else
        local lo = u[k + 2]
        out[3 * i + 1] = amount - u[k + 1]
        out[3 * i + 2] = (lo and u[k + 1] > 0) and ((lo + 1) * v[j + 3] + v[j + 2] - now) or 0
        out[3 * i + 3] = v[j + 5]
    end
end
return out
