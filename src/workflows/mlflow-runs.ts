// Reads training runs from the MLflow tracking server: the metrics of a run, and the run a
// training job tagged with its workflow id (actions that report no result themselves, such as a
// Kubernetes Job or an Airflow DAG, log to MLflow with the tag `plinth_workflow_id`).
import type { Config } from '../config/index.js';
import { PlinthError } from '../errors.js';
import { excerpt, requestJson } from './http.js';

export const WORKFLOW_TAG = 'plinth_workflow_id';

export interface TrainingRun {
  runId: string;
  source: string;
  metrics: Record<string, number>;
}

export interface MlflowRuns {
  getRun(runId: string): Promise<TrainingRun>;
  /** The newest run tagged with this workflow id, if any. */
  findByWorkflow(workflowId: string): Promise<TrainingRun | undefined>;
}

interface RunJson {
  info?: { run_id?: string; artifact_uri?: string };
  data?: { metrics?: Array<{ key: string; value: number }>; tags?: Array<{ key: string; value: string }> };
}

function toRun(run: RunJson): TrainingRun {
  const runId = run.info?.run_id;
  if (!runId) throw new PlinthError('TRAINING_FAILED', 'MLflow returned a run without an id.');
  const metrics: Record<string, number> = {};
  for (const m of run.data?.metrics ?? []) if (Number.isFinite(m.value)) metrics[m.key] = m.value;
  const modelTag = run.data?.tags?.find((t) => t.key === 'plinth_model_source')?.value;
  return { runId, source: modelTag ?? `runs:/${runId}/model`, metrics };
}

export function createMlflowRuns(config: Config): MlflowRuns | undefined {
  const base = config.mlflow.trackingUri;
  if (!base) return undefined;
  const m = config.mlflow as { token?: { reveal(): string }; username?: string; password?: { reveal(): string }; timeoutMs?: number };
  const headers: Record<string, string> = {};
  if (m.token) headers.authorization = `Bearer ${m.token.reveal()}`;
  else if (m.username && m.password) headers.authorization = `Basic ${Buffer.from(`${m.username}:${m.password.reveal()}`).toString('base64')}`;
  const timeoutMs = m.timeoutMs ?? 10_000;

  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    let res;
    try {
      res = await requestJson({ method, url: `${base}${path}`, headers, timeoutMs, ...(body === undefined ? {} : { body }) });
    } catch (err) {
      throw new PlinthError('REGISTRY_UNAVAILABLE', `MLflow is unreachable: ${(err as Error).message}`, {}, { cause: err });
    }
    if (res.status === 404) return undefined;
    if (res.status >= 400) throw new PlinthError('TRAINING_FAILED', `MLflow answered ${res.status}: ${excerpt(res.text)}`);
    return res.body;
  }

  return {
    async getRun(runId) {
      const body = (await call('GET', `/api/2.0/mlflow/runs/get?run_id=${encodeURIComponent(runId)}`)) as { run?: RunJson } | undefined;
      if (!body?.run) throw new PlinthError('TRAINING_FAILED', `MLflow has no run ${runId}.`);
      return toRun(body.run);
    },
    async findByWorkflow(workflowId) {
      const exps = (await call('POST', '/api/2.0/mlflow/experiments/search', { max_results: 1000 })) as { experiments?: Array<{ experiment_id: string }> } | undefined;
      const ids = (exps?.experiments ?? []).map((e) => e.experiment_id);
      if (ids.length === 0) return undefined;
      // The value is quoted for MLflow's filter grammar; workflow ids never contain quotes.
      const filter = `tags.${WORKFLOW_TAG} = '${workflowId.replace(/'/g, '')}'`;
      const body = (await call('POST', '/api/2.0/mlflow/runs/search', { experiment_ids: ids, filter, max_results: 1, order_by: ['attributes.start_time DESC'] })) as
        | { runs?: RunJson[] }
        | undefined;
      const run = body?.runs?.[0];
      return run ? toRun(run) : undefined;
    },
  };
}
