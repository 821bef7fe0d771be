// Durability on a real PostgreSQL: a `plinth worker` process is SIGKILLed while the training
// command of a retraining workflow runs, and at four points of registration and promotion (held
// there by table locks the test takes); a restarted worker (same executor id) recovers the
// workflow, which completes with exactly one registered version, one promotion, and one audit
// entry for each.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { fileURLToPath } from 'node:url';
import { REAL_PG_URL, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { until } from '../helpers/faults.js';

if (!REAL_PG_URL) throw new Error('PLINTH_TEST_PG_URL is unset: start the services with scripts/services.sh start');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// Each run leaves a marker; the first run then sleeps long enough to be killed mid-training.
const TRAIN = `
const fs = require('node:fs');
const path = require('node:path');
const dir = process.env.MARKER_DIR;
const first = fs.readdirSync(dir).filter((f) => f.startsWith('run-')).length === 0;
fs.writeFileSync(path.join(dir, 'run-' + process.pid), '');
const done = () => console.log(JSON.stringify({ run_id: 'r1', source: 'file:///models/churn', metrics: { accuracy: 0.91 } }));
if (first) setTimeout(done, 120000); else done();
`;

function startWorker(env: Record<string, string>, logs: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8').on('data', (d: string) => logs.push(d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => logs.push(d));
  return child;
}

const exited = (c: ChildProcess) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve())));

