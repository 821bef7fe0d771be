// Retraining workflows end to end on the embedded database (or the real PostgreSQL with
// PLINTH_TEST_PG_URL): a `command` training action (a node script), evaluation against the
// champion, registration with lineage tags, promotion only when the gate passes; monitors CRUD;
// idempotent starts; tenant isolation; admin cancel/resume.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

const TRAIN_SCRIPT = `
const fs = require('node:fs');
const acc = Number(process.env.ACCURACY);
if (process.env.FAIL) { console.error('training data missing'); process.exit(3); }
if (process.env.LOG_FILE) fs.appendFileSync(process.env.LOG_FILE, JSON.stringify({ wf: process.env.RETRAIN_WORKFLOW_ID, model: process.env.RETRAIN_MODEL, db: process.env.DATABASE_URL ?? null }) + '\\n');
console.log('epoch 1 done');
console.log(JSON.stringify({ run_id: 'run-' + acc, source: 'file:///models/' + acc, metrics: { accuracy: acc, loss: 1 - acc } }));
`;

describe(`retraining workflows (${ADAPTER})`, { timeout: 240_000 }, () => {
  let t: TestPlatform;
  let app: FastifyInstance;
  let dir: string;
  let script: string;
  const auth = () => ({ authorization: `Bearer ${t.adminKey}` });
  const action = (accuracy: number, extra: Record<string, string> = {}) => ({ type: 'command', command: process.execPath, args: [script], env: { ACCURACY: String(accuracy), ...extra } });
  const gate = [{ metric: 'accuracy', direction: 'max', min_improvement: 0.01 }];

  async function start(body: Record<string, unknown>) {
    const res = await app.inject({ method: 'POST', url: '/v1/workflows/retrain', headers: auth(), payload: body });
    assert.equal(res.statusCode, 202, res.body);
    return res.json<{ workflow_id: string; created: boolean }>();
  }
  async function waitDone(id: string) {
    const w = await t.platform.workflows.wait({ tenantId: tenantId(), root: true }, id, 90_000);
    return w;
  }
  let tid = '';
  const tenantId = () => tid;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-wf-'));
    script = path.join(dir, 'train.cjs');
    writeFileSync(script, TRAIN_SCRIPT);
    t = await startTestPlatform({ WORKFLOWS_ALLOWED_COMMANDS: process.execPath, LOG_LEVEL: 'warn' }, { workflows: 'executor' });
    app = await buildApp(t.platform);
    const who = await app.inject({ method: 'GET', url: '/v1/whoami', headers: auth() });
    tid = who.json<{ tenant_id: string }>().tenant_id;
  });

  after(async () => {
    await app?.close();
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('promotes a first model, refuses a worse one with the reason, promotes a better one', async () => {
    const first = await start({ model: 'churn', action: action(0.8), gate });
    const w1 = await waitDone(first.workflow_id);
    assert.equal(w1.status, 'SUCCESS', JSON.stringify(w1));
    assert.equal(w1.retraining?.status, 'promoted');
    assert.equal(w1.retraining?.promoted, true);
    assert.equal(w1.retraining?.reason, 'no champion yet');
    const champ1 = await t.platform.registry.getVersion(tid, 'churn', { alias: 'champion' });
    assert.equal(champ1.version, w1.retraining?.version);
    assert.equal(champ1.source, 'file:///models/0.8');
    assert.equal(champ1.runId, 'run-0.8');
    assert.equal(champ1.tags['plinth.workflow_id'], first.workflow_id);
    assert.equal(champ1.tags['plinth.trigger'], 'manual');
    assert.equal(champ1.tags['plinth.metric.accuracy'], '0.8');

    // Better by less than min_improvement: registered (for the record) but not promoted.
    const worse = await start({ model: 'churn', action: action(0.805), gate });
    const w2 = await waitDone(worse.workflow_id);
    assert.equal(w2.status, 'SUCCESS');
    assert.equal(w2.retraining?.status, 'rejected');
    assert.equal(w2.retraining?.promoted, false);
    assert.match(w2.retraining?.reason ?? '', /not better: accuracy 0\.805 vs champion 0\.8/);
    assert.deepEqual(w2.retraining?.champion_metrics, { accuracy: 0.8, loss: 0.19999999999999996 });
    assert.equal(w2.retraining?.champion_version, champ1.version);
    const rejected = await t.platform.registry.getVersion(tid, 'churn', { version: w2.retraining.version! });
    assert.equal(rejected.tags['plinth.gate'], 'rejected');
    assert.equal((await t.platform.registry.getVersion(tid, 'churn', { alias: 'champion' })).version, champ1.version);

    const better = await start({ model: 'churn', action: action(0.9), gate, data_from: '2026-01-01T00:00:00Z', data_to: '2026-01-02T00:00:00Z' });
    const w3 = await waitDone(better.workflow_id);
    assert.equal(w3.retraining?.status, 'promoted', JSON.stringify(w3));
    assert.match(w3.retraining?.reason ?? '', /^better: accuracy 0\.9 vs champion 0\.8/);
    const champ3 = await t.platform.registry.getVersion(tid, 'churn', { alias: 'champion' });
    assert.equal(champ3.version, w3.retraining?.version);
    assert.equal(champ3.tags['plinth.data_from'], '2026-01-01T00:00:00Z');

    // The HTTP door shows the same, with the checkpointed steps.
    const res = await app.inject({ method: 'GET', url: `/v1/workflows/${encodeURIComponent(better.workflow_id)}?steps=true`, headers: auth() });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<{ status: string; steps: Array<{ name: string }> }>();
    assert.equal(body.status, 'SUCCESS');
    assert.deepEqual(
      body.steps.map((s) => s.name),
      ['mark-training', 'train', 'resolve-result', 'mark-evaluating', 'evaluate', 'register', 'promote', 'record', 'notify'],
    );
  });

  it('a repeated idempotency key returns the first workflow and trains once', async () => {
    const log = path.join(dir, 'runs.log');
    const body = { model: 'fraud', action: action(0.7, { LOG_FILE: log }), gate, idempotency_key: 'nightly-2026-11-26' };
    const a = await start(body);
    const b = await start(body);
    assert.equal(a.workflow_id, b.workflow_id);
    assert.equal(a.created, true);
    assert.equal(b.created, false);
    const w = await waitDone(a.workflow_id);
    assert.equal(w.retraining?.status, 'promoted');
    const { readFileSync } = await import('node:fs');
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { wf: string; model: string; db: string | null });
    assert.equal(lines.length, 1);
    assert.deepEqual(lines[0], { wf: a.workflow_id, model: 'fraud', db: null }, 'the job gets the run info and none of the server environment');
  });

  it('records a failed training with its code and leaves the champion alone', async () => {
    const s = await start({ model: 'churn', action: action(0.99, { FAIL: '1' }), gate });
    const w = await waitDone(s.workflow_id);
    assert.equal(w.status, 'ERROR');
    assert.equal(w.retraining?.status, 'failed');
    assert.equal(w.retraining?.error_code, 'PLINTH_TRAINING_FAILED');
    assert.match(w.retraining?.reason ?? '', /exited with 3: training data missing/);
    assert.notEqual((await t.platform.registry.getVersion(tid, 'churn', { alias: 'champion' })).tags['plinth.metric.accuracy'], '0.99');
  });

  it('refuses commands that are not allowed, and bad input, with stable codes', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/workflows/retrain', headers: auth(), payload: { model: 'churn', action: { type: 'command', command: '/bin/sh', args: ['-c', 'id'] }, gate } });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json<{ code: string }>().code, 'PLINTH_TRAINING_ACTION_NOT_ALLOWED');
    const noGate = await app.inject({ method: 'POST', url: '/v1/workflows/retrain', headers: auth(), payload: { model: 'churn', action: action(0.5) } });
    assert.equal(noGate.statusCode, 400);
    assert.equal(noGate.json<{ code: string }>().code, 'PLINTH_VALIDATION_FAILED');
    const secretEnv = await app.inject({ method: 'POST', url: '/v1/workflows/retrain', headers: auth(), payload: { model: 'churn', action: { type: 'webhook', url: 'http://127.0.0.1:1/x', token_env: 'DATABASE_URL' }, gate } });
    assert.equal(secretEnv.statusCode, 400);
    const missing = await app.inject({ method: 'GET', url: '/v1/workflows/retrain:nope', headers: auth() });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json<{ code: string }>().code, 'PLINTH_WORKFLOW_NOT_FOUND');
  });

  it('monitors: create, list, update, delete; cron and names are checked', async () => {
    const profile = '00000000-0000-4000-8000-000000000001';
    const body = { name: 'churn-daily', model: 'churn', profile_id: profile, schedule: '0 3 * * *', threshold: 0.3, retrain: { action: action(0.5), gate } };
    const created = await app.inject({ method: 'POST', url: '/v1/monitors', headers: auth(), payload: body });
    assert.equal(created.statusCode, 201, created.body);
    const m = created.json<{ id: string; window_minutes: number; enabled: boolean }>();
    assert.equal(m.window_minutes, 1440);
    assert.equal(m.enabled, true);
    const dup = await app.inject({ method: 'POST', url: '/v1/monitors', headers: auth(), payload: body });
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json<{ code: string }>().code, 'PLINTH_MONITOR_EXISTS');
    const badCron = await app.inject({ method: 'POST', url: '/v1/monitors', headers: auth(), payload: { ...body, name: 'other', schedule: '61 * * * *' } });
    assert.equal(badCron.statusCode, 400);
    assert.equal(badCron.json<{ code: string }>().code, 'PLINTH_INVALID_SCHEDULE');
    const badCmd = await app.inject({ method: 'POST', url: '/v1/monitors', headers: auth(), payload: { ...body, name: 'other', retrain: { action: { type: 'command', command: 'rm' }, gate } } });
    assert.equal(badCmd.statusCode, 403);

    const patched = await app.inject({ method: 'PATCH', url: '/v1/monitors/churn-daily', headers: auth(), payload: { enabled: false, threshold: 0.6 } });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json<{ threshold: number; enabled: boolean }>().threshold, 0.6);
    const list = await app.inject({ method: 'GET', url: '/v1/monitors', headers: auth() });
    assert.deepEqual(list.json<{ monitors: Array<{ name: string; enabled: boolean }> }>().monitors.map((x) => [x.name, x.enabled]), [['churn-daily', false]]);

    // A retrain started from the monitor takes its action and gate.
    const fromMonitor = await start({ model: 'churn', monitor_id: m.id, idempotency_key: 'from-monitor' });
    const w = await waitDone(fromMonitor.workflow_id);
    assert.equal(w.retraining?.monitor_id, m.id);
    assert.equal(w.retraining?.status, 'rejected');

    const del = await app.inject({ method: 'DELETE', url: `/v1/monitors/${m.id}`, headers: auth() });
    assert.equal(del.statusCode, 200);
    const gone = await app.inject({ method: 'GET', url: `/v1/monitors/${m.id}`, headers: auth() });
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json<{ code: string }>().code, 'PLINTH_MONITOR_NOT_FOUND');
  });

  it("another tenant cannot see or cancel a tenant's workflow; admins list their own", async () => {
    const s = await start({ model: 'churn', action: action(0.1), gate, idempotency_key: 'isolation' });
    await waitDone(s.workflow_id);
    const other = await t.platform.auth.createTenant('other', { actor: 'test' });
    const key = await t.platform.auth.createKey(other.id, { name: 'o', scopes: ['admin'] }, { actor: 'test' });
    const h = { authorization: `Bearer ${key.key}` };
    const get = await app.inject({ method: 'GET', url: `/v1/workflows/${encodeURIComponent(s.workflow_id)}`, headers: h });
    assert.equal(get.statusCode, 404);
    const cancel = await app.inject({ method: 'POST', url: `/v1/workflows/${encodeURIComponent(s.workflow_id)}/cancel`, headers: h });
    assert.equal(cancel.statusCode, 404);
    const theirs = await app.inject({ method: 'GET', url: '/v1/workflows', headers: h });
    assert.equal(theirs.statusCode, 200);
    assert.deepEqual(theirs.json<{ workflows: unknown[] }>().workflows, []);
    const mine = await app.inject({ method: 'GET', url: '/v1/workflows?limit=100', headers: auth() });
    const ids = mine.json<{ workflows: Array<{ workflow_id: string }> }>().workflows.map((w) => w.workflow_id);
    assert.ok(ids.includes(s.workflow_id));
  });

  it('cancel stops a waiting workflow and resume finishes it', async () => {
    const slow = path.join(dir, 'slow.cjs');
    writeFileSync(slow, `setTimeout(() => console.log(JSON.stringify({ source: 'file:///slow', metrics: { accuracy: 0.95 } })), 3000);`);
    const s = await start({ model: 'slow', action: { type: 'command', command: process.execPath, args: [slow] }, gate, idempotency_key: 'cancel-me' });
    const url = `/v1/workflows/${encodeURIComponent(s.workflow_id)}`;
    const cancelled = await app.inject({ method: 'POST', url: `${url}/cancel`, headers: auth() });
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    assert.equal(cancelled.json<{ status: string }>().status, 'CANCELLED');
    await new Promise((r) => setTimeout(r, 4000));
    const still = await app.inject({ method: 'GET', url, headers: auth() });
    assert.equal(still.json<{ status: string; retraining: { status: string } }>().status, 'CANCELLED');
    assert.equal(still.json<{ retraining: { status: string } }>().retraining.status, 'cancelled');
    const resumed = await app.inject({ method: 'POST', url: `${url}/resume`, headers: auth() });
    assert.equal(resumed.statusCode, 200, resumed.body);
    const w = await waitDone(s.workflow_id);
    assert.equal(w.status, 'SUCCESS');
    assert.equal(w.retraining?.status, 'promoted');
  });
});
