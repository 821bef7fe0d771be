// Data rights across the platform: export and erasure by user reach memories, documents, LLM
// usage records, cached completions and the audit trail; erasure of a tenant also empties its
// inference log; the retention sweep deletes by age per tenant, audited, and is idempotent.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Tx } from '../../src/db/index.js';
import { buildApp } from '../../src/http/app.js';
import { userCacheTag } from '../../src/memory/rights.js';
import { runRetention } from '../../src/ops/retention.js';
import { startOllamaDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

const MAIN = path.resolve('src/cli/main.ts');
const ACTOR = { actor: 'test' };
const DAY = 86_400_000;

describe(`data rights and retention (${ADAPTER})`, () => {
  let t: TestPlatform;
  let ollama: LlmDouble;
  let tenantId: string;
  let otherId: string;

  before(async () => {
    ollama = await startOllamaDouble({ models: ['llama3.2'] });
    t = await startTestPlatform({ OLLAMA_URL: ollama.url, EMBEDDINGS_PROVIDER: 'hashing' });
    tenantId = (await t.platform.auth.getTenant('default')).id;
    otherId = (await t.platform.auth.createTenant('other-co', ACTOR)).id;
  });
  after(async () => {
    await t?.close();
    await ollama?.close();
  });

  const inTenant = <T>(id: string, fn: (tx: Tx) => Promise<T>) => t.platform.db.withTenant(id, fn);
  const usage = (id: string, userId: string | null, ageDays = 0) =>
    inTenant(id, (tx) =>
      tx.query(
        `INSERT INTO llm_usage (tenant_id, key_prefix, endpoint, model, upstream, outcome, cache, tokens_in, tokens_out, latency_ms, user_id, created_at)
         VALUES ($1, 'plk_test', 'chat', 'llama3', 'ollama', 'ok', 'miss', 10, 5, 12, $2, $3)`,
        [id, userId, new Date(Date.now() - ageDays * DAY).toISOString()],
      ),
    );
  const count = async (id: string, sql: string, values: unknown[] = []) => Number((await inTenant(id, (tx) => tx.query<{ n: string }>(sql, [id, ...values]))).rows[0]!.n);

  it('exports everything held about a user — memories, documents, usage, and the audit entries about them — and nothing of anyone else', async () => {
    const [kept, gone] = await t.platform.memory.add(tenantId, { memories: [{ text: 'Ana prefers tea.', user_id: 'ana' }, { text: 'Ana moved to Porto.', user_id: 'ana' }] }, ACTOR);
    await t.platform.memory.add(tenantId, { memories: [{ text: 'Ben prefers coffee.', user_id: 'ben' }] }, ACTOR);
    await t.platform.memory.delete(tenantId, gone!.id, ACTOR);
    const { document } = await t.platform.documents.ingest(tenantId, { name: 'ana.md', content: '# Ana\n\nNotes about Ana.', user_id: 'ana' }, ACTOR);
    await usage(tenantId, 'ana');
    await usage(tenantId, 'ana');
    await usage(tenantId, 'ben');
    await usage(tenantId, null);

    const lines = (await t.platform.rights.export(tenantId, { user_id: 'ana' }, ACTOR)).map((l) => JSON.parse(l) as Record<string, unknown>);
    const byType = (type: string) => lines.filter((l) => l.type === type);
    assert.deepEqual(byType('memory').map((m) => m.id), [kept!.id]);
    assert.equal(byType('llm_usage').length, 2);
    assert.ok(byType('llm_usage').every((u) => u.user_id === 'ana' && u.tokens_in === 10));
    const audit = byType('audit');
    assert.ok(audit.some((a) => a.action === 'document.created' && a.target === document.id), 'the ingestion of her document');
    // A record already deleted is no longer known to be hers: its audit entry is not found.
    assert.ok(!audit.some((a) => a.target === gone!.id));
    assert.ok(!audit.some((a) => a.action === 'key.created' || a.action === 'tenant.created'), 'no unrelated entries');
    assert.ok(!JSON.stringify(lines).includes('Ben prefers'), 'nothing about ben');

    // A later export lists the earlier one as an audit entry about the same user.
    const second = (await t.platform.rights.export(tenantId, { user_id: 'ana' }, ACTOR)).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(second.some((l) => l.type === 'audit' && l.action === 'data.exported' && l.target === JSON.stringify({ user_id: 'ana' })));
    // The whole tenant: every usage record and every audit entry.
    const all = (await t.platform.rights.export(tenantId, { all: true }, ACTOR)).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(all.filter((l) => l.type === 'llm_usage').length, 4);
    assert.ok(all.some((l) => l.type === 'audit' && l.action === 'tenant.created'));
  });

  it('erases a user everywhere in one transaction, audited, and drops the completions cached for them', async () => {
    const invalidated: Array<{ tenantId: string; tag?: string }> = [];
    const cache = t.platform.gateway;
    const original = cache.invalidateCache.bind(cache);
    cache.invalidateCache = async (id, target) => {
      invalidated.push({ tenantId: id, ...target });
      return original(id, target);
    };
    try {
      const r = await t.platform.rights.erase(tenantId, { user_id: 'ana' }, ACTOR);
      assert.deepEqual(r, { memories: 1, memory_versions: 1, documents: 1, chunks: 1, usage_records: 2, inference_log_rows: 0, cache_invalidated: true });
      assert.deepEqual(invalidated, [{ tenantId, tag: userCacheTag('ana') }]);
    } finally {
      cache.invalidateCache = original;
    }
    assert.equal(await count(tenantId, "SELECT count(*) AS n FROM llm_usage WHERE tenant_id = $1 AND user_id = 'ana'"), 0);
    assert.equal(await count(tenantId, "SELECT count(*) AS n FROM llm_usage WHERE tenant_id = $1 AND user_id = 'ben'"), 1, "ben's usage stays");
    assert.equal(await count(tenantId, "SELECT count(*) AS n FROM memories WHERE tenant_id = $1 AND user_id = 'ben'"), 1);
    const audit = await t.platform.auth.listAudit(tenantId, { limit: 500 });
    const entry = audit.find((e) => e.action === 'data.erased');
    assert.equal(entry?.target, JSON.stringify({ user_id: 'ana' }));
    assert.equal((entry?.details as { usage_records?: number }).usage_records, 2);
    // Erasing again finds nothing and still succeeds.
    const again = await t.platform.rights.erase(tenantId, { user_id: 'ana' }, ACTOR);
    assert.equal(again.memories + again.usage_records, 0);
  });

  it('records the end user of gateway calls, and erasing that user removes the usage and drops the answers cached for them', async () => {
    const app = await buildApp(t.platform);
    try {
      const key = (await t.platform.auth.createKey(tenantId, { name: 'llm', scopes: ['llm:invoke'] }, ACTOR)).key;
      const chat = (user: string) =>
        app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${key}` }, payload: { model: 'llama3.2', temperature: 0, user, messages: [{ role: 'user', content: 'what is a plinth' }] } });
      assert.equal((await chat('dora')).headers['x-plinth-cache'], 'miss');
      assert.equal((await chat('dora')).headers['x-plinth-cache'], 'exact');
      await t.platform.gateway.flush();
      const exported = (await t.platform.rights.export(tenantId, { user_id: 'dora' }, ACTOR)).map((l) => JSON.parse(l) as { type: string; user_id?: string; cache?: string });
      assert.deepEqual(exported.filter((l) => l.type === 'llm_usage').map((l) => `${l.user_id}:${l.cache}`), ['dora:miss', 'dora:exact']);

      const r = await t.platform.rights.erase(tenantId, { user_id: 'dora' }, ACTOR);
      assert.equal(r.usage_records, 2);
      assert.equal(r.cache_invalidated, true);
      assert.equal((await chat('dora')).headers['x-plinth-cache'], 'miss', 'the answer cached for dora is gone');
    } finally {
      await app.close();
    }
  });

  it("keeps a user's usage when only one of their agents is erased: usage carries no agent", async () => {
    await usage(tenantId, 'eve');
    const r = await t.platform.rights.erase(tenantId, { user_id: 'eve', agent_id: 'bot' }, ACTOR);
    assert.equal(r.usage_records, 0);
    assert.equal(r.cache_invalidated, false);
    assert.equal(await count(tenantId, "SELECT count(*) AS n FROM llm_usage WHERE tenant_id = $1 AND user_id = 'eve'"), 1);
  });

  it('erases a whole tenant including its inference log, leaving other tenants alone', async () => {
    for (const id of [tenantId, otherId]) {
      await inTenant(id, (tx) => tx.query(`INSERT INTO inference_log (tenant_id, model, features) VALUES ($1, 'churn', '{"x": 1}'), ($1, 'churn', '{"x": 2}')`, [id]));
      await usage(id, 'someone');
    }
    const r = await t.platform.rights.erase(otherId, { all: true }, ACTOR);
    assert.equal(r.inference_log_rows, 2);
    assert.equal(r.usage_records, 1);
    assert.equal(await count(otherId, 'SELECT count(*) AS n FROM inference_log WHERE tenant_id = $1'), 0);
    assert.equal(await count(tenantId, 'SELECT count(*) AS n FROM inference_log WHERE tenant_id = $1'), 2, 'the other tenant keeps its log');
  });

  it('deletes by age per tenant with the configured policy, audited, and a repeat deletes nothing more', async () => {
    const at = new Date();
    const old = new Date(at.getTime() - 40 * DAY).toISOString();
    for (const id of [tenantId, otherId]) {
      await t.platform.memory.add(id, { memories: [{ text: `long expired ${id}`, user_id: 'ret' }, { text: `recently expired ${id}`, user_id: 'ret' }, { text: `live ${id}`, user_id: 'ret' }] }, ACTOR);
      await inTenant(id, async (tx) => {
        await tx.query(`UPDATE memories SET expires_at = $2 WHERE tenant_id = $1 AND text LIKE 'long expired%'`, [id, old]);
        await tx.query(`UPDATE memories SET expires_at = $2 WHERE tenant_id = $1 AND text LIKE 'recently expired%'`, [id, new Date(at.getTime() - DAY).toISOString()]);
        await tx.query(`INSERT INTO inference_log (tenant_id, model, features, created_at) VALUES ($1, 'churn', '{"x": 3}', $2)`, [id, old]);
      });
      await usage(id, 'ret', 100);
      await usage(id, 'ret', 1);
    }
    const policy = { ...t.config.retention, expiredMemoriesDays: 30, usageDays: 90, inferenceLogDays: 30, driftChecksDays: 0 };
    const r = await runRetention(t.platform.db, policy, { actor: 'system:retention' }, at);
    for (const id of [tenantId, otherId]) {
      const row = r.tenants.find((x) => x.tenant_id === id)!;
      assert.deepEqual({ ...row, tenant_id: undefined, tenant: undefined }, { tenant_id: undefined, tenant: undefined, expired_memories: 1, usage_records: 1, inference_log_rows: 1, drift_checks: 0, monitor_checks: 0 });
      assert.equal(await count(id, "SELECT count(*) AS n FROM memories WHERE tenant_id = $1 AND user_id = 'ret'"), 2, 'the recently expired and the live memory stay');
      const audit = await t.platform.auth.listAudit(id, { limit: 500 });
      assert.ok(audit.some((e) => e.action === 'data.retention' && e.actor === 'system:retention' && e.target === at.toISOString()));
    }
    const again = await runRetention(t.platform.db, policy, { actor: 'system:retention' }, at);
    assert.deepEqual(again.totals, { expired_memories: 0, usage_records: 0, inference_log_rows: 0, drift_checks: 0, monitor_checks: 0 });
    const off = await runRetention(t.platform.db, t.config.retention, { actor: 'system:retention' }, at);
    assert.deepEqual(off.tenants, [], 'no age set: the sweep does nothing');
  });

  it('offers the same through the CLI: plinth export, plinth erase and plinth retention run', () => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('PLINTH_') && k !== 'DATABASE_URL') env[k] = v;
    const plinth = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...env, ...t.env.env, LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 60_000 });
    const exp = plinth(['export', '--user-id', 'ben']);
    assert.equal(exp.status, 0, exp.stderr);
    const types = exp.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
    assert.ok(types.includes('memory') && types.includes('llm_usage'), types.join(','));
    const erased = plinth(['erase', '--user-id', 'ben', '--json']);
    assert.equal(erased.status, 0, erased.stderr);
    assert.equal((JSON.parse(erased.stdout) as { usage_records: number }).usage_records, 1);
    const noAge = plinth(['retention', 'run']);
    assert.equal(noAge.status, 1);
    assert.match(noAge.stderr, /PLINTH_VALIDATION_FAILED/);
    const run = plinth(['retention', 'run', '--usage-days', '1', '--json']);
    assert.equal(run.status, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { totals: { usage_records: number } }).totals.usage_records, 2, 'the two one-day-old rows left by the sweep above');
  });
});
