// CLI door for retention: `plinth retention run` sweeps now with the configured ages (the same
// sweep the workflow engine runs on RETENTION_SCHEDULE); `--*-days` override an age for this run.
import type { Command } from 'commander';
import { PlinthError } from '../errors.js';
import { retentionEnabled, runRetention, type RetentionPolicy } from '../ops/retention.js';
import type { Platform } from '../platform.js';

type WithPlatform = <T>(fn: (platform: Platform) => Promise<T>) => Promise<T>;
type Print = (json: boolean, value: unknown, human: () => string) => void;

const AGES = [
  ['--expired-memories-days <n>', 'expiredMemoriesDays', 'delete memories this many days after they expired'],
  ['--usage-days <n>', 'usageDays', 'delete LLM usage records older than this'],
  ['--inference-log-days <n>', 'inferenceLogDays', 'delete inference-log rows older than this'],
  ['--drift-checks-days <n>', 'driftChecksDays', 'delete drift checks and monitor check records older than this'],
] as const;

function days(flag: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 36_500) throw new PlinthError('VALIDATION_FAILED', `${flag.split(' ')[0]} takes whole days from 0 to 36500.`);
  return n;
}

export function registerRetentionCommands(program: Command, withPlatform: WithPlatform, print: Print): void {
  const retention = program.command('retention').description('delete data older than the retention ages (RETENTION_*)');
  const run = retention.command('run').description('run one retention sweep now, audited per tenant').option('--json', 'print JSON');
  for (const [flag, , help] of AGES) run.option(flag, help);
  run.action((opts: Record<string, string | boolean | undefined>) =>
    withPlatform(async (p) => {
      const policy: RetentionPolicy = { ...p.config.retention };
      for (const [flag, key] of AGES) {
        const raw = opts[key];
        if (typeof raw === 'string') policy[key] = days(flag, raw);
      }
      if (!retentionEnabled(policy)) throw new PlinthError('VALIDATION_FAILED', 'No retention age is set: set RETENTION_* or pass an age such as --usage-days 90.');
      const r = await runRetention(p.db, policy, { actor: 'cli' });
      const t = r.totals;
      print(
        Boolean(opts.json),
        r,
        () =>
          `deleted ${t.expired_memories} expired memories, ${t.usage_records} usage records, ${t.inference_log_rows} inference-log rows, ` +
          `${t.drift_checks} drift checks, ${t.monitor_checks} monitor checks across ${r.tenants.length} tenants`,
      );
    }),
  );
}
