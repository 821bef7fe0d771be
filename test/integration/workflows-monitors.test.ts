// Drift monitors end to end (embedded, or real PostgreSQL with PLINTH_TEST_PG_URL): a monitor's
// check over the model's inference log finds drift above its threshold, records the check,
// exports metrics and starts the retraining workflow, which registers the candidate with the
// drift check as lineage and promotes it; a monitor without drift records `ok` and starts nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

function normal(n: number, mean: number, seed: number): number[] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) + 0.5) / 2 ** 31;
  return Array.from({ length: n }, () => mean + Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd()));
}

describe(`drift monitors (${ADAPTER})`, { timeout: 240_000 }, () => {
  let t: TestPlatform;
  let dir: string;
  let tenantId: string;
  const audit = { actor: 'test' };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-mon-'));
    writeFileSync(path.join(dir, 'train.cjs'), `console.log(JSON.stringify({ run_id: 'r-drift', source: 'file:///m', metrics: { accuracy: 0.9 } }))`);
    t = await startTestPlatform({ WORKFLOWS_ALLOWED_COMMANDS: process.execPath, LOG_LEVEL: 'warn' }, { workflows: 'executor' });
    tenantId = (await t.platform.auth.getTenant('default')).id;
  });

  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('drift over the threshold starts retraining with the check as lineage; no drift starts nothing', async () => {
    const { drift, workflows } = t.platform;
    const profile = await drift.createProfile(tenantId, { name: 'ref', data: { columns: { x: normal(400, 0, 1), y: normal(400, 5, 2) } } }, audit);
    const at = new Date(Date.now() - 5 * 60_000).toISOString();
    const shifted = normal(300, 3, 3).map((x, i) => ({ features: { x, y: normal(300, 5, 4)[i]! }, created_at: at }));
    const same = normal(300, 0, 5).map((x, i) => ({ features: { x, y: normal(300, 5, 6)[i]! }, created_at: at }));
    await drift.logInferences(tenantId, { model: 'churn', records: shifted });
    await drift.logInferences(tenantId, { model: 'stable', records: same });

    const retrain = { action: { type: 'command' as const, command: process.execPath, args: [path.join(dir, 'train.cjs')], env: {} }, gate: [{ metric: 'accuracy', direction: 'max' as const, min_improvement: 0 }] };
    await workflows.createMonitor(tenantId, { name: 'churn', model: 'churn', profile_id: profile.id, schedule: '*/5 * * * *', window_minutes: 60, threshold: 0.3, retrain, enabled: true }, audit);
    await workflows.createMonitor(tenantId, { name: 'stable', model: 'stable', profile_id: profile.id, schedule: '*/5 * * * *', window_minutes: 60, threshold: 0.3, retrain, enabled: true }, audit);

    const check = await workflows.runMonitorNow(tenantId, 'churn');
    assert.equal(check.outcome, 'drift', JSON.stringify(check));
    assert.ok(check.drift_share! > 0.3);
    assert.ok(check.drift_check_id);
    assert.equal(check.retrain_workflow_id, `retrain:${tenantId}:${check.monitor_id}:${check.drift_check_id}`);

    const w = await workflows.wait({ tenantId, root: true }, check.retrain_workflow_id, 90_000);
    assert.equal(w.retraining?.status, 'promoted', JSON.stringify(w));
    assert.equal(w.retraining?.trigger, 'drift');
    const champion = await t.platform.registry.getVersion(tenantId, 'churn', { alias: 'champion' });
    assert.equal(champion.tags['plinth.drift_check_id'], check.drift_check_id);
    assert.equal(champion.tags['plinth.trigger'], 'drift');
    assert.equal(champion.tags['plinth.monitor_id'], check.monitor_id);

    const ok = await workflows.runMonitorNow(tenantId, 'stable');
    assert.equal(ok.outcome, 'ok', JSON.stringify(ok));
    assert.equal(ok.retrain_workflow_id, null);

    const m = await workflows.getMonitor(tenantId, 'churn');
    assert.equal(m.last_outcome, 'drift');
    const metrics = await t.platform.collectMetrics();
    assert.match(metrics, /plinth_monitor_checks_total\{outcome="drift"\} 1/);
    assert.match(metrics, /plinth_monitor_checks_total\{outcome="ok"\} 1/);
    assert.match(metrics, new RegExp(`plinth_monitor_drift_share\\{monitor="${check.monitor_id}"\\} 0\\.`));
    assert.match(metrics, /plinth_retraining_runs_total\{outcome="promoted"\} 1/);
  });

  it('a check that cannot run is recorded as an error with its code', async () => {
    const { workflows } = t.platform;
    await workflows.createMonitor(tenantId, { name: 'ghost', model: 'ghost', profile_id: '00000000-0000-4000-8000-000000000009', schedule: '0 * * * *', window_minutes: 60, threshold: 0.5, enabled: true }, audit);
    const check = await workflows.runMonitorNow(tenantId, 'ghost');
    assert.equal(check.outcome, 'error');
    assert.equal(check.error_code, 'PLINTH_DRIFT_PROFILE_NOT_FOUND');
  });
});
