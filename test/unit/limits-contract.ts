// The LimiterStore contract, run against every adapter: in-process (test/unit/limits.test.ts),
// Redis (test/services/gateway-redis.test.ts) and Redis through Sentinel (gateway-sentinel.test.ts).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { WINDOW_MS, type LimiterStore, type LimitRule } from '../../src/limits/index.js';

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

/** The multi-rule check (key and tenant, minute and day) every adapter must implement alike. */
export function limiterRulesContract(name: string, make: () => Promise<LimiterStore> | LimiterStore): void {
  describe(`LimiterStore rules contract: ${name}`, () => {
    // Today at 12:00:30 UTC: a minute later is still the same UTC day.
    const t0 = Math.floor(Date.now() / 86_400_000) * 86_400_000 + 43_200_000 + WINDOW_MS / 2;
    const ids = () => ({ tenant: `t-${randomUUID()}`, a: `key:${randomUUID()}`, b: `key:${randomUUID()}` });
    const rules = (tenant: string, key: string, o: { tenantRpm?: number; keyRpm?: number; tenantTpd?: number; keyTpd?: number } = {}): LimitRule[] => [
      { scope: key, period: 'minute', requests: o.keyRpm ?? 0, tokens: 0, name: 'key_per_minute' },
      { scope: key, period: 'day', requests: 0, tokens: o.keyTpd ?? 0, name: 'key_tokens_per_day' },
      { scope: `tenant:${tenant}`, period: 'minute', requests: o.tenantRpm ?? 0, tokens: 0, name: 'tenant_per_minute' },
      { scope: `tenant:${tenant}`, period: 'day', requests: 0, tokens: o.tenantTpd ?? 0, name: 'tenant_tokens_per_day' },
    ];

    it('shares a tenant limit between its keys and names the rule that refused', async () => {
      const store = await make();
      const { tenant, a, b } = ids();
      let allowed = 0;
      for (let i = 0; i < 4; i++) if ((await store.check(tenant, rules(tenant, a, { tenantRpm: 5, keyRpm: 10 }), 0, t0)).allowed) allowed++;
      for (let i = 0; i < 4; i++) if ((await store.check(tenant, rules(tenant, b, { tenantRpm: 5, keyRpm: 10 }), 0, t0)).allowed) allowed++;
      assert.equal(allowed, 5, 'five per minute for the tenant, whichever key');
      const refused = await store.check(tenant, rules(tenant, b, { tenantRpm: 5, keyRpm: 10 }), 0, t0);
      assert.equal(refused.allowed, false);
      assert.equal(refused.refusedBy?.rule.name, 'tenant_per_minute');
      assert.equal(refused.reservation, undefined);
      // The refusal changed nothing: key b still has its own count of 1.
      assert.equal(refused.states[0]!.requests, 1);
      await store.close();
    });

    it('refuses all-or-nothing: a call refused by one rule is counted in none', async () => {
      const store = await make();
      const { tenant, a } = ids();
      const ok = await store.check(tenant, rules(tenant, a, { keyTpd: 1000, tenantTpd: 100_000 }), 800, t0);
      assert.equal(ok.allowed, true);
      assert.equal(ok.states[3]!.tokens, 800);
      const no = await store.check(tenant, rules(tenant, a, { keyTpd: 1000, tenantTpd: 100_000 }), 300, t0);
      assert.equal(no.allowed, false);
      assert.equal(no.refusedBy?.rule.name, 'key_tokens_per_day');
      assert.equal(no.states[3]!.tokens, 800, 'the tenant day budget did not move');
      assert.equal(no.states[2]!.requests, 1, 'nor did the tenant request count');
      await store.close();
    });

    it('settles a reservation in every window, and a day budget outlives the minute', async () => {
      const store = await make();
      const { tenant, a } = ids();
      const r = rules(tenant, a, { keyTpd: 1000 });
      const first = await store.check(tenant, r, 900, t0);
      assert.ok(first.reservation);
      assert.equal(await store.reservedIn(tenant, a, t0), 900);
      await store.release(first.reservation, 400);
      assert.equal(await store.reservedIn(tenant, a, t0), 0);
      // A minute later the day window still holds the 400 used: 700 more do not fit, 600 do.
      const later = t0 + WINDOW_MS;
      const tooMuch = await store.check(tenant, r, 700, later);
      assert.equal(tooMuch.allowed, false);
      assert.equal(tooMuch.states[1]!.remainingTokens, 600);
      assert.ok(tooMuch.refusedBy!.resetMs > WINDOW_MS, 'a day budget resets at the end of the UTC day');
      const fits = await store.check(tenant, r, 600, later);
      assert.equal(fits.allowed, true);
      await store.release(fits.reservation!, 0);
      assert.equal(await store.reservedIn(tenant, a, later), 0, 'released on failure');
      await store.close();
    });

    it('never overspends a shared tenant budget under concurrent calls from several keys', async () => {
      const store = await make();
      const { tenant } = ids();
      const keys = Array.from({ length: 4 }, () => `key:${randomUUID()}`);
      const results = await Promise.all(Array.from({ length: 60 }, (_, i) => store.check(tenant, rules(tenant, keys[i % 4]!, { tenantTpd: 2000 }), 100, t0)));
      assert.equal(results.filter((c) => c.allowed).length, 20);
      await store.close();
    });
  });
}
