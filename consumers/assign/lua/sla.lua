-- ARGV: P, now, limit
local now, limit = ARGV[2], tonumber(ARGV[3])
local late = redis.call('ZRANGEBYSCORE', P .. 'pending_due', '-inf', '(' .. now, 'LIMIT', 0, limit)
for _, task in ipairs(late) do
  redis.call('HSET', P .. 'task:' .. task, 'breached', '1')
  redis.call('ZREM', P .. 'pending_due', task)
  history(task, now, 'sla_breached', '', 'past due')
end
redis.call('INCRBY', P .. 'breaches', #late)
return #late
