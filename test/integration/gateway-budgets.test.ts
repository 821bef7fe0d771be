// Gateway limits and budgets per key and per tenant (requests and tokens per minute, tokens per
// UTC day), their per-tenant overrides over HTTP, the price table and the cost of each call in
// llm_usage and /v1/usage, and that refused calls never reach the usage table.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HASHING_MODEL } from '../../src/embeddings/index.js';
import { isPlinthError } from '../../src/errors.js';
import { loadPrices } from '../../src/gateway/index.js';
import { invokeKey, unreachableRedisEnv, useGatewayApp } from '../helpers/gateway.js';
import { startOllamaDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { ADAPTER } from '../helpers/platform.js';

interface ErrorBody {
  error: { code: string; type: string; message: string };
}
interface UsageRow {
  day: string | null;
  model: string | null;
  key_prefix: string | null;
  requests: number;
  errors: number;
  tokens_in: number;
  tokens_out: number;
  cost: number | null;
}

const PRICES = `
currency: EUR
models:
  llama3.2: { input: 2, output: 6 }
  qwen2.5: { input: 1, output: 1 }
deployments:
  ollama:
    qwen2.5:7b: { input: 10, output: 20 }
`;

describe(`gateway budgets and prices (${ADAPTER})`, () => {
  let ollama: LlmDouble;
  let dir: string;
  before(async () => {
    ollama = await startOllamaDouble({ models: ['llama3.2', 'qwen2.5:7b', 'mistral'] });
    dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-prices-'));
    writeFileSync(path.join(dir, 'prices.yaml'), PRICES);
  });
  const gw = useGatewayApp(() => ({
    OLLAMA_URL: ollama.url,
    EMBEDDINGS_PROVIDER: 'hashing',
    GATEWAY_CACHE: 'false',
    GATEWAY_MAX_PROMPT_CHARS: '2000',
    GATEWAY_PRICES_FILE: path.join(dir, 'prices.yaml'),
    // Defaults generous enough not to interfere; tests tighten them per tenant.
    GATEWAY_REQUESTS_PER_MINUTE: '1000',
    GATEWAY_TENANT_TOKENS_PER_DAY: '1000000',
  }));
  after(async () => {
    await ollama?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const chat = (key: string, payload: Record<string, unknown>) => gw.app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${key}` }, payload });
  const hello = (model = 'llama3.2', extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hello world' }], max_tokens: 10, ...extra });

  /** A tenant with an admin key and two llm:invoke keys. */
  async function tenant(name: string) {
    const { auth } = gw.t.platform;
    const tn = await auth.createTenant(name, { actor: 'test' });
    const admin = await auth.createKey(tn.id, { name: 'admin', scopes: ['admin'] }, { actor: 'test' });
    const a = await auth.createKey(tn.id, { name: 'a', scopes: ['llm:invoke'] }, { actor: 'test' });
    const b = await auth.createKey(tn.id, { name: 'b', scopes: ['llm:invoke'] }, { actor: 'test' });
    return { id: tn.id, admin: admin.key, a, b };
  }

  async function usageRows(tenantId: string): Promise<Array<{ outcome: string; error_code: string | null; model: string }>> {
    await gw.t.platform.gateway.flush();
    const res = await gw.t.platform.db.withTenant(tenantId, (tx) => tx.query<{ outcome: string; error_code: string | null; model: string }>('SELECT outcome, error_code, model FROM llm_usage'));
    return res.rows;
  }

  it('shares a tenant requests-per-minute limit across its keys: 3 + 3 calls, exactly 5 served', async () => {
    const { app } = gw;
    const tn = await tenant('rpm-tenant');
    const put = await app.inject({ method: 'PUT', url: '/v1/gateway/limits', headers: { authorization: `Bearer ${tn.admin}` }, payload: { tenant_requests_per_minute: 5 } });
    assert.equal(put.statusCode, 200, put.body);
    assert.equal(put.json<{ effective: { tenant_requests_per_minute: number } }>().effective.tenant_requests_per_minute, 5);
    const results = await Promise.all([...Array.from({ length: 3 }, () => chat(tn.a.key, hello())), ...Array.from({ length: 3 }, () => chat(tn.b.key, hello()))]);
    const codes = results.map((r) => r.statusCode).sort();
    assert.deepEqual(codes, [200, 200, 200, 200, 200, 429]);
    const limited = results.find((r) => r.statusCode === 429)!;
    const body = limited.json<ErrorBody>();
    assert.equal(body.error.code, 'PLINTH_RATE_LIMITED');
    assert.equal(body.error.type, 'rate_limit_error');
    assert.match(body.error.message, /this tenant/);
    assert.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 60);
    assert.equal(limited.headers['x-ratelimit-limit-requests'], '5', 'the tighter of key (1000) and tenant (5)');
    assert.equal(limited.headers['x-ratelimit-remaining-requests'], '0');
    const ok = results.find((r) => r.statusCode === 200)!;
    assert.match(String(ok.headers['x-ratelimit-reset-requests']), /^\d+s$/);
    assert.equal(ok.headers['x-ratelimit-limit-tokens-day'], '1000000');
    const rows = await usageRows(tn.id);
    assert.equal(rows.length, 5, 'the refused call is not in the usage table');
    assert.ok(rows.every((r) => r.outcome === 'ok'));
  });

  it('enforces a per-key daily token budget set by a root admin, settling reservations with real usage', async () => {
    const { t, app } = gw;
    const tn = await tenant('tpd-tenant');
    // Each call reserves ceil(11 / 4) = 3 prompt tokens + max_tokens 10 = 13, and uses 2 + 3 = 5.
    const put = await app.inject({ method: 'PUT', url: `/v1/admin/tenants/${tn.id}/limits`, headers: { authorization: `Bearer ${t.adminKey}` }, payload: { key_tokens_per_day: 20 } });
    assert.equal(put.statusCode, 200, put.body);
    const first = await chat(tn.a.key, hello());
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.headers['x-ratelimit-limit-tokens-day'], '20');
    assert.equal(first.headers['x-ratelimit-remaining-tokens-day'], '7', 'the reservation counts while the call runs');
    assert.equal((await chat(tn.a.key, hello())).statusCode, 200, '5 used + 13 reserved fit in 20');
    const refused = await chat(tn.a.key, hello());
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.json<ErrorBody>().error.code, 'PLINTH_BUDGET_EXCEEDED');
    assert.match(refused.json<ErrorBody>().error.message, /daily token budget of this API key \(20 tokens\)/);
    assert.equal(refused.headers['x-ratelimit-remaining-tokens-day'], '10');
    // Retry-After points at the next UTC midnight.
    const untilMidnight = Math.ceil((86_400_000 - (Date.now() % 86_400_000)) / 1000);
    assert.ok(Math.abs(Number(refused.headers['retry-after']) - untilMidnight) <= 5, `${String(refused.headers['retry-after'])} vs ${untilMidnight}`);
    assert.equal((await chat(tn.b.key, hello())).statusCode, 200, 'another key of the tenant has its own budget');
    assert.equal(await t.platform.gateway.reservedTokens(tn.a.id), 0);
    // A tenant budget switched on mid-day already knows the day's usage (15 tokens so far).
    const tenantBudget = await app.inject({ method: 'PUT', url: `/v1/admin/tenants/${tn.id}/limits`, headers: { authorization: `Bearer ${t.adminKey}` }, payload: { key_tokens_per_day: 20, tenant_tokens_per_day: 25 } });
    assert.equal(tenantBudget.statusCode, 200);
    const overTenant = await chat(tn.b.key, hello());
    assert.equal(overTenant.statusCode, 429);
    assert.match(overTenant.json<ErrorBody>().error.message, /budget of this tenant \(25 tokens\)/);
    const rows = await usageRows(tn.id);
    assert.equal(rows.length, 3);
    const audit = await t.platform.auth.listAudit(tn.id, { limit: 100 });
    assert.equal(audit.filter((e) => e.action === 'gateway.limits_set').length, 2, 'each change is audited in the tenant');
  });

  it('does not record refused calls (limits, bad input, unknown model, too large) as completed', async () => {
    const { t, app } = gw;
    const tn = await tenant('refused-tenant');
    await app.inject({ method: 'PUT', url: '/v1/gateway/limits', headers: { authorization: `Bearer ${tn.admin}` }, payload: { key_requests_per_minute: 1 } });
    assert.equal((await chat(tn.a.key, hello())).statusCode, 200);
    const refusals = await Promise.all([
      chat(tn.a.key, hello()),
      chat(tn.b.key, { model: 'llama3.2', messages: [] }),
      chat(tn.b.key, { model: 'llama3.2', messages: [{ role: 'user', content: 'x' }], temperature: 7 }),
      chat(tn.b.key, hello('no-such-model')),
      chat(tn.b.key, { model: 'llama3.2', messages: [{ role: 'user', content: 'x'.repeat(3000) }] }),
      app.inject({ method: 'POST', url: '/v1/embeddings', headers: { authorization: `Bearer ${tn.b.key}` }, payload: { model: 'not-the-embedder', input: 'x' } }),
    ]);
    assert.deepEqual(
      refusals.map((r) => [r.statusCode, r.json<ErrorBody>().error.code]),
      [
        [429, 'PLINTH_RATE_LIMITED'],
        [400, 'PLINTH_VALIDATION_FAILED'],
        [400, 'PLINTH_VALIDATION_FAILED'],
        [404, 'PLINTH_MODEL_NOT_FOUND'],
        [413, 'PLINTH_PROMPT_TOO_LARGE'],
        [404, 'PLINTH_MODEL_NOT_FOUND'],
      ],
    );
    const rows = await usageRows(tn.id);
    assert.deepEqual(rows.map((r) => r.outcome), ['ok']);
    assert.equal(await t.platform.gateway.reservedTokens(tn.b.id), 0);
  });

  it('computes the cost of each call from the price table, per model and deployment, and aggregates it', async () => {
    const { t, app } = gw;
    const tn = await tenant('cost-tenant');
    for (const model of ['llama3.2', 'llama3.2', 'qwen2.5:7b', 'mistral']) assert.equal((await chat(tn.a.key, hello(model))).statusCode, 200);
    assert.equal((await chat(tn.b.key, hello())).statusCode, 200);
    const res = await app.inject({ url: '/v1/usage?group_by=model', headers: { authorization: `Bearer ${tn.a.key}` } });
    assert.equal(res.statusCode, 200, res.body);
    const byModel = new Map(res.json<{ usage: UsageRow[] }>().usage.map((r) => [r.model, r]));
    // 2 tokens in, 3 out per call: llama3.2 at 2 / 6 per 1M tokens; qwen2.5:7b on ollama at the
    // deployment's 10 / 20 (not the model's 1 / 1); mistral has no price.
    assert.equal(byModel.get('llama3.2')?.requests, 3);
    assert.ok(Math.abs(byModel.get('llama3.2')!.cost! - 3 * 22e-6) < 1e-12, String(byModel.get('llama3.2')?.cost));
    assert.ok(Math.abs(byModel.get('qwen2.5:7b')!.cost! - 80e-6) < 1e-12, String(byModel.get('qwen2.5:7b')?.cost));
    assert.equal(byModel.get('mistral')?.cost, null, 'unknown, not free');
    assert.equal(byModel.get('llama3.2')?.day, null, 'not grouped by day');

    const byKey = (await app.inject({ url: '/v1/usage?group_by=key', headers: { authorization: `Bearer ${tn.a.key}` } })).json<{ usage: UsageRow[] }>().usage;
    assert.deepEqual(byKey.map((r) => [r.key_prefix, r.requests]).sort(), [[tn.a.prefix, 4], [tn.b.prefix, 1]].sort());
    const byDay = (await app.inject({ url: '/v1/usage?group_by=day,model,key&model=llama3.2', headers: { authorization: `Bearer ${tn.a.key}` } })).json<{ usage: UsageRow[] }>().usage;
    assert.equal(byDay.length, 2);
    assert.ok(byDay.every((r) => r.day === new Date().toISOString().slice(0, 10) && r.model === 'llama3.2'));
    const bad = await app.inject({ url: '/v1/usage?group_by=tenant', headers: { authorization: `Bearer ${tn.a.key}` } });
    assert.equal(bad.statusCode, 400);

    const metrics = await t.platform.collectMetrics();
    const line = metrics.split('\n').find((l) => l.startsWith('plinth_llm_cost_total{') && l.includes('model="qwen2.5:7b"'));
    assert.ok(line?.includes('currency="EUR"') && line.includes('upstream="ollama"'), line);
    assert.ok(Number(line?.split(' ').at(-1)) >= 80e-6);
  });

  it('serves and checks the limits API: defaults, validation, scopes, root-only admin route', async () => {
    const { t, app } = gw;
    const tn = await tenant('api-tenant');
    const admin = { authorization: `Bearer ${tn.admin}` };
    const got = await app.inject({ url: '/v1/gateway/limits', headers: admin });
    assert.equal(got.statusCode, 200);
    const l = got.json<{ effective: Record<string, number>; overrides: Record<string, number | null>; defaults: Record<string, number> }>();
    assert.equal(l.defaults.key_requests_per_minute, 1000);
    assert.equal(l.effective.tenant_tokens_per_day, 1_000_000);
    assert.equal(l.overrides.tenant_tokens_per_day, null);
    const bad = await app.inject({ method: 'PUT', url: '/v1/gateway/limits', headers: admin, payload: { key_tokens_per_day: -1 } });
    assert.equal(bad.statusCode, 400);
    const unknown = await app.inject({ method: 'PUT', url: '/v1/gateway/limits', headers: admin, payload: { tokens: 5 } });
    assert.equal(unknown.statusCode, 400);
    assert.equal((await app.inject({ method: 'PUT', url: '/v1/gateway/limits', headers: { authorization: `Bearer ${tn.a.key}` }, payload: {} })).statusCode, 403);
    const notRoot = await app.inject({ method: 'PUT', url: `/v1/admin/tenants/${tn.id}/limits`, headers: admin, payload: {} });
    assert.equal(notRoot.statusCode, 403, 'a tenant admin cannot use the root admin route');
    const missing = await app.inject({ method: 'GET', url: '/v1/admin/tenants/no-such-tenant/limits', headers: { authorization: `Bearer ${t.adminKey}` } });
    assert.equal(missing.statusCode, 404);
    // 0 lifts the default; a PUT replaces, so a field left out returns to its default.
    await app.inject({ method: 'PUT', url: '/v1/gateway/limits', headers: admin, payload: { tenant_tokens_per_day: 0, key_requests_per_minute: 7 } });
    const after1 = (await app.inject({ url: '/v1/gateway/limits', headers: admin })).json<{ effective: Record<string, number> }>();
    assert.equal(after1.effective.tenant_tokens_per_day, 0);
    assert.equal(after1.effective.key_requests_per_minute, 7);
    const after2 = (await app.inject({ method: 'PUT', url: '/v1/gateway/limits', headers: admin, payload: { key_requests_per_minute: null } })).json<{ effective: Record<string, number> }>();
    assert.equal(after2.effective.tenant_tokens_per_day, 1_000_000);
    assert.equal(after2.effective.key_requests_per_minute, 1000);
    // Row-level security: another tenant's admin reads its own row only.
    const other = await tenant('api-other');
    const otherView = (await app.inject({ url: '/v1/gateway/limits', headers: { authorization: `Bearer ${other.admin}` } })).json<{ tenant_id: string; updated_at: string | null }>();
    assert.equal(otherView.tenant_id, other.id);
    assert.equal(otherView.updated_at, null);
  });
});

describe('price table file', () => {
  it('rejects a bad file with the field that is wrong, and prices by deployment, model, model without tag, default', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-prices-'));
    try {
      const bad = path.join(dir, 'bad.json');
      writeFileSync(bad, JSON.stringify({ models: { m: { input: -1, output: 1 } } }));
      assert.throws(() => loadPrices(bad), (err: unknown) => isPlinthError(err, 'CONFIG_INVALID') && /models\.m\.input/.test(err.message));
      assert.throws(() => loadPrices(path.join(dir, 'missing.yaml')), (err: unknown) => isPlinthError(err, 'CONFIG_INVALID') && /cannot read/.test(err.message));
      const good = path.join(dir, 'good.json');
      writeFileSync(good, JSON.stringify({ default: { input: 1, output: 1 }, models: { llama3: { input: 3, output: 4 } }, deployments: { cloud: { '*': { input: 100, output: 100 } } } }));
      const p = loadPrices(good);
      assert.equal(p.cost('llama3:8b', 'local', 1_000_000, 500_000), 5, 'a tagged name falls back to the bare model');
      assert.equal(p.cost('llama3', 'cloud', 1000, 0), 0.1, 'the deployment wildcard wins');
      assert.equal(p.cost('other', null, 2_000_000, 0), 2, 'the default');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Fail-open is covered by gateway-limits.test.ts; here: a fail-closed refusal leaves no usage row.
for (const failOpen of [false]) {
  describe(`budgets with Redis unreachable, fail-${failOpen ? 'open' : 'closed'} (${ADAPTER})`, () => {
    const gw = useGatewayApp(async () => ({
      ...(await unreachableRedisEnv()),
      EMBEDDINGS_PROVIDER: 'hashing',
      GATEWAY_TENANT_TOKENS_PER_DAY: '100000',
      GATEWAY_LIMITS_FAIL_OPEN: String(failOpen),
    }));

    it(failOpen ? 'serves and records the call' : 'answers 503 and records nothing', async () => {
      const { t, app } = gw;
      const tenant = await t.platform.auth.getTenant('default');
      const k = await invokeKey(t, 'x');
      const res = await app.inject({ method: 'POST', url: '/v1/embeddings', headers: { authorization: `Bearer ${k.key}` }, payload: { model: HASHING_MODEL, input: 'budget' } });
      await t.platform.gateway.flush();
      const rows = await t.platform.db.withTenant(tenant.id, (tx) => tx.query<{ outcome: string }>('SELECT outcome FROM llm_usage'));
      if (failOpen) {
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual(rows.rows.map((r) => r.outcome), ['ok']);
      } else {
        assert.equal(res.statusCode, 503);
        assert.equal(res.json<ErrorBody>().error.code, 'PLINTH_LIMITS_UNAVAILABLE');
        assert.equal(res.headers['retry-after'], '1');
        assert.equal(rows.rows.length, 0);
      }
    });
  });
}
