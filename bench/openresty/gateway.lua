-- gateway.lua - access phase of the bench's OpenResty-style peer gateway:
-- "Authorization: Bearer USER:SESSION" (an opaque string: no signature,
-- no crypto), then ONE EVALSHA per request, then nginx proxy_pass.
--
--   init_by_lua_block        { require("gateway").configure{ script = "session" | "zset", ... } }
--   init_worker_by_lua_block { require("gateway").init_worker() }
--   access_by_lua_block      { require("gateway").access() }
local resp = require "resp"
local find, sub = string.find, string.sub
local exit, var = ngx.exit, ngx.var

local M = {}
local cfg, redis, sha, src
local seq, wpid = 0, 0

local function sha1_hex(s)
    return (ngx.sha1_bin(s):gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

function M.configure(c)
    cfg = c
    local f = assert(io.open(c.dir .. "/redis/" .. c.script .. ".lua", "rb"))
    src = f:read("*a"); f:close()
    sha = sha1_hex(src)
end

local function script_load()
    local v, err, rerr = redis:call("SCRIPT", "LOAD", src)
    if v ~= sha then
        ngx.log(ngx.ERR, "SCRIPT LOAD: ", tostring(v), " ", tostring(err or rerr))
        return false
    end
    return true
end

function M.init_worker()
    redis = resp.new { host = cfg.redis_host, port = cfg.redis_port, timeout = 1000,
                       pool_size = cfg.pool_size, idle_ms = 60000 }
    wpid = ngx.worker.pid()
    -- Cosockets are not available in init_worker itself: a zero timer is.
    ngx.timer.at(0, function(premature) if not premature then script_load() end end)
end

local function evalsha(key, user)
    if cfg.script == "session" then
        return redis:call("EVALSHA", sha, 1, key, cfg.session_ttl_ms)
    end
    seq = seq + 1
    local now = math.floor(ngx.now() * 1000) -- ms, the event loop's cached clock
    return redis:call("EVALSHA", sha, 2, key, "bench:{u:" .. user .. "}:rl:per_minute",
                      cfg.session_ttl_ms, now, cfg.window_ms, cfg.limit,
                      now .. ":" .. wpid .. ":" .. seq)
end

function M.access()
    local h = var.http_authorization
    if not h or sub(h, 1, 7) ~= "Bearer " then return exit(401) end
    local colon = find(h, ":", 8, true)
    if not colon then return exit(401) end
    local user = sub(h, 8, colon - 1)
    local key = "bench:{u:" .. user .. "}:s:" .. sub(h, colon + 1)
    local v, err, rerr = evalsha(key, user)
    if v == nil and rerr and sub(rerr, 1, 8) == "NOSCRIPT" then
        if script_load() then v, err, rerr = evalsha(key, user) end
    end
    if v == 1 then return end          -- admitted: on to proxy_pass
    if v == 0 then return exit(401) end
    if v == -1 then return exit(429) end
    ngx.log(ngx.ERR, "redis: ", tostring(err or rerr))
    return exit(503)
end

return M
