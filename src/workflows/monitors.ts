// The monitor tick: a DBOS scheduled workflow (WORKFLOWS_MONITOR_TICK, every minute by
// default). DBOS names each tick's workflow after its schedule and scheduled time, so however
// many workers run, one tick runs per scheduled time. The tick finds the monitors whose cron
// fires at that time and checks each one in its own step; a check over the threshold starts
// the retraining workflow `retrain:<tenant>:<monitor>:<drift check id>` (a duplicate start
// finds the first).
import { DBOS } from '@dbos-inc/dbos-sdk';
import { toPlinthError } from '../errors.js';
import { cronMatches, runStep, workflowDeps } from './runtime.js';
import { retrainConfig, type RetrainRequest } from './schema.js';
import { findMonitor, listEnabledMonitors, recordCheck, type MonitorRow } from './store.js';

export const TICK_SCHEDULE = 'plinth-monitor-tick';

export function retrainWorkflowId(tenantId: string, monitorId: string, driftCheckId: string): string {
  return `retrain:${tenantId}:${monitorId}:${driftCheckId}`;
}

interface DueMonitor {
  id: string;
  tenantId: string;
}

/** Runs one monitor's check for a scheduled time; a replay finds the recorded check. */
export async function checkMonitor(monitor: MonitorRow, scheduledAt: Date): Promise<{ outcome: 'ok' | 'drift' | 'error'; retrainWorkflowId: string | null }> {
  const d = workflowDeps();
  const at = scheduledAt.toISOString();
  const log = d.logger.child({ component: 'workflows', monitor_id: monitor.id });
  const existing = await d.db.withTenant(monitor.tenant_id, async (tx) => (await tx.query('SELECT outcome, retrain_workflow_id FROM monitor_checks WHERE monitor_id = $1 AND scheduled_at = $2', [monitor.id, at])).rows[0]);
  if (existing) return { outcome: existing.outcome as 'ok' | 'drift' | 'error', retrainWorkflowId: (existing.retrain_workflow_id as string | null) ?? null };

  const audit = { actor: `monitor:${monitor.name}`, requestId: DBOS.workflowID ?? null };
  const from = new Date(scheduledAt.getTime() - monitor.window_minutes * 60_000).toISOString();
  let rec;
  try {
    if (!d.drift) throw new Error('no drift service is available to this worker');
    const result = await d.drift.check(monitor.tenant_id, { profileId: monitor.profile_id, model: monitor.model, from, to: at }, audit);
    const drifted = result.driftedShare > monitor.threshold;
    let retrainId: string | null = null;
    const parsed = drifted && monitor.retrain ? retrainConfig.safeParse(monitor.retrain) : undefined;
    if (parsed?.success) {
      retrainId = retrainWorkflowId(monitor.tenant_id, monitor.id, result.id);
      const request: RetrainRequest = {
        tenantId: monitor.tenant_id,
        model: monitor.model,
        trigger: 'drift',
        monitorId: monitor.id,
        driftCheckId: result.id,
        dataFrom: from,
        dataTo: at,
        action: parsed.data.action,
        gate: parsed.data.gate,
        notifyUrl: parsed.data.notify_url ?? null,
        actor: audit.actor,
      };
      await d.startRetrain(retrainId, request);
    } else if (parsed && !parsed.success) {
      log.warn({ issues: parsed.error.issues.length }, 'monitor retrain configuration is invalid; not retraining');
    }
    rec = { outcome: drifted ? ('drift' as const) : ('ok' as const), driftCheckId: result.id, driftShare: result.driftedShare, datasetDrift: result.datasetDrift, retrainWorkflowId: retrainId, errorCode: null, error: null };
    d.metrics.monitorDriftShare.set({ monitor: monitor.id }, result.driftedShare);
  } catch (err) {
    // One monitor's failure (no data in the window, a deleted profile) must not stop the others.
    const e = toPlinthError(err);
    const message = e.is('INTERNAL') && err instanceof Error ? err.message : e.message;
    log.warn({ code: e.code, err: { message } }, 'monitor check failed');
    rec = { outcome: 'error' as const, driftCheckId: null, driftShare: null, datasetDrift: null, retrainWorkflowId: null, errorCode: e.code, error: message.slice(0, 2000) };
  }
  const stored = await d.db.withTenant(monitor.tenant_id, (tx) => recordCheck(tx, monitor.tenant_id, monitor.id, at, rec));
  d.metrics.monitorChecks.inc({ outcome: stored.outcome });
  return { outcome: stored.outcome, retrainWorkflowId: stored.retrain_workflow_id };
}

/** The scheduled workflow body: (scheduled time, schedule context). */
export async function monitorTick(scheduledAt: Date, _context: unknown): Promise<void> {
  const due = await runStep(
    async (): Promise<DueMonitor[]> => {
      const monitors = await listEnabledMonitors(workflowDeps().db);
      return monitors.filter((m) => cronMatches(m.schedule, scheduledAt)).map((m) => ({ id: m.id, tenantId: m.tenant_id }));
    },
    { name: 'due-monitors', retriesAllowed: true, maxAttempts: 4, intervalSeconds: 2 },
  );
  for (const m of due) {
    await runStep(
      async () => {
        const d = workflowDeps();
        // Re-read: the monitor may have been changed or deleted since the tick listed it.
        const monitor = await d.db.withTenant(m.tenantId, (tx) => findMonitor(tx, m.id).catch(() => undefined));
        if (!monitor?.enabled) return { outcome: 'skipped' };
        return checkMonitor(monitor, scheduledAt);
      },
      { name: `check:${m.id}`, retriesAllowed: true, maxAttempts: 3, intervalSeconds: 5 },
    );
  }
}
