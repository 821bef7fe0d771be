// CLI door for backups: `plinth backup`, `plinth restore`, `plinth drill`. Thin: parse, call, print.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { loadConfig } from '../config/index.js';
import { PlinthError } from '../errors.js';
import { listBackups } from '../ops/backup.js';
import { runBackup } from '../ops/backup.js';
import { assertDrillPassed, drillMetrics, runDrill } from '../ops/drill.js';
import { parseBackupRef, restoreBackup } from '../ops/restore.js';
import { openBackupStorage } from '../ops/storage.js';
import { exportJobMetrics, previousSample, recordBackupRun } from '../telemetry/job-metrics.js';
import { createLogger } from '../telemetry/logger.js';

type Print = (json: boolean, value: unknown, human: () => string) => void;

function cliLogger() {
  return createLogger({ level: process.env.LOG_LEVEL ?? 'warn', destination: pino.destination(2) });
}

function nonNegativeInt(raw: string): number {
  if (!/^\d+$/.test(raw)) throw new PlinthError('VALIDATION_FAILED', `--keep takes a whole number, not "${raw}".`);
  return Number(raw);
}


export function registerBackupCommands(program: Command, print: Print): void {
  program
    .command('backup')
    .description('take an encrypted, verified logical backup of the database (key: BACKUP_KEY_FILE)')
    .option('--to <target>', 'directory or s3://bucket/prefix (default BACKUP_TARGET)')
    .option('--keep <n>', 'keep the newest n complete backups, delete older ones (default BACKUP_KEEP; 0 = all)', nonNegativeInt)
    .option('--list', 'list the backups at the target instead of taking one')
    .option('--metrics-file <path>', 'write plinth_backup_* gauges here (node_exporter textfile collector)')
    .option('--pushgateway <url>', 'push plinth_backup_* gauges to this Prometheus Pushgateway')
    .option('--json', 'print JSON')
    .action(async (opts: { to?: string; keep?: number; list?: boolean; metricsFile?: string; pushgateway?: string; json?: boolean }) => {
      const config = loadConfig();
      if (opts.list) {
        const storage = openBackupStorage(opts.to ?? config.backup.target, config);
        try {
          const list = await listBackups(storage);
          print(Boolean(opts.json), { location: storage.location, backups: list }, () =>
            list.length ? list.map((b) => `${b.id}${b.complete ? '' : '  (incomplete)'}`).join('\n') : `(no backups in ${storage.location})`,
          );
        } finally {
          await storage.close();
        }
        return;
      }
      // Exported whether the backup succeeds or fails, so the age of the last good one is alertable.
      const r = await recordBackupRun({ metricsFile: opts.metricsFile, pushgateway: opts.pushgateway }, () =>
        runBackup({ config, target: opts.to, keep: opts.keep, logger: cliLogger() }),
      );
      print(Boolean(opts.json), r, () =>
        [
          `backup ${r.id} written to ${r.location}`,
          `  ${r.source} database, ${r.format}, schema version ${r.schemaVersion}: ${r.tables} tables, ${r.rows} rows, ${r.bytes} bytes encrypted, ${r.durationMs} ms`,
          ...(r.removed.length ? [`  retention removed ${r.removed.join(', ')}`] : []),
        ].join('\n'),
      );
    });

  program
    .command('restore <backup>')
    .description('restore a backup (an id, "latest", or <location>/<id>) into a new or empty database, verify it, migrate it forward')
    .option('--from <target>', 'where the backups are (default BACKUP_TARGET)')
    .option('--database-url <url>', 'PostgreSQL target for a PostgreSQL backup (created when missing)')
    .option('--database-url-file <path>', 'file holding the target URL (keeps the password out of the process list)')
    .option('--data-dir <dir>', 'target data directory for an embedded backup')
    .option('--force', 'restore into a target that already holds data')
    .option('--json', 'print JSON')
    .action(async (ref: string, opts: { from?: string; databaseUrl?: string; databaseUrlFile?: string; dataDir?: string; force?: boolean; json?: boolean }) => {
      const config = loadConfig();
      const { target, id } = parseBackupRef(ref, opts.from ?? config.backup.target);
      const databaseUrl = opts.databaseUrlFile ? readFileSync(opts.databaseUrlFile, 'utf8').trim() : opts.databaseUrl;
      const r = await restoreBackup({ config, from: target, backup: id, databaseUrl, dataDir: opts.dataDir, force: opts.force, logger: cliLogger() });
      const { manifest: _manifest, ...summary } = r;
      print(Boolean(opts.json), summary, () =>
        [
          `restored ${r.id} (snapshot ${r.snapshotAt}) into ${r.target} in ${r.restoreMs} ms`,
          r.problems.length ? `  VERIFICATION FAILED:\n    ${r.problems.join('\n    ')}` : `  verified: ${r.tables} tables, ${r.rows} rows match the manifest`,
          ...r.warnings.map((w) => `  note: ${w}`),
          r.problems.length ? '  migrations not applied' : `  schema version ${r.schemaVersion}${r.migrated.length ? ` (applied ${r.migrated.join(', ')})` : ''}`,
        ].join('\n'),
      );
      if (r.problems.length) throw new PlinthError('BACKUP_INTEGRITY_FAILED', `The restored data differs from backup ${r.id}.`);
    });

  program
    .command('drill')
    .description('restore the newest backup into a scratch database, verify it and check invariants; exits non-zero on any mismatch')
    .option('--from <target>', 'where the backups are (default BACKUP_TARGET)')
    .option('--backup <id>', 'drill this backup instead of the newest complete one')
    .option('--metrics-file <path>', 'write plinth_backup_drill_* gauges here (node_exporter textfile collector)')
    .option('--pushgateway <url>', 'push plinth_backup_drill_* gauges to this Prometheus Pushgateway')
    .option('--json', 'print JSON')
    .action(async (opts: { from?: string; backup?: string; metricsFile?: string; pushgateway?: string; json?: boolean }) => {
      const config = loadConfig();
      const report = await runDrill({ config, from: opts.from, backup: opts.backup, logger: cliLogger() });
      const registry = new Registry();
      const previous = opts.metricsFile ? previousSample(opts.metricsFile, 'plinth_backup_drill_last_success_timestamp_seconds') : undefined;
      drillMetrics(registry, report, previous);
      // pushAdd (POST) replaces only these metric names, so a failed drill keeps the last success time.
      await exportJobMetrics(registry, 'plinth_backup_drill', { metricsFile: opts.metricsFile, pushgateway: opts.pushgateway });
      print(Boolean(opts.json), report, () =>
        [
          `drill of ${report.backup ?? '(no backup)'}${report.snapshotAt ? ` (snapshot ${report.snapshotAt}, ${report.backupAgeSeconds} s old)` : ''}`,
          ...report.checks.map((c) => `[${c.ok ? 'ok  ' : 'FAIL'}] ${c.name.padEnd(18)} ${c.detail}`),
          `restore (RTO) ${report.restoreSeconds?.toFixed(2) ?? '-'} s, drill ${report.durationSeconds.toFixed(2)} s: ${report.ok ? 'PASSED' : 'FAILED'}`,
        ].join('\n'),
      );
      assertDrillPassed(report);
    });
}
