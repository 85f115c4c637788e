-- check.lua: the one Redis call a request makes before it is forwarded
-- (SPEC sections 5, 6): is its session alive, and does every limit of its
-- plan admit it. Atomic: Redis runs a script alone, so a burst from any
-- number of gateways is decided one request at a time. Every key is under
-- the caller's hash tag, so the script runs unchanged on Redis Cluster.
-- How the windows work, and why they never admit too many: docs/ratelimit.md.
--
-- KEYS     [session hash PREFIX{u:USER}:s:ID, when ARGV[2] ~= ""]
--          [window hash  PREFIX{TAG}:rl:PLAN, when the plan has window limits]
--          [one slot hash PREFIX{TAG}:c:PLAN:NAME per concurrent limit]
-- ARGV[1]  now, Unix ms; "" = Redis's own clock (TIME), which gateways
--          share (tests pass a clock of their own)
-- ARGV[2]  session: "" none, "1" sliding idle timer, "0" fixed
-- ARGV[3]  concurrency slot id, unique to the request (gateway:worker:seq)
-- ARGV[4]  concurrency slot lease, ms (renewed while the request lasts)
-- ARGV[5]  number of limits N, then 6 arguments per limit:
--          name, kind ("r" requests, "t" tokens, "c" concurrent), amount,
--          window ms (0 for "c"), bucket ms (0 for "c"), cost (1 for "r",
--          the reservation for "t", 1 for "c")
-- Returns  {0}: no such session (revoked, or idle past its TTL)
--          {1, 0, 0, per limit: remaining, reset_ms, bucket}: admitted
--          {-1, i, retry_ms, per limit: ...}: refused by limit i (1-based),
--          nothing charged; retry_ms is when the request would pass
--          (bucket: where a token reservation was charged, for commit.lua)
local now = tonumber(ARGV[1])
if not now then
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local ki = 1
if ARGV[2] ~= '' then
    local s = redis.call('HMGET', KEYS[1], 'idle_ttl_ms', 'touched')
    if not s[1] then
        return {0}
    end
    -- Restarting the idle timer costs two commands: do it at most once per
    -- tenth of the TTL (and per second), so a session idles out at most
    -- that much before its last use plus its TTL.
    local idle = tonumber(s[1])
    local every = math.min(1000, math.floor(idle / 10))
    if ARGV[2] == '1' and (not s[2] or now - tonumber(s[2]) >= every) then
        redis.call('PEXPIRE', KEYS[1], idle)
        redis.call('HSET', KEYS[1], 'touched', now)
    end
    ki = 2
end

local n = tonumber(ARGV[5])
if n == 0 then
    return {1, 0, 0}
end

-- The limits, and the fields of the window hash that the first read needs.
local lim, has_window = {}, false
for i = 1, n do
    local a = 5 + (i - 1) * 6
    lim[i] = {name = ARGV[a + 1], kind = ARGV[a + 2], amount = tonumber(ARGV[a + 3]),
              w = tonumber(ARGV[a + 4]), b = tonumber(ARGV[a + 5]), cost = tonumber(ARGV[a + 6])}
    has_window = has_window or lim[i].kind ~= 'c'
