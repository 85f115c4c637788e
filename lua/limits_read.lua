-- limits_read.lua: a caller's current usage of every limit of its plan,
-- for GET /v1/users/{user}/limits (SPEC sections 8, 11). Reads only.
--
-- KEYS[1]  the user's session index PREFIX{u:USER}:sessions
-- ARGV[1]  "PREFIX{u:USER}": the other keys are built from it (same tag)
-- ARGV[2]  the plan to report, or "": the plan of the user's newest
--          session, else the first plan that holds usage
-- ARGV[3]  number of plans, then per plan: name, number of limits, and per
--          limit: name, kind ("r", "t", "c"), window ms, bucket ms
-- Returns  {plan index (0: none), per limit of that plan: used, reset_ms}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local base = ARGV[1]

local plans, a = {}, 4
for p = 1, tonumber(ARGV[3]) do
    local plan = {name = ARGV[a], limits = {}}
    local n = tonumber(ARGV[a + 1])
    a = a + 2
    for i = 1, n do
        plan.limits[i] = {name = ARGV[a], kind = ARGV[a + 1], w = tonumber(ARGV[a + 2]),
                          b = tonumber(ARGV[a + 3])}
        a = a + 4
    end
    plans[p] = plan
end

local function has_state(plan)
    return redis.call('EXISTS', base .. ':rl:' .. plan.name) == 1
end

local function pick()
    local want = ARGV[2]
    if want == '' then
        local last = redis.call('ZRANGE', KEYS[1], -1, -1)
        if last[1] then
            want = redis.call('HGET', base .. ':s:' .. last[1], 'plan') or ''
        end
    end
    for p, plan in ipairs(plans) do
        if plan.name == want then return p end
    end
    for p, plan in ipairs(plans) do
        if has_state(plan) then return p end
    end
    return 0
end

-- What check.lua would count now: buckets from floor((now - W) / b) on.
-- The newest, NAME:hi, counts NAME:t - NAME:a; the older ones are a list
-- in the same hash (docs/ratelimit.md).
local function window_usage(key, l)
    local pre = l.name .. ':'
    local first = math.floor((now - l.w) / l.b)
    local s = redis.call('HMGET', key, pre .. 'lo', pre .. 'hi', pre .. 't', pre .. 'a')
    local idx, hi = tonumber(s[1]), tonumber(s[2])
    local used, oldest = 0, nil
    while idx do
        local c, nxt
        if idx == hi then
            c = (tonumber(s[3]) or 0) - (tonumber(s[4]) or 0)
        else
            local v = redis.call('HMGET', key, pre .. idx, pre .. idx .. ':n')
            c, nxt = tonumber(v[1] or 0), tonumber(v[2])
        end
        if idx >= first and c > 0 then
            used = used + c
            oldest = oldest or idx
        end
        if idx == hi then break end
        idx = nxt
    end
    return used, oldest and ((oldest + 1) * l.b + l.w - now) or 0
end

-- Slot fields NAME:s:<slot id> whose lease has not ended.
local function slots_in_use(key, l)
    local all, used, prefix = redis.call('HGETALL', key), 0, l.name .. ':s:'
    for j = 1, #all, 2 do
        if string.sub(all[j], 1, #prefix) == prefix and tonumber(all[j + 1]) > now then
            used = used + 1
        end
    end
    return used
end

local p = pick()
local out = {p}
if p == 0 then return out end
local plan = plans[p]
for _, l in ipairs(plan.limits) do
    local used, reset = 0, 0
    if l.kind == 'c' then
        used = slots_in_use(base .. ':rl:' .. plan.name, l)
    else
        used, reset = window_usage(base .. ':rl:' .. plan.name, l)
    end
    out[#out + 1] = used
    out[#out + 1] = reset
end
return out
