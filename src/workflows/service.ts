// Use cases of the workflows domain, called by the HTTP, MCP and CLI doors: drift monitors,
// starting retraining, and workflow status and management. Tenants see their own retraining
// runs (the run row is the proof of ownership, under RLS); root-tenant admins see every workflow.
import { randomUUID } from 'node:crypto';
import type { Audit } from '../auth/index.js';
import type { Config } from '../config/index.js';
import type { Database, Tx } from '../db/index.js';
import { PlinthError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import { checkActionAllowed } from './actions.js';
import type { WorkflowEngine, WorkflowRole } from './dbos.js';
import { RETRAIN_WORKFLOW } from './dbos.js';
import { checkMonitor } from './monitors.js';
import { checkCron, workflowDeps } from './runtime.js';
import {
  retrainConfig,
  type CreateMonitorInput,
  type ListWorkflowsInput,
  type MonitorCheckOutput,
  type MonitorOutput,
  type RetrainRequest,
  type RetrainRunOutput,
  type RetrainStartInput,
  type UpdateMonitorInput,
  type WorkflowOutput,
} from './schema.js';
import { recordAndEnqueue } from './start.js';
import * as store from './store.js';
import type { WorkflowStatus } from '@dbos-inc/dbos-sdk';

type RecordAudit = (tx: Tx, tenantId: string, audit: Audit, action: string, target?: string, details?: Record<string, unknown>) => Promise<void>;

export interface Caller {
  tenantId: string;
  /** Root-tenant admin: may see and manage every workflow, ticks included. */
  root: boolean;
}

export interface StartRetrainResult {
  workflow_id: string;
  created: boolean;
  run: RetrainRunOutput;
}

export interface WorkflowService {
  readonly role: WorkflowRole;
  /** Starts the engine now (executors start with the platform; clients on first use). */
  engine(): Promise<WorkflowEngine>;
  createMonitor(tenantId: string, input: CreateMonitorInput, audit: Audit): Promise<MonitorOutput>;
  listMonitors(tenantId: string): Promise<MonitorOutput[]>;
  getMonitor(tenantId: string, idOrName: string): Promise<MonitorOutput>;
  updateMonitor(tenantId: string, idOrName: string, input: UpdateMonitorInput, audit: Audit): Promise<MonitorOutput>;
  deleteMonitor(tenantId: string, idOrName: string, audit: Audit): Promise<MonitorOutput>;
  listChecks(tenantId: string, idOrName: string, limit: number): Promise<MonitorCheckOutput[]>;
  /** Runs one check of the monitor now (executor processes only). */
  runMonitorNow(tenantId: string, idOrName: string): Promise<MonitorCheckOutput>;
  startRetrain(tenantId: string, input: RetrainStartInput, audit: Audit): Promise<StartRetrainResult>;
  getWorkflow(caller: Caller, workflowId: string, options?: { steps?: boolean }): Promise<WorkflowOutput>;
  listWorkflows(caller: Caller, input: ListWorkflowsInput): Promise<WorkflowOutput[]>;
  cancel(caller: Caller, workflowId: string, audit: Audit): Promise<WorkflowOutput>;
  resume(caller: Caller, workflowId: string, audit: Audit): Promise<WorkflowOutput>;
  /** Waits until the workflow finishes (or the timeout passes) and returns its status. */
  wait(caller: Caller, workflowId: string, timeoutMs: number): Promise<WorkflowOutput>;
  close(): Promise<void>;
}

export interface CreateWorkflowServiceInput {
  config: Config;
  db: Database;
  logger: Logger;
  audit: RecordAudit;
  role: WorkflowRole;
  startEngine: () => Promise<WorkflowEngine>;
}

const TERMINAL = new Set(['SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED']);

function errorText(e: unknown): string | null {
  if (e === undefined || e === null) return null;
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && 'message' in e) return String((e).message);
  return typeof e === 'string' ? e : JSON.stringify(e);
}

function toOutput(s: WorkflowStatus, run: RetrainRunOutput | null): WorkflowOutput {
  return {
    workflow_id: s.workflowID,
    name: s.workflowName,
    status: s.status,
    queue: s.queueName ?? null,
    executor_id: s.executorId ?? null,
    created_at: Number.isFinite(s.createdAt) ? new Date(s.createdAt).toISOString() : null,
    updated_at: s.updatedAt ? new Date(s.updatedAt).toISOString() : null,
    attempts: s.recoveryAttempts ?? null,
    error: errorText(s.error),
    retraining: run,
  };
}

