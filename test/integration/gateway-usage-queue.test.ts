// The gateway's batched usage accounting against the real database: records are written in
// batches (per tenant, with the time each call ended), on a full batch, on the interval, on flush
// and on close; a full queue makes callers wait; failed batches are retried, then given up.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { Database } from '../../src/db/index.js';
import type { UsageRecord } from '../../src/gateway/store.js';
import { createUsageQueue } from '../../src/gateway/usage-queue.js';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

describe(`gateway usage queue (${ADAPTER})`, () => {
  let t: TestPlatform;
  let tenantA: string;
  let tenantB: string;

  before(async () => {
    t = await startTestPlatform({}, { logLevel: 'warn' });
    tenantA = (await t.platform.auth.createTenant('usage-a', { actor: 'test' })).id;
    tenantB = (await t.platform.auth.createTenant('usage-b', { actor: 'test' })).id;
  });
  after(async () => {
    await t?.close();
  });

  const rec = (tenantId: string, i: number, extra: Partial<UsageRecord> = {}): UsageRecord => ({
    tenantId,
    keyPrefix: 'plk_test',
    endpoint: 'chat',
    model: `m-${i}`,
    upstream: i % 2 === 0 ? 'up' : null,
    outcome: 'ok',
    errorCode: null,
    cache: i % 2 === 0 ? 'miss' : 'exact',
    tokensIn: i,
    tokensOut: 2 * i,
    latencyMs: 10.4 + i,
    ttftMs: i % 2 === 0 ? 3.6 : null,
    cost: i % 2 === 0 ? 0.25 * i : null,
    ...extra,
  });

  async function rows(tenantId: string, model?: string) {
    const res = await t.platform.db.withTenant(tenantId, (tx) =>
      tx.query<{ model: string; upstream: string | null; cache: string; tokens_in: number; tokens_out: number; latency_ms: number; ttft_ms: number | null; cost: string | null; created_at: Date }>(
        'SELECT model, upstream, cache, tokens_in, tokens_out, latency_ms, ttft_ms, cost, created_at FROM llm_usage WHERE $1::text IS NULL OR model LIKE $1 ORDER BY tokens_in',
        [model ?? null],
      ),
    );
    return res.rows;
  }

  async function clear(): Promise<void> {
    for (const id of [tenantA, tenantB]) await t.platform.db.withTenant(id, (tx) => tx.query('DELETE FROM llm_usage'));
  }

  /** The real database behind a gate: writes wait for `open()`, or fail while `failing` says so. */
  function gated(db: Database) {
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const state = { calls: 0, failing: (_call: number) => false };
    const wrapped = {
      withTenant: async (tenantId: string, fn: Parameters<Database['withTenant']>[1]) => {
        const call = ++state.calls;
        await gate;
        if (state.failing(call)) throw new Error('database unreachable');
        return db.withTenant(tenantId, fn);
      },
    } as unknown as Database;
    return {
      db: wrapped,
      state,
      open: () => release(),
      shut: () => (gate = new Promise<void>((r) => (release = r))),
    };
  }

  it('writes every record with its fields, per tenant, with the time each call ended', async () => {
    await clear();
    const registry = new Registry();
    const ended = Date.parse('2026-03-04T05:06:07.000Z');
    const q = createUsageQueue({ db: t.platform.db, logger: t.logger, registry, batchSize: 5, flushIntervalMs: 60_000, now: () => ended });
    for (let i = 1; i <= 12; i++) void q.add(rec(i % 3 === 0 ? tenantB : tenantA, i));
    await q.flush();
    assert.equal(q.size, 0);
    const a = await rows(tenantA);
    const b = await rows(tenantB);
    assert.deepEqual(a.map((r) => r.tokens_in), [1, 2, 4, 5, 7, 8, 10, 11]);
    assert.deepEqual(b.map((r) => r.tokens_in), [3, 6, 9, 12]);
    const r2 = a[1]!;
    assert.equal(r2.model, 'm-2');
    assert.equal(r2.upstream, 'up');
    assert.equal(r2.cache, 'miss');
    assert.equal(r2.tokens_out, 4);
    assert.equal(r2.latency_ms, 12);
    assert.equal(r2.ttft_ms, 4);
    assert.equal(Number(r2.cost), 0.5);
    const r1 = a[0]!;
    assert.equal(r1.upstream, null);
    assert.equal(r1.ttft_ms, null);
    assert.equal(r1.cost, null);
    for (const r of [...a, ...b]) assert.equal(new Date(r.created_at).toISOString(), '2026-03-04T05:06:07.000Z');
    // 12 records in batches of 5 (5, 5, 2), each batch one write per tenant in it.
    const batches = (await registry.getSingleMetric('plinth_llm_usage_batches_total')!.get()).values;
    assert.equal(batches.find((v) => v.labels.outcome === 'ok')?.value, 6);
    await q.close();
  });

  it('writes a lone record on the interval, without flush', async () => {
    await clear();
    const q = createUsageQueue({ db: t.platform.db, logger: t.logger, registry: new Registry(), batchSize: 100, flushIntervalMs: 50 });
    void q.add(rec(tenantA, 1, { model: 'interval' }));
    const deadline = Date.now() + 5_000;
    while ((await rows(tenantA, 'interval')).length === 0) {
      assert.ok(Date.now() < deadline, 'the record was not written on the interval');
      await sleep(20);
    }
    assert.equal(q.size, 0);
    await q.close();
  });

  it('close() writes everything still queued, and records added afterwards are written at once', async () => {
    await clear();
    const q = createUsageQueue({ db: t.platform.db, logger: t.logger, registry: new Registry(), batchSize: 1_000, flushIntervalMs: 60_000 });
    for (let i = 1; i <= 300; i++) void q.add(rec(i % 2 ? tenantA : tenantB, i, { model: 'closing' }));
    assert.equal((await rows(tenantA, 'closing')).length, 0, 'nothing is written before the interval');
    await q.close();
    assert.equal((await rows(tenantA, 'closing')).length + (await rows(tenantB, 'closing')).length, 300);
    void q.add(rec(tenantA, 1_000, { model: 'late' }));
    await q.flush();
    assert.equal((await rows(tenantA, 'late')).length, 1);
  });

  it('makes callers wait when the queue is full, and lets them go once a batch is written', async () => {
    await clear();
    const g = gated(t.platform.db);
    const q = createUsageQueue({ db: g.db, logger: t.logger, registry: new Registry(), batchSize: 2, flushIntervalMs: 60_000, maxQueued: 4 });
    // The first two start a write that waits at the gate; four more fill the queue.
    for (let i = 1; i <= 6; i++) assert.equal(q.add(rec(tenantA, i, { model: 'full' })), undefined, `record ${i} is accepted at once`);
    const waiting = q.add(rec(tenantA, 7, { model: 'full' }));
    assert.ok(waiting, 'the seventh record has to wait');
    let released = false;
    void waiting.then(() => (released = true));
    await sleep(50);
    assert.equal(released, false);
    g.open();
    await waiting;
    await q.flush();
    assert.deepEqual((await rows(tenantA, 'full')).map((r) => r.tokens_in), [1, 2, 3, 4, 5, 6, 7]);
    await q.close();
  });

  it('retries a failed batch without duplicating it, and gives up after repeated failures', async () => {
    await clear();
    const g = gated(t.platform.db);
    g.open();
    const registry = new Registry();
    const q = createUsageQueue({ db: g.db, logger: t.logger, registry, batchSize: 10, flushIntervalMs: 60_000 });
    g.state.failing = (call) => call === 1;
    for (let i = 1; i <= 4; i++) void q.add(rec(tenantA, i, { model: 'retried' }));
    await q.flush();
    assert.deepEqual((await rows(tenantA, 'retried')).map((r) => r.tokens_in), [1, 2, 3, 4]);

    g.state.failing = () => true;
    for (let i = 1; i <= 3; i++) void q.add(rec(tenantA, i, { model: 'lost' }));
    await q.flush();
    assert.equal((await rows(tenantA, 'lost')).length, 0);
    assert.equal((await registry.getSingleMetric('plinth_llm_usage_records_lost_total')!.get()).values[0]?.value, 3);
    assert.match(t.logs.text(), /cannot record usage; records given up/);
    await q.close();
  });
});
