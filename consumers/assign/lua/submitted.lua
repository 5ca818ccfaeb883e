-- ARGV: P, account, submission, submitted_at, now, list. The newest submission wins; the
-- tasks of every older one are cancelled, and an older one arriving late never gets a task.
local account, submission, at, now, list = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local latest_key = P .. 'latest:' .. account
local latest = redis.call('HMGET', latest_key, 'submission', 'at')
if latest[1] == submission then return 0 end
if latest[1] and tonumber(latest[2]) > tonumber(at) then
  redis.call('SADD', P .. 'superseded:' .. account, submission)
  per_account(P .. 'superseded:' .. account)
  return 0
end
if latest[1] then
  redis.call('SADD', P .. 'superseded:' .. account, latest[1])
  per_account(P .. 'superseded:' .. account)
end
redis.call('HSET', latest_key, 'submission', submission, 'at', at)
per_account(latest_key)
local cancelled = 0
for _, queue in ipairs({'identity', 'compliance'}) do
  local task = redis.call('GET', P .. 'account:' .. account .. ':' .. queue)
  if task and redis.call('HGET', P .. 'task:' .. task, 'submission') ~= submission then
    cancel(task, now, 'superseded by a newer submission', list)
    cancelled = cancelled + 1
  end
end
return cancelled
