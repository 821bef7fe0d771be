// Pull-style gauges refreshed when /metrics is scraped. Each must stay cheap on a large database:
// the memory index size comes from PostgreSQL's statistics (pg_stat_user_tables live-row counts,
// falling back to the planner's pg_class.reltuples), never from count(*).
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

  let timer: NodeJS.Timeout | undefined;
  try {
    const query = deps.tracing.suppressed(() => db.withSystem((tx) => tx.query<{ table: string; estimate: number }>(MEMORY_ITEMS_SQL)));
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), deps.timeoutMs ?? 2_000);
    });
    const res = await Promise.race([query, timeout]);
    metrics.memoryItems.reset();
    for (const row of res.rows) {
      const kind = MEMORY_TABLES[row.table as keyof typeof MEMORY_TABLES];
      if (kind) metrics.memoryItems.set({ kind }, Math.round(Number(row.estimate)));
    }
  } catch (err) {
    // No stale numbers: an absent series is honest, and the database alerts say why.
    metrics.memoryItems.reset();
    deps.logger?.debug({ err: { message: (err as Error).message } }, 'metrics: memory index size unavailable for this scrape');
  } finally {
    clearTimeout(timer);
  }
}
