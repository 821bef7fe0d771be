// The LimiterStore contract, run against every adapter: in-process (test/unit/limits.test.ts)
// and Redis (test/services/gateway-redis.test.ts).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { WINDOW_MS, type LimiterStore } from '../../src/limits/index.js';

export function limiterContract(name: string, make: () => Promise<LimiterStore> | LimiterStore): void {
  describe(`LimiterStore contract: ${name}`, () => {
    // The middle of a window, so a test never straddles a window boundary.
    const t0 = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS + WINDOW_MS / 2;
    const key = () => `test-${randomUUID()}`;

    it('admits up to the request limit, then refuses without counting the refusal', async () => {
      const store = await make();
      const k = key();
      const limits = { requests: 3, tokens: 0 };
      for (let i = 0; i < 3; i++) {
        const d = await store.reserve(k, 0, limits, t0);
        assert.equal(d.allowed, true);
        assert.equal(d.remainingRequests, 2 - i);
      }
      const refused = await store.reserve(k, 0, limits, t0 + 1);
      assert.equal(refused.allowed, false);
      assert.equal(refused.remainingRequests, 0);
      assert.ok(refused.resetMs > 0 && refused.resetMs <= WINDOW_MS);
      // The next window starts afresh.
      assert.equal((await store.reserve(k, 0, limits, t0 + WINDOW_MS)).allowed, true);
      await store.close();
    });

    it('reserves tokens before the call and settles them with the real usage after', async () => {
      const store = await make();
      const k = key();
      const limits = { requests: 0, tokens: 1000 };
      const a = await store.reserve(k, 600, limits, t0);
      assert.equal(a.allowed, true);
      assert.equal(a.remainingTokens, 400);
      assert.equal(await store.reserved(k, t0), 600);
      assert.equal((await store.reserve(k, 500, limits, t0)).allowed, false, 'the reservation counts against the budget');
      await store.settle(k, a.window, 600, 100);
      assert.equal(await store.reserved(k, t0), 0);
      const b = await store.reserve(k, 500, limits, t0);
      assert.equal(b.allowed, true);
      assert.equal(b.remainingTokens, 400);
      await store.settle(k, b.window, 500, 0); // released on failure
      assert.equal(await store.reserved(k, t0), 0);
      await store.close();
    });

    it('never overspends under concurrent reservations', async () => {
      const store = await make();
      const k = key();
      const results = await Promise.all(Array.from({ length: 40 }, () => store.reserve(k, 100, { requests: 0, tokens: 1000 }, t0)));
      assert.equal(results.filter((d) => d.allowed).length, 10);
      assert.equal(await store.reserved(k, t0), 1000);
      await store.close();
    });

    it('keeps keys apart and treats 0 as unlimited', async () => {
      const store = await make();
      const a = key();
      const b = key();
      assert.equal((await store.reserve(a, 10, { requests: 1, tokens: 10 }, t0)).allowed, true);
      assert.equal((await store.reserve(a, 10, { requests: 1, tokens: 10 }, t0)).allowed, false);
      assert.equal((await store.reserve(b, 10, { requests: 1, tokens: 10 }, t0)).allowed, true);
      for (let i = 0; i < 20; i++) assert.equal((await store.reserve(key(), 1_000_000, { requests: 0, tokens: 0 }, t0)).allowed, true);
      await store.close();
    });
  });
}
