// SQL of the workflows domain: monitors, their checks and retraining runs. Tenant-owned rows are
// read and written under row-level security (withTenant); only the monitor tick lists monitors
// of every tenant (withSystem). For data rights, also the workflow engine's records of a
// tenant's workflows (read and deleted with platform privileges, chosen by workflow id).
import type { Database, Tx } from '../db/index.js';
import { PlinthError } from '../errors.js';
import type { CreateMonitorInput, MonitorCheckOutput, MonitorOutput, RetrainRequest, RetrainRunOutput, UpdateMonitorInput } from './schema.js';

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v));

const MONITOR_COLUMNS = `id, tenant_id, name, model, profile_id, schedule, window_minutes, threshold, retrain, enabled,
  last_checked_at, last_outcome, last_drift_share, created_at, updated_at`;

export interface MonitorRow extends MonitorOutput {
  tenant_id: string;
}

function monitorRow(r: Record<string, unknown>): MonitorRow {
  return {
    id: r.id as string,
    tenant_id: r.tenant_id as string,
    name: r.name as string,
    model: r.model as string,
    profile_id: r.profile_id as string,
    schedule: r.schedule as string,
    window_minutes: Number(r.window_minutes),
    threshold: Number(r.threshold),
    retrain: r.retrain ?? null,
    enabled: Boolean(r.enabled),
    last_checked_at: isoOrNull(r.last_checked_at),
    last_outcome: (r.last_outcome as string | null) ?? null,
    last_drift_share: r.last_drift_share === null || r.last_drift_share === undefined ? null : Number(r.last_drift_share),
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
}

export function publicMonitor(m: MonitorRow): MonitorOutput {
  const { tenant_id: _tenant, ...rest } = m;
  return rest;
}

export async function insertMonitor(tx: Tx, tenantId: string, input: CreateMonitorInput): Promise<MonitorRow> {
  try {
    const { rows } = await tx.query(
      `INSERT INTO monitors (tenant_id, name, model, profile_id, schedule, window_minutes, threshold, retrain, enabled)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${MONITOR_COLUMNS}`,
      [tenantId, input.name, input.model, input.profile_id, input.schedule, input.window_minutes, input.threshold, input.retrain ? JSON.stringify(input.retrain) : null, input.enabled],
    );
    return monitorRow(rows[0]!);
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new PlinthError('MONITOR_EXISTS', `A monitor named "${input.name}" already exists.`);
    throw err;
  }
}

/** By id or by name. */
export async function findMonitor(tx: Tx, idOrName: string, forUpdate = false): Promise<MonitorRow> {
  const byId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrName);
  const { rows } = await tx.query(`SELECT ${MONITOR_COLUMNS} FROM monitors WHERE ${byId ? 'id = $1' : 'name = $1'}${forUpdate ? ' FOR UPDATE' : ''}`, [idOrName]);
  if (!rows[0]) throw new PlinthError('MONITOR_NOT_FOUND', `No monitor "${idOrName}".`);
  return monitorRow(rows[0]);
}

export async function listMonitors(tx: Tx): Promise<MonitorRow[]> {
  const { rows } = await tx.query(`SELECT ${MONITOR_COLUMNS} FROM monitors ORDER BY name`);
  return rows.map(monitorRow);
}

export async function updateMonitor(tx: Tx, idOrName: string, input: UpdateMonitorInput): Promise<MonitorRow> {
  const current = await findMonitor(tx, idOrName, true);
  const retrain = input.retrain === undefined ? current.retrain : input.retrain;
  const { rows } = await tx.query(
    `UPDATE monitors SET profile_id = $2, schedule = $3, window_minutes = $4, threshold = $5, retrain = $6, enabled = $7, updated_at = now()
     WHERE id = $1 RETURNING ${MONITOR_COLUMNS}`,
    [
      current.id,
      input.profile_id ?? current.profile_id,
      input.schedule ?? current.schedule,
      input.window_minutes ?? current.window_minutes,
      input.threshold ?? current.threshold,
      retrain === null ? null : JSON.stringify(retrain),
      input.enabled ?? current.enabled,
    ],
  );
  return monitorRow(rows[0]!);
}