describe('retraining survives a killed worker (postgres)', { timeout: 240_000 }, () => {
  let t: TestPlatform;
  let dir: string;
  let markers: string;
  const workers: ChildProcess[] = [];
  const logs: string[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-kill-'));
    markers = path.join(dir, 'markers');
    rmSync(markers, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(markers);
    writeFileSync(path.join(dir, 'train.cjs'), TRAIN);
    // The test process is a client: it enqueues and reads; only the worker runs workflows.
    t = await startTestPlatform({ WORKFLOWS_ALLOWED_COMMANDS: process.execPath }, { workflows: 'client' });
  });

  after(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await Promise.all(workers.map(exited));
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('recovers the workflow after SIGKILL: one version, one promotion', async () => {
    const env = { ...t.env.env, WORKFLOWS_ALLOWED_COMMANDS: process.execPath, LOG_LEVEL: 'info' };
    const tenant = await t.platform.auth.getTenant('default');
    const started = await t.platform.workflows.startRetrain(
      tenant.id,
      {
        model: 'churn',
        trigger: 'manual',
        action: { type: 'command', command: process.execPath, args: [path.join(dir, 'train.cjs')], env: { MARKER_DIR: markers } },
        gate: [{ metric: 'accuracy', direction: 'max', min_improvement: 0 }],
        idempotency_key: 'kill-test',
      },
      { actor: 'test' },
    );
    const id = started.workflow_id;

    const first = startWorker(env, logs);
    workers.push(first);
    await until('the first training run', () => readdirSync(markers).length === 1 || undefined, 60_000);
    first.kill('SIGKILL');
    await exited(first);
    const caller = { tenantId: tenant.id, root: true };
    const mid = await t.platform.workflows.getWorkflow(caller, id, { steps: true });
    assert.equal(mid.status, 'PENDING', 'the killed worker left the workflow pending');
    assert.equal(mid.retraining?.status, 'training');
    assert.deepEqual(mid.steps?.map((s) => s.name), ['mark-training'], 'the training step had not completed');
    assert.equal((await t.platform.registry.listVersions(tenant.id, 'churn').catch(() => ({ versions: [] }))).versions.length, 0);

    const second = startWorker(env, logs);
    workers.push(second);
    const done = await t.platform.workflows.wait(caller, id, 120_000);
    assert.equal(done.status, 'SUCCESS', `${JSON.stringify(done)}\n${logs.join('').slice(-3000)}`);
    assert.equal(done.retraining?.status, 'promoted');
    assert.equal(readdirSync(markers).length, 2, 'the interrupted training step ran again, once');

    const versions = (await t.platform.registry.listVersions(tenant.id, 'churn')).versions;
    assert.equal(versions.length, 1, 'exactly one registered version');
    assert.equal(versions[0]!.tags['plinth.workflow_id'], id);
    assert.equal((await t.platform.registry.getVersion(tenant.id, 'churn', { alias: 'champion' })).version, versions[0]!.version);
    const promotions = await t.platform.db.withTenant(tenant.id, async (tx) => (await tx.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'model.promoted'`)).rows[0]!.n as number);
    assert.equal(promotions, 1, 'exactly one promotion');

    // A duplicate start after completion finds the same workflow and starts nothing.
    const again = await t.platform.workflows.startRetrain(tenant.id, { model: 'churn', trigger: 'manual', monitor_id: undefined, action: { type: 'command', command: process.execPath, args: [], env: {} }, gate: [{ metric: 'accuracy', direction: 'max', min_improvement: 0 }], idempotency_key: 'kill-test' }, { actor: 'test' });
    assert.equal(again.workflow_id, id);
    assert.equal(again.created, false);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await t.platform.registry.listVersions(tenant.id, 'churn')).versions.length, 1);
    assert.ok(existsSync(markers));

    second.kill('SIGTERM');
    await exited(second);
    assert.equal(second.exitCode, 0, logs.join('').slice(-2000));
  });
  it('recovers after SIGKILL inside registration and promotion: one version, one promotion, each audited once', { timeout: 200_000 }, async () => {
    const env = { ...t.env.env, WORKFLOWS_ALLOWED_COMMANDS: process.execPath, LOG_LEVEL: 'info' };
    const tenant = await t.platform.auth.getTenant('default');
    const caller = { tenantId: tenant.id, root: true };
    const train = path.join(dir, 'train-at-once.cjs');
    writeFileSync(train, `require('node:fs').writeFileSync(require('node:path').join(process.env.MARKER_DIR, 'once-' + process.pid), '');
console.log(JSON.stringify({ run_id: 'r2', source: 'file:///models/fraud', metrics: { accuracy: 0.8 } }));`);
    // Locks taken by the test hold the worker at a chosen statement; each lock lives in its own transaction.
    const locks = new Map<string, pg.Client>();
    const lock = async (table: string) => {
      const c = new pg.Client({ connectionString: t.env.databaseUrl });
      await c.connect();
      await c.query('BEGIN');
      await c.query(`LOCK TABLE ${table} IN SHARE MODE`);
      locks.set(table, c);
    };
    const unlock = async (table: string) => {
      const c = locks.get(table)!;
      locks.delete(table);
      await c.query('ROLLBACK');
      await c.end();
    };
    const observer = new pg.Client({ connectionString: t.env.databaseUrl });
    await observer.connect();
    const blockedOn = (statement: string) =>
      until(
        `a worker blocked on ${statement}`,
        async () =>
          (
            await observer.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`, [`${statement}%`])
          ).rowCount! > 0 || undefined,
        60_000,
      );
    const count = async (sql: string, values: unknown[] = []) => Number((await observer.query<{ n: string }>(sql, values)).rows[0]!.n);
    const stepsDone = async (id: string) => (await t.platform.workflows.getWorkflow(caller, id, { steps: true })).steps?.map((s) => s.name) ?? [];
    const killAt = async (statement: string): Promise<void> => {
      const w = startWorker(env, logs);
      workers.push(w);
      await blockedOn(statement);
      w.kill('SIGKILL');
      await exited(w);
    };

    try {
      await lock('model_versions');
      const started = await t.platform.workflows.startRetrain(
        tenant.id,
        {
          model: 'fraud',
          trigger: 'manual',
          action: { type: 'command', command: process.execPath, args: [train], env: { MARKER_DIR: markers } },
          gate: [{ metric: 'accuracy', direction: 'max', min_improvement: 0 }],
          idempotency_key: 'kill-inside-registration',
        },
        { actor: 'test' },
      );
      const id = started.workflow_id;
      const versions = () => count(`SELECT count(*) AS n FROM model_versions v JOIN registered_models m ON m.id = v.model_id WHERE m.name = 'fraud'`);
      const entries = (action: string) => count(`SELECT count(*) AS n FROM audit_log WHERE action = $1 AND target LIKE 'fraud%'`, [action]);

      // 1. Inside the register step, before the version row is written: nothing is committed.
      await killAt('INSERT INTO model_versions');
      assert.ok((await stepsDone(id)).includes('evaluate'));
      assert.ok(!(await stepsDone(id)).includes('register'));
      assert.equal(await versions(), 0);

      // 2. The version is committed, its audit entry is not, the step is not checkpointed.
      await lock('audit_log');
      await unlock('model_versions');
      await killAt('INSERT INTO audit_log');
      assert.equal(await versions(), 1, 'the version committed before the crash');
      assert.equal(await entries('model.version_created'), 0);
      assert.ok(!(await stepsDone(id)).includes('register'));

      // 3. The retried register step finds the version by its idempotency key and audits it; then the
      //    promote step is stopped before the alias moves.
      await lock('model_aliases');
      await unlock('audit_log');
      await killAt('INSERT INTO model_aliases');
      assert.ok((await stepsDone(id)).includes('register'));
      assert.equal(await versions(), 1);
      assert.equal(await entries('model.version_created'), 1, 'the recovered create is audited once');
      const aliases = () => count(`SELECT count(*) AS n FROM model_aliases a JOIN registered_models m ON m.id = a.model_id WHERE m.name = 'fraud'`);
      assert.equal(await aliases(), 0);

      // 4. The alias moved, the promotion's audit entry did not get written.
      await lock('audit_log');
      await unlock('model_aliases');
      await killAt('INSERT INTO audit_log');
      assert.equal(await aliases(), 1);
      assert.equal(await entries('model.promoted'), 0);
      await unlock('audit_log');

      // 5. A last worker finishes the workflow.
      const last = startWorker(env, logs);
      workers.push(last);
      const done = await t.platform.workflows.wait(caller, id, 120_000);
      assert.equal(done.status, 'SUCCESS', `${JSON.stringify(done)}\n${logs.join('').slice(-3000)}`);
      assert.equal(done.retraining?.status, 'promoted');
      assert.equal(readdirSync(markers).filter((f) => f.startsWith('once-')).length, 1, 'training ran once');
      const listed = (await t.platform.registry.listVersions(tenant.id, 'fraud')).versions;
      assert.equal(listed.length, 1, 'exactly one registered version');
      assert.equal((await t.platform.registry.getVersion(tenant.id, 'fraud', { alias: 'champion' })).version, listed[0]!.version);
      assert.equal(await entries('model.version_created'), 1);
      assert.equal(await entries('model.promoted'), 1, 'the promotion is audited once, after the crash');
      const promoted = await observer.query<{ details: Record<string, unknown> }>(`SELECT details FROM audit_log WHERE action = 'model.promoted' AND target = 'fraud'`);
      assert.equal(promoted.rows[0]!.details.version, listed[0]!.version);
      assert.equal(promoted.rows[0]!.details.recovered, true);
      last.kill('SIGTERM');
      await exited(last);
    } finally {
      for (const table of [...locks.keys()]) await unlock(table);
      await observer.end();
    }
  });
});
