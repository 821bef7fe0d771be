// Drift over HTTP and MCP-free service calls, on the adapter chosen by the environment: checks
// stored per tenant, profiles, HTML reports, the inference log as a source, scopes and errors.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createRng } from '../../bench/lib/rng.js';
import { buildApp } from '../../src/http/app.js';
import { startServer } from '../../src/http/server.js';
import { connectV2 } from '../helpers/mcp.js';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

interface Col {
  column: string;
  test: string;
  drifted: boolean;
  approximate: boolean;
  p_value: number | null;
  distance: number | null;
}
interface Result {
  id: string;
  dataset_drift: boolean;
  drifted_columns: number;
  checked_columns: number;
  reference_profile_id: string | null;
  current_rows: number;
  columns: Col[];
}

function columns(seed: number, n: number, shift: number) {
  const rng = createRng(seed);
  return {
    age: Array.from({ length: n }, () => Math.round(40 + 10 * rng.gauss() + shift * 10)),
    score: Array.from({ length: n }, () => (rng.next() < 0.02 ? null : rng.gauss() + shift)),
    plan: Array.from({ length: n }, () => (rng.next() < 0.3 + shift / 2 ? 'pro' : rng.pick(['free', 'team']))),
  };
}

describe(`drift over HTTP (${ADAPTER})`, () => {
  let t: TestPlatform;
  let app: FastifyInstance;
  let key: string;
  let memoryKey: string;
  let otherKey: string;
  let tenantId: string;
  const h = (k: string) => ({ authorization: `Bearer ${k}` });

  before(async () => {
    t = await startTestPlatform({ PLINTH_PORT: '0' });
    app = await buildApp(t.platform);
    const tenant = await t.platform.auth.getTenant('default');
    tenantId = tenant.id;
    key = (await t.platform.auth.createKey(tenant.id, { name: 'drift', scopes: ['drift:run'] }, { actor: 'test' })).key;
    memoryKey = (await t.platform.auth.createKey(tenant.id, { name: 'mem', scopes: ['memory:read'] }, { actor: 'test' })).key;
    const other = await t.platform.auth.createTenant('drift-other', { actor: 'test' });
    otherKey = (await t.platform.auth.createKey(other.id, { name: 'o', scopes: ['drift:run'] }, { actor: 'test' })).key;
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  it('runs a check on inline data, stores it, and serves it as JSON and as an HTML report', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/drift/checks',
      headers: h(key),
      payload: { name: 'weekly', reference: { columns: columns(1, 800, 0) }, current: { columns: columns(2, 800, 0.8) } },
    });
    assert.equal(res.statusCode, 201, res.body);
    const r = res.json<Result>();
    assert.equal(res.headers.location, `/v1/drift/checks/${r.id}`);
    assert.equal(r.dataset_drift, true);
    assert.deepEqual(r.columns.map((c) => [c.column, c.test]), [['age', 'ks'], ['score', 'ks'], ['plan', 'chisquare']]);

    const got = await app.inject({ url: `/v1/drift/checks/${r.id}`, headers: h(key) });
    assert.equal(got.statusCode, 200);
    assert.deepEqual(got.json<Result>().columns, r.columns);

    const report = await app.inject({ url: `/v1/drift/checks/${r.id}/report`, headers: h(key) });
    assert.equal(report.statusCode, 200);
    assert.match(String(report.headers['content-type']), /^text\/html/);
    assert.match(report.body, /<h1>weekly<\/h1>/);
    assert.equal((report.body.match(/<svg /g) ?? []).length, 3);

    const html = await app.inject({ method: 'POST', url: '/v1/drift/checks?format=html', headers: h(key), payload: { reference: { rows: [{ a: 1 }, { a: 2 }, { a: 3 }] }, current: { rows: [{ a: 1 }, { a: 2 }, { a: 2 }] } } });
    assert.equal(html.statusCode, 201, html.body);
    assert.match(html.body, /^<!doctype html>/);

    const audit = await t.platform.auth.listAudit(tenantId, { limit: 100 });
    assert.ok(audit.some((e) => e.action === 'drift.checked' && e.target === r.id));
  });

  it('keeps checks and profiles per tenant, and requires drift:run', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/drift/checks', headers: h(key), payload: { reference: { columns: { a: [1, 2, 3] } }, current: { columns: { a: [1, 2, 4] } } } });
    const id = res.json<Result>().id;
    const foreign = await app.inject({ url: `/v1/drift/checks/${id}`, headers: h(otherKey) });
    assert.equal(foreign.statusCode, 404);
    assert.equal(foreign.json<{ code: string }>().code, 'PLINTH_DRIFT_CHECK_NOT_FOUND');
    const forbidden = await app.inject({ method: 'POST', url: '/v1/drift/checks', headers: h(memoryKey), payload: { reference: { columns: { a: [1] } }, current: { columns: { a: [1] } } } });
    assert.equal(forbidden.statusCode, 403);
    const rows = await t.platform.db.withSystem((tx) => tx.query<{ n: string }>('SELECT count(*) AS n FROM drift_checks WHERE id = $1', [id]));
    assert.equal(rows.rows[0]!.n, '1');
  });

  it('answers stable error codes for bad input', async () => {
    const post = (payload: unknown) => app.inject({ method: 'POST', url: '/v1/drift/checks', headers: h(key), payload: payload as Record<string, unknown> });
    const missing = await post({ reference: { columns: { a: [1, 2], b: [1, 2] } }, current: { columns: { a: [1, 2] } } });
    assert.equal(missing.statusCode, 422);
    assert.equal(missing.json<{ code: string }>().code, 'PLINTH_DRIFT_COLUMN_MISSING');
    const badTest = await post({ reference: { columns: { a: [1, 2] } }, current: { columns: { a: [1, 2] } }, options: { test: 'magic' } });
    assert.equal(badTest.statusCode, 400);
    const wrongType = await post({ reference: { columns: { a: ['x', 'y'] } }, current: { columns: { a: ['x', 'y'] } }, options: { test: 'ks' } });
    assert.equal(wrongType.json<{ code: string }>().code, 'PLINTH_DRIFT_TEST_NOT_APPLICABLE');
    const ragged = await post({ reference: { columns: { a: [1, 2], b: [1] } }, current: { columns: { a: [1, 2], b: [1, 2] } } });
    assert.equal(ragged.json<{ code: string }>().code, 'PLINTH_DRIFT_INVALID_DATA');
    const noProfile = await post({ reference: { profile_id: '00000000-0000-4000-8000-000000000000' }, current: { columns: { a: [1] } } });
    assert.equal(noProfile.statusCode, 404);
    assert.equal(noProfile.json<{ code: string }>().code, 'PLINTH_DRIFT_PROFILE_NOT_FOUND');
  });

  it('stores a reference profile without raw rows and checks against it', async () => {
    const created = await app.inject({ method: 'POST', url: '/v1/drift/profiles', headers: h(key), payload: { name: 'baseline', data: { columns: columns(3, 3000, 0) }, calibrate: { chunks: 5 } } });
    assert.equal(created.statusCode, 201, created.body);
    const profile = created.json<{ id: string; rows: number; summary: { columns: Record<string, { type: string; calibrated?: { test: string } }> } }>();
    assert.equal(profile.rows, 3000);
    assert.equal(profile.summary.columns.plan!.type, 'cat');
    assert.equal(profile.summary.columns.score!.calibrated?.test, 'wasserstein');

    const got = await app.inject({ url: `/v1/drift/profiles/${profile.id}?full=true`, headers: h(key) });
    assert.equal(got.statusCode, 200);
    const full = got.json<{ profile: { columns: Record<string, { sketch?: string }> } }>();
    assert.ok(full.profile.columns.score!.sketch, 'the sketch is returned with full=true');
    assert.equal((await app.inject({ url: `/v1/drift/profiles/${profile.id}`, headers: h(otherKey) })).statusCode, 404);

    const check = await app.inject({ method: 'POST', url: '/v1/drift/checks', headers: h(key), payload: { reference: { profile_id: profile.id }, current: { columns: columns(4, 2000, 0) } } });
    assert.equal(check.statusCode, 201, check.body);
    const r = check.json<Result>();
    assert.equal(r.reference_profile_id, profile.id);
    assert.equal(r.dataset_drift, false);
  });

  it('offers drift_check and drift_report over MCP to keys with drift:run only', async () => {
    const server = await startServer(t.platform, { handleSignals: false, closePlatform: false });
    try {
      const url = `${server.url}/mcp`;
      const c = await connectV2(url, key, { mode: 'auto' });
      try {
        const names = (await c.client.listTools()).tools.map((x) => x.name);
        assert.ok(names.includes('drift_check') && names.includes('drift_report'), names.join(','));
        const check = await c.client.callTool({ name: 'drift_check', arguments: { reference: { columns: columns(7, 300, 0) }, current: { columns: columns(8, 300, 1) } } });
        assert.notEqual(check.isError, true, JSON.stringify(check.content));
        const r = check.structuredContent as Result;
        assert.equal(r.dataset_drift, true);
        const report = await c.client.callTool({ name: 'drift_report', arguments: { check_id: r.id } });
        assert.match((report.structuredContent as { html: string }).html, /^<!doctype html>/);
        const missing = await c.client.callTool({ name: 'drift_report', arguments: { check_id: '00000000-0000-4000-8000-000000000000' } });
        assert.equal(missing.isError, true);
        assert.match(JSON.stringify(missing.content), /PLINTH_DRIFT_CHECK_NOT_FOUND/);
      } finally {
        await c.close();
      }
      const m = await connectV2(url, memoryKey, { mode: 'auto' });
      try {
        assert.equal((await m.client.listTools()).tools.some((x) => x.name.startsWith('drift_')), false);
      } finally {
        await m.close();
      }
    } finally {
      await server.close();
    }
  });

  it('reads current data from the inference log by model and time window (scheduled-workflow call)', async () => {
    const rng = createRng(5);
    const base = Date.parse('2026-01-01T00:00:00Z');
    const records = (shift: number, from: number) =>
      Array.from({ length: 600 }, (_, i) => ({
        features: { age: Math.round(40 + 10 * rng.gauss() + shift * 10), plan: rng.next() < 0.3 + shift / 2 ? 'pro' : 'free' },
        prediction: { label: rng.next() < 0.5 ? 'yes' : 'no', p: rng.next() },
        created_at: new Date(from + i * 1000).toISOString(),
      }));
    const day1 = await app.inject({ method: 'POST', url: '/v1/drift/inference-log', headers: h(key), payload: { model: 'churn', records: records(0, base) } });
    assert.equal(day1.statusCode, 201, day1.body);
    assert.equal(day1.json<{ inserted: number }>().inserted, 600);
    await t.platform.drift.logInferences(tenantId, { model: 'churn', records: records(0.8, base + 86_400_000) });
    await t.platform.drift.logInferences(tenantId, { model: 'other', records: records(3, base + 86_400_000) });

    const profile = await t.platform.drift.createProfile(
      tenantId,
      { name: 'churn day 1', data: { source: 'inference_log', model: 'churn', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' } },
      { actor: 'test' },
    );
    assert.equal(profile.rows, 600);
    assert.deepEqual(Object.keys(profile.summary.columns as object).sort(), ['age', 'plan', 'prediction.label', 'prediction.p']);

    const window = (from: number) => ({ source: 'inference_log' as const, model: 'churn', from: new Date(from), to: new Date(from + 86_400_000) });
    const same = await t.platform.drift.check(tenantId, { reference: { profileId: profile.id }, current: window(base) }, { actor: 'workflow' });
    assert.equal(same.dataset_drift, false);
    assert.equal(same.current_rows, 600);
    const next = await t.platform.drift.check(tenantId, { reference: { profileId: profile.id }, current: window(base + 86_400_000) }, { actor: 'workflow' });
    assert.equal(next.columns.find((c) => c.column === 'age')?.drifted, true);
    assert.equal(next.columns.find((c) => c.column === 'plan')?.drifted, true);

    // Another tenant sees none of these rows.
    const foreign = await app.inject({
      method: 'POST',
      url: '/v1/drift/checks',
      headers: h(otherKey),
      payload: { reference: { source: 'inference_log', model: 'churn', from: '2026-01-01T00:00:00Z', to: '2026-01-03T00:00:00Z' }, current: { columns: { age: [1] } } },
    });
    assert.equal(foreign.statusCode, 422);
    assert.equal(foreign.json<{ code: string }>().code, 'PLINTH_DRIFT_INVALID_DATA');
  });
});
