// Redis LimiterStore shared by every replica. Check-and-reserve across all of a call's rules is
// one Lua script (atomic on the server); each window's counters live in one hash
// (r = requests, u = tokens used, v = tokens reserved) that expires one window after it ends.
// All keys of one call share the group's hash tag, so the script also runs on Redis Cluster.
import type { Redis } from 'ioredis';
import { bucketKey, PERIOD_MS, singleRule, stateOf, windowOf, type Check, type LimiterStore, type LimitRule, type Period, type Reservation } from './port.js';

// KEYS: one hash per rule window. ARGV[1]: tokens to reserve; then per key: max requests,
// max tokens, ttl ms. Returns {ok, index of the refusing rule (0 = none), r1, t1, r2, t2, …}
// where t = used + reserved, after the reservation when ok.
const CHECK = `
local t = tonumber(ARGV[1])
local n = #KEYS
local r, s = {}, {}
local refused = 0
for i = 1, n do
  local c = redis.call('HMGET', KEYS[i], 'r', 'u', 'v')
  r[i] = tonumber(c[1]) or 0
  s[i] = (tonumber(c[2]) or 0) + (tonumber(c[3]) or 0)
  local maxr = tonumber(ARGV[2 + (i - 1) * 3])
  local maxt = tonumber(ARGV[3 + (i - 1) * 3])
  if refused == 0 and ((maxr > 0 and r[i] + 1 > maxr) or (maxt > 0 and s[i] + t > maxt)) then refused = i end
end
local out = {refused == 0 and 1 or 0, refused}
for i = 1, n do
  if refused == 0 then
    r[i] = redis.call('HINCRBY', KEYS[i], 'r', 1)
    redis.call('HINCRBY', KEYS[i], 'v', t)
    s[i] = s[i] + t
    redis.call('PEXPIRE', KEYS[i], ARGV[4 + (i - 1) * 3])
  end
  out[#out + 1] = r[i]
  out[#out + 1] = s[i]
end
return out
`;

// KEYS: the reservation's windows. ARGV: reserved tokens to return, actual tokens used.
const RELEASE = `
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local v = redis.call('HINCRBY', KEYS[i], 'v', -tonumber(ARGV[1]))
    if v < 0 then redis.call('HSET', KEYS[i], 'v', 0) end
    redis.call('HINCRBY', KEYS[i], 'u', tonumber(ARGV[2]))
  end
end
return 1
`;

type WithCommands = Redis & {
  plinthLimitCheck(numberOfKeys: number, ...args: Array<string | number>): Promise<number[]>;
  plinthLimitRelease(numberOfKeys: number, ...args: Array<string | number>): Promise<number>;
};

export function createRedisLimiterStore(redis: Redis, options: { prefix?: string } = {}): LimiterStore {
  const prefix = options.prefix ?? 'plinth:limits:';
  const r = redis as WithCommands;
  if (typeof r.plinthLimitCheck !== 'function') {
    // numberOfKeys is given per call: a call has as many keys as it has rules.
    redis.defineCommand('plinthLimitCheck', { lua: CHECK });
    redis.defineCommand('plinthLimitRelease', { lua: RELEASE });
  }
  const core = {
    async check(group: string, rules: readonly LimitRule[], tokens: number, now: number): Promise<Check> {
      if (rules.length === 0) return { allowed: true, states: [], reservation: { buckets: [], tokens } };
      const keys = rules.map((rule) => bucketKey(prefix, group, rule.scope, rule.period, windowOf(now, rule.period)));
      const args = rules.flatMap((rule) => [rule.requests, rule.tokens, 2 * PERIOD_MS[rule.period]]);
      const out = await r.plinthLimitCheck(keys.length, ...keys, tokens, ...args);
      const states = rules.map((rule, i) => stateOf(rule, Number(out[2 + 2 * i]), Number(out[3 + 2 * i]), now));
      if (out[0] !== 1) return { allowed: false, states, refusedBy: states[Number(out[1]) - 1]! };
      return { allowed: true, states, reservation: { buckets: keys, tokens } };
    },
    async release(reservation: Reservation, actual: number): Promise<void> {
      if (reservation.buckets.length === 0) return;
      await r.plinthLimitRelease(reservation.buckets.length, ...reservation.buckets, reservation.tokens, actual);
    },
    async reservedIn(group: string, scope: string, now: number): Promise<number> {
      const keys = (['minute', 'day'] as Period[]).flatMap((p) => [bucketKey(prefix, group, scope, p, windowOf(now, p)), bucketKey(prefix, group, scope, p, windowOf(now, p) - 1)]);
      const v = await Promise.all(keys.map((k) => redis.hget(k, 'v')));
      const n = v.map((x) => Number(x ?? 0));
      // A reservation sits in the windows of every period its scope is limited by: count it once.
      return Math.max(n[0]! + n[1]!, n[2]! + n[3]!);
    },
  };
  return { kind: 'redis', ...core, ...singleRule(core, prefix), close: () => Promise.resolve() };
}
