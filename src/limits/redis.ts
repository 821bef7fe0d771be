// Redis LimiterStore shared by every replica. Check-and-reserve is one Lua script (atomic on the
// server); the window's counters live in one hash that expires one window after it ends.
import type { Redis } from 'ioredis';
import { WINDOW_MS, windowOf, type Decision, type LimiterStore, type LimitSpec } from './port.js';

// KEYS[1] window hash; ARGV: max requests, max tokens, tokens to reserve, ttl ms.
// Returns {allowed, requests, used + reserved}.
const RESERVE = `
local c = redis.call('HMGET', KEYS[1], 'r', 'u', 'v')
local r = tonumber(c[1]) or 0
local u = tonumber(c[2]) or 0
local v = tonumber(c[3]) or 0
local maxr = tonumber(ARGV[1])
local maxt = tonumber(ARGV[2])
local t = tonumber(ARGV[3])
local ok = 1
if maxr > 0 and r + 1 > maxr then ok = 0 end
if maxt > 0 and u + v + t > maxt then ok = 0 end
if ok == 1 then
  r = redis.call('HINCRBY', KEYS[1], 'r', 1)
  v = redis.call('HINCRBY', KEYS[1], 'v', t)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return {ok, r, u + v}
`;

// KEYS[1] window hash; ARGV: reserved tokens to return, actual tokens used.
const SETTLE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local v = redis.call('HINCRBY', KEYS[1], 'v', -tonumber(ARGV[1]))
if v < 0 then redis.call('HSET', KEYS[1], 'v', 0) end
redis.call('HINCRBY', KEYS[1], 'u', tonumber(ARGV[2]))
return 1
`;

type WithCommands = Redis & {
  plinthLimitReserve(key: string, maxRequests: number, maxTokens: number, tokens: number, ttlMs: number): Promise<[number, number, number]>;
  plinthLimitSettle(key: string, reserved: number, actual: number): Promise<number>;
};

export function createRedisLimiterStore(redis: Redis, options: { prefix?: string } = {}): LimiterStore {
  const prefix = options.prefix ?? 'plinth:limits:';
  const r = redis as WithCommands;
  if (typeof r.plinthLimitReserve !== 'function') {
    redis.defineCommand('plinthLimitReserve', { numberOfKeys: 1, lua: RESERVE });
    redis.defineCommand('plinthLimitSettle', { numberOfKeys: 1, lua: SETTLE });
  }
  // Hash tags keep one key's windows on one Redis Cluster slot.
  const id = (key: string, window: number) => `${prefix}{${key}}:${window}`;
  return {
    kind: 'redis',
    async reserve(key: string, tokens: number, limits: LimitSpec, now: number): Promise<Decision> {
      const window = windowOf(now);
      const [ok, requests, spent] = await r.plinthLimitReserve(id(key, window), limits.requests, limits.tokens, tokens, 2 * WINDOW_MS);
      return {
        allowed: ok === 1,
        window,
        limitRequests: limits.requests,
        remainingRequests: Math.max(0, limits.requests - requests),
        limitTokens: limits.tokens,
        remainingTokens: Math.max(0, limits.tokens - spent),
        resetMs: (window + 1) * WINDOW_MS - now,
      };
    },
    async settle(key, window, reserved, actual) {
      await r.plinthLimitSettle(id(key, window), reserved, actual);
    },
    async reserved(key, now) {
      const w = windowOf(now);
      const [a, b] = await Promise.all([redis.hget(id(key, w), 'v'), redis.hget(id(key, w - 1), 'v')]);
      return Number(a ?? 0) + Number(b ?? 0);
    },
    close: () => Promise.resolve(),
  };
}