export async function deleteMonitor(tx: Tx, idOrName: string): Promise<MonitorRow> {
  const current = await findMonitor(tx, idOrName, true);
  await tx.query('DELETE FROM monitors WHERE id = $1', [current.id]);
  return current;
}

/** Every enabled monitor of every tenant: the tick decides which are due. */
export async function listEnabledMonitors(db: Database): Promise<MonitorRow[]> {
  return db.withSystem(async (tx) => (await tx.query(`SELECT ${MONITOR_COLUMNS} FROM monitors WHERE enabled ORDER BY tenant_id, name`)).rows.map(monitorRow));
}

export interface CheckRecord {
  outcome: 'ok' | 'drift' | 'error';
  driftCheckId: string | null;
  driftShare: number | null;
  datasetDrift: boolean | null;
  retrainWorkflowId: string | null;
  errorCode: string | null;
  error: string | null;
}

function checkRow(r: Record<string, unknown>): MonitorCheckOutput {
  return {
    id: r.id as string,
    monitor_id: r.monitor_id as string,
    scheduled_at: iso(r.scheduled_at),
    outcome: r.outcome as MonitorCheckOutput['outcome'],
    drift_check_id: (r.drift_check_id as string | null) ?? null,
    drift_share: r.drift_share === null || r.drift_share === undefined ? null : Number(r.drift_share),
    dataset_drift: (r.dataset_drift as boolean | null) ?? null,
    retrain_workflow_id: (r.retrain_workflow_id as string | null) ?? null,
    error_code: (r.error_code as string | null) ?? null,
    error: (r.error as string | null) ?? null,
  };
}

/**
 * Records one scheduled check and the monitor's last state, in one transaction. A replayed tick
 * (same monitor, same scheduled time) keeps the first row.
 */
export async function recordCheck(tx: Tx, tenantId: string, monitorId: string, scheduledAt: string, rec: CheckRecord): Promise<MonitorCheckOutput> {
  const inserted = await tx.query(
    `INSERT INTO monitor_checks (tenant_id, monitor_id, scheduled_at, outcome, drift_check_id, drift_share, dataset_drift, retrain_workflow_id, error_code, error)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (monitor_id, scheduled_at) DO NOTHING RETURNING *`,
    [tenantId, monitorId, scheduledAt, rec.outcome, rec.driftCheckId, rec.driftShare, rec.datasetDrift, rec.retrainWorkflowId, rec.errorCode, rec.error],
  );
  if (inserted.rows[0]) {
    await tx.query(
      `UPDATE monitors SET last_checked_at = $2, last_outcome = $3, last_drift_share = COALESCE($4, last_drift_share) WHERE id = $1`,
      [monitorId, scheduledAt, rec.outcome, rec.driftShare],
    );
    return checkRow(inserted.rows[0]);
  }
  const { rows } = await tx.query('SELECT * FROM monitor_checks WHERE monitor_id = $1 AND scheduled_at = $2', [monitorId, scheduledAt]);
  return checkRow(rows[0]!);
}

export async function listChecks(tx: Tx, monitorId: string, limit: number): Promise<MonitorCheckOutput[]> {
  const { rows } = await tx.query('SELECT * FROM monitor_checks WHERE monitor_id = $1 ORDER BY scheduled_at DESC LIMIT $2', [monitorId, limit]);
  return rows.map(checkRow);
}

function runRow(r: Record<string, unknown>): RetrainRunOutput {
  return {
    workflow_id: r.workflow_id as string,
    model: r.model as string,
    trigger: r.trigger as RetrainRunOutput['trigger'],
    monitor_id: (r.monitor_id as string | null) ?? null,
    drift_check_id: (r.drift_check_id as string | null) ?? null,
    status: r.status as string,
    training_run_id: (r.training_run_id as string | null) ?? null,
    candidate_metrics: (r.candidate_metrics as Record<string, number> | null) ?? null,
    champion_metrics: (r.champion_metrics as Record<string, number> | null) ?? null,
    champion_version: (r.champion_version as number | null) ?? null,
    version: (r.version as number | null) ?? null,
    promoted: (r.promoted as boolean | null) ?? null,
    reason: (r.reason as string | null) ?? null,
    error_code: (r.error_code as string | null) ?? null,
    created_at: iso(r.created_at),
    finished_at: isoOrNull(r.finished_at),
  };
}

