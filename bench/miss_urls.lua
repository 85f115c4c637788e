-- miss_urls.lua: a wrk script that makes every request's URL new, so that
-- on a cache route every request is a miss (sluice_cache_miss), and the
-- plain proxy run with it sends the very same URLs.
--
--   wrk ... -s bench/miss_urls.lua http://HOST:PORT/small -- SALT
--
-- The URL is PATH?n=SALT-THREAD-COUNTER: the counter is per wrk thread, the
-- thread number keeps threads apart, and SALT (one per wrk invocation, from
-- run.sh) keeps warm-up runs and earlier passes from storing the entries a
-- later run would hit.
local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end

local prefix, n

function init(args)
    local salt = args[1] or tostring(os.time())
    local path = wrk.path
    local sep = path:find("?", 1, true) and "&" or "?"
    prefix = path .. sep .. "n=" .. salt .. "-" .. tostring(tid) .. "-"
    n = 0
end

function request()
    n = n + 1
    return wrk.format(nil, prefix .. n)
end
