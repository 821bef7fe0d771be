// Zod schemas of the workflows domain, shared by the HTTP, MCP and CLI doors: drift monitors,
// training actions, the promotion gate, retraining requests and workflow status.
import { z } from 'zod';

/** Names of environment variables a training action may read credentials from. */
export const ACTION_SECRET_ENV = /^TRAINING_[A-Z0-9_]{1,100}$/;
const secretEnv = z
  .string()
  .regex(ACTION_SECRET_ENV, 'must name an environment variable starting with TRAINING_')
  .describe('Name of a TRAINING_* environment variable of the worker holding the credential (never the credential itself).');

const httpUrl = z.url({ protocol: /^https?$/ });
const pollInterval = z.number().int().min(100).max(3_600_000).optional().describe('Milliseconds between status polls (default WORKFLOWS_POLL_INTERVAL_MS).');
const timeoutMs = z.number().int().min(1000).max(7 * 86_400_000).optional().describe('Upper bound for the whole action (default WORKFLOWS_TRAINING_TIMEOUT_MS).');
const envMap = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/), z.string().max(4096));

export const commandAction = z
  .object({
    type: z.literal('command'),
    command: z.string().min(1).max(1024).describe('Executable; must be listed in WORKFLOWS_ALLOWED_COMMANDS.'),
    args: z.array(z.string().max(4096)).max(256).default([]),
    env: envMap.default({}).describe('Extra environment of the command (it does not inherit the server environment).'),
    cwd: z.string().min(1).max(1024).optional(),
    timeout_ms: timeoutMs,
  })
  .strict();

export const webhookAction = z
  .object({
    type: z.literal('webhook'),
    url: httpUrl.describe('Receives a POST with the training request; answers {id} or the final result.'),
    status_url: z.string().min(1).max(2048).optional().describe('Polled with GET until a terminal status; `{id}` is replaced by the id the POST returned.'),
    token_env: secretEnv.optional(),
    poll_interval_ms: pollInterval,
    timeout_ms: timeoutMs,
  })
  .strict();

export const kubernetesJobAction = z
  .object({
    type: z.literal('kubernetes_job'),
    api_url: httpUrl.describe('Kubernetes API server, e.g. https://kubernetes.default.svc'),
    namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/),
    token_env: secretEnv.optional(),
    token_file: z.string().min(1).max(1024).optional().describe('Service-account token file (default the in-cluster one).'),
    ca_file: z.string().min(1).max(1024).optional(),
    image: z.string().min(1).max(1024),
    command: z.array(z.string().max(4096)).max(256).optional(),
    args: z.array(z.string().max(4096)).max(256).optional(),
    env: envMap.default({}),
    service_account: z.string().max(253).optional(),
    backoff_limit: z.number().int().min(0).max(10).default(0),
    poll_interval_ms: pollInterval,
    timeout_ms: timeoutMs,
  })
  .strict();

export const airflowAction = z
  .object({
    type: z.literal('airflow'),
    url: httpUrl.describe('Airflow webserver base URL.'),
    dag_id: z.string().regex(/^[A-Za-z0-9_.-]{1,250}$/),
    conf: z.record(z.string(), z.unknown()).default({}),
    token_env: secretEnv.optional(),
    username_env: secretEnv.optional(),
    password_env: secretEnv.optional(),
    poll_interval_ms: pollInterval,
    timeout_ms: timeoutMs,
  })
  .strict();

export const trainingAction = z.discriminatedUnion('type', [commandAction, webhookAction, kubernetesJobAction, airflowAction]);
export type TrainingAction = z.output<typeof trainingAction>;

export const gateMetric = z
  .object({
    metric: z.string().regex(/^[A-Za-z0-9_.\-/ ]{1,250}$/),
    direction: z.enum(['max', 'min']).default('max'),
    min_improvement: z.number().min(0).default(0).describe('How much better than the champion the candidate must be (absolute).'),
  })
  .strict();
export type GateMetric = z.output<typeof gateMetric>;

export const retrainConfig = z
  .object({
    action: trainingAction,
    gate: z.array(gateMetric).min(1).max(20),
    notify_url: httpUrl.optional().describe('Receives a POST with the outcome.'),
  })
  .strict();
export type RetrainConfig = z.output<typeof retrainConfig>;

const cron = z.string().min(9).max(200).describe('Cron schedule: 5 fields (minute hour day month weekday) or 6 with seconds first; UTC.');
const monitorName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, - and _ (max 63)');
const modelName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/);

export const createMonitorInput = z
  .object({
    name: monitorName,
    model: modelName,
    profile_id: z.uuid().describe('Reference profile of the drift service.'),
    schedule: cron,
    window_minutes: z.number().int().min(1).max(525_600).default(1440).describe('Current data: the inference log of the model over this many minutes before each check.'),
    threshold: z.number().min(0).max(1).default(0.5).describe('Retrain when the share of drifted columns exceeds this.'),
    retrain: retrainConfig.optional(),
    enabled: z.boolean().default(true),
  })
  .strict();