/** Idempotent: a second start of the same workflow id finds the first row (created: false). */
export async function insertRun(tx: Tx, workflowId: string, req: RetrainRequest): Promise<{ run: RetrainRunOutput; created: boolean }> {
  const inserted = await tx.query(
    `INSERT INTO retraining_runs (workflow_id, tenant_id, model, monitor_id, trigger, drift_check_id, request)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (workflow_id) DO NOTHING RETURNING *`,
    [workflowId, req.tenantId, req.model, req.monitorId, req.trigger, req.driftCheckId, JSON.stringify(req)],
  );
  if (inserted.rows[0]) return { run: runRow(inserted.rows[0]), created: true };
  const { rows } = await tx.query('SELECT * FROM retraining_runs WHERE workflow_id = $1', [workflowId]);
  // Another tenant's run with this id is invisible here (RLS): ids embed the tenant, so this is a bug.
  if (!rows[0]) throw new PlinthError('CONFLICT', 'The workflow id is taken.');
  return { run: runRow(rows[0]), created: false };
}

export async function getRun(tx: Tx, workflowId: string): Promise<RetrainRunOutput | undefined> {
  const { rows } = await tx.query('SELECT * FROM retraining_runs WHERE workflow_id = $1', [workflowId]);
  return rows[0] ? runRow(rows[0]) : undefined;
}

export async function listRuns(tx: Tx, limit: number, offset: number): Promise<RetrainRunOutput[]> {
  const { rows } = await tx.query('SELECT * FROM retraining_runs ORDER BY created_at DESC LIMIT $1 OFFSET $2', [limit, offset]);
  return rows.map(runRow);
}

export interface RunUpdate {
  status: RetrainRunOutput['status'];
  trainingRunId?: string | null;
  candidateMetrics?: Record<string, number> | null;
  championMetrics?: Record<string, number> | null;
  championVersion?: number | null;
  version?: number | null;
  promoted?: boolean | null;
  reason?: string | null;
  errorCode?: string | null;
  finished?: boolean;
}

/** Sets the given fields only (COALESCE keeps the rest); the same update twice is harmless. */
export async function updateRun(tx: Tx, workflowId: string, u: RunUpdate): Promise<void> {
  await tx.query(
    `UPDATE retraining_runs SET status = $2,
       training_run_id = COALESCE($3, training_run_id),
       candidate_metrics = COALESCE($4, candidate_metrics),
       champion_metrics = COALESCE($5, champion_metrics),
       champion_version = COALESCE($6, champion_version),
       version = COALESCE($7, version),
       promoted = COALESCE($8, promoted),
       reason = COALESCE($9, reason),
       error_code = COALESCE($10, error_code),
       finished_at = CASE WHEN $11 THEN COALESCE(finished_at, now()) ELSE finished_at END,
       updated_at = now()
     WHERE workflow_id = $1`,
    [
      workflowId,
      u.status,
      u.trainingRunId ?? null,
      u.candidateMetrics ? JSON.stringify(u.candidateMetrics) : null,
      u.championMetrics ? JSON.stringify(u.championMetrics) : null,
      u.championVersion ?? null,
      u.version ?? null,
      u.promoted ?? null,
      u.reason ?? null,
      u.errorCode ?? null,
      u.finished === true,
    ],
  );
}

// ---- Data rights: a tenant's workflow records, in Plinth's tables and the engine's ----

/** Every workflow id of a tenant starts with this (retraining is the only per-tenant workflow). */
export function tenantWorkflowPrefix(tenantId: string): string {
  return `retrain:${tenantId}:`;
}

export interface StoredRun extends RetrainRunOutput {
  request: unknown;
  updated_at: string;
}

/** All of the tenant's retraining runs with their stored requests, oldest first. */
export async function listRunsWithRequests(tx: Tx): Promise<StoredRun[]> {
  const { rows } = await tx.query('SELECT * FROM retraining_runs ORDER BY created_at, workflow_id');
  return rows.map((r) => ({ ...runRow(r), request: r.request, updated_at: iso(r.updated_at) }));
}

