// The drift → retrain → promote loop on real PostgreSQL and a real MLflow: a champion trained by
// examples/training/train.py, a monitor on a per-second cron over a drifted inference log, whose
// scheduled tick starts the retraining workflow; train.py logs a run to MLflow, the candidate is
// registered with lineage tags, and the `champion` alias moves only when the gate metric improves.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { REAL_PG_URL, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

if (!REAL_PG_URL) throw new Error('PLINTH_TEST_PG_URL is unset: start the services with scripts/services.sh start');
const MLFLOW = process.env.PLINTH_TEST_MLFLOW_URL;
if (!MLFLOW) throw new Error('PLINTH_TEST_MLFLOW_URL is unset: start the services with scripts/services.sh start');
const PYTHON = process.env.PLINTH_TEST_PYTHON;
if (!PYTHON) throw new Error('PLINTH_TEST_PYTHON is unset: point it at a Python with mlflow and scikit-learn');
const python: string = PYTHON;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TRAIN = path.join(ROOT, 'examples/training/train.py');

function normal(n: number, mean: number, seed: number): number[] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) + 0.5) / 2 ** 31;
  return Array.from({ length: n }, () => mean + Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd()));
}

describe('drift → retrain → promote against MLflow (postgres)', { timeout: 360_000 }, () => {
  let t: TestPlatform;
  let dir: string;
  let data: string;
  let tenantId: string;
  const audit = { actor: 'test' };
  const model = `loop-${process.pid}`;
  const gate = [{ metric: 'accuracy', direction: 'max' as const, min_improvement: 0 }];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-loop-'));
    data = path.join(dir, 'data.csv');
    execFileSync(python, [path.join(ROOT, 'examples/training/make_data.py'), data, '--rows', '800'], { timeout: 60_000 });
    t = await startTestPlatform({ MLFLOW_TRACKING_URI: MLFLOW, WORKFLOWS_ALLOWED_COMMANDS: python, LOG_LEVEL: 'warn' }, { workflows: 'executor' });
    tenantId = (await t.platform.auth.getTenant('default')).id;
  });

  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const action = (args: string[]) => ({ type: 'command' as const, command: python, args: [TRAIN, '--data', data, ...args], env: { MLFLOW_TRACKING_URI: MLFLOW } });

  it('a scheduled tick detects drift and promotes a better candidate; a worse one leaves the alias', async () => {
    const { drift, workflows, registry } = t.platform;
    const caller = { tenantId, root: true };
    // Champion: a heavily regularised model, weak on accuracy.
    const first = await workflows.startRetrain(tenantId, { model, trigger: 'manual', action: action(['--c', '0.00001']), gate, idempotency_key: `${model}-champion` }, audit);
    const w0 = await workflows.wait(caller, first.workflow_id, 90_000);
    assert.equal(w0.retraining?.status, 'promoted', JSON.stringify(w0));
    const champion0 = await registry.getVersion(tenantId, model, { alias: 'champion' });

    const profile = await drift.createProfile(tenantId, { name: `${model}-ref`, data: { columns: { x: normal(400, 0, 1) } } }, audit);
    const at = new Date(Date.now() - 60_000).toISOString();
    await drift.logInferences(tenantId, { model, records: normal(300, 3, 3).map((x) => ({ features: { x }, created_at: at })) });
    const mon = await workflows.createMonitor(tenantId, { name: model, model, profile_id: profile.id, schedule: '* * * * * *', window_minutes: 60, threshold: 0.3, retrain: { action: action([]), gate }, enabled: true }, audit);

    const better = await waitForRetrain(mon.id, 60_000);
    const w1 = await workflows.wait(caller, better, 120_000);
    assert.equal(w1.retraining?.status, 'promoted', JSON.stringify(w1));
    assert.equal(w1.retraining?.trigger, 'drift');
    const champion1 = await registry.getVersion(tenantId, model, { alias: 'champion' });
    assert.notEqual(champion1.version, champion0.version);
    assert.equal(champion1.tags['plinth.trigger'], 'drift');
    assert.ok(champion1.tags['plinth.drift_check_id']);
    assert.equal(champion1.tags['plinth.monitor_id'], mon.id);
    assert.ok(champion1.runId, 'train.py logged a run to MLflow');
    const run = await (await fetch(`${MLFLOW}/api/2.0/mlflow/runs/get?run_id=${champion1.runId}`)).json() as { run: { info: { status: string } } };
    assert.equal(run.run.info.status, 'FINISHED');

    // Worse candidate: the monitor now trains the weak configuration.
    await workflows.updateMonitor(tenantId, model, { retrain: { action: action(['--c', '0.00001']), gate }, enabled: true }, audit);
    const worse = await waitForRetrain(mon.id, 60_000, better);
    const w2 = await workflows.wait(caller, worse, 120_000);
    assert.notEqual(w2.retraining?.status, 'promoted', JSON.stringify(w2));
    assert.match(w2.retraining?.reason ?? '', /not better/);
    assert.equal((await registry.getVersion(tenantId, model, { alias: 'champion' })).version, champion1.version);
  });

  async function waitForRetrain(monitorId: string, timeoutMs: number, not?: string): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await t.platform.db.withTenant(tenantId, async (tx) => (await tx.query(`SELECT retrain_workflow_id FROM monitor_checks WHERE monitor_id = $1 AND retrain_workflow_id IS NOT NULL ORDER BY scheduled_at`, [monitorId])).rows);
      const id = rows.map((r) => r.retrain_workflow_id as string).find((w) => w !== not);
      if (id) {
        // One scheduled retraining per case: pause the monitor once a tick has started one.
        await t.platform.workflows.updateMonitor(tenantId, model, { enabled: false }, audit);
        return id;
      }
      if (Date.now() > deadline) throw new Error('no retraining started by the monitor');
      await new Promise((r) => setTimeout(r, 300));
    }
  }
});
