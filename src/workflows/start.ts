// Starting a retraining run: its row first (so the tenant can see it at once and the id is
// claimed under RLS), then the DBOS workflow on the retraining queue. Both halves are
// idempotent per workflow id, so a start repeated after a failure in between completes it.
import type { Database } from '../db/index.js';
import type { RetrainRequest } from './schema.js';
import { insertRun } from './store.js';

export async function recordAndEnqueue(
  db: Database,
  enqueue: (workflowId: string, request: RetrainRequest) => Promise<void>,
  workflowId: string,
  request: RetrainRequest,
): Promise<{ created: boolean }> {
  const { created } = await db.withTenant(request.tenantId, (tx) => insertRun(tx, workflowId, request));
  await enqueue(workflowId, request);
  return { created };
}
