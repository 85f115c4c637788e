-- check.lua: the one Redis call a request makes before it is forwarded
-- (SPEC sections 5, 6): is its session alive, and does every limit of its
-- plan admit it. Atomic: Redis runs a script alone, so a burst from any
-- number of gateways is decided one request at a time. Every key is under
-- the caller's hash tag, so the script runs unchanged on Redis Cluster.
-- How the limits are kept, and why they never admit too many:
-- docs/ratelimit.md.
--
-- What it costs is what Redis's Lua charges per item (bench/lua_cost.py
-- measures it): ~1.2k instructions per argument, ~4-6k per redis.call,
-- ~2k per field read, ~2k per tonumber, ~3.5k per number written or
-- concatenated, ~0.9k per element returned, and ~90 per field that a
-- lookup in a listpack hash scans past. So the common request takes a
-- fast path: one HMGET of a few fields at the front of a small hash
-- ('next': until when nothing but the running totals changes), one HINCRBY
-- per limit (it returns the new total as an integer: nothing to convert),
-- one HSET of the slot. Everything else (a new bucket, buckets leaving the
-- window, a refusal, a slot recount, the TTL) is the slow path, at most
-- once per bucket and limit in a busy window.
--
-- KEYS[1]  session hash PREFIX{u:USER}:s:ID, when ARGV[2] ~= ""
-- KEYS[2]  (or KEYS[1] without a session) limits hash PREFIX{TAG}:rl:PLAN,
--          when there are limits: one key, so that the script never meets
--          a slot half-migrated (a key of two on each side is -TRYAGAIN)
-- ARGV[1]  now, Unix ms; "" = Redis's own clock (TIME), which gateways
--          share (tests pass a clock of their own)
-- ARGV[2]  session: "" none, "1" sliding idle timer, "0" fixed
-- ARGV[3]  concurrency slot lease, ms (renewed while the request lasts)
-- ARGV[4..] per limit, in the plan's order:
--          "r", amount, window ms, bucket ms, NAME        (requests)
--          "t", amount, window ms, bucket ms, NAME, cost  (tokens: the reservation)
--          "c", amount, NAME, slot id                     (concurrent)
-- Returns  {0}: no such session (revoked, or idle past its TTL)
--          {1, 0, 0, per limit: remaining, reset_ms, bucket}: admitted
--          {-1, i, retry_ms, per limit: ...}: refused by limit i (1-based),
--          nothing charged; retry_ms is when the request would pass
--          (bucket: where a token reservation was charged, for commit.lua)
local ARGV, KEYS, tonumber, call, floor = ARGV, KEYS, tonumber, redis.call, math.floor
local now = tonumber(ARGV[1])
if not now then
    local t = call('TIME')
    now = t[1] * 1000 + floor(t[2] / 1000)
end

