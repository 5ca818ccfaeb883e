-- ARGV: P, now, idle_s, limit; reassigns to someone else, or restarts the idle clock
local now, idle, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local moved = 0
for _, task in ipairs(redis.call('ZRANGEBYSCORE', P .. 'open', '-inf', now - idle,
                                 'LIMIT', 0, limit)) do
  local t = redis.call('HMGET', P .. 'task:' .. task, 'queue', 'country', 'reviewer')
  local other = pick(t[1], t[2], t[3])
  if other then
    take_back(task)
    history(task, now, 'unassigned', t[3], 'idle')
    give(task, other, now, 'reassigned: ' .. t[3] .. ' idle', 'outbox')
    moved = moved + 1
  else
    redis.call('ZADD', P .. 'open', now, task)
    history(task, now, 'kept', t[3], 'idle, but no other eligible reviewer')
  end
end
return moved
