// Training actions: how a retraining workflow gets a candidate model trained. Each action is
// either run to completion in one step (`command`), or submitted once and then polled
// (`webhook`, `kubernetes_job`, `airflow`) so the workflow can wait durably between polls.
// Submissions are keyed by the workflow id, so a submit repeated after a crash finds the first.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { PlinthError } from '../errors.js';
import { excerpt, requestJson } from './http.js';
import { WORKFLOW_TAG, type MlflowRuns } from './mlflow-runs.js';
import { ACTION_SECRET_ENV, type RetrainRequest, type TrainingAction } from './schema.js';

export interface TrainingResult {
  runId: string | null;
  source: string | null;
  metrics: Record<string, number>;
}

export interface ActionContext {
  workflowId: string;
  request: RetrainRequest;
  config: Config;
  mlflow: MlflowRuns | undefined;
  /** Process environment (injected for tests); only TRAINING_* names are ever read from it. */
  env?: NodeJS.ProcessEnv;
}

export type PollResult = { state: 'running' } | { state: 'succeeded'; result: TrainingResult | null } | { state: 'failed'; reason: string };

/** Refuses what the server configuration does not allow, before anything is stored or started. */
export function checkActionAllowed(action: TrainingAction, config: Config): void {
  if (action.type === 'command' && !config.workflows.allowedCommands.includes(action.command)) {
    throw new PlinthError(
      'TRAINING_ACTION_NOT_ALLOWED',
      `The command "${path.basename(action.command)}" is not in WORKFLOWS_ALLOWED_COMMANDS.`,
    );
  }
}

function secretFrom(name: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (name === undefined) return undefined;
  if (!ACTION_SECRET_ENV.test(name)) throw new PlinthError('TRAINING_ACTION_NOT_ALLOWED', `${name}: credentials come from TRAINING_* variables only.`);
  const value = env[name];
  if (!value) throw new PlinthError('TRAINING_FAILED', `The worker has no ${name} set.`);
  return value;
}

/** What every action is told about the run; the job tags its MLflow run with the workflow id. */
function runInfo(ctx: ActionContext): Record<string, string> {
  const r = ctx.request;
  return {
    RETRAIN_WORKFLOW_ID: ctx.workflowId,
    RETRAIN_MODEL: r.model,
    RETRAIN_TRIGGER: r.trigger,
    ...(r.driftCheckId ? { RETRAIN_DRIFT_CHECK_ID: r.driftCheckId } : {}),
    ...(r.dataFrom ? { RETRAIN_DATA_FROM: r.dataFrom } : {}),
    ...(r.dataTo ? { RETRAIN_DATA_TO: r.dataTo } : {}),
    ...(ctx.config.mlflow.trackingUri ? { MLFLOW_TRACKING_URI: ctx.config.mlflow.trackingUri } : {}),
  };
}

/** Parses the result a job reports: `{ run_id?, source? | model_uri?, metrics? }`. */
export function parseResult(value: unknown): TrainingResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PlinthError('TRAINING_FAILED', 'The training result is not a JSON object.');
  const v = value as Record<string, unknown>;
  const runId = typeof v.run_id === 'string' && v.run_id !== '' ? v.run_id : null;
  const sourceRaw = v.source ?? v.model_uri;
  const source = typeof sourceRaw === 'string' && sourceRaw !== '' ? sourceRaw : null;
  const metrics: Record<string, number> = {};
  if (v.metrics !== undefined) {
    if (typeof v.metrics !== 'object' || v.metrics === null || Array.isArray(v.metrics)) throw new PlinthError('TRAINING_FAILED', 'metrics: must be an object of numbers.');
    for (const [k, n] of Object.entries(v.metrics as Record<string, unknown>)) {
      if (typeof n !== 'number' || !Number.isFinite(n)) throw new PlinthError('TRAINING_FAILED', `metrics.${k}: must be a finite number.`);
      metrics[k] = n;
    }
  }
  if (!runId && !source) throw new PlinthError('TRAINING_FAILED', 'The training result names neither run_id nor source.');
  return { runId, source, metrics };
}

