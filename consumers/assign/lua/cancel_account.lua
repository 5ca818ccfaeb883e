-- ARGV: P, account, queue, now, reason, list
local slot = P .. 'account:' .. ARGV[2] .. ':' .. ARGV[3]
local task = redis.call('GET', slot)
if task then cancel(task, ARGV[4], ARGV[5], ARGV[6]) end
return task
