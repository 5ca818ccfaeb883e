-- Shared by every ledger script (loaded before each one): ARGV[1] is the key prefix.
-- Lists of notices caused by an event live 14 days; finished tasks 30 days (replays);
-- per-account ids 400 days after their last change.
local CAUSED_TTL, DONE_TTL, ACCOUNT_TTL = 1209600, 2592000, 34560000
local P = ARGV[1]
local function notice(list, action, task, reviewer, n)
  if list ~= '' then
    redis.call('RPUSH', P .. list, action .. '|' .. task .. '|' .. reviewer .. '|' .. n)
    if list ~= 'outbox' then redis.call('EXPIRE', P .. list, CAUSED_TTL) end
  end
end
local function history(task, now, action, reviewer, reason)
  redis.call('RPUSH', P .. 'history:' .. task,
             now .. '|' .. action .. '|' .. (reviewer or '') .. '|' .. (reason or ''))
end
local function has(csv, item)
  return string.find(',' .. (csv or '') .. ',', ',' .. item .. ',', 1, true) ~= nil
end
-- least-loaded eligible reviewer; ties: least recently assigned, then id
local function pick(queue, country, exclude)
  local best, best_open, best_last = nil, nil, nil
  for _, id in ipairs(redis.call('SMEMBERS', P .. 'reviewers')) do
    local r = redis.call('HMGET', P .. 'reviewer:' .. id,
                         'active', 'queues', 'countries', 'max_open', 'open', 'last')
    local open, max_open = tonumber(r[5] or '0'), tonumber(r[4] or '0')
    local last = tonumber(r[6] or '0')
    if id ~= exclude and r[1] == '1' and has(r[2], queue)
       and (has(r[3], '*') or has(r[3], country)) and open < max_open then
      local better = best == nil or open < best_open
      if not better and open == best_open then
        better = last < best_last or (last == best_last and id < best)
      end
      if better then best, best_open, best_last = id, open, last end
    end
  end
  return best
end
local function give(task, reviewer, now, reason, list)
  local key = P .. 'task:' .. task
  redis.call('HINCRBY', P .. 'reviewer:' .. reviewer, 'open', 1)
  redis.call('HSET', P .. 'reviewer:' .. reviewer, 'last', now)
  local n = redis.call('HINCRBY', key, 'n', 1)
  redis.call('HSET', key, 'state', 'open', 'reviewer', reviewer, 'assigned_at', now)
  redis.call('SADD', P .. 'tasks_of:' .. reviewer, task)
  redis.call('ZADD', P .. 'open', now, task)
  redis.call('ZREM', P .. 'backlog', task)
  history(task, now, 'assigned', reviewer, reason)
  notice(list, 'assigned', task, reviewer, n)
end
-- frees the owner's slot; the task keeps its hash
local function take_back(task)
  local key = P .. 'task:' .. task
  local owner = redis.call('HGET', key, 'reviewer')
  if owner and owner ~= '' and redis.call('HGET', key, 'state') == 'open' then
    redis.call('HINCRBY', P .. 'reviewer:' .. owner, 'open', -1)
    redis.call('SREM', P .. 'tasks_of:' .. owner, task)
  end
  redis.call('ZREM', P .. 'open', task)
  return owner
end
local function requeue(task, now, reason, list)
  local key = P .. 'task:' .. task
  local owner = take_back(task)
  redis.call('HSET', key, 'state', 'waiting', 'reviewer', '')
  redis.call('ZADD', P .. 'backlog', redis.call('HGET', key, 'due'), task)
  history(task, now, 'unassigned', owner, reason)
  notice(list, 'unassigned', task, owner or '', redis.call('HGET', key, 'n'))
end
local function finish(task, state)
  redis.call('HSET', P .. 'task:' .. task, 'state', state)
  redis.call('ZREM', P .. 'backlog', task)
  redis.call('ZREM', P .. 'pending_due', task)
  redis.call('EXPIRE', P .. 'task:' .. task, DONE_TTL)
  redis.call('EXPIRE', P .. 'history:' .. task, DONE_TTL)
end
local function cancel(task, now, reason, list)
  local key = P .. 'task:' .. task
  local state = redis.call('HGET', key, 'state')
  if state ~= 'open' and state ~= 'waiting' then return end
  local owner = take_back(task)
  finish(task, 'cancelled')
  history(task, now, 'cancelled', owner, reason)
  if state == 'open' then notice(list, 'cancelled', task, owner, redis.call('HGET', key, 'n')) end
end
local function per_account(key)
  redis.call('EXPIRE', key, ACCOUNT_TTL)
end
