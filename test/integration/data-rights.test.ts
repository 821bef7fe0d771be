// Data rights across the platform: export and erasure by user reach memories, documents, LLM
// usage records, cached completions and the audit trail; erasure of a tenant also empties its
// inference log and removes its finished workflows from Plinth's tables and the workflow
// engine's (refused while one runs); no workflow kind stores an end user, agent or session; the
// retention sweep deletes by age per tenant, audited, and is idempotent.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Tx } from '../../src/db/index.js';
import { isPlinthError } from '../../src/errors.js';
import { buildApp } from '../../src/http/app.js';
import { userCacheTag } from '../../src/memory/rights.js';
import { runRetention } from '../../src/ops/retention.js';
import { RETENTION_WORKFLOW, RETRAIN_WORKFLOW, TICK_WORKFLOW } from '../../src/workflows/dbos.js';
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

// A training command: waits for WAIT_FILE when given (a run that is still going), then reports.
// It stops waiting when the test's directory is gone, so an interrupted test leaves no process.
const TRAIN_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const wait = process.env.WAIT_FILE;
if (wait) {
  const end = Date.now() + 90000;
  while (!fs.existsSync(wait) && fs.existsSync(path.dirname(wait)) && Date.now() < end) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
}
const acc = Number(process.env.ACCURACY);
console.log(JSON.stringify({ run_id: 'run-' + acc, source: 'file:///models/' + acc, metrics: { accuracy: acc } }));
`;
const SCOPE_KEYS = new Set(['user_id', 'userId', 'user', 'agent_id', 'agentId', 'session_id', 'sessionId']);

function keysOf(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const v of value) keysOf(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.add(k);
      keysOf(v, out);
    }
  }
  return out;
}

describe(`data rights over workflows (${ADAPTER})`, { timeout: 240_000 }, () => {
  let t: TestPlatform;
  let dir: string;
  let script: string;
  let tenantId: string;
  let otherId: string;
  const gate = [{ metric: 'accuracy', direction: 'max' as const, min_improvement: 0 }];
  const schema = () => `"${t.config.workflows.schema}"`;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-rights-wf-'));
    script = path.join(dir, 'train.cjs');
    writeFileSync(script, TRAIN_SCRIPT);
    // Both scheduled workflows fire every two seconds, so each kind has stored inputs to inspect.
    t = await startTestPlatform(
      { WORKFLOWS_ALLOWED_COMMANDS: process.execPath, WORKFLOWS_MONITOR_TICK: '*/2 * * * * *', RETENTION_SCHEDULE: '*/2 * * * * *', LOG_LEVEL: 'warn' },
      { workflows: 'executor', logLevel: 'warn' },
    );
    tenantId = (await t.platform.auth.getTenant('default')).id;
    otherId = (await t.platform.auth.createTenant('keeps-co', ACTOR)).id;
  });
  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const retrain = async (tenant: string, accuracy: number, env: Record<string, string> = {}) =>
    (await t.platform.workflows.startRetrain(tenant, { model: 'churn', trigger: 'manual', action: { type: 'command', command: process.execPath, args: [script], env: { ACCURACY: String(accuracy), ...env } }, gate }, ACTOR)).workflow_id;
  const waitDone = async (tenant: string, id: string) => {
    const w = await t.platform.workflows.wait({ tenantId: tenant, root: false }, id, 90_000);
    assert.equal(w.status, 'SUCCESS', JSON.stringify(w));
    return w;
  };
  const system = <T>(fn: (tx: Tx) => Promise<T>) => t.platform.db.withSystem(fn);
  /** Rows of every table of the engine whose text mentions `needle` (ids, inputs, outputs, steps). */
  const engineRowsMentioning = (needle: string) =>
    system(async (tx) => {
      const tables = await tx.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'`, [t.config.workflows.schema]);
      let n = 0;
      for (const { table_name } of tables.rows) n += Number((await tx.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema()}."${table_name}" r WHERE r::text LIKE $1`, [`%${needle}%`])).rows[0]!.n);
      return n;
    });
  const runCount = async (tenant: string) => Number((await t.platform.db.withTenant(tenant, (tx) => tx.query<{ n: string }>('SELECT count(*) AS n FROM retraining_runs'))).rows[0]!.n);

  it('stores no end user, agent or session in the inputs of any workflow kind, and a user subject touches no workflow', async () => {
    const id = await retrain(tenantId, 0.8);
    await waitDone(tenantId, id);
    const deadline = Date.now() + 60_000;
    let inputs: Array<{ name: string; inputs: string }> = [];
    for (;;) {
      inputs = (
        await system((tx) =>
          tx.query<{ name: string; inputs: string }>(
            `SELECT ws.name, COALESCE(wi.inputs, ws.inputs) AS inputs FROM ${schema()}.workflow_status ws LEFT JOIN ${schema()}.workflow_input wi ON wi.workflow_uuid = ws.workflow_uuid`,
          ),
        )
      ).rows;
      if ([TICK_WORKFLOW, RETENTION_WORKFLOW].every((n) => inputs.some((r) => r.name === n)) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const kinds = new Set(inputs.map((r) => r.name));
    for (const kind of [RETRAIN_WORKFLOW, TICK_WORKFLOW, RETENTION_WORKFLOW]) assert.ok(kinds.has(kind), `a ${kind} workflow ran: ${[...kinds].join(', ')}`);
    for (const row of inputs) {
      assert.ok(row.inputs, `${row.name} has stored inputs`);
      const keys = keysOf(JSON.parse(row.inputs));
      assert.deepEqual([...keys].filter((k) => SCOPE_KEYS.has(k)), [], `${row.name} inputs name no user, agent or session: ${row.inputs}`);
    }
    // The retraining request Plinth keeps with the run: the same fields.
    const request = (await t.platform.db.withTenant(tenantId, (tx) => tx.query<{ request: unknown }>('SELECT request FROM retraining_runs WHERE workflow_id = $1', [id]))).rows[0]!.request;
    assert.equal((request as { model: string }).model, 'churn');
    assert.deepEqual([...keysOf(request)].filter((k) => SCOPE_KEYS.has(k)), []);

    // So a user's export lists no workflow and a user's erasure leaves them all.
    await t.platform.memory.add(tenantId, { memories: [{ text: 'Una likes trains.', user_id: 'una' }] }, ACTOR);
    const before = await engineRowsMentioning(tenantId);
    const lines = (await t.platform.rights.export(tenantId, { user_id: 'una' }, ACTOR)).map((l) => JSON.parse(l) as { type: string });
    assert.deepEqual(lines.filter((l) => l.type === 'workflow'), []);
    const r = await t.platform.rights.erase(tenantId, { user_id: 'una' }, ACTOR);
    assert.equal(r.memories, 1);
    assert.equal(r.workflows, undefined, 'a user subject reports no workflow counts');
    assert.equal(await runCount(tenantId), 1);
    assert.equal(await engineRowsMentioning(tenantId), before);
  });

  it("exports a tenant's workflows with their inputs, steps and outcome, and none of another tenant's", async () => {
    const otherRun = await retrain(otherId, 0.7);
    await waitDone(otherId, otherRun);
    const lines = (await t.platform.rights.export(tenantId, { all: true }, ACTOR)).map((l) => JSON.parse(l) as Record<string, unknown>);
    const workflows = lines.filter((l) => l.type === 'workflow') as Array<{
      workflow_id: string;
      name: string;
      status: string;
      created_at: string;
      updated_at: string;
      inputs: Array<{ tenantId: string; model: string; action: { env: Record<string, string> } }>;
      output: { status: string };
      steps: Array<{ name: string; output: unknown }>;
      retraining: { status: string; request: { model: string } };
    }>;
    assert.equal(workflows.length, 1);
    const [w] = workflows;
    assert.match(w!.workflow_id, new RegExp(`^retrain:${tenantId}:manual:`));
    assert.equal(w!.name, RETRAIN_WORKFLOW);
    assert.equal(w!.status, 'SUCCESS');
    assert.ok(Date.parse(w!.created_at) <= Date.parse(w!.updated_at));
    assert.equal(w!.inputs[0]!.tenantId, tenantId);
    assert.equal(w!.inputs[0]!.model, 'churn');
    assert.deepEqual(w!.inputs[0]!.action.env, { ACCURACY: '0.8' });
    assert.equal(w!.output.status, 'promoted');
    assert.deepEqual(w!.steps.find((st) => st.name === 'train')?.output, { runId: 'run-0.8', source: 'file:///models/0.8', metrics: { accuracy: 0.8 } });
    assert.equal(w!.retraining.status, 'promoted');
    assert.equal(w!.retraining.request.model, 'churn');
    assert.ok(!JSON.stringify(lines).includes(otherId), "nothing of the other tenant's workflow");
    const audit = await t.platform.auth.listAudit(tenantId, { limit: 500 });
    const exported = audit.find((e) => e.action === 'data.exported' && e.target === JSON.stringify({ all: true }));
    assert.equal(exported?.details.workflows, 1);
  });

  it("refuses to erase a tenant while one of its workflows runs, then erases its workflows everywhere, audited, leaving another tenant's", async () => {
    await t.platform.memory.add(tenantId, { memories: [{ text: 'The whole tenant goes.', user_id: 'zed' }] }, ACTOR);
    const release = path.join(dir, 'release');
    const running = await retrain(tenantId, 0.9, { WAIT_FILE: release });
    const deadline = Date.now() + 60_000;
    while ((await t.platform.workflows.getWorkflow({ tenantId, root: false }, running)).retraining?.status !== 'training') {
      assert.ok(Date.now() < deadline, 'the run starts training');
      await new Promise((r) => setTimeout(r, 100));
    }
    const engineBefore = await engineRowsMentioning(tenantId);
    await assert.rejects(
      () => t.platform.rights.erase(tenantId, { all: true }, ACTOR),
      (err: unknown) => isPlinthError(err, 'CONFLICT') && (err.extra.running_workflows as string[]).includes(running) && /still running/.test(err.message),
    );
    // Refused before anything was deleted.
    assert.equal(await runCount(tenantId), 2);
    assert.ok((await engineRowsMentioning(tenantId)) >= engineBefore);
    assert.equal(Number((await t.platform.db.withTenant(tenantId, (tx) => tx.query<{ n: string }>("SELECT count(*) AS n FROM memories WHERE user_id = 'zed'"))).rows[0]!.n), 1);

    writeFileSync(release, '');
    await waitDone(tenantId, running);
    const otherRuns = await runCount(otherId);
    const otherEngine = await engineRowsMentioning(otherId);
    assert.ok(otherEngine > 0);

    const r = await t.platform.rights.erase(tenantId, { all: true }, ACTOR);
    assert.equal(r.workflows, 2);
    assert.equal(r.retraining_runs, 2);
    assert.ok((r.workflow_engine_rows ?? 0) >= 2 * 10, `status, inputs, output and the steps of two runs: ${r.workflow_engine_rows}`);
    assert.equal(r.memories, 1);
    assert.equal(await runCount(tenantId), 0);
    assert.equal(await engineRowsMentioning(tenantId), 0, "no engine row keeps the tenant's workflow ids, inputs, outputs or steps");
    assert.deepEqual(await t.platform.workflows.listWorkflows({ tenantId, root: false }, { limit: 50, offset: 0 }), []);
    // The other tenant keeps its workflow.
    assert.equal(await runCount(otherId), otherRuns);
    assert.equal(await engineRowsMentioning(otherId), otherEngine);
    assert.equal((await t.platform.workflows.getWorkflow({ tenantId: otherId, root: false }, (await t.platform.rights.export(otherId, { all: true }, ACTOR)).map((l) => JSON.parse(l) as { type: string; workflow_id?: string }).find((l) => l.type === 'workflow')!.workflow_id!)).status, 'SUCCESS');

    const audit = await t.platform.auth.listAudit(tenantId, { limit: 500 });
    const erased = audit.filter((e) => e.action === 'data.erased' && e.target === JSON.stringify({ all: true }));
    assert.equal(erased.length, 1, 'the refused attempt left no entry');
    const details = erased[0]!.details;
    assert.deepEqual([details.workflows, details.retraining_runs, details.workflow_engine_rows], [2, 2, r.workflow_engine_rows]);
    // A repeat finds nothing more; the tenant can run workflows again.
    const again = await t.platform.rights.erase(tenantId, { all: true }, ACTOR);
    assert.deepEqual([again.workflows, again.retraining_runs, again.workflow_engine_rows], [0, 0, 0]);
    await waitDone(tenantId, await retrain(tenantId, 0.6));
  });
});
