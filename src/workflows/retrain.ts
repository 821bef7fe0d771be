// The retraining workflow: train a candidate (a training action), wait for it durably, compare it
// with the champion on the declared metrics, register it with lineage tags, move the `champion`
// alias only if the gate passes, record the outcome and notify.
//
// Every step is checkpointed by DBOS: after a crash the workflow resumes at the first step that
// did not complete. A step interrupted mid-way runs again, so each one is idempotent: the
// registry create is keyed by the workflow id, promotion is "set alias to version", run
// records are updates of one row, and submissions are keyed by the workflow id.
import { DBOS, Error as DBOSErrors } from '@dbos-inc/dbos-sdk';
import type { Audit } from '../auth/index.js';
import { PlinthError, toPlinthError } from '../errors.js';
import { poll, resolveResult, runCommand, submit, type ActionContext, type TrainingResult } from './actions.js';
import { evaluateGate, metricsFromTags, METRIC_TAG_PREFIX, type GateDecision } from './gate.js';
import { excerpt, requestJson } from './http.js';
import { runStep, workflowDeps } from './runtime.js';
import type { RetrainRequest } from './schema.js';
import { updateRun, type RunUpdate } from './store.js';

export const CHAMPION_ALIAS = 'champion';

export interface RetrainOutcome {
  workflow_id: string;
  model: string;
  status: 'promoted' | 'rejected' | 'failed';
  version: number | null;
  champion_version: number | null;
  promoted: boolean;
  reason: string;
  candidate_metrics: Record<string, number>;
  champion_metrics: Record<string, number> | null;
}

interface Evaluation {
  decision: GateDecision;
  championVersion: number | null;
  championMetrics: Record<string, number> | null;
}

const RETRY = { retriesAllowed: true, maxAttempts: 4, intervalSeconds: 2, backoffRate: 2 };

function record(workflowId: string, tenantId: string, update: RunUpdate): Promise<void> {
  return workflowDeps().db.withTenant(tenantId, (tx) => updateRun(tx, workflowId, update));
}

function actionContext(workflowId: string, req: RetrainRequest): ActionContext {
  const d = workflowDeps();
  return { workflowId, request: req, config: d.config, mlflow: d.mlflow };
}

async function train(workflowId: string, req: RetrainRequest): Promise<TrainingResult> {
  const d = workflowDeps();
  const ctx = actionContext(workflowId, req);
  const action = req.action;
  if (action.type === 'command') {
    // One step: a command interrupted by a crash is started again on recovery.
    const raw = await runStep(() => runCommand(action, actionContext(workflowId, req)), { name: 'train' });
    return runStep(() => resolveResult(raw, actionContext(workflowId, req)), { name: 'resolve-result', ...RETRY });
  }
  const submission = await runStep(() => submit(action, ctx), { name: 'submit', ...RETRY });
  let result = submission.result ?? null;
  if (!result) {
    const interval = action.poll_interval_ms ?? d.config.workflows.pollIntervalMs;
    const deadline = (await DBOS.now()) + (action.timeout_ms ?? d.config.workflows.trainingTimeoutMs);
    for (;;) {
      // Durable: a restart during the sleep wakes at the same deadline, not a fresh interval.
      await DBOS.sleep(interval);
      const p = await runStep(() => poll(action, submission.id, actionContext(workflowId, req)), { name: 'poll', ...RETRY });
      if (p.state === 'succeeded') {
        result = p.result;
        break;
      }
      if (p.state === 'failed') throw new PlinthError('TRAINING_FAILED', `Training failed: ${p.reason}`);
      if ((await DBOS.now()) > deadline) throw new PlinthError('TRAINING_FAILED', `Training did not finish within ${action.timeout_ms ?? d.config.workflows.trainingTimeoutMs} ms.`);
    }
  }
  return runStep(() => resolveResult(result, actionContext(workflowId, req)), { name: 'resolve-result', ...RETRY });
}

async function evaluate(req: RetrainRequest, candidate: Record<string, number>): Promise<Evaluation> {
  const d = workflowDeps();
  if (!d.registry) throw new PlinthError('WORKFLOWS_UNAVAILABLE', 'No model registry is available to this worker.');
  const champion = await d.registry.getAlias(req.tenantId, req.model, CHAMPION_ALIAS);
  if (!champion) return { decision: evaluateGate(req.gate, candidate, null), championVersion: null, championMetrics: null };
  let metrics = metricsFromTags(champion.tags);
  // A champion registered outside Plinth has its numbers in its MLflow run only.
  const missing = req.gate.some((g) => metrics[g.metric] === undefined);
  if (missing && champion.runId && d.mlflow) metrics = { ...(await d.mlflow.getRun(champion.runId)).metrics, ...metrics };
  return { decision: evaluateGate(req.gate, candidate, metrics), championVersion: champion.version, championMetrics: metrics };
}

