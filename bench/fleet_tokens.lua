-- bench/fleet_tokens.lua - wrk script of the sluice_fleet* targets: each
-- request carries the next of many users' tokens (one per line of the file
-- named first after `--`), so their hash tags spread over a cluster's
-- slots. Each thread starts at its own place in the list (the second
-- argument tells the wrk processes of one run apart).
local tokens = {}
local i = 0

local counter = 0
function setup(thread)
   counter = counter + 1
   thread:set("start", counter * 7919)
end

function init(args)
   for line in io.lines(args[1]) do
      if #line > 0 then tokens[#tokens + 1] = "Bearer " .. line end
   end
   assert(#tokens > 0, "no tokens in " .. tostring(args[1]))
   i = ((tonumber(start) or 0) + (tonumber(args[2]) or 0) * 104729) % #tokens
end

function request()
   i = i % #tokens + 1
   return wrk.format(nil, nil, { Authorization = tokens[i] })
end