/**
 * Deletes the tenant's runs that can no longer run: those whose engine records are gone, the
 * finished ones, and any recorded before `before` (a run recorded later is a start racing with
 * the erasure, left to finish).
 */
export async function deleteRuns(tx: Tx, tenantId: string, workflowIds: readonly string[], before: string): Promise<string[]> {
  const { rows } = await tx.query<{ workflow_id: string }>(
    `DELETE FROM retraining_runs WHERE tenant_id = $1 AND (workflow_id = ANY($2::text[]) OR finished_at IS NOT NULL OR created_at < $3)
     RETURNING workflow_id`,
    [tenantId, workflowIds, before],
  );
  return rows.map((r) => r.workflow_id);
}

// The engine (DBOS Transact) keeps, per workflow id: its status row (with legacy inputs/output
// columns), its inputs and its result (workflow_input, workflow_output), one row per completed
// step (operation_outputs), and its messages, events and streams. Queries below run with
// platform privileges on the system database: the engine's tables have no tenant column, so the
// tenant is chosen by the workflow id prefix.
const ENGINE_TABLES = [
  { table: 'workflow_input', column: 'workflow_uuid' },
  { table: 'workflow_output', column: 'workflow_uuid' },
  { table: 'operation_outputs', column: 'workflow_uuid' },
  { table: 'workflow_events', column: 'workflow_uuid' },
  { table: 'workflow_events_history', column: 'workflow_uuid' },
  { table: 'streams', column: 'workflow_uuid' },
  { table: 'notifications', column: 'destination_uuid' },
] as const;

/** The engine's statuses of a workflow that may still run code. */
export const LIVE_WORKFLOW_STATUSES = ['ENQUEUED', 'PENDING', 'DELAYED'] as const;

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * The schemas of this database holding the engine's tables: `schema` if it holds them, or
 * without a name every schema that does.
 */
export async function findEngineSchemas(tx: Tx, schema?: string): Promise<string[]> {
  const { rows } = await tx.query<{ nspname: string }>(
    `SELECT n.nspname FROM pg_namespace n
      WHERE ($1::text IS NULL OR n.nspname = $1)
        AND EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'workflow_status' AND c.relkind IN ('r', 'p'))
        AND EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'operation_outputs' AND c.relkind IN ('r', 'p'))
      ORDER BY n.nspname`,
    [schema ?? null],
  );
  return rows.map((r) => r.nspname);
}

