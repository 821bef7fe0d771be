// The retention sweep as a DBOS scheduled workflow (RETENTION_SCHEDULE, daily by default): one
// sweep per scheduled time however many replicas run, measured from the scheduled time so a
// replay after a crash uses the same cutoffs. The sweep itself is src/ops/retention.ts.
import { DBOS } from '@dbos-inc/dbos-sdk';
import { retentionEnabled, runRetention } from '../ops/retention.js';
import { runStep, workflowDeps } from './runtime.js';

export const RETENTION_SCHEDULE = 'plinth-retention';

export async function retentionSweep(scheduledAt: Date, _context: unknown): Promise<void> {
  const d = workflowDeps();
  if (!retentionEnabled(d.config.retention)) return;
  const result = await runStep(
    () => runRetention(d.db, d.config.retention, { actor: 'system:retention', requestId: DBOS.workflowID ?? null }, scheduledAt),
    { name: 'retention' },
  );
  d.logger.info({ component: 'retention', at: result.at, ...result.totals }, 'retention sweep done');
}
