// Redis CacheStore shared by every replica; eviction beyond the TTL follows Redis's maxmemory policy.
import type { Redis } from 'ioredis';
import type { CacheStore } from './port.js';

export function createRedisCacheStore(redis: Redis, options: { prefix?: string } = {}): CacheStore {
  const prefix = options.prefix ?? 'plinth:cache:';
  return {
    kind: 'redis',
    async get(key) {
      return (await redis.get(prefix + key)) ?? undefined;
    },
    async set(key, value, ttlMs) {
      await redis.set(prefix + key, value, 'PX', ttlMs);
    },
    close: () => Promise.resolve(),
  };
}
