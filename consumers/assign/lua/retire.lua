-- ARGV: P, reviewer, now, reason, remove ('1' drops them from the roster)
local reviewer, now, reason = ARGV[2], ARGV[3], ARGV[4]
local tasks = redis.call('SMEMBERS', P .. 'tasks_of:' .. reviewer)
for _, task in ipairs(tasks) do requeue(task, now, reason, 'outbox') end
if ARGV[5] == '1' then redis.call('SREM', P .. 'reviewers', reviewer) end
return #tasks
