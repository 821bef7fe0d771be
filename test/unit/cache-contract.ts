// The CacheStore contract, run against every adapter: in-process (test/unit/cache.test.ts) and
// Redis (test/services/gateway-redis.test.ts).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { CacheStore } from '../../src/cache/index.js';

export function cacheContract(name: string, make: () => Promise<CacheStore> | CacheStore): void {
  describe(`CacheStore contract: ${name}`, () => {
    it('returns what was stored, nothing for unknown keys, and forgets after the TTL', async () => {
      const store = await make();
      const k = randomUUID();
      assert.equal(await store.get(k), undefined);
      await store.set(k, '{"a":1}', 60_000);
      assert.equal(await store.get(k), '{"a":1}');
      await store.set(k, 'v2', 60_000);
      assert.equal(await store.get(k), 'v2');
      const short = randomUUID();
      await store.set(short, 'x', 50);
      await sleep(120);
      assert.equal(await store.get(short), undefined);
      await store.close();
    });
  });
}
