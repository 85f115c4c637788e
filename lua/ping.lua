-- ping.lua - the smallest script: proves EVALSHA works end to end (and is
-- the first script the client loads, so a broken SCRIPT LOAD shows at once).
-- KEYS: none
-- ARGV[1]: any string
-- returns ARGV[1], unchanged
return ARGV[1]