const MAX_STDOUT = 1024 * 1024;

/** Runs a `command` action to completion; the last non-empty stdout line is the JSON result. */
export function runCommand(action: Extract<TrainingAction, { type: 'command' }>, ctx: ActionContext): Promise<TrainingResult> {
  checkActionAllowed(action, ctx.config);
  const env = ctx.env ?? process.env;
  // The job does not inherit the server's environment (it holds database URLs and keys).
  const childEnv: Record<string, string> = {
    PATH: env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    ...(env.HOME ? { HOME: env.HOME } : {}),
    ...(env.LANG ? { LANG: env.LANG } : {}),
    ...runInfo(ctx),
    ...action.env,
  };
  const timeout = action.timeout_ms ?? ctx.config.workflows.trainingTimeoutMs;
  return new Promise((resolve, reject) => {
    const child = spawn(action.command, action.args, { env: childEnv, cwd: action.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout = (stdout + d).slice(-MAX_STDOUT);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-8192);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeout);
    let timedOut = false;
    timer.unref();
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new PlinthError('TRAINING_FAILED', `The training command cannot start: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      timedOut = signal === 'SIGKILL';
      if (code !== 0) {
        const last = stderr.trim().split('\n').pop() ?? '';
        reject(new PlinthError('TRAINING_FAILED', timedOut ? `The training command did not finish within ${timeout} ms.` : `The training command exited with ${code ?? signal}: ${excerpt(last)}`));
        return;
      }
      const line = stdout.trim().split('\n').pop() ?? '';
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        reject(new PlinthError('TRAINING_FAILED', 'The last line the training command printed is not JSON.'));
        return;
      }
      try {
        resolve(parseResult(parsed));
      } catch (err) {
        reject(err instanceof Error ? err : new PlinthError('TRAINING_FAILED', String(err)));
      }
    });
  });
}

/** Kubernetes object names: DNS-1123, at most 63 characters, stable for a workflow id. */
export function jobName(workflowId: string): string {
  return `plinth-retrain-${createHash('sha256').update(workflowId).digest('hex').slice(0, 20)}`;
}

/** Airflow run ids: letters, digits and a few separators. */
export function dagRunId(workflowId: string): string {
  return `plinth_${workflowId.replace(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, 250);
}

function authHeaders(action: Extract<TrainingAction, { type: 'webhook' | 'airflow' }>, env: NodeJS.ProcessEnv): Record<string, string> {
  const token = secretFrom(action.token_env, env);
  if (token) return { authorization: `Bearer ${token}` };
  if (action.type === 'airflow' && action.username_env) {
    const user = secretFrom(action.username_env, env)!;
    const pass = secretFrom(action.password_env, env) ?? '';
    return { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
  }
  return {};
}

function k8sAuth(action: Extract<TrainingAction, { type: 'kubernetes_job' }>, env: NodeJS.ProcessEnv): { headers: Record<string, string>; ca?: Buffer } {
  const token = secretFrom(action.token_env, env) ?? readFileSync(action.token_file ?? '/var/run/secrets/kubernetes.io/serviceaccount/token', 'utf8').trim();
  const caFile = action.ca_file ?? (action.token_file === undefined && action.token_env === undefined ? '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt' : undefined);
  return { headers: { authorization: `Bearer ${token}` }, ...(caFile ? { ca: readFileSync(caFile) } : {}) };
}

async function call(req: Parameters<typeof requestJson>[0], what: string): ReturnType<typeof requestJson> {
  try {
    return await requestJson(req);
  } catch (err) {
    throw new PlinthError('TRAINING_FAILED', `${what}: ${(err as Error).message}`, {}, { cause: err });
  }
}

export interface Submission {
  /** The external handle to poll. */
  id: string;
  /** Set when the submission already answered with the final result. */
  result?: TrainingResult;
}

/** Submits an asynchronous action; idempotent per workflow id. */
export async function submit(action: Exclude<TrainingAction, { type: 'command' }>, ctx: ActionContext): Promise<Submission> {
  const env = ctx.env ?? process.env;
  const info = runInfo(ctx);
  switch (action.type) {
    case 'webhook': {
      const res = await call(
        {
          method: 'POST',
          url: action.url,
          headers: { ...authHeaders(action, env), 'idempotency-key': ctx.workflowId },
          body: { workflow_id: ctx.workflowId, model: ctx.request.model, trigger: ctx.request.trigger, drift_check_id: ctx.request.driftCheckId, data_from: ctx.request.dataFrom, data_to: ctx.request.dataTo },
        },
        'training webhook',
      );
      if (res.status >= 300) throw new PlinthError('TRAINING_FAILED', `The training webhook answered ${res.status}: ${excerpt(res.text)}`);
      const body = (res.body ?? {}) as Record<string, unknown>;
      const id = typeof body.id === 'string' || typeof body.id === 'number' ? String(body.id) : ctx.workflowId;
      if (body.status === 'succeeded') return { id, result: parseResult(body) };
      if (!action.status_url) throw new PlinthError('TRAINING_FAILED', 'The training webhook did not answer a final result and the action has no status_url.');
      return { id };
    }
    case 'kubernetes_job': {
      const name = jobName(ctx.workflowId);
      const auth = k8sAuth(action, env);
      const job = {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name, namespace: action.namespace, labels: { 'app.kubernetes.io/managed-by': 'plinth', 'plinth.dev/retrain': 'true' }, annotations: { 'plinth.dev/workflow-id': ctx.workflowId } },
        spec: {
          backoffLimit: action.backoff_limit,
          ttlSecondsAfterFinished: 86_400,
          template: {
            metadata: { labels: { 'plinth.dev/retrain': 'true' } },
            spec: {
              restartPolicy: 'Never',
              ...(action.service_account ? { serviceAccountName: action.service_account } : {}),
              containers: [
                {
                  name: 'train',
                  image: action.image,
                  ...(action.command ? { command: action.command } : {}),
                  ...(action.args ? { args: action.args } : {}),
                  env: Object.entries({ ...info, ...action.env }).map(([n, value]) => ({ name: n, value })),
                },
              ],
            },
          },
        },
      };
      const url = `${action.api_url.replace(/\/+$/, '')}/apis/batch/v1/namespaces/${action.namespace}/jobs`;
      const res = await call({ method: 'POST', url, headers: auth.headers, body: job, ...(auth.ca ? { ca: auth.ca } : {}) }, 'Kubernetes API');
      // 409: the job of this workflow exists already (a repeated submit after a crash).
      if (res.status >= 300 && res.status !== 409) throw new PlinthError('TRAINING_FAILED', `Kubernetes refused the job: ${res.status} ${excerpt(res.text)}`);
      return { id: name };
    }
    case 'airflow': {
      const runId = dagRunId(ctx.workflowId);
      const url = `${action.url.replace(/\/+$/, '')}/api/v1/dags/${encodeURIComponent(action.dag_id)}/dagRuns`;
      const conf = { ...action.conf, workflow_id: ctx.workflowId, model: ctx.request.model, trigger: ctx.request.trigger, drift_check_id: ctx.request.driftCheckId, data_from: ctx.request.dataFrom, data_to: ctx.request.dataTo, [WORKFLOW_TAG]: ctx.workflowId };
      const res = await call({ method: 'POST', url, headers: authHeaders(action, env), body: { dag_run_id: runId, conf } }, 'Airflow API');
      if (res.status >= 300 && res.status !== 409) throw new PlinthError('TRAINING_FAILED', `Airflow refused the DAG run: ${res.status} ${excerpt(res.text)}`);
      return { id: runId };
    }
  }
}

/** One status poll of a submitted action. */
export async function poll(action: Exclude<TrainingAction, { type: 'command' }>, id: string, ctx: ActionContext): Promise<PollResult> {
  const env = ctx.env ?? process.env;
  switch (action.type) {
    case 'webhook': {
      const url = action.status_url!.replace('{id}', encodeURIComponent(id));
      const res = await call({ method: 'GET', url, headers: authHeaders(action, env) }, 'training status');
      if (res.status >= 500) return { state: 'running' }; // transient: ask again next poll
      if (res.status >= 300) return { state: 'failed', reason: `status URL answered ${res.status}: ${excerpt(res.text)}` };
      const body = (res.body ?? {}) as Record<string, unknown>;
      if (body.status === 'succeeded') return { state: 'succeeded', result: parseResult(body) };
      if (body.status === 'failed') return { state: 'failed', reason: typeof body.error === 'string' ? excerpt(body.error) : 'the training job reported failure' };
      return { state: 'running' };
    }
    case 'kubernetes_job': {
      const auth = k8sAuth(action, env);
      const url = `${action.api_url.replace(/\/+$/, '')}/apis/batch/v1/namespaces/${action.namespace}/jobs/${id}`;
      const res = await call({ method: 'GET', url, headers: auth.headers, ...(auth.ca ? { ca: auth.ca } : {}) }, 'Kubernetes API');
      if (res.status === 404) return { state: 'failed', reason: `the job ${id} no longer exists` };
      if (res.status >= 500) return { state: 'running' };
      if (res.status >= 300) return { state: 'failed', reason: `Kubernetes answered ${res.status}: ${excerpt(res.text)}` };
      const status = ((res.body ?? {}) as { status?: { succeeded?: number; failed?: number; conditions?: Array<{ type: string; status: string; message?: string }> } }).status ?? {};
      const cond = (t: string) => status.conditions?.find((c) => c.type === t && c.status === 'True');
      if ((status.succeeded ?? 0) >= 1 || cond('Complete')) return { state: 'succeeded', result: null };
      const failed = cond('Failed');
      if (failed) return { state: 'failed', reason: `the job failed: ${excerpt(failed.message ?? 'no message')}` };
      return { state: 'running' };
    }
    case 'airflow': {
      const url = `${action.url.replace(/\/+$/, '')}/api/v1/dags/${encodeURIComponent(action.dag_id)}/dagRuns/${encodeURIComponent(id)}`;
      const res = await call({ method: 'GET', url, headers: authHeaders(action, env) }, 'Airflow API');
      if (res.status >= 500) return { state: 'running' };
      if (res.status >= 300) return { state: 'failed', reason: `Airflow answered ${res.status}: ${excerpt(res.text)}` };
      const state = ((res.body ?? {}) as { state?: string }).state;
      if (state === 'success') return { state: 'succeeded', result: null };
      if (state === 'failed') return { state: 'failed', reason: 'the DAG run failed' };
      return { state: 'running' };
    }
  }
}

/**
 * Completes a result with what MLflow knows: metrics of the named run, or the run the job
 * tagged with the workflow id when the action itself reports nothing.
 */
export async function resolveResult(result: TrainingResult | null, ctx: ActionContext): Promise<TrainingResult> {
  if (result && Object.keys(result.metrics).length > 0 && result.source) return result;
  if (!ctx.mlflow) {
    if (result?.source) return result;
    throw new PlinthError('TRAINING_FAILED', 'The training action reported no model, and no MLflow server is configured to look it up.');
  }
  const run = result?.runId ? await ctx.mlflow.getRun(result.runId) : await ctx.mlflow.findByWorkflow(ctx.workflowId);
  if (!run) throw new PlinthError('TRAINING_FAILED', `MLflow has no run tagged ${WORKFLOW_TAG}=${ctx.workflowId}.`);
  return { runId: run.runId, source: result?.source ?? run.source, metrics: { ...run.metrics, ...result?.metrics } };
}
