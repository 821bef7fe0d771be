// The SemanticCacheStore contract, run against every adapter: in-process
// (test/unit/semantic-cache.test.ts) and Redis (test/services/semantic-cache-redis.test.ts).
// `make` builds a store with at most 3 entries per partition and a TTL of 1 s (long enough for the other cases on a loaded machine).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { SemanticCacheStore } from '../../src/cache/index.js';

export const CONTRACT_MAX_PER_PARTITION = 3;
export const CONTRACT_TTL_MS = 1000;

const DIMS = 32;

/** A unit vector pointing mostly along axis `i`, tilted by `tilt` towards axis i+1. */
export function axis(i: number, tilt = 0): Float32Array {
  const v = new Float32Array(DIMS);
  v[i % DIMS] = 1;
  v[(i + 1) % DIMS] = tilt;
  const n = Math.hypot(1, tilt);
  for (let k = 0; k < DIMS; k++) v[k] = v[k]! / n;
  return v;
}

const entry = (text: string, tags: Record<string, number> = {}) => ({ text, value: JSON.stringify({ answer: text }), tags });

export function semanticContract(name: string, make: () => Promise<SemanticCacheStore> | SemanticCacheStore): void {
  describe(`SemanticCacheStore contract: ${name}`, () => {
    it('finds the nearest entries of the same partition, best first, above the minimum score', async () => {
      const store = await make();
      const tenant = randomUUID();
      const p = `${tenant}:g0.0:${randomUUID()}`;
      const other = `${tenant}:g0.0:${randomUUID()}`;
      assert.deepEqual(await store.search(tenant, p, axis(0), { minScore: 0.5, limit: 4 }), []);
      await store.insert(p, axis(0), entry('zero'));
      await store.insert(p, axis(0, 0.3), entry('zero tilted'));
      await store.insert(p, axis(5), entry('five'));
      await store.insert(other, axis(0), entry('other partition'));
      const found = await store.search(tenant, p, axis(0, 0.05), { minScore: 0.9, limit: 4 });
      assert.deepEqual(found.map((c) => c.text), ['zero', 'zero tilted']);
      assert.ok(found[0]!.score > 0.99 && found[0]!.score <= 1.001, `score ${found[0]!.score}`);
      assert.ok(Math.abs(found[1]!.score - (1 + 0.05 * 0.3) / (Math.hypot(1, 0.05) * Math.hypot(1, 0.3))) < 0.01, 'cosine within quantisation error');
      assert.deepEqual(JSON.parse(found[0]!.value), { answer: 'zero' });
      assert.equal((await store.search(tenant, p, axis(0), { minScore: 0.9, limit: 1 })).length, 1, 'limit');
      assert.deepEqual(await store.search(tenant, p, axis(9), { minScore: 0.5, limit: 4 }), [], 'nothing similar');
      await store.close();
    });

    it('replaces an entry with the same text, and keeps at most maxPerPartition, evicting the least recently used', async () => {
      const store = await make();
      const tenant = randomUUID();
      const p = `${tenant}:g0.0:${randomUUID()}`;
      await store.insert(p, axis(0), { ...entry('a'), value: 'v1' });
      await store.insert(p, axis(0), { ...entry('a'), value: 'v2' });
      const a = await store.search(tenant, p, axis(0), { minScore: 0.9, limit: 4 });
      assert.deepEqual(a.map((c) => c.value), ['v2'], 'one slot per text');
      // Redis orders by last use in milliseconds: keep the writes apart.
      await sleep(3);
      await store.insert(p, axis(1), entry('b'));
      await sleep(3);
      await store.insert(p, axis(2), entry('c'));
      // Serve "a" so that "b" becomes the least recently used.
      await sleep(5);
      assert.equal((await store.search(tenant, p, axis(0), { minScore: 0.9, limit: 4 })).length, 1);
      await sleep(5);
      await store.insert(p, axis(3), entry('d'));
      const texts = [];
      for (const i of [0, 1, 2, 3]) texts.push(...(await store.search(tenant, p, axis(i), { minScore: 0.9, limit: 4 })).map((c) => c.text));
      assert.equal(texts.length, CONTRACT_MAX_PER_PARTITION);
      assert.deepEqual(texts.sort(), ['a', 'c', 'd']);
      await store.close();
    });

    it('forgets entries after the TTL', async () => {
      const store = await make();
      const tenant = randomUUID();
      const p = `${tenant}:g0.0:${randomUUID()}`;
      await store.insert(p, axis(0), entry('short-lived'));
      assert.equal((await store.search(tenant, p, axis(0), { minScore: 0.9, limit: 4 })).length, 1);
      await sleep(CONTRACT_TTL_MS + 200);
      assert.deepEqual(await store.search(tenant, p, axis(0), { minScore: 0.9, limit: 4 }), []);
      await store.close();
    });

    it('moves generations on invalidation: per tenant, per model, per tag, without touching other tenants', async () => {
      const store = await make();
      const t1 = randomUUID();
      const t2 = randomUUID();
      const g0 = await store.generation({ tenantId: t1, model: 'm' }, ['docs', 'faq']);
      assert.deepEqual(g0.tags, { docs: 0, faq: 0 });
      await store.invalidate(t1, { model: 'm' });
      const g1 = await store.generation({ tenantId: t1, model: 'm' }, []);
      assert.notEqual(g1.base, g0.base, 'model invalidation moves the base');
      assert.equal((await store.generation({ tenantId: t1, model: 'other' }, [])).base, g0.base, 'other models keep theirs');
      await store.invalidate(t1);
      const g2 = await store.generation({ tenantId: t1, model: 'other' }, []);
      assert.notEqual(g2.base, g0.base, 'tenant invalidation moves every model');
      assert.equal((await store.generation({ tenantId: t2, model: 'm' }, [])).base, g0.base, 'other tenants are untouched');

      // Tags: entries written under a tag generation are hidden once the tag moves.
      const p = `${t1}:${g2.base}:${randomUUID()}`;
      const tags = (await store.generation({ tenantId: t1, model: 'other' }, ['docs'])).tags;
      await store.insert(p, axis(0), entry('tagged', tags));
      await store.insert(p, axis(0, 0.1), entry('untagged'));
      assert.equal(await store.tagsCurrent(t1, tags), true);
      assert.equal((await store.search(t1, p, axis(0), { minScore: 0.9, limit: 4 })).length, 2);
      await store.invalidate(t1, { tag: 'docs' });
      assert.equal(await store.tagsCurrent(t1, tags), false);
      assert.equal(await store.tagsCurrent(t2, { docs: 0 }), true, 'tags are per tenant');
      assert.deepEqual((await store.search(t1, p, axis(0), { minScore: 0.9, limit: 4 })).map((c) => c.text), ['untagged']);
      assert.deepEqual((await store.generation({ tenantId: t1, model: 'other' }, ['docs'])).tags, { docs: 1 });
      await store.close();
    });
  });
}
