// SQL of the workflows domain: monitors, their checks and retraining runs. Tenant-owned rows are
// read and written under row-level security (withTenant); only the monitor tick lists monitors
// of every tenant (withSystem).
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