async function existingTables(tx: Tx, schema: string): Promise<Set<string>> {
  const { rows } = await tx.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`,
    [schema],
  );
  return new Set(rows.map((r) => r.relname));
}

export interface EngineStep {
  id: number;
  name: string;
  output: string | null;
  error: string | null;
}

export interface EngineWorkflow {
  workflow_id: string;
  name: string;
  status: string;
  queue: string | null;
  created_at: string | null;
  updated_at: string | null;
  /** Serialized by the engine; the payload tables first, the legacy status columns else. */
  inputs: string | null;
  output: string | null;
  error: string | null;
  steps: EngineStep[];
}

const epochIso = (v: unknown): string | null => (v === null || v === undefined || !Number.isFinite(Number(v)) ? null : new Date(Number(v)).toISOString());

/** The engine's records of every workflow whose id starts with `prefix`, oldest first. */
export async function listEngineWorkflows(tx: Tx, schema: string, prefix: string): Promise<EngineWorkflow[]> {
  const s = quoteIdent(schema);
  const tables = await existingTables(tx, schema);
  const input = tables.has('workflow_input');
  const output = tables.has('workflow_output');
  const { rows } = await tx.query(
    `SELECT ws.workflow_uuid, ws.name, ws.status, ws.queue_name, ws.created_at, ws.updated_at,
            ${input ? 'COALESCE(wi.inputs, ws.inputs)' : 'ws.inputs'} AS inputs,
            ${output ? 'COALESCE(wo.output, ws.output)' : 'ws.output'} AS output,
            ${output ? 'COALESCE(wo.error, ws.error)' : 'ws.error'} AS error
       FROM ${s}.workflow_status ws
       ${input ? `LEFT JOIN ${s}.workflow_input wi ON wi.workflow_uuid = ws.workflow_uuid` : ''}
       ${output ? `LEFT JOIN ${s}.workflow_output wo ON wo.workflow_uuid = ws.workflow_uuid` : ''}
      WHERE starts_with(ws.workflow_uuid, $1)
      ORDER BY ws.created_at, ws.workflow_uuid`,
    [prefix],
  );
  const steps = await tx.query(
    `SELECT workflow_uuid, function_id, function_name, output, error FROM ${s}.operation_outputs WHERE starts_with(workflow_uuid, $1) ORDER BY workflow_uuid, function_id`,
    [prefix],
  );
  const byWorkflow = new Map<string, EngineStep[]>();
  for (const r of steps.rows) {
    const list = byWorkflow.get(r.workflow_uuid as string) ?? [];
    list.push({ id: Number(r.function_id), name: r.function_name as string, output: (r.output as string | null) ?? null, error: (r.error as string | null) ?? null });
    byWorkflow.set(r.workflow_uuid as string, list);
  }
  return rows.map((r) => ({
    workflow_id: r.workflow_uuid as string,
    name: r.name as string,
    status: r.status as string,
    queue: (r.queue_name as string | null) ?? null,
    created_at: epochIso(r.created_at),
    updated_at: epochIso(r.updated_at),
    inputs: (r.inputs as string | null) ?? null,
    output: (r.output as string | null) ?? null,
    error: (r.error as string | null) ?? null,
    steps: byWorkflow.get(r.workflow_uuid as string) ?? [],
  }));
}

export interface EngineErasure {
  /** Workflows whose status rows were deleted. */
  workflowIds: string[];
  /** Rows deleted across the engine's tables, status rows included. */
  rows: number;
}

/**
 * Deletes the engine's records of every finished workflow whose id starts with `prefix`, in the
 * caller's transaction. Refuses (CONFLICT, nothing deleted) while one of them may still run:
 * the status rows are locked first, so none is resumed meanwhile. Payload rows left without a
 * status row (an interrupted deletion, a step finishing after a cancellation) go as well.
 */
export async function eraseEngineWorkflows(tx: Tx, schema: string, prefix: string): Promise<EngineErasure> {
  const s = quoteIdent(schema);
  const tables = await existingTables(tx, schema);
  const locked = await tx.query<{ workflow_uuid: string; status: string }>(
    `SELECT workflow_uuid, status FROM ${s}.workflow_status WHERE starts_with(workflow_uuid, $1) ORDER BY workflow_uuid FOR UPDATE`,
    [prefix],
  );
  const live = locked.rows.filter((r) => (LIVE_WORKFLOW_STATUSES as readonly string[]).includes(r.status));
  if (live.length > 0) {
    throw new PlinthError(
      'CONFLICT',
      `${live.length} workflow${live.length === 1 ? ' is' : 's are'} still running (${live.map((r) => r.workflow_uuid).join(', ')}): cancel ${live.length === 1 ? 'it' : 'them'} or wait until finished, then erase again.`,
      { running_workflows: live.map((r) => r.workflow_uuid) },
    );
  }
  const ids = locked.rows.map((r) => r.workflow_uuid);
  let rows = 0;
  // Payloads first (some would go by cascade, uncounted): those of the locked workflows, and
  // those whose status row is already gone.
  for (const { table, column } of ENGINE_TABLES) {
    if (!tables.has(table)) continue;
    const res = await tx.query(
      `DELETE FROM ${s}.${quoteIdent(table)} p WHERE starts_with(p.${column}, $1)
          AND (p.${column} = ANY($2::text[]) OR NOT EXISTS (SELECT 1 FROM ${s}.workflow_status ws WHERE ws.workflow_uuid = p.${column}))`,
      [prefix, ids],
    );
    rows += res.rowCount ?? 0;
  }
  if (ids.length > 0) rows += (await tx.query(`DELETE FROM ${s}.workflow_status WHERE workflow_uuid = ANY($1::text[])`, [ids])).rowCount ?? 0;
  return { workflowIds: ids, rows };
}
