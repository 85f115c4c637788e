-- resp.lua - a minimal RESP2 client over ngx.socket.tcp for the bench's
-- OpenResty-style peer (Debian packages no lua-resty-redis).
--
--   local resp = require "resp"
--   local c = resp.new { host = "127.0.0.1", port = 6379, timeout = 1000,
--                        pool_size = 1024, idle_ms = 60000 }
--   local v, err, rerr = c:call("EVALSHA", sha, 1, key, arg)
--
-- call() returns the reply (string, number, table, ngx.null), or nil and a
-- transport error (the socket is closed), or nil, nil and a Redis error
-- message (-ERR ...; the socket goes back to the pool). Every call takes a
-- socket from the worker's keep-alive pool (connect() reuses one when the
-- pool has one) and puts it back with setkeepalive(), as lua-resty-redis
-- users do.
local tcp, null = ngx.socket.tcp, ngx.null
local byte, sub, tostring, tonumber = string.byte, string.sub, tostring, tonumber

local M = {}
M.__index = M

function M.new(opts)
    return setmetatable({
        host = opts.host, port = opts.port, timeout = opts.timeout or 1000,
        pool_size = opts.pool_size or 1024, idle_ms = opts.idle_ms or 60000,
    }, M)
end

local function read_reply(sock)
    local line, err = sock:receive() -- one CRLF-terminated line
    if not line then return nil, err end
    local p, rest = byte(line, 1), sub(line, 2)
    if p == 58 then return tonumber(rest) end             -- ':' integer
    if p == 36 then                                       -- '$' bulk string
        local n = tonumber(rest)
        if n < 0 then return null end
        local d, e = sock:receive(n + 2)
        if not d then return nil, e end
        return sub(d, 1, n)
    end
    if p == 43 then return rest end                       -- '+' status
    if p == 45 then return nil, nil, rest end             -- '-' error
    if p == 42 then                                       -- '*' array
        local n = tonumber(rest)
        if n < 0 then return null end
        local arr = {}
        for i = 1, n do
            local v, e, re = read_reply(sock)
            if v == nil and e then return nil, e end
            arr[i] = (v == nil) and { err = re } or v
        end
        return arr
    end
    return nil, "bad RESP reply: " .. line
end

-- "*N\r\n$len\r\narg\r\n..." as a table of fragments (send() joins them).
local function encode(...)
    local n = select("#", ...)
    local t, k = { "*", tostring(n), "\r\n" }, 3
    for i = 1, n do
        local a = tostring((select(i, ...)))
        t[k + 1], t[k + 2], t[k + 3], t[k + 4], t[k + 5] = "$", tostring(#a), "\r\n", a, "\r\n"
        k = k + 5
    end
    return t
end

function M:call(...)
    local sock = tcp()
    sock:settimeout(self.timeout)
    local ok, err = sock:connect(self.host, self.port)
    if not ok then return nil, "connect: " .. tostring(err) end
    ok, err = sock:send(encode(...))
    if not ok then sock:close(); return nil, "send: " .. tostring(err) end
    local v, e, re = read_reply(sock)
    if v == nil and e then sock:close(); return nil, "receive: " .. tostring(e) end
    sock:setkeepalive(self.idle_ms, self.pool_size)
    return v, nil, re
end

return M
