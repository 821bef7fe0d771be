// SQL for drift profiles and checks. Runs inside tenant-scoped transactions (row-level security applies).
import type { Tx } from '../db/index.js';
import type { ReferenceProfile } from './profile.js';
import type { CheckResult } from './schema.js';

export interface ProfileRow {
  id: string;
  name: string;
  rows: number;
  profile: ReferenceProfile;
  created_by: string | null;
  created_at: string;
}

export interface CheckRow {
  id: string;
  name: string | null;
  result: CheckResult;
  created_at: string;
}

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());

export async function insertProfile(tx: Tx, tenantId: string, name: string, profile: ReferenceProfile, actor: string | null): Promise<ProfileRow> {
  const res = await tx.query<{ id: string; created_at: Date }>(
    `INSERT INTO drift_profiles (tenant_id, name, row_count, profile, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at`,
    [tenantId, name, profile.rows, JSON.stringify(profile), actor],
  );
  const r = res.rows[0]!;
  return { id: r.id, name, rows: profile.rows, profile, created_by: actor, created_at: iso(r.created_at) };
}

export async function getProfile(tx: Tx, id: string): Promise<ProfileRow | undefined> {
  const res = await tx.query<{ id: string; name: string; row_count: string; profile: ReferenceProfile; created_by: string | null; created_at: Date }>(
    `SELECT id, name, row_count, profile, created_by, created_at FROM drift_profiles WHERE id = $1`,
    [id],
  );
  const r = res.rows[0];
  return r && { id: r.id, name: r.name, rows: Number(r.row_count), profile: r.profile, created_by: r.created_by, created_at: iso(r.created_at) };
}

export async function insertCheck(tx: Tx, tenantId: string, name: string | null, result: CheckResult, source: Record<string, unknown>, actor: string | null): Promise<{ id: string; created_at: string }> {
  const res = await tx.query<{ id: string; created_at: Date }>(
    `INSERT INTO drift_checks (tenant_id, name, profile_id, dataset_drift, drifted_columns, checked_columns, reference_rows, current_rows, current_source, result, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id, created_at`,
    [
      tenantId,
      name,
      result.reference_profile_id,
      result.dataset_drift,
      result.drifted_columns,
      result.checked_columns,
      result.reference_rows,
      result.current_rows,
      JSON.stringify(source),
      JSON.stringify(result),
      actor,
    ],
  );
  const r = res.rows[0]!;
  return { id: r.id, created_at: iso(r.created_at) };
}

export async function getCheck(tx: Tx, id: string): Promise<CheckRow | undefined> {
  const res = await tx.query<{ id: string; name: string | null; result: CheckResult; created_at: Date }>(`SELECT id, name, result, created_at FROM drift_checks WHERE id = $1`, [id]);
  const r = res.rows[0];
  return r && { id: r.id, name: r.name, result: r.result, created_at: iso(r.created_at) };
}