local ki = 1
local mode = ARGV[2]
if mode ~= '' then
    local sk = KEYS[1]
    if mode == '1' then
        -- Restarting the idle timer costs two commands: it is done at most
        -- once per tenth of the TTL (and per second), so a session idles
        -- out at most that much before its last use plus its TTL.
        -- 'touch_at' is when the next restart is due. (HMGET, not HGET: the
        -- session's commands are HMGET, HSET and PEXPIRE, as a test checks.)
        local due = call('HMGET', sk, 'touch_at')[1]
        if not due or now >= tonumber(due) then
            local idle = call('HMGET', sk, 'idle_ttl_ms')[1]
            if not idle then
                return {0}
            end
            idle = tonumber(idle)
            local every = idle / 10
            if every > 1000 then every = 1000 end
            call('PEXPIRE', sk, idle)
            call('HSET', sk, 'touch_at', now + every)
        end
    elseif not call('HMGET', sk, 'idle_ttl_ms')[1] then
        return {0}
    end
    ki = 2
end
if not ARGV[4] then
    return {1, 0, 0}
end
local key = KEYS[ki]

-- ---- the fast path ------------------------------------------------------
-- 'next' and, per window limit, NAME:r (when its oldest bucket leaves).
local reads, nr, a = {'next'}, 1, 4
while ARGV[a] do
    if ARGV[a] == 'c' then
        a = a + 4
    else
        nr = nr + 1
        reads[nr] = ARGV[a + 4] .. ':r'
        a = a + (ARGV[a] == 't' and 6 or 5)
    end
end
local got = call('HMGET', key, unpack(reads))
local due = tonumber(got[1])
if due and now < due then
    -- Until 'next' no limit starts a bucket or drops one: charging is
    -- adding the cost to NAME:t (NAME:n for a concurrent limit), and the
    -- new total decides. A limit that does not admit undoes the charges
    -- made so far, and the slow path decides afresh.
    local out, no, j, charged, ok, slots = {1, 0, 0}, 3, 1, 0, true, false
    a = 4
    while ARGV[a] do
        local kind, amount = ARGV[a], tonumber(ARGV[a + 1])
        if kind == 'c' then
            local used = call('HINCRBY', key, ARGV[a + 2] .. ':n', '1')
            charged = charged + 1
            if used > amount then ok = false break end
            out[no + 1], out[no + 2], out[no + 3] = amount - used, 0, 0
            slots = true
            a = a + 4
        else
            j = j + 1
            local r = tonumber(got[j])
            local t = call('HINCRBY', key, ARGV[a + 4] .. ':t', kind == 't' and ARGV[a + 5] or '1')
            charged = charged + 1
            if not r or t > amount then ok = false break end
            out[no + 1], out[no + 2] = amount - t, t > 0 and r - now or 0
            out[no + 3] = floor(now / tonumber(ARGV[a + 3]))
            a = a + (kind == 't' and 6 or 5)
        end
        no = no + 3
    end
    if ok then
        if slots then
            local lease_end = now + tonumber(ARGV[3])
            a = 4
            while ARGV[a] do
                if ARGV[a] == 'c' then
                    call('HSET', key, ARGV[a + 2] .. ':s:' .. ARGV[a + 3], lease_end)
                    a = a + 4
                else
                    a = a + (ARGV[a] == 't' and 6 or 5)
                end
            end
        end
        return out
    end
    a = 4
    for _ = 1, charged do
        local kind = ARGV[a]
        if kind == 'c' then
            call('HINCRBY', key, ARGV[a + 2] .. ':n', '-1')
            a = a + 4
        else
            local cost = kind == 't' and ARGV[a + 5] or '1'
            if cost ~= '0' then -- "-0" is not an integer to Redis
                call('HINCRBY', key, ARGV[a + 4] .. ':t', '-' .. cost)
            end
            a = a + (kind == 't' and 6 or 5)
        end
    end
end

-- ---- the slow path: every limit's whole state ---------------------------
-- Per window limit, in the limits hash: NAME:t the total of its buckets,
-- NAME:lo / NAME:hi the oldest and newest bucket, NAME:a the total of all
-- but the newest (whose count is t - a), NAME:r when lo leaves the
-- window; the buckets before hi in the same hash, oldest first as a
-- list (NAME:IDX its count, NAME:IDX:n the next one's index). Per
-- concurrent limit: NAME:n (an upper bound of the slots taken) and the
-- slots NAME:s:<slot id> (the end of each one's lease).
local L, lease = {}, tonumber(ARGV[3])
reads, nr, a = {'x'}, 1, 4
while ARGV[a] do
    local l = {kind = ARGV[a], amount = tonumber(ARGV[a + 1]), at = nr}
    if l.kind == 'c' then
        l.pre, l.slot = ARGV[a + 2] .. ':', ARGV[a + 3]
        reads[nr + 1] = l.pre .. 'n'
        nr = nr + 1
        a = a + 4
    else
        l.w, l.b, l.pre = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), ARGV[a + 4] .. ':'
        l.cost = l.kind == 't' and tonumber(ARGV[a + 5]) or 1
        local p = l.pre
        reads[nr + 1], reads[nr + 2], reads[nr + 3], reads[nr + 4] = p .. 't', p .. 'lo', p .. 'hi', p .. 'a'
        nr = nr + 4
        a = a + (l.kind == 't' and 6 or 5)
    end
    L[#L + 1] = l
end
local state = call('HMGET', key, unpack(reads))
local dels = {}

-- Decide.
local refused, worst, span = 0, -1, 0
for i, l in ipairs(L) do
    local wait = -1
    if l.kind == 'c' then
        if lease > span then span = lease end
        local used = tonumber(state[l.at + 1]) or 0
        if used >= l.amount then
            -- The upper bound says the limit is reached: count the slot
            -- fields again, dropping those whose lease ended (a gateway
            -- that crashed). Only then: the common case costs nothing.
            local all, prefix = call('HGETALL', key), l.pre .. 's:'
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
        end
        l.used = used
        if used + 1 > l.amount then wait = 1000 end
    else
        local w, b, pre = l.w, l.b, l.pre
        if w + b > span then span = w + b end
        local t, lo = tonumber(state[l.at + 1]) or 0, tonumber(state[l.at + 2])
        local hi, ar = tonumber(state[l.at + 3]), tonumber(state[l.at + 4]) or 0
        l.cur = floor(now / b)
        -- Drop the buckets that left the window from the front of the
        -- list: one read each, once (O(1) amortised).
        local first = floor((now - w) / b)
        while lo and lo < first do
            if lo == hi then
                t, ar, lo, hi = 0, 0, nil, nil
                break
            end
            local v = call('HMGET', key, pre .. lo, pre .. lo .. ':n')
            local c = tonumber(v[1]) or 0
            t, ar = t - c, ar - c
            dels[#dels + 1] = pre .. lo
            dels[#dels + 1] = pre .. lo .. ':n'
            lo = tonumber(v[2])
            if not lo then
                -- A broken list (a bucket's fields were lost): what is left
                -- counts as the newest bucket's, which is never too little.
                lo, ar = hi, 0
            end
        end
        if not lo then t, ar = 0, 0 end
        l.t, l.lo, l.hi, l.ar = t, lo, hi, ar
        local cost, amount = l.cost, l.amount
        if cost > amount then
            wait = w -- more than the whole limit: it never fits (SPEC section 6)
        elseif t + cost > amount then
            -- When would it fit? Walk the buckets from the oldest until
            -- enough have left the window: only on a refusal (which the
            -- gateway remembers).
            local need, idx = t + cost - amount, lo
            wait = w
            while idx do
                local c, nxt
                if idx == hi then
                    c = t - ar
                else
                    local v = call('HMGET', key, pre .. idx, pre .. idx .. ':n')
                    c, nxt = tonumber(v[1]) or 0, tonumber(v[2])
                end
                need = need - c
                if need <= 0 then
                    wait = (idx + 1) * b + w - now
                    break
                end
                idx = nxt
            end
        end
    end
    if wait > worst then
        refused, worst = i, wait
    end
end

-- Charge every limit, only when all admit; write every limit's state.
-- The hashes outlive their newest bucket by a whole window (and a slot
-- by its lease): their TTL is set to twice that when less than one is
-- left, so it is set rarely.
local x = tonumber(state[1])
local renew = not x or x - now < span
if renew then x = now + 2 * span end
local writes, nw, nxt = {'x', x}, 2, x - span
for _, l in ipairs(L) do
    local pre = l.pre
    if l.kind == 'c' then
        if refused == 0 then
            l.used = l.used + 1
            nw = nw + 2
            writes[nw - 1], writes[nw] = pre .. 's:' .. l.slot, now + lease
        end
        nw = nw + 2
        writes[nw - 1], writes[nw] = pre .. 'n', l.used
    else
        local cur = l.cur
        if refused == 0 then
            if l.hi ~= cur then
                -- A new bucket joins the list: the newest so far gets
                -- fields of its own.
                if l.hi then
                    nw = nw + 4
                    writes[nw - 3], writes[nw - 2] = pre .. l.hi, l.t - l.ar
                    writes[nw - 1], writes[nw] = pre .. l.hi .. ':n', cur
                    l.ar = l.t
                end
                l.lo, l.hi = l.lo or cur, cur
            end
            l.t = l.t + l.cost
        end
        nw = nw + 4
        writes[nw - 3], writes[nw - 2], writes[nw - 1], writes[nw] = pre .. 't', l.t, pre .. 'a', l.ar
        if l.lo then
            l.r = (l.lo + 1) * l.b + l.w
            nw = nw + 6
            writes[nw - 5], writes[nw - 4] = pre .. 'lo', l.lo
            writes[nw - 3], writes[nw - 2] = pre .. 'hi', l.hi
            writes[nw - 1], writes[nw] = pre .. 'r', l.r
            local edge = (l.hi + 1) * l.b
            if edge < nxt then nxt = edge end
            if l.r < nxt then nxt = l.r end
        else
            nxt = 0 -- no bucket: the next request starts one
            local nd = #dels
            dels[nd + 1], dels[nd + 2], dels[nd + 3] = pre .. 'lo', pre .. 'hi', pre .. 'r'
        end
    end
end
writes[nw + 1], writes[nw + 2] = 'next', nxt
if #dels > 0 then
    call('HDEL', key, unpack(dels))
end
call('HSET', key, unpack(writes))
if renew then
    call('PEXPIRE', key, 2 * span)
end

local out = {refused == 0 and 1 or -1, refused, refused == 0 and 0 or worst}
for i, l in ipairs(L) do
    if l.kind == 'c' then
        out[3 * i + 1], out[3 * i + 2], out[3 * i + 3] = l.amount - l.used, 0, 0
    else
        out[3 * i + 1] = l.amount - l.t
        out[3 * i + 2] = (l.lo and l.t > 0) and (l.r - now) or 0
        out[3 * i + 3] = l.cur
    end
end
return out
