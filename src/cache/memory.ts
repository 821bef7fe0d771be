// In-process LRU CacheStore: a Map kept in recency order (re-inserted on every hit), bounded by
// entry count, entries expiring after their TTL.
import type { CacheStore } from './port.js';

export function createMemoryCacheStore(options: { maxEntries: number; now?: () => number }): CacheStore {
  const now = options.now ?? Date.now;
  const entries = new Map<string, { value: string; until: number }>();
  return {
    kind: 'memory',
    get(key) {
      const e = entries.get(key);
      if (!e) return Promise.resolve(undefined);
      entries.delete(key);
      if (e.until <= now()) return Promise.resolve(undefined);
      entries.set(key, e);
      return Promise.resolve(e.value);
    },
    set(key, value, ttlMs) {
      entries.delete(key);
      entries.set(key, { value, until: now() + ttlMs });
      while (entries.size > options.maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done) break;
        entries.delete(oldest.value);
      }
      return Promise.resolve();
    },
    close() {
      entries.clear();
      return Promise.resolve();
    },
  };
}
