// Backup job metrics: a run exports its gauges whether it succeeds or fails, atomically, and a
// failed run keeps the time of the last good backup (what PlinthBackupTooOld measures).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { previousSample, recordBackupRun } from '../../src/telemetry/job-metrics.js';

describe('backup job metrics', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-job-metrics-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'plinth_backup.prom');

  it('writes ok, times and size after a good run, and keeps the last success after a failed one', async () => {
    const before = Date.now() / 1000;
    const r = await recordBackupRun({ metricsFile: file }, () => Promise.resolve({ bytes: 1234 }));
    assert.equal(r.bytes, 1234);
    assert.equal(previousSample(file, 'plinth_backup_ok'), 1);
    assert.equal(previousSample(file, 'plinth_backup_size_bytes'), 1234);
    const success = previousSample(file, 'plinth_backup_last_success_timestamp_seconds')!;
    assert.ok(success >= before - 1 && success <= Date.now() / 1000 + 1);

    await assert.rejects(recordBackupRun({ metricsFile: file }, () => Promise.reject(new Error('storage down'))), /storage down/);
    assert.equal(previousSample(file, 'plinth_backup_ok'), 0);
    assert.equal(previousSample(file, 'plinth_backup_last_success_timestamp_seconds'), success, 'the last good backup is still the first');
    assert.ok(previousSample(file, 'plinth_backup_last_run_timestamp_seconds')! >= success);
    assert.equal(previousSample(file, 'plinth_backup_size_bytes'), undefined);
    assert.match(readFileSync(file, 'utf8'), /# TYPE plinth_backup_ok gauge/);
    assert.deepEqual(readdirSync(dir), ['plinth_backup.prom'], 'no temporary file left behind');
  });

  it('does nothing without a target', async () => {
    assert.deepEqual(await recordBackupRun({}, () => Promise.resolve({ bytes: 1 })), { bytes: 1 });
  });
});
