-- ARGV: P, task, queue, country, due, now, spec, account, submission, list
local task, queue, country, due, now, spec, account, submission, list =
  ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local key = P .. 'task:' .. task
if redis.call('EXISTS', key) == 0 then
  if redis.call('SISMEMBER', P .. 'superseded:' .. account, submission) == 1 then
    return 'superseded'
  end
  local slot = P .. 'account:' .. account .. ':' .. queue
  local previous = redis.call('GET', slot)
  if previous and previous ~= task then cancel(previous, now, 'superseded by ' .. task, list) end
  redis.call('SET', slot, task)
  per_account(slot)
  redis.call('SADD', P .. 'tasks_of_account:' .. account, task)
  per_account(P .. 'tasks_of_account:' .. account)
  redis.call('HSET', key, 'queue', queue, 'country', country, 'due', due, 'spec', spec,
             'account', account, 'submission', submission, 'state', 'waiting', 'n', 0,
             'created_at', now)
  redis.call('ZADD', P .. 'pending_due', due, task)
  history(task, now, 'created', '', '')
  local reviewer = pick(queue, country, nil)
  if reviewer then give(task, reviewer, now, 'new', list)
  else
    redis.call('ZADD', P .. 'backlog', due, task)
    history(task, now, 'waiting', '', 'no eligible reviewer with capacity')
  end
end
return redis.call('HGET', key, 'state')