export function createWorkflowService(input: CreateWorkflowServiceInput): WorkflowService {
  const { config, db, audit: recordAudit } = input;
  let engineP: Promise<WorkflowEngine> | undefined;
  let closed = false;

  function engine(): Promise<WorkflowEngine> {
    if (closed) return Promise.reject(new PlinthError('SHUTTING_DOWN'));
    engineP ??= input.startEngine().catch((err: unknown) => {
      engineP = undefined; // try again on the next call
      throw err;
    });
    return engineP;
  }

  function validateRetrain(action: RetrainRequest['action']): void {
    checkActionAllowed(action, config);
  }

  function validateMonitor(schedule: string | undefined, retrain: CreateMonitorInput['retrain'] | null | undefined): void {
    if (schedule !== undefined) checkCron(schedule);
    if (retrain) validateRetrain(retrain.action);
  }

  /** The run row under RLS, or NOT_FOUND; root admins may address any workflow. */
  async function visibleRun(caller: Caller, workflowId: string): Promise<RetrainRunOutput | null> {
    const run = await db.withTenant(caller.tenantId, (tx) => store.getRun(tx, workflowId), { readOnly: true });
    if (!run && !caller.root) throw new PlinthError('WORKFLOW_NOT_FOUND', `No workflow "${workflowId}".`);
    return run ?? null;
  }

  async function describe(caller: Caller, workflowId: string, steps = false): Promise<WorkflowOutput> {
    const run = await visibleRun(caller, workflowId);
    const e = await engine();
    const status = await e.status(workflowId);
    if (!status) {
      if (!run) throw new PlinthError('WORKFLOW_NOT_FOUND', `No workflow "${workflowId}".`);
      // The row was written but the enqueue did not happen (a crash in between): not started yet.
      return { workflow_id: workflowId, name: RETRAIN_WORKFLOW, status: 'NOT_STARTED', queue: null, executor_id: null, created_at: run.created_at, updated_at: null, attempts: null, error: null, retraining: run };
    }
    const out = toOutput(status, run);
    if (steps) out.steps = await e.steps(workflowId);
    return out;
  }

  return {
    role: input.role,
    engine,

    async createMonitor(tenantId, body, audit) {
      validateMonitor(body.schedule, body.retrain);
      return db.withTenant(tenantId, async (tx) => {
        const m = await store.insertMonitor(tx, tenantId, body);
        await recordAudit(tx, tenantId, audit, 'monitor.created', m.name, { monitor_id: m.id, model: m.model });
        return store.publicMonitor(m);
      });
    },

    listMonitors: (tenantId) => db.withTenant(tenantId, async (tx) => (await store.listMonitors(tx)).map(store.publicMonitor), { readOnly: true }),

    getMonitor: (tenantId, idOrName) => db.withTenant(tenantId, async (tx) => store.publicMonitor(await store.findMonitor(tx, idOrName)), { readOnly: true }),

    async updateMonitor(tenantId, idOrName, body, audit) {
      validateMonitor(body.schedule, body.retrain);
      return db.withTenant(tenantId, async (tx) => {
        const m = await store.updateMonitor(tx, idOrName, body);
        await recordAudit(tx, tenantId, audit, 'monitor.updated', m.name, { monitor_id: m.id, fields: Object.keys(body) });
        return store.publicMonitor(m);
      });
    },

    deleteMonitor: (tenantId, idOrName, audit) =>
      db.withTenant(tenantId, async (tx) => {
        const m = await store.deleteMonitor(tx, idOrName);
        await recordAudit(tx, tenantId, audit, 'monitor.deleted', m.name, { monitor_id: m.id });
        return store.publicMonitor(m);
      }),

    listChecks: (tenantId, idOrName, limit) =>
      db.withTenant(tenantId, async (tx) => store.listChecks(tx, (await store.findMonitor(tx, idOrName)).id, limit), { readOnly: true }),

    async runMonitorNow(tenantId, idOrName) {
      if (input.role !== 'executor') throw new PlinthError('WORKFLOWS_UNAVAILABLE', 'Monitors run in a worker (plinth worker) or the embedded server.');
      await engine();
      workflowDeps(); // throws when the runtime is not up
      const monitor = await db.withTenant(tenantId, (tx) => store.findMonitor(tx, idOrName));
      const at = new Date(Math.floor(Date.now() / 1000) * 1000);
      await checkMonitor(monitor, at);
      return db.withTenant(tenantId, async (tx) => (await store.listChecks(tx, monitor.id, 1))[0]!, { readOnly: true });
    },

    async startRetrain(tenantId, body, audit) {
      let action = body.action;
      let gate = body.gate;
      let notifyUrl = body.notify_url;
      let monitorId: string | null = null;
      if (body.monitor_id) {
        const m = await db.withTenant(tenantId, (tx) => store.findMonitor(tx, body.monitor_id!), { readOnly: true });
        monitorId = m.id;
        if (m.model !== body.model) throw new PlinthError('VALIDATION_FAILED', `The monitor watches model "${m.model}", not "${body.model}".`);
        const cfg = m.retrain ? retrainConfig.safeParse(m.retrain) : undefined;
        if (cfg?.success) {
          action ??= cfg.data.action;
          gate ??= cfg.data.gate;
          notifyUrl ??= cfg.data.notify_url;
        }
      }
      if (!action) throw new PlinthError('VALIDATION_FAILED', 'action: required (or a monitor_id whose monitor has a retrain configuration).');
      if (!gate) throw new PlinthError('VALIDATION_FAILED', 'gate: required (or a monitor_id whose monitor has a retrain configuration).');
      validateRetrain(action);
      const request: RetrainRequest = {
        tenantId,
        model: body.model,
        trigger: body.trigger,
        monitorId,
        driftCheckId: null,
        dataFrom: body.data_from ?? null,
        dataTo: body.data_to ?? null,
        action,
        gate,
        notifyUrl: notifyUrl ?? null,
        actor: audit.actor,
      };
      // Deterministic for a given key: a retried start (network error, double click) finds the first.
      const workflowId = `retrain:${tenantId}:${body.trigger}:${body.idempotency_key ?? randomUUID()}`;
      const e = await engine();
      const { created } = await recordAndEnqueue(db, (id, req) => e.enqueueRetrain(id, req), workflowId, request);
      if (created) await db.withTenant(tenantId, (tx) => recordAudit(tx, tenantId, audit, 'workflow.retrain_started', body.model, { workflow_id: workflowId, trigger: body.trigger, action: action.type }));
      const run = await db.withTenant(tenantId, (tx) => store.getRun(tx, workflowId), { readOnly: true });
      return { workflow_id: workflowId, created, run: run! };
    },

    getWorkflow: (caller, workflowId, options = {}) => describe(caller, workflowId, options.steps === true),

    async listWorkflows(caller, q) {
      const e = await engine();
      const statuses = await e.list({
        ...(q.status ? { status: q.status } : {}),
        ...(q.name ? { workflowName: q.name } : {}),
        // A tenant admin sees the tenant's retraining runs; the root admin sees every workflow.
        ...(caller.root ? {} : { workflow_id_prefix: `retrain:${caller.tenantId}:` }),
        limit: q.limit,
        offset: q.offset,
        sortDesc: true,
      });
      const runs = await db.withTenant(caller.tenantId, (tx) => store.listRuns(tx, 500, 0), { readOnly: true });
      const byId = new Map(runs.map((r) => [r.workflow_id, r]));
      return statuses.map((s) => toOutput(s, byId.get(s.workflowID) ?? null));
    },

    async cancel(caller, workflowId, audit) {
      const run = await visibleRun(caller, workflowId);
      const e = await engine();
      if (!(await e.status(workflowId))) throw new PlinthError('WORKFLOW_NOT_FOUND', `No workflow "${workflowId}".`);
      await e.cancel(workflowId);
      await db.withTenant(caller.tenantId, async (tx) => {
        if (run && !run.finished_at) await store.updateRun(tx, workflowId, { status: 'cancelled', reason: `cancelled by ${audit.actor}`, finished: true });
        await recordAudit(tx, caller.tenantId, audit, 'workflow.cancelled', workflowId);
      });
      return describe(caller, workflowId);
    },

    async resume(caller, workflowId, audit) {
      const run = await visibleRun(caller, workflowId);
      const e = await engine();
      if (!(await e.status(workflowId))) throw new PlinthError('WORKFLOW_NOT_FOUND', `No workflow "${workflowId}".`);
      await e.resume(workflowId);
      await db.withTenant(caller.tenantId, async (tx) => {
        // Resumed from its last completed step: the run is live again.
        if (run?.status === 'cancelled' || run?.status === 'failed') {
          await tx.query(`UPDATE retraining_runs SET status = 'queued', finished_at = NULL, reason = NULL, error_code = NULL, updated_at = now() WHERE workflow_id = $1`, [workflowId]);
        }
        await recordAudit(tx, caller.tenantId, audit, 'workflow.resumed', workflowId);
      });
      return describe(caller, workflowId);
    },

    async wait(caller, workflowId, timeoutMs) {
      await visibleRun(caller, workflowId);
      const e = await engine();
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await e.status(workflowId);
        if ((s && TERMINAL.has(s.status)) || Date.now() >= deadline) return describe(caller, workflowId);
        await new Promise((r) => setTimeout(r, 250));
      }
    },

    async close() {
      closed = true;
      const p = engineP;
      engineP = undefined;
      if (p) await (await p.catch(() => undefined))?.close();
    },
  };
}
