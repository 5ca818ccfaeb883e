-- ARGV: P, account, now, reason, list. Cancels the account's tasks and blanks what they show
-- (the application, findings, fields): the hashes keep ids and history until they expire.
local account, now, reason, list = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local index = P .. 'tasks_of_account:' .. account
local tasks = redis.call('SMEMBERS', index)
for _, queue in ipairs({'identity', 'compliance'}) do
  local slot = P .. 'account:' .. account .. ':' .. queue
  local task = redis.call('GET', slot)
  if task then table.insert(tasks, task) end
  redis.call('DEL', slot)
end
local blanked = 0
for _, task in ipairs(tasks) do
  local key = P .. 'task:' .. task
  if redis.call('EXISTS', key) == 1 then
    cancel(task, now, reason, list)
    if redis.call('HGET', key, 'spec') ~= '' then
      redis.call('HSET', key, 'spec', '')
      blanked = blanked + 1
    end
  end
end
redis.call('DEL', index, P .. 'latest:' .. account, P .. 'superseded:' .. account)
return blanked