export type CreateMonitorInput = z.output<typeof createMonitorInput>;

export const updateMonitorInput = z
  .object({
    profile_id: z.uuid().optional(),
    schedule: cron.optional(),
    window_minutes: z.number().int().min(1).max(525_600).optional(),
    threshold: z.number().min(0).max(1).optional(),
    retrain: retrainConfig.nullable().optional(),
    enabled: z.boolean().optional(),
  })
  .strict();
export type UpdateMonitorInput = z.output<typeof updateMonitorInput>;

export const monitorOutput = z.object({
  id: z.uuid(),
  name: z.string(),
  model: z.string(),
  profile_id: z.uuid(),
  schedule: z.string(),
  window_minutes: z.number(),
  threshold: z.number(),
  retrain: z.unknown().nullable(),
  enabled: z.boolean(),
  last_checked_at: z.string().nullable(),
  last_outcome: z.string().nullable(),
  last_drift_share: z.number().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type MonitorOutput = z.infer<typeof monitorOutput>;

export const monitorCheckOutput = z.object({
  id: z.uuid(),
  monitor_id: z.uuid(),
  scheduled_at: z.string(),
  outcome: z.enum(['ok', 'drift', 'error']),
  drift_check_id: z.string().nullable(),
  drift_share: z.number().nullable(),
  dataset_drift: z.boolean().nullable(),
  retrain_workflow_id: z.string().nullable(),
  error_code: z.string().nullable(),
  error: z.string().nullable(),
});
export type MonitorCheckOutput = z.infer<typeof monitorCheckOutput>;

export const TRIGGERS = ['drift', 'schedule', 'manual', 'metric_decay'] as const;
export type Trigger = (typeof TRIGGERS)[number];

export const retrainStartInput = z
  .object({
    model: modelName,
    monitor_id: z.uuid().optional().describe("Use this monitor's retrain configuration (action, gate, notify_url) unless given here."),
    action: trainingAction.optional(),
    gate: z.array(gateMetric).min(1).max(20).optional(),
    notify_url: httpUrl.optional(),
    trigger: z.enum(['manual', 'schedule', 'metric_decay']).default('manual'),
    data_from: z.iso.datetime({ offset: true }).optional(),
    data_to: z.iso.datetime({ offset: true }).optional(),
    idempotency_key: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,128}$/)
      .optional()
      .describe('A repeated start with the same key returns the first workflow instead of starting another.'),
  })
  .strict();
export type RetrainStartInput = z.output<typeof retrainStartInput>;

/** What a retraining workflow runs with: fully resolved, stored with the run and passed to DBOS. */
export interface RetrainRequest {
  tenantId: string;
  model: string;
  trigger: Trigger;
  monitorId: string | null;
  driftCheckId: string | null;
  dataFrom: string | null;
  dataTo: string | null;
  action: TrainingAction;
  gate: GateMetric[];
  notifyUrl: string | null;
  actor: string;
  /** W3C trace context of the request that started the run (the run's span continues it). */
  traceparent?: string;
  tracestate?: string;
}

export const retrainRunOutput = z.object({
  workflow_id: z.string(),
  model: z.string(),
  trigger: z.enum(TRIGGERS),
  monitor_id: z.string().nullable(),
  drift_check_id: z.string().nullable(),
  status: z.string(),
  training_run_id: z.string().nullable(),
  candidate_metrics: z.record(z.string(), z.number()).nullable(),
  champion_metrics: z.record(z.string(), z.number()).nullable(),
  champion_version: z.number().nullable(),
  version: z.number().nullable(),
  promoted: z.boolean().nullable(),
  reason: z.string().nullable(),
  error_code: z.string().nullable(),
  created_at: z.string(),
  finished_at: z.string().nullable(),
});
export type RetrainRunOutput = z.infer<typeof retrainRunOutput>;

export const workflowOutput = z.object({
  workflow_id: z.string(),
  name: z.string(),
  status: z.string().describe('DBOS status: ENQUEUED, PENDING, SUCCESS, ERROR, CANCELLED, MAX_RECOVERY_ATTEMPTS_EXCEEDED.'),
  queue: z.string().nullable(),
  executor_id: z.string().nullable(),
  created_at: z.string().nullable(),
  updated_at: z.string().nullable(),
  attempts: z.number().nullable(),
  error: z.string().nullable(),
  retraining: retrainRunOutput.nullable(),
  steps: z.array(z.object({ id: z.number(), name: z.string(), error: z.string().nullable() })).optional(),
});
export type WorkflowOutput = z.infer<typeof workflowOutput>;

export const listWorkflowsInput = z
  .object({
    status: z.enum(['ENQUEUED', 'PENDING', 'SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED']).optional(),
    name: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();
export type ListWorkflowsInput = z.output<typeof listWorkflowsInput>;

export const workflowIdParam = z.string().regex(/^[A-Za-z0-9:._@+-]{1,300}$/);