end
local wkey = has_window and KEYS[ki] or nil
local ck = has_window and ki + 1 or ki
local reads, wspan = {'x'}, 0
for _, l in ipairs(lim) do
    if l.kind == 'c' then
        l.key = KEYS[ck]
        ck = ck + 1
    else
        if l.cost > l.amount then
            l.cost = l.amount -- a reservation above the whole limit waits for an empty window
        end
        l.cur = math.floor(now / l.b)
        l.first = math.floor((now - l.w) / l.b)
        l.at = #reads
        local p = l.name .. ':'
        reads[#reads + 1] = p .. 't'
        reads[#reads + 1] = p .. 'lo'
        reads[#reads + 1] = p .. 'hi'
        reads[#reads + 1] = p .. l.cur
        wspan = math.max(wspan, l.w + l.b)
    end
end

local writes, dels = {}, {}
local state = has_window and redis.call('HMGET', wkey, unpack(reads)) or {}

-- Buckets form a list, oldest first (field NAME:IDX holds a count,
-- NAME:IDX:n the next bucket's index): dropping the buckets that left the
-- window costs one read each, once, so a call is O(1) amortised.
local function evict(l)
    local p = l.name .. ':'
    l.t = tonumber(state[l.at + 1]) or 0
    l.lo = tonumber(state[l.at + 2])
    l.hi = tonumber(state[l.at + 3])
    l.cnt = tonumber(state[l.at + 4]) or 0
    local moved = false
    while l.lo and l.lo < l.first do
        local v = redis.call('HMGET', wkey, p .. l.lo, p .. l.lo .. ':n')
        l.t = l.t - (tonumber(v[1]) or 0)
        dels[#dels + 1] = p .. l.lo
        dels[#dels + 1] = p .. l.lo .. ':n'
        if l.lo == l.cur then l.cnt = 0 end
        l.lo = tonumber(v[2])
        moved = true
    end
    if not l.lo then
        l.t, l.hi = 0, nil
    end
    if moved then
        writes[#writes + 1] = p .. 't'; writes[#writes + 1] = l.t
        writes[#writes + 1] = p .. 'lo'; writes[#writes + 1] = l.lo or ''
        writes[#writes + 1] = p .. 'hi'; writes[#writes + 1] = l.hi or ''
    end
end

-- When would cost fit? Walk the buckets from the oldest until enough
-- have left the window: only on a refusal (which the gateway remembers).
local function retry_ms(l)
    local p, need, idx = l.name .. ':', l.t + l.cost - l.amount, l.lo
    while idx do
        local v = redis.call('HMGET', wkey, p .. idx, p .. idx .. ':n')
        need = need - (tonumber(v[1]) or 0)
        if need <= 0 then
            return (idx + 1) * l.b + l.w - now
        end
        idx = tonumber(v[2])
    end
    return l.w -- unreachable while the counts add up
end

-- Slots of a concurrent limit: field = slot id, value = its lease's end.
-- Leases that ended (a gateway that crashed) are dropped when the limit
-- is reached, so they cost nothing before.
local function in_flight(l)
    local used = redis.call('HLEN', l.key)
    if used < l.amount then
        return used
    end
    local all = redis.call('HGETALL', l.key)
    for j = 1, #all, 2 do
        if tonumber(all[j + 1]) <= now then
            redis.call('HDEL', l.key, all[j])
            used = used - 1
        end
    end
    return used
end

local refused, worst = 0, -1
for i, l in ipairs(lim) do
    local wait = -1
    if l.kind == 'c' then
        l.used = in_flight(l)
        if l.used + 1 > l.amount then wait = 1000 end
    else
        evict(l)
        if l.t + l.cost > l.amount then wait = retry_ms(l) end
    end
    if wait > worst and wait >= 0 then
        refused, worst = i, wait
    end
end

local out = {refused == 0 and 1 or -1, refused, refused == 0 and 0 or worst}
if refused == 0 then
    for _, l in ipairs(lim) do
        if l.kind == 'c' then
            redis.call('HSET', l.key, ARGV[3], now + tonumber(ARGV[4]))
            redis.call('PEXPIRE', l.key, tonumber(ARGV[4]))
            l.used = l.used + 1
        else
            local p = l.name .. ':'
            if l.hi ~= l.cur then
                if l.hi then
                    writes[#writes + 1] = p .. l.hi .. ':n'; writes[#writes + 1] = l.cur
                end
                l.lo = l.lo or l.cur
                l.hi = l.cur
                l.cnt = 0
            end
            l.t = l.t + l.cost
            l.cnt = l.cnt + l.cost
            writes[#writes + 1] = p .. 't'; writes[#writes + 1] = l.t
            writes[#writes + 1] = p .. 'lo'; writes[#writes + 1] = l.lo
            writes[#writes + 1] = p .. 'hi'; writes[#writes + 1] = l.hi
            writes[#writes + 1] = p .. l.cur; writes[#writes + 1] = l.cnt
        end
    end
end

if #dels > 0 then
    redis.call('HDEL', wkey, unpack(dels))
end
if #writes > 0 then
    -- The hash outlives its newest bucket by a whole window: set its TTL
    -- to twice that when less than one is left, so it is set rarely.
    local x = tonumber(state[1])
    local renew = not x or x - now < wspan
    if renew then
        writes[#writes + 1] = 'x'; writes[#writes + 1] = now + 2 * wspan
    end
    redis.call('HSET', wkey, unpack(writes))
    if renew then
        redis.call('PEXPIRE', wkey, 2 * wspan)
    end
end

for _, l in ipairs(lim) do
    if l.kind == 'c' then
        out[#out + 1] = l.amount - l.used
        out[#out + 1] = 0
        out[#out + 1] = 0
    else
        out[#out + 1] = l.amount - l.t
        out[#out + 1] = l.lo and ((l.lo + 1) * l.b + l.w - now) or 0
        out[#out + 1] = l.cur
    end
end
return out
