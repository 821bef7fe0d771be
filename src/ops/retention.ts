// Retention: delete data older than the configured ages, tenant by tenant, each tenant in one
// transaction under its own row-level security, with an audit entry naming what went. Run on a
// schedule by the workflow engine (RETENTION_SCHEDULE, one sweep per scheduled time across
// replicas) and on demand by `plinth retention run`. Every age is off (0) by default: Plinth
// keeps everything until an operator sets a policy.
import type { Audit } from '../auth/index.js';
import { insertAudit } from '../auth/store.js';
import type { Config } from '../config/index.js';
import type { Database } from '../db/index.js';

export type RetentionPolicy = Config['retention'];

export interface RetentionCounts {
  expired_memories: number;
  usage_records: number;
  inference_log_rows: number;
  drift_checks: number;
  monitor_checks: number;
}

export interface RetentionResult {
  /** The instant ages were measured from. */
  at: string;
  tenants: Array<{ tenant_id: string; tenant: string } & RetentionCounts>;
  totals: RetentionCounts;
}

const ZERO: RetentionCounts = { expired_memories: 0, usage_records: 0, inference_log_rows: 0, drift_checks: 0, monitor_checks: 0 };

/** True when at least one age is set. */
export function retentionEnabled(p: RetentionPolicy): boolean {
  return p.expiredMemoriesDays > 0 || p.usageDays > 0 || p.inferenceLogDays > 0 || p.driftChecksDays > 0;
}

const cutoff = (at: Date, days: number) => new Date(at.getTime() - days * 86_400_000).toISOString();

/**
 * One sweep. `at` fixes "now" so that a replayed sweep (after a crash) deletes by the same
 * cutoffs; deleting by age is idempotent, so a replay only finds less to delete.
 */
export async function runRetention(db: Database, policy: RetentionPolicy, audit: Audit, at: Date = new Date()): Promise<RetentionResult> {
  const result: RetentionResult = { at: at.toISOString(), tenants: [], totals: { ...ZERO } };
  if (!retentionEnabled(policy)) return result;
  const tenants = await db.withSystem((tx) => tx.query<{ id: string; name: string }>('SELECT id, name FROM tenants ORDER BY created_at, id'), { readOnly: true });
  for (const t of tenants.rows) {
    const counts = await db.withTenant(t.id, async (tx) => {
      const c: RetentionCounts = { ...ZERO };
      const run = async (days: number, sql: string): Promise<number> => (days > 0 ? ((await tx.query(sql, [t.id, cutoff(at, days)])).rowCount ?? 0) : 0);
      // A memory's versions go with it (ON DELETE CASCADE).
      c.expired_memories = await run(policy.expiredMemoriesDays, 'DELETE FROM memories WHERE tenant_id = $1 AND expires_at IS NOT NULL AND expires_at < $2');
      c.usage_records = await run(policy.usageDays, 'DELETE FROM llm_usage WHERE tenant_id = $1 AND created_at < $2');
      c.inference_log_rows = await run(policy.inferenceLogDays, 'DELETE FROM inference_log WHERE tenant_id = $1 AND created_at < $2');
      c.monitor_checks = await run(policy.driftChecksDays, 'DELETE FROM monitor_checks WHERE tenant_id = $1 AND created_at < $2');
      c.drift_checks = await run(policy.driftChecksDays, 'DELETE FROM drift_checks WHERE tenant_id = $1 AND created_at < $2');
      if (Object.values(c).some((n) => n > 0)) {
        await insertAudit(tx, { tenantId: t.id, actor: audit.actor, action: 'data.retention', target: result.at, details: { ...c }, requestId: audit.requestId ?? null });
      }
      return c;
    });
    result.tenants.push({ tenant_id: t.id, tenant: t.name, ...counts });
    for (const k of Object.keys(ZERO) as Array<keyof RetentionCounts>) result.totals[k] += counts[k];
  }
  return result;
}
