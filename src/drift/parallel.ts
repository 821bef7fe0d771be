// Drift checks on large data use every core: the numeric columns — where the time goes, in
// sorting — are prepared in worker threads while the main thread counts the categorical ones, and
// the check itself (src/drift/check.ts) then runs on the prepared sides. Each worker has a small
// heap of its own, so its sorts do not pay for collecting the caller's large heap (millions of
// category strings). Small data is checked inline: below PARALLEL_MIN_VALUES the thread hand-off
// costs more than it saves.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { PlinthError } from '../errors.js';
import { runCheck, checkedColumns, type PreparedSides, type Reference } from './check.js';
import { catSide, type NumSide, type Side } from './columns.js';
import type { Dataset } from './dataset.js';
import { checkOptions, type CheckOptions, type CheckOptionsInput, type CheckResult } from './schema.js';
import type { SideJob } from './sides-worker.js';

/** Values in a column (reference + current) from which its preparation moves to a worker. */
export const PARALLEL_MIN_VALUES = 200_000;
/** Idle workers exit after this long; the next large check starts them again (~30 ms each). */
const IDLE_MS = 30_000;

type Reply = { id: number; side: NumSide; values: Float64Array } | { id: number; error: string; values: Float64Array };

/** A column's values, which a worker may borrow: the buffer is moved there and back. */
interface Column {
  values: Float64Array;
}

/** A small pool of side workers, started on first use and stopped when idle. */
export class SidePool {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<number, { column: Column | undefined; resolve: (s: NumSide) => void; reject: (e: Error) => void }>();
  private readonly queue: SideJob[] = [];
  private readonly busy = new Set<Worker>();
  private nextId = 0;
  private idle: NodeJS.Timeout | undefined;

  constructor(readonly size: number = Math.max(1, Math.min(availableParallelism(), 8))) {}

  /**
   * Sorts and describes a numeric column in a worker. A column that owns its whole buffer lends
   * it to the worker (moved there and back: no copy, and no garbage for this thread's collector)
   * and gets it back as a new array in `column.values`; meanwhile the column must not be read.
   * Any other column is copied.
   */
  side(name: string, column: Column): Promise<NumSide> {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    const id = this.nextId++;
    const v = column.values;
    const lend = v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && !(v.buffer instanceof SharedArrayBuffer);
    return new Promise<NumSide>((resolve, reject) => {
      this.waiting.set(id, { column: lend ? column : undefined, resolve, reject });
      this.queue.push({ id, name, values: lend ? v : v.slice() });
      this.pump();
    });
  }

  private spawn(): Worker {
    // From dist/ the worker runs the compiled file. From the TypeScript sources (tests,
    // `npm run plinth`, which run under tsx) it registers tsx in the worker first: loader hooks
    // of the main thread do not reach worker threads.
    const w = import.meta.url.endsWith('.ts')
      ? new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./sides-worker.ts', import.meta.url).href)}); });`, { eval: true })
      : new Worker(new URL('./sides-worker.js', import.meta.url));
    w.unref();
    w.on('message', (reply: Reply) => {
      this.busy.delete(w);
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (waiter?.column) waiter.column.values = reply.values;
      if ('error' in reply) {
        waiter?.reject(new PlinthError('INTERNAL', `drift worker: ${reply.error}`));
        return this.pump();
      }
      waiter?.resolve(reply.side);
      this.pump();
    });
    w.on('error', (err) => this.fail(w, err));
    w.on('exit', (code) => {
      if (this.workers.includes(w) && code !== 0) this.fail(w, new Error(`drift worker exited with code ${code}`));
    });
    this.workers.push(w);
    return w;
  }

  /** A worker died: fail every job (the check fails; the next one starts fresh workers). */
  private fail(w: Worker, err: Error): void {
    const at = this.workers.indexOf(w);
    if (at >= 0) this.workers.splice(at, 1);
    this.busy.delete(w);
    const e = new PlinthError('INTERNAL', `drift worker failed: ${err.message}`);
    for (const waiter of this.waiting.values()) waiter.reject(e);
    this.waiting.clear();
    this.queue.length = 0;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const free = this.workers.find((w) => !this.busy.has(w)) ?? (this.workers.length < this.size ? this.spawn() : undefined);
      if (!free) return;
      const job = this.queue.shift()!;
      this.busy.add(free);
      free.postMessage(job, [job.values.buffer as ArrayBuffer]);
    }
    if (this.waiting.size === 0 && this.workers.length > 0 && !this.idle) {
      this.idle = setTimeout(() => void this.close(), IDLE_MS);
      this.idle.unref();
    }
  }

  /** Stops the workers (pending jobs fail). */
  async close(): Promise<void> {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    const all = this.workers.splice(0);
    await Promise.all(all.map((w) => w.terminate()));
  }
}

let shared: SidePool | undefined;
/** The process-wide pool (workers exit when idle, so keeping it costs nothing between checks). */
export function sidePool(): SidePool {
  return (shared ??= new SidePool());
}

/**
 * The same check as runCheck, with the numeric columns of large data prepared in parallel.
 * Results are identical: the same functions run, only on other threads.
 */
export async function runCheckParallel(reference: Reference, current: Dataset, rawOptions: CheckOptionsInput | CheckOptions = {}, pool: SidePool = sidePool()): Promise<CheckResult> {
  const started = performance.now();
  const options = checkOptions.parse(rawOptions);
  const { types } = checkedColumns(reference, current, options);
  const refRows = reference.kind === 'data' ? reference.data.rows : 0;
  if (pool.size < 2 || refRows + current.rows < PARALLEL_MIN_VALUES) return runCheck(reference, current, options);

  const jobs: Array<Promise<unknown>> = [];
  const prepared = { reference: new Map<string, Side>(), current: new Map<string, Side>() };
  const offload = (into: Map<string, Side>, name: string, data: Dataset) => {
    const col = data.columns.get(name)!;
    if (col.kind !== 'number') return; // text columns are prepared inline by runCheck
    jobs.push(pool.side(name, col).then((side) => into.set(name, side)));
  };
  for (const [name, type] of types) {
    if (type !== 'num') continue;
    if (reference.kind === 'data') offload(prepared.reference, name, reference.data);
    offload(prepared.current, name, current);
  }
  // Meanwhile, count the categorical columns here.
  for (const [name, type] of types) {
    if (type !== 'cat') continue;
    if (reference.kind === 'data') prepared.reference.set(name, catSide(reference.data.columns.get(name)!));
    prepared.current.set(name, catSide(current.columns.get(name)!));
  }
  await Promise.all(jobs);
  const result = runCheck(reference, current, options, prepared satisfies PreparedSides);
  return { ...result, duration_ms: Math.round((performance.now() - started) * 100) / 100 };
}
