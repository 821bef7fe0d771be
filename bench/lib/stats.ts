// Latency statistics and a closed-loop load driver: `concurrency` clients each issue the next
// request as soon as their previous one answers, until a request count or a time limit is hit.
// Workloads that are compared run in interleaved rounds (see bench/memory.ts), so that a change in
// the machine's load during a run affects the measurement and its baseline alike.

export interface LatencySummary {
  requests: number;
  errors: number;
  wall_s: number;
  throughput_per_s: number;
  mean_ms: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  /** True when the time limit, not the request count, ended the run. */
  truncated: boolean;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: Float64Array | readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface LoadOptions {
  concurrency: number;
  requests: number;
  maxSeconds: number;
  /** Issue request number `i` (0-based, global across clients). */
  run: (i: number) => Promise<unknown>;
}

export interface LoadRun {
  latencies: Float64Array;
  errors: number;
  wall_s: number;
  truncated: boolean;
  firstError?: string;
}

/** `concurrency` clients issue requests back to back until `requests` are done or time is up. */
export async function closedLoop(options: LoadOptions): Promise<LoadRun> {
  const latencies = new Float64Array(options.requests);
  let issued = 0;
  let done = 0;
  let errors = 0;
  let firstError: string | undefined;
  const deadline = performance.now() + options.maxSeconds * 1000;
  const started = performance.now();
  const client = async () => {
    while (issued < options.requests && performance.now() < deadline) {
      const i = issued++;
      const t0 = performance.now();
      try {
        await options.run(i);
        latencies[done++] = performance.now() - t0;
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  return {
    latencies: latencies.subarray(0, done),
    errors,
    wall_s: (performance.now() - started) / 1000,
    truncated: done + errors < options.requests,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

/** One summary over several runs of the same workload (rounds interleaved with other workloads). */
export function summarise(runs: readonly LoadRun[]): LatencySummary & { firstError?: string } {
  const total = runs.reduce((n, r) => n + r.latencies.length, 0);
  const all = new Float64Array(total);
  let off = 0;
  for (const r of runs) {
    all.set(r.latencies, off);
    off += r.latencies.length;
  }
  all.sort();
  let sum = 0;
  for (const x of all) sum += x;
  const wall = runs.reduce((t, r) => t + r.wall_s, 0);
  const firstError = runs.find((r) => r.firstError !== undefined)?.firstError;
  return {
    requests: total,
    errors: runs.reduce((n, r) => n + r.errors, 0),
    wall_s: wall,
    throughput_per_s: total / wall,
    mean_ms: total ? sum / total : NaN,
    p50_ms: percentile(all, 50),
    p90_ms: percentile(all, 90),
    p99_ms: percentile(all, 99),
    max_ms: total ? all[total - 1]! : NaN,
    truncated: runs.some((r) => r.truncated),
    ...(firstError !== undefined ? { firstError } : {}),
  };
}