function lineageTags(workflowId: string, req: RetrainRequest, result: TrainingResult, decision: GateDecision): Record<string, string> {
  const tags: Record<string, string> = {
    'plinth.workflow_id': workflowId,
    'plinth.trigger': req.trigger,
    'plinth.gate': decision.pass ? 'passed' : 'rejected',
    'plinth.gate_reason': decision.reason.slice(0, 4000),
  };
  if (req.driftCheckId) tags['plinth.drift_check_id'] = req.driftCheckId;
  if (req.monitorId) tags['plinth.monitor_id'] = req.monitorId;
  if (req.dataFrom) tags['plinth.data_from'] = req.dataFrom;
  if (req.dataTo) tags['plinth.data_to'] = req.dataTo;
  if (result.runId) tags['plinth.training_run_id'] = result.runId;
  for (const [k, v] of Object.entries(result.metrics)) if (/^[\w.\-/ :]{1,200}$/.test(k)) tags[`${METRIC_TAG_PREFIX}${k}`] = String(v);
  return tags;
}

async function notify(req: RetrainRequest, outcome: RetrainOutcome | { workflow_id: string; model: string; status: 'failed'; reason: string; error_code: string }): Promise<void> {
  const d = workflowDeps();
  const log = d.logger.child({ component: 'workflows', workflow_id: outcome.workflow_id });
  log.info({ model: outcome.model, status: outcome.status, reason: outcome.reason }, 'retraining finished');
  if (!req.notifyUrl) return;
  try {
    const res = await requestJson({ method: 'POST', url: req.notifyUrl, body: { event: 'retraining.finished', ...outcome }, headers: { 'idempotency-key': outcome.workflow_id }, timeoutMs: 10_000 });
    if (res.status >= 300) log.warn({ status: res.status, body: excerpt(res.text) }, 'retraining notification refused');
  } catch (err) {
    // A notification is best effort: the outcome is recorded whatever the receiver does.
    log.warn({ err: { message: (err as Error).message } }, 'retraining notification failed');
  }
}

export async function retrainWorkflow(req: RetrainRequest): Promise<RetrainOutcome> {
  const workflowId = DBOS.workflowID!;
  const audit: Audit = { actor: req.actor, requestId: workflowId };
  try {
    await runStep(() => record(workflowId, req.tenantId, { status: 'training' }), { name: 'mark-training', ...RETRY });
    const result = await train(workflowId, req);
    const candidate = result.metrics;
    const source = result.source;
    if (!source) throw new PlinthError('TRAINING_FAILED', 'The training result has no model source.');
    await runStep(() => record(workflowId, req.tenantId, { status: 'evaluating', trainingRunId: result.runId, candidateMetrics: candidate }), { name: 'mark-evaluating', ...RETRY });
    const ev = await runStep(() => evaluate(req, candidate), { name: 'evaluate', ...RETRY });
    const version = await runStep(
      async () => {
        const reg = workflowDeps().registry;
        if (!reg) throw new PlinthError('WORKFLOWS_UNAVAILABLE', 'No model registry is available to this worker.');
        const v = await reg.createVersion(
          req.tenantId,
          { name: req.model, source, runId: result.runId ?? undefined, description: `Retrained (${req.trigger}) by workflow ${workflowId}.`, tags: lineageTags(workflowId, req, result, ev.decision), idempotencyKey: workflowId },
          audit,
        );
        return v.version;
      },
      { name: 'register', ...RETRY },
    );
    if (ev.decision.pass) {
      await runStep(() => workflowDeps().registry!.promote(req.tenantId, req.model, version, CHAMPION_ALIAS, audit), { name: 'promote', ...RETRY });
    }
    const outcome: RetrainOutcome = {
      workflow_id: workflowId,
      model: req.model,
      status: ev.decision.pass ? 'promoted' : 'rejected',
      version,
      champion_version: ev.championVersion,
      promoted: ev.decision.pass,
      reason: ev.decision.reason,
      candidate_metrics: candidate,
      champion_metrics: ev.championMetrics,
    };
    await runStep(
      () =>
        record(workflowId, req.tenantId, {
          status: outcome.status,
          version,
          promoted: outcome.promoted,
          reason: outcome.reason,
          championVersion: ev.championVersion,
          championMetrics: ev.championMetrics,
          finished: true,
        }),
      { name: 'record', ...RETRY },
    );
    await runStep(async () => {
      workflowDeps().metrics.retrainRuns.inc({ outcome: outcome.status });
      await notify(req, outcome);
    }, { name: 'notify' });
    return outcome;
  } catch (err) {
    // Cancellation is the operator's decision, recorded by the cancel call; nothing more to do here.
    if (err instanceof DBOSErrors.DBOSWorkflowCancelledError) throw err;
    const e = toPlinthError(err);
    const reason = e.is('INTERNAL') && err instanceof Error ? err.message : e.message;
    await runStep(() => record(workflowId, req.tenantId, { status: 'failed', reason, errorCode: e.code, finished: true }), { name: 'record-failure', ...RETRY });
    await runStep(async () => {
      workflowDeps().metrics.retrainRuns.inc({ outcome: 'failed' });
      await notify(req, { workflow_id: workflowId, model: req.model, status: 'failed', reason, error_code: e.code });
    }, { name: 'notify-failure' });
    throw e;
  }
}
