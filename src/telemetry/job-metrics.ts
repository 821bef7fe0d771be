// Metrics of one-shot jobs (backups, restore drills): they live in a registry of their own that the
// job writes to a node_exporter textfile-collector file (atomically) or pushes to a Prometheus
// Pushgateway, since a serving replica cannot know when the last backup ran.
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Pushgateway, Registry } from 'prom-client';
import { createBackupMetrics } from './metrics.js';

export interface JobMetricsTarget {
  /** Write the job's gauges to this file (node_exporter textfile collector). */
  metricsFile?: string;
  /** Push the job's gauges to this Pushgateway. */
  pushgateway?: string;
}

/** The value of an unlabelled sample in a textfile written by an earlier run, if any. */
export function previousSample(file: string, metric: string): number | undefined {
  try {
    const m = new RegExp(`^${metric} (\\S+)$`, 'm').exec(readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Write and/or push `registry`; pushAdd replaces only these metric names in the job's group. */
export async function exportJobMetrics(registry: Registry, job: string, target: JobMetricsTarget): Promise<void> {
  if (target.metricsFile) {
    const file = path.resolve(target.metricsFile);
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, await registry.metrics());
    await rename(temp, file); // the collector never reads a half-written file
  }
  if (target.pushgateway) await new Pushgateway(target.pushgateway, {}, registry).pushAdd({ jobName: job });
}

/**
 * Run a backup and export plinth_backup_* for it, whether it succeeds or fails; the error (if any)
 * is rethrown after the export. A failed run keeps the previous success time (from the file, or
 * untouched on the Pushgateway), so `time() - plinth_backup_last_success_timestamp_seconds` is the
 * age of the newest good backup.
 */
export async function recordBackupRun<T extends { bytes: number }>(target: JobMetricsTarget, run: () => Promise<T>): Promise<T> {
  if (!target.metricsFile && !target.pushgateway) return run();
  const registry = new Registry();
  const m = createBackupMetrics(registry);
  const started = performance.now();
  const finish = async (ok: boolean) => {
    const now = Date.now() / 1000;
    m.ok.set(ok ? 1 : 0);
    m.lastRun.set(now);
    m.duration.set((performance.now() - started) / 1000);
    if (ok) m.lastSuccess.set(now);
    else {
      const previous = target.metricsFile ? previousSample(target.metricsFile, 'plinth_backup_last_success_timestamp_seconds') : undefined;
      if (previous !== undefined) m.lastSuccess.set(previous);
      else registry.removeSingleMetric('plinth_backup_last_success_timestamp_seconds');
      registry.removeSingleMetric('plinth_backup_size_bytes');
    }
    await exportJobMetrics(registry, 'plinth_backup', target);
  };
  let result: T;
  try {
    result = await run();
  } catch (err) {
    await finish(false).catch(() => undefined); // the backup's own error is the one to report
    throw err;
  }
  m.bytes.set(result.bytes);
  await finish(true);
  return result;
}
