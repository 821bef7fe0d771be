// Pull-style gauges refreshed when /metrics is scraped. Each must stay cheap on a large database:
// the memory index size comes from PostgreSQL's statistics (pg_stat_user_tables live-row counts,
// falling back to the planner's pg_class.reltuples), never from count(*). Retraining runs and
// monitors are few (one run per retraining, one row per monitor), so they are read directly:
// run counts by status, run-time quantiles of the last day, and the per-column statistics of each
// enabled monitor's latest drift check (bounded by the monitors and their columns, capped below).
import type { Database } from '../db/index.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Tracing } from './tracing.js';

/** Table → `kind` label of plinth_memory_items. */
const MEMORY_TABLES = { memories: 'memories', document_chunks: 'chunks' } as const;

// n_live_tup follows inserts and deletes as they commit (also on the embedded database, which has
// no autovacuum to refresh reltuples); after a statistics reset it reads 0 until the next write,
// so the planner's estimate stands in (reltuples is -1 on a table never analysed).
const MEMORY_ITEMS_SQL = `
  SELECT c.relname AS table,
         COALESCE(NULLIF(s.n_live_tup, 0), GREATEST(c.reltuples, 0))::float8 AS estimate
    FROM pg_class c
    LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
   WHERE c.oid IN (to_regclass('memories'), to_regclass('document_chunks'))`;

// Every replica reports the same database-wide numbers: dashboards and rules aggregate with max().
const WORKFLOW_RUNS_SQL = `SELECT status, count(*)::float8 AS runs FROM retraining_runs GROUP BY status`;

const WORKFLOW_DURATION_SQL = `
  SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS p50,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY d) AS p95
    FROM (SELECT extract(epoch FROM finished_at - created_at)::float8 AS d
            FROM retraining_runs
           WHERE finished_at > now() - interval '1 day') runs`;

/** Most (monitor, column) series one scrape reports. */
export const MAX_DRIFT_COLUMN_SERIES = 2_000;

const DRIFT_COLUMNS_SQL = `
  SELECT m.id::text AS monitor, c->>'column' AS column, COALESCE(c->>'test', 'unknown') AS test,
         (c->>'statistic')::float8 AS statistic, COALESCE((c->>'drifted')::boolean, false) AS drifted
    FROM monitors m
    CROSS JOIN LATERAL (
      SELECT mc.drift_check_id FROM monitor_checks mc
       WHERE mc.monitor_id = m.id AND mc.drift_check_id IS NOT NULL
       ORDER BY mc.scheduled_at DESC LIMIT 1) last
    JOIN drift_checks d ON d.id::text = last.drift_check_id
    CROSS JOIN LATERAL jsonb_array_elements(d.result->'columns') c
   WHERE m.enabled AND c->>'status' = 'checked'
   ORDER BY m.id, c->>'column'
   LIMIT ${MAX_DRIFT_COLUMN_SERIES}`;

export interface ScrapeDeps {
  db: Database;
  metrics: Metrics;
  tracing: Tracing;
  logger?: Logger;
  /** Give up on the database part of a scrape after this long (default 2 s). */
  timeoutMs?: number;
}

/** Refresh every pull-style gauge. Never throws: a failed part is left out of this scrape. */
export async function refreshScrapeGauges(deps: ScrapeDeps): Promise<void> {
  const { db, metrics } = deps;
  const pool = db.poolStats();
  metrics.dbPool.set({ state: 'total' }, pool.total);
  metrics.dbPool.set({ state: 'idle' }, pool.idle);
  metrics.dbPool.set({ state: 'waiting' }, pool.waiting);

  await withTimeout(deps, 'memory index size', async (db) => {
    const res = await db.withSystem((tx) => tx.query<{ table: string; estimate: number }>(MEMORY_ITEMS_SQL));
    metrics.memoryItems.reset();
    for (const row of res.rows) {
      const kind = MEMORY_TABLES[row.table as keyof typeof MEMORY_TABLES];
      if (kind) metrics.memoryItems.set({ kind }, Math.round(Number(row.estimate)));
    }
  }, () => metrics.memoryItems.reset());

  await withTimeout(deps, 'workflow runs', async (db) => {
    const [runs, durations] = await db.withSystem(async (tx) => [
      await tx.query<{ status: string; runs: number }>(WORKFLOW_RUNS_SQL),
      await tx.query<{ p50: number | null; p95: number | null }>(WORKFLOW_DURATION_SQL),
    ] as const);
    metrics.workflowRuns.reset();
    for (const row of runs.rows) metrics.workflowRuns.set({ workflow: 'retrain', status: row.status }, Number(row.runs));
    metrics.workflowRunDuration.reset();
    const d = durations.rows[0];
    if (d?.p50 != null) metrics.workflowRunDuration.set({ workflow: 'retrain', quantile: '0.5' }, Number(d.p50));
    if (d?.p95 != null) metrics.workflowRunDuration.set({ workflow: 'retrain', quantile: '0.95' }, Number(d.p95));
  }, () => {
    metrics.workflowRuns.reset();
    metrics.workflowRunDuration.reset();
  });

  await withTimeout(deps, 'drift statistics', async (db) => {
    const res = await db.withSystem((tx) => tx.query<{ monitor: string; column: string; test: string; statistic: number | null; drifted: boolean }>(DRIFT_COLUMNS_SQL));
    metrics.driftColumnStatistic.reset();
    metrics.driftColumnDrifted.reset();
    for (const row of res.rows) {
      if (row.statistic !== null && Number.isFinite(Number(row.statistic))) metrics.driftColumnStatistic.set({ monitor: row.monitor, column: row.column, test: row.test }, Number(row.statistic));
      metrics.driftColumnDrifted.set({ monitor: row.monitor, column: row.column }, row.drifted ? 1 : 0);
    }
  }, () => {
    metrics.driftColumnStatistic.reset();
    metrics.driftColumnDrifted.reset();
  });
}

/**
 * Run one database part of a scrape with the scrape timeout, tracing suppressed. On failure the
 * part's series are dropped (`clear`): an absent series is honest, and the database alerts say why.
 */
async function withTimeout(deps: ScrapeDeps, what: string, part: (db: Database) => Promise<void>, clear: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const work = deps.tracing.suppressed(() => part(deps.db));
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), deps.timeoutMs ?? 2_000);
    });
    await Promise.race([work, timeout]);
  } catch (err) {
    clear();
    deps.logger?.debug({ err: { message: (err as Error).message } }, `metrics: ${what} unavailable for this scrape`);
  } finally {
    clearTimeout(timer);
  }
}
