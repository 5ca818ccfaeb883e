-- ARGV: P, task, reviewer, event, account, queue, now
local task, reviewer, event, account, queue, now =
  ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local key = P .. 'task:' .. task
local t = redis.call('HMGET', key, 'state', 'reviewer', 'decision_event', 'account', 'queue', 'due')
if not t[1] then return 'unknown_task' end
if t[3] == event then return 'replay' end
if t[4] ~= account or t[5] ~= queue then return 'unknown_task' end
if redis.call('SISMEMBER', P .. 'reviewers', reviewer) == 0 then return 'unknown_reviewer' end
if t[2] ~= reviewer then return 'not_assigned' end
if t[1] == 'cancelled' then return 'cancelled' end
if t[1] == 'decided' then return 'already_decided' end
if t[1] ~= 'open' then return 'not_assigned' end
take_back(task)
redis.call('HSET', key, 'decision_event', event, 'decided_at', now)
if tonumber(now) > tonumber(t[6]) and redis.call('HGET', key, 'breached') ~= '1' then
  redis.call('HSET', key, 'breached', '1')
  redis.call('INCR', P .. 'breaches')
end
finish(task, 'decided')
history(task, now, 'decided', reviewer, '')
return 'accepted'
