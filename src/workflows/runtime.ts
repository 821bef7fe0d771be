// What running workflow code needs at run time. DBOS workflows are registered once per process
// (DBOS is a process-wide singleton), so their bodies find the platform's services here, set by
// the engine when it launches, rather than in closures.
import { DBOS, type StepConfig } from '@dbos-inc/dbos-sdk';
import { Counter, Gauge, type Registry } from 'prom-client';
import { TimeMatcher, validateCrontab } from '@dbos-inc/dbos-sdk/internal/scheduler/crontab';
import type { Config } from '../config/index.js';
import type { Database } from '../db/index.js';
import { PlinthError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { Tracing } from '../telemetry/tracing.js';
import { inStepSpan, inWorkflowSpan } from '../telemetry/workflow-tracing.js';
import type { MlflowRuns } from './mlflow-runs.js';
import type { DriftChecker, ModelRegistry } from './ports.js';
import type { RetrainRequest } from './schema.js';

export interface WorkflowMetrics {
  /** outcome: ok | drift | error */
  monitorChecks: Counter<'outcome'>;
  /** Last drifted-column share per monitor (label: monitor id — bounded by the monitors defined). */
  monitorDriftShare: Gauge<'monitor'>;
  /** outcome: promoted | rejected | failed */
  retrainRuns: Counter<'outcome'>;
}

function getOrCreate<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function createWorkflowMetrics(registry: Registry): WorkflowMetrics {
  return {
    monitorChecks: getOrCreate(registry, 'plinth_monitor_checks_total', () =>
      new Counter({ name: 'plinth_monitor_checks_total', help: 'Scheduled drift checks of monitors by outcome (ok, drift, error).', labelNames: ['outcome'], registers: [registry] }),
    ),
    monitorDriftShare: getOrCreate(registry, 'plinth_monitor_drift_share', () =>
      new Gauge({ name: 'plinth_monitor_drift_share', help: 'Share of drifted columns at the last check of each monitor.', labelNames: ['monitor'], registers: [registry] }),
    ),
    retrainRuns: getOrCreate(registry, 'plinth_retraining_runs_total', () =>
      new Counter({ name: 'plinth_retraining_runs_total', help: 'Finished retraining workflows by outcome (promoted, rejected, failed).', labelNames: ['outcome'], registers: [registry] }),
    ),
  };
}

export interface WorkflowDeps {
  config: Config;
  db: Database;
  logger: Logger;
  metrics: WorkflowMetrics;
  registry: ModelRegistry | undefined;
  drift: DriftChecker | undefined;
  mlflow: MlflowRuns | undefined;
  /** Spans of workflow runs and steps (absent or off: none). */
  tracing?: Tracing;
  /** Records the run and enqueues its workflow; idempotent per workflow id. */
  startRetrain(workflowId: string, request: RetrainRequest): Promise<{ created: boolean }>;
}

let current: WorkflowDeps | undefined;

export function setWorkflowDeps(deps: WorkflowDeps | undefined): void {
  current = deps;
}

export function workflowDeps(): WorkflowDeps {
  if (!current) throw new PlinthError('WORKFLOWS_UNAVAILABLE', 'The workflow runtime is not started in this process.');
  return current;
}

/** A workflow body that runs in its span `workflow <name>` (telemetry/workflow-tracing.ts). */
export function traced<A extends unknown[], R>(name: string, body: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return (...args: A) => inWorkflowSpan(current?.tracing?.tracer, name, DBOS.workflowID, () => body(...args), args[0]);
}

/** DBOS.runStep, with each run of the step's body in a span `step <name>`. */
export function runStep<T>(fn: () => Promise<T>, config: StepConfig & { name: string }): Promise<T> {
  return DBOS.runStep(() => inStepSpan(current?.tracing?.tracer, config.name, DBOS.workflowID, fn), config);
}

/** Throws INVALID_SCHEDULE for a cron expression DBOS would not run. */
export function checkCron(expr: string): void {
  try {
    validateCrontab(expr);
    new TimeMatcher(expr);
  } catch (err) {
    throw new PlinthError('INVALID_SCHEDULE', `"${expr}": ${(err as Error).message}`);
  }
}

/** True when the cron expression fires at this instant (UTC, second resolution). */
export function cronMatches(expr: string, at: Date): boolean {
  try {
    return new TimeMatcher(expr).match(at);
  } catch {
    return false;
  }
}
