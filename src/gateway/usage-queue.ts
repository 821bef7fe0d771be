// Usage accounting off the request path: gateway calls append their usage record to a bounded
// in-memory queue, written to llm_usage in batches (one multi-row INSERT per tenant, all of a
// batch in one transaction per tenant) when the batch is full, on an interval, on flush() and on
// close(). A full queue makes callers wait for room (backpressure) instead of dropping records; a
// failed batch is retried on the next round, and given up (logged, counted) only after
// MAX_ATTEMPTS failures, as a lost single INSERT was before.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Database } from '../db/index.js';
import type { Logger } from '../telemetry/logger.js';
import * as store from './store.js';

export interface UsageQueueOptions {
  db: Database;
  logger: Logger;
  registry: Registry;
  /** Records per batch; a full batch is written at once (default 256). */
  batchSize?: number;
  /** Longest time a record waits before its batch is written (default 100 ms). */
  flushIntervalMs?: number;
  /** Records held at most; callers wait beyond it (default 10,000). */
  maxQueued?: number;
  now?: () => number;
}

export interface UsageQueue {
  /** Queues a record; returns a promise only when the queue is full (wait on it for room). */
  add(record: store.UsageRecord): Promise<void> | undefined;
  /** Resolves once every record added so far has been written (or given up). */
  flush(): Promise<void>;
  /** Writes what is queued and stops the interval; later records are written at once. */
  close(): Promise<void>;
  /** Records waiting to be written. */
  readonly size: number;
}

const MAX_ATTEMPTS = 3;

interface Pending {
  record: store.UsageRecord;
  at: Date;
  attempts: number;
}

function queueMetrics(registry: Registry) {
  const existing = registry.getSingleMetric('plinth_llm_usage_batches_total');
  if (existing) {
    return {
      batches: existing as Counter<'outcome'>,
      lost: registry.getSingleMetric('plinth_llm_usage_records_lost_total') as Counter,
      queued: registry.getSingleMetric('plinth_llm_usage_queued') as Gauge,
    };
  }
  return {
    batches: new Counter({ name: 'plinth_llm_usage_batches_total', help: 'Batches of LLM usage records written to the database, by outcome (ok, error).', labelNames: ['outcome'], registers: [registry] }),
    lost: new Counter({ name: 'plinth_llm_usage_records_lost_total', help: 'LLM usage records given up after repeated database failures.', registers: [registry] }),
    queued: new Gauge({ name: 'plinth_llm_usage_queued', help: 'LLM usage records waiting to be written to the database.', registers: [registry] }),
  };
}

export function createUsageQueue(options: UsageQueueOptions): UsageQueue {
  const { db, logger } = options;
  const batchSize = Math.max(1, options.batchSize ?? 256);
  const intervalMs = Math.max(1, options.flushIntervalMs ?? 100);
  const maxQueued = Math.max(batchSize, options.maxQueued ?? 10_000);
  const now = options.now ?? Date.now;
  const metrics = queueMetrics(options.registry);
  let queue: Pending[] = [];
  /** The write in progress (one at a time, so batches land in order). */
  let writing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const waiters: Array<() => void> = [];

  function schedule(): void {
    if (timer || queue.length === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      void drainOnce();
    }, closed ? 0 : intervalMs);
    timer.unref();
  }

  function wakeWaiters(): void {
    while (waiters.length > 0 && queue.length < maxQueued) waiters.shift()!();
  }

  async function writeBatch(batch: Pending[]): Promise<void> {
    const byTenant = new Map<string, Pending[]>();
    for (const p of batch) {
      const list = byTenant.get(p.record.tenantId);
      if (list) list.push(p);
      else byTenant.set(p.record.tenantId, [p]);
    }
    const failed: Pending[] = [];
    for (const [tenantId, items] of byTenant) {
      try {
        await db.withTenant(tenantId, (tx) => store.insertUsageBatch(tx, items.map((p) => ({ ...p.record, createdAt: p.at }))));
        metrics.batches.inc({ outcome: 'ok' });
      } catch (err) {
        metrics.batches.inc({ outcome: 'error' });
        const retry = items.filter((p) => ++p.attempts < MAX_ATTEMPTS);
        const lost = items.length - retry.length;
        if (lost > 0) metrics.lost.inc(lost);
        logger.warn({ err: { message: (err as Error).message }, records: items.length, lost }, lost > 0 ? 'gateway: cannot record usage; records given up' : 'gateway: cannot record usage; will retry');
        failed.push(...retry);
      }
    }
    // Retried records go first, before anything added meanwhile.
    if (failed.length > 0) queue = failed.concat(queue);
  }

  /** Writes one batch (or waits for the write in progress); reschedules while records remain. */
  function drainOnce(): Promise<void> {
    if (writing) return writing;
    if (queue.length === 0) return Promise.resolve();
    const batch = queue.slice(0, batchSize);
    queue = queue.slice(batch.length);
    metrics.queued.set(queue.length);
    wakeWaiters();
    writing = writeBatch(batch).finally(() => {
      writing = undefined;
      metrics.queued.set(queue.length);
      wakeWaiters();
      if (queue.length >= batchSize) void drainOnce();
      else schedule();
    });
    return writing;
  }

  return {
    get size() {
      return queue.length;
    },

    add(record) {
      queue.push({ record, at: new Date(now()), attempts: 0 });
      metrics.queued.set(queue.length);
      if (queue.length >= batchSize || closed) void drainOnce();
      else schedule();
      if (queue.length <= maxQueued) return undefined;
      return new Promise<void>((resolve) => waiters.push(resolve));
    },

    async flush() {
      // Everything queued now is written once the queue (and the write in progress) is empty;
      // records that keep failing are dropped after MAX_ATTEMPTS, so this ends.
      while (writing || queue.length > 0) await drainOnce();
    },

    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await this.flush();
    },
  };
}
