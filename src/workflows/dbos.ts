// DBOS Transact setup. Two roles:
//  - executor (`plinth worker`, and `plinth serve` in embedded mode): launches DBOS, registers the
//    workflows, dequeues retraining runs and fires the monitor tick schedule. A restarted executor
//    recovers the workflows it left pending (same WORKFLOWS_EXECUTOR_ID).
//  - client (`plinth serve` on PostgreSQL, CLI commands): enqueues and manages workflows through
//    the system database only; it never runs workflow code or schedules.
//
// The DBOS system tables live in schema WORKFLOWS_SCHEMA (`dbos`) of the Plinth database, unless
// WORKFLOWS_SYSTEM_DATABASE_URL names another database. In embedded mode that is the PGlite
// database, reached over its Unix socket like every other connection.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DBOS, DBOSClient, type DLogger, type GetWorkflowsInput, type WorkflowStatus } from '@dbos-inc/dbos-sdk';
import pg from 'pg';
import type { Config } from '../config/index.js';
import { maskUrl } from '../config/index.js';
import { sslOptions } from '../db/database.js';
import { PlinthError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import { VERSION } from '../version.js';
import { monitorTick, TICK_SCHEDULE } from './monitors.js';
import { RETENTION_SCHEDULE, retentionSweep } from './retention.js';
import { retrainWorkflow } from './retrain.js';
import { checkCron, setWorkflowDeps, traced, type WorkflowDeps } from './runtime.js';
import { rememberWorkflowStart, traceCarrier } from '../telemetry/workflow-tracing.js';
import { recordAndEnqueue } from './start.js';
import { embeddedPool } from './embedded-pool.js';
import type { RetrainRequest } from './schema.js';

export const APP_NAME = 'plinth';
export const RETRAIN_QUEUE = 'plinth_retrain';
export const RETRAIN_WORKFLOW = 'plinth.retrain';
export const TICK_WORKFLOW = 'plinth.monitor_tick';
export const RETENTION_WORKFLOW = 'plinth.retention';

export type WorkflowRole = 'executor' | 'client';

export interface StepSummary {
  id: number;
  name: string;
  error: string | null;
}

export interface WorkflowEngine {
  readonly role: WorkflowRole;
  /** Where the DBOS system tables are, safe to print. */
  readonly location: string;
  /** Enqueues a retraining run; a second call with the same id finds the first workflow. */
  enqueueRetrain(workflowId: string, request: RetrainRequest): Promise<void>;
  status(workflowId: string): Promise<WorkflowStatus | undefined>;
  steps(workflowId: string): Promise<StepSummary[]>;
  list(input: GetWorkflowsInput): Promise<WorkflowStatus[]>;
  cancel(workflowId: string): Promise<void>;
  resume(workflowId: string): Promise<void>;
  /** Waits for the workflow's result (tests, CLI --wait). */
  result(workflowId: string, timeoutMs: number): Promise<unknown>;
  close(): Promise<void>;
}

interface Target {
  url: string;
  location: string;
  ssl: false | object;
  embedded: boolean;
}

/** The system database: WORKFLOWS_SYSTEM_DATABASE_URL, else DATABASE_URL, else the embedded socket. */
export function systemDatabaseTarget(config: Config): Target {
  const explicit = config.workflows.systemDatabaseUrl?.reveal() ?? config.database.url?.reveal();
  if (explicit) {
    const u = new URL(explicit);
    const urlMode = u.searchParams.get('sslmode') ?? undefined;
    const urlCa = u.searchParams.get('sslrootcert') ?? undefined;
    for (const k of ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl']) u.searchParams.delete(k);
    // The same TLS settings as the Plinth pool (DATABASE_SSL_MODE / DATABASE_CA_FILE).
    const ssl = sslOptions(config.database.sslMode ?? urlMode ?? 'prefer', config.database.caFile ?? urlCa);
    return { url: u.toString(), location: maskUrl(explicit), ssl, embedded: false };
  }
  // Embedded: whichever process hosts PGlite wrote its socket directory in the lock file.
  const lockPath = path.join(path.resolve(config.dataDir), 'embedded.lock');
  let socketDir: string;
  try {
    socketDir = (JSON.parse(readFileSync(lockPath, 'utf8')) as { socketDir: string }).socketDir;
  } catch {
    throw new PlinthError('WORKFLOWS_UNAVAILABLE', `The embedded database is not running (no ${lockPath}).`);
  }
  return { url: `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(socketDir)}&port=5432`, location: `${config.dataDir}/pglite (schema ${config.workflows.schema})`, ssl: false, embedded: true };
}

/** DBOS's own log lines, through Plinth's logger. */
function dbosLogger(logger: Logger): DLogger {
  const log = logger.child({ component: 'dbos' });
  const text = (entry: unknown): string => (typeof entry === 'string' ? entry : entry instanceof Error ? entry.message : JSON.stringify(entry));
  return {
    info: (e) => log.info(text(e)),
    debug: (e) => log.debug(text(e)),
    warn: (e) => log.warn(text(e)),
    error: (e) => log.error({ err: { message: text(e) } }, 'workflow engine error'),
  };
}

export interface StartEngineOptions {
  config: Config;
  logger: Logger;
  role: WorkflowRole;
  /** Executor only: the services workflow code runs with. */
  deps?: Omit<WorkflowDeps, 'startRetrain'>;
}

export async function startWorkflowEngine(options: StartEngineOptions): Promise<WorkflowEngine> {
  const { config, logger, role } = options;
  const target = systemDatabaseTarget(config);
  const schema = config.workflows.schema;
  // Small pools: in embedded mode every connection is one more session on the PGlite host.
  const pool = target.embedded
    ? embeddedPool(target.url, 4)
    : new pg.Pool({ connectionString: target.url, ssl: target.ssl, max: 10, application_name: 'plinth-workflows', idleTimeoutMillis: 30_000 });
  pool.on('error', (err) => logger.warn({ err: { message: err.message } }, 'workflow database connection lost'));
  const dlog = dbosLogger(logger);

  let launched = false;
  // Constructing the client touches no database; it is ready before recovery runs any workflow.
  const c = await DBOSClient.create({ systemDatabaseUrl: target.url, systemDatabasePool: pool, systemDatabaseSchemaName: schema, logger: dlog, applicationName: APP_NAME });
  const enqueue = (workflowId: string, request: RetrainRequest) => {
    // The run continues the trace of the request that started it: remembered here when this
    // process runs it, carried in the input (traceparent) for a worker elsewhere.
    if (role === 'executor') rememberWorkflowStart(workflowId);
    const input: RetrainRequest = { ...request, ...traceCarrier() };
    return c.enqueue({ queueName: RETRAIN_QUEUE, workflowName: RETRAIN_WORKFLOW, workflowID: workflowId }, input).then(() => undefined);
  };
  try {
    if (role === 'executor') {
      if (DBOS.isInitialized()) throw new PlinthError('WORKFLOWS_UNAVAILABLE', 'A workflow executor is already running in this process.');
      const deps = options.deps;
      if (!deps) throw new PlinthError('INTERNAL', 'an executor needs its services');
      checkCron(config.workflows.monitorTick);
      checkCron(config.retention.schedule);
      setWorkflowDeps({ ...deps, startRetrain: (id, request) => recordAndEnqueue(deps.db, enqueue, id, request) });
      DBOS.registerWorkflow(traced(RETRAIN_WORKFLOW, retrainWorkflow), { name: RETRAIN_WORKFLOW });
      const tick = DBOS.registerWorkflow(traced(TICK_WORKFLOW, monitorTick), { name: TICK_WORKFLOW });
      const sweep = DBOS.registerWorkflow(traced(RETENTION_WORKFLOW, retentionSweep), { name: RETENTION_WORKFLOW });
      DBOS.setConfig({
        name: APP_NAME,
        systemDatabaseUrl: target.url,
        systemDatabasePool: pool,
        systemDatabaseSchemaName: schema,
        // One version across serve and workers, so queued work is dequeued by any of them.
        applicationVersion: VERSION,
        executorID: config.workflows.executorId,
        logger: dlog,
        // PGlite's socket server delivers no notifications: poll instead of waiting for them.
        ...(target.embedded ? { useListenNotify: false } : {}),
      });
      await DBOS.launch();
      launched = true;
      await DBOS.registerQueue(RETRAIN_QUEUE, { workerConcurrency: config.workflows.concurrency, onConflict: 'always_update' });
      await DBOS.applySchedules([
        { scheduleName: TICK_SCHEDULE, workflowFn: tick, schedule: config.workflows.monitorTick },
        { scheduleName: RETENTION_SCHEDULE, workflowFn: sweep, schedule: config.retention.schedule },
      ]);
    } else {
      // Creates or upgrades the system schema when no executor has yet (idempotent).
      await DBOS.migrate(target.url, { schemaName: schema });
    }
  } catch (err) {
    if (launched) await DBOS.shutdown({ deregister: true }).catch(() => undefined);
    if (role === 'executor') setWorkflowDeps(undefined);
    await c.destroy().catch(() => undefined);
    await pool.end().catch(() => undefined);
    if (err instanceof PlinthError) throw err;
    throw new PlinthError('WORKFLOWS_UNAVAILABLE', `The workflow engine cannot start on ${target.location}: ${(err as Error).message}`, {}, { cause: err });
  }
  logger.info({ role, system_database: target.location, executor_id: config.workflows.executorId }, 'workflow engine started');

  let closing: Promise<void> | undefined;
  const wrap = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof PlinthError) throw err;
      throw new PlinthError('WORKFLOWS_UNAVAILABLE', `The workflow engine failed: ${(err as Error).message}`, {}, { cause: err });
    }
  };

  return {
    role,
    location: target.location,
    enqueueRetrain: (workflowId, request) => wrap(() => enqueue(workflowId, request)),
    status: (id) => wrap(async () => (await c.getWorkflow(id)) ?? undefined),
    steps: (id) =>
      wrap(async () =>
        ((await c.listWorkflowSteps(id)) ?? []).map((s) => ({ id: s.functionID, name: s.name, error: s.error ? s.error.message : null })),
      ),
    list: (input) => wrap(() => c.listWorkflows(input)),
    cancel: (id) => wrap(() => c.cancelWorkflow(id)),
    resume: (id) => wrap(async () => void (await c.resumeWorkflow(id))),
    result: (id, timeoutMs) => wrap(() => c.retrieveWorkflow(id).getResult({ timeoutSeconds: timeoutMs / 1000 } as never)),
    close() {
      closing ??= (async () => {
        try {
          if (launched) {
            // Stop dequeuing, let running steps finish for a bounded time; the rest resume on restart.
            await DBOS.shutdown({ deregister: true, workflowCompletionTimeoutMS: config.workflows.shutdownTimeoutMs });
            setWorkflowDeps(undefined);
          }
          await c.destroy();
        } finally {
          await pool.end().catch(() => undefined);
        }
      })();
      return closing;
    },
  };
}
