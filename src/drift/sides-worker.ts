// Worker thread body for src/drift/parallel.ts: turns one numeric column into its side (missing
// values dropped, sorted, described) and sends it back with the column's own values, both
// transferred, not copied.
import { parentPort } from 'node:worker_threads';
import { numSide } from './columns.js';

export interface SideJob {
  id: number;
  name: string;
  values: Float64Array;
}

parentPort?.on('message', (job: SideJob) => {
  try {
    const side = numSide(job.name, { kind: 'number', values: job.values }, 'num');
    // The caller's values come back as they were (transferred both ways, never copied).
    parentPort!.postMessage({ id: job.id, side, values: job.values }, [side.sorted.buffer as ArrayBuffer, job.values.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err), values: job.values }, [job.values.buffer as ArrayBuffer]);
  }
});
