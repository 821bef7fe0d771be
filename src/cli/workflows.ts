// CLI door for durable workflows: `plinth worker`, `plinth monitors …`, `plinth retrain start`,
// `plinth workflows list|status|cancel|resume`. Thin: parse, call platform.workflows, print.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { PlinthError } from '../errors.js';
import type { Platform } from '../platform.js';
import { startPlatform } from '../platform.js';
import { createLogger } from '../telemetry/logger.js';
import { createMonitorInput, listWorkflowsInput, retrainConfig, retrainStartInput, updateMonitorInput, type WorkflowOutput } from '../workflows/index.js';

type WithPlatform = <T>(fn: (platform: Platform) => Promise<T>) => Promise<T>;
type Print = (json: boolean, value: unknown, human: () => string) => void;
type Table = (rows: Array<Record<string, unknown>>, columns: string[]) => string;

const CLI_ACTOR = { actor: 'cli' };

/** Runs workflows until SIGTERM/SIGINT: dequeues retraining runs and fires the monitor tick. */
export async function runWorker(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.log.level });
  const platform = await startPlatform(config, { logger, workflows: 'executor' });
  logger.info({ executor_id: config.workflows.executorId, concurrency: config.workflows.concurrency }, 'worker running; SIGTERM stops it');
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  logger.info('worker stopping: running steps may finish, the rest resume on the next start');
  await platform.close();
}

function parseJson(raw: string, what: string): unknown {
  const text = raw.startsWith('@') ? readFileSync(raw.slice(1), 'utf8') : raw;
  try {
    return JSON.parse(text);
  } catch {
    throw new PlinthError('VALIDATION_FAILED', `${what}: not valid JSON (give JSON, or @file).`);
  }
}

function describe(w: WorkflowOutput): string {
  const r = w.retraining;
  const lines = [`${w.workflow_id}  ${w.status}${w.error ? `  (${w.error})` : ''}`];
  if (r) lines.push(`  ${r.model}: ${r.status}${r.version !== null ? ` version ${r.version}` : ''}${r.reason ? ` — ${r.reason}` : ''}`);
  for (const s of w.steps ?? []) lines.push(`  step ${s.id} ${s.name}${s.error ? ` ERROR ${s.error}` : ''}`);
  return lines.join('\n');
}

export function registerWorkflowCommands(program: Command, withPlatform: WithPlatform, print: Print, table: Table): void {
  program
    .command('worker')
    .description('run durable workflows (retraining, scheduled drift monitors); on PostgreSQL, run one or more next to `plinth serve`')
    .action(() => runWorker());

  const monitors = program.command('monitors').description('drift monitors: scheduled checks that can start retraining');
  const tenantOpt = (c: Command) => c.option('--tenant <name>', 'tenant name or id', 'default');
  tenantOpt(
    monitors
      .command('create <name>')
      .description('create a monitor')
      .requiredOption('--model <name>', 'model name (its inference log is the current data)')
      .requiredOption('--profile <id>', 'reference profile id')
      .requiredOption('--schedule <cron>', 'cron schedule, UTC, e.g. "0 3 * * *"')
      .option('--window <minutes>', 'current-data window in minutes', '1440')
      .option('--threshold <share>', 'retrain when the drifted-column share exceeds this', '0.5')
      .option('--retrain <json>', 'retrain configuration {action, gate, notify_url} as JSON or @file')
      .option('--disabled', 'create it disabled')
      .option('--json', 'print JSON'),
  ).action((name: string, o: { tenant: string; model: string; profile: string; schedule: string; window: string; threshold: string; retrain?: string; disabled?: boolean; json?: boolean }) =>
    withPlatform(async (p) => {
      const t = await p.auth.getTenant(o.tenant);
      const input = createMonitorInput.parse({
        name,
        model: o.model,
        profile_id: o.profile,
        schedule: o.schedule,
        window_minutes: Number(o.window),
        threshold: Number(o.threshold),
        enabled: !o.disabled,
        ...(o.retrain ? { retrain: retrainConfig.parse(parseJson(o.retrain, '--retrain')) } : {}),
      });
      const m = await p.workflows.createMonitor(t.id, input, CLI_ACTOR);
      print(Boolean(o.json), m, () => `created monitor ${m.name} (${m.id}), schedule ${m.schedule}`);
    }),
  );
  tenantOpt(monitors.command('list').description('list monitors').option('--json', 'print JSON')).action((o: { tenant: string; json?: boolean }) =>
    withPlatform(async (p) => {
      const list = await p.workflows.listMonitors((await p.auth.getTenant(o.tenant)).id);
      print(Boolean(o.json), { monitors: list }, () => table(list, ['name', 'model', 'schedule', 'threshold', 'enabled', 'last_outcome', 'last_drift_share', 'last_checked_at']));
    }),
  );
  tenantOpt(monitors.command('show <monitor>').description('a monitor and its recent checks').option('--json', 'print JSON')).action((idOrName: string, o: { tenant: string; json?: boolean }) =>
    withPlatform(async (p) => {
      const tid = (await p.auth.getTenant(o.tenant)).id;
      const m = await p.workflows.getMonitor(tid, idOrName);
      const checks = await p.workflows.listChecks(tid, idOrName, 20);
      print(Boolean(o.json), { ...m, checks }, () => `${m.name} (${m.id}) ${m.model} every "${m.schedule}", threshold ${m.threshold}\n\n${table(checks, ['scheduled_at', 'outcome', 'drift_share', 'retrain_workflow_id', 'error_code'])}`);
    }),
  );
  tenantOpt(
    monitors
      .command('update <monitor>')
      .description('change a monitor')
      .option('--profile <id>')
      .option('--schedule <cron>')
      .option('--window <minutes>')
      .option('--threshold <share>')
      .option('--retrain <json>', 'retrain configuration as JSON or @file; "null" removes it')
      .option('--enable')
      .option('--disable')
      .option('--json', 'print JSON'),
  ).action((idOrName: string, o: { tenant: string; profile?: string; schedule?: string; window?: string; threshold?: string; retrain?: string; enable?: boolean; disable?: boolean; json?: boolean }) =>
    withPlatform(async (p) => {
      const input = updateMonitorInput.parse({
        ...(o.profile ? { profile_id: o.profile } : {}),
        ...(o.schedule ? { schedule: o.schedule } : {}),
        ...(o.window ? { window_minutes: Number(o.window) } : {}),
        ...(o.threshold ? { threshold: Number(o.threshold) } : {}),
        ...(o.retrain ? { retrain: o.retrain === 'null' ? null : parseJson(o.retrain, '--retrain') } : {}),
        ...(o.enable ? { enabled: true } : o.disable ? { enabled: false } : {}),
      });
      const m = await p.workflows.updateMonitor((await p.auth.getTenant(o.tenant)).id, idOrName, input, CLI_ACTOR);
      print(Boolean(o.json), m, () => `updated monitor ${m.name}`);
    }),
  );
  tenantOpt(monitors.command('delete <monitor>').description('delete a monitor').option('--json', 'print JSON')).action((idOrName: string, o: { tenant: string; json?: boolean }) =>
    withPlatform(async (p) => {
      const m = await p.workflows.deleteMonitor((await p.auth.getTenant(o.tenant)).id, idOrName, CLI_ACTOR);
      print(Boolean(o.json), m, () => `deleted monitor ${m.name}`);
    }),
  );

  const retrain = program.command('retrain').description('retraining workflows');
  tenantOpt(
    retrain
      .command('start <model>')
      .description('start a retraining workflow (train, evaluate, register, promote if better)')
      .option('--monitor <id>', "use this monitor's retrain configuration")
      .option('--action <json>', 'training action as JSON or @file')
      .option('--gate <json>', 'gate metrics as JSON or @file, e.g. [{"metric":"accuracy","direction":"max"}]')
      .option('--trigger <kind>', 'manual | schedule | metric_decay', 'manual')
      .option('--idempotency-key <key>')
      .option('--wait <seconds>', 'wait this long for the outcome')
      .option('--json', 'print JSON'),
  ).action((model: string, o: { tenant: string; monitor?: string; action?: string; gate?: string; trigger: string; idempotencyKey?: string; wait?: string; json?: boolean }) =>
    withPlatform(async (p) => {
      const t = await p.auth.getTenant(o.tenant);
      const input = retrainStartInput.parse({
        model,
        trigger: o.trigger,
        ...(o.monitor ? { monitor_id: o.monitor } : {}),
        ...(o.action ? { action: parseJson(o.action, '--action') } : {}),
        ...(o.gate ? { gate: parseJson(o.gate, '--gate') } : {}),
        ...(o.idempotencyKey ? { idempotency_key: o.idempotencyKey } : {}),
      });
      const started = await p.workflows.startRetrain(t.id, input, CLI_ACTOR);
      if (o.wait) {
        const w = await p.workflows.wait({ tenantId: t.id, root: t.is_root }, started.workflow_id, Number(o.wait) * 1000);
        print(Boolean(o.json), w, () => describe(w));
      } else {
        print(Boolean(o.json), started, () => `${started.created ? 'started' : 'already started'} ${started.workflow_id}`);
      }
    }),
  );

  const wf = program.command('workflows').description('inspect and manage durable workflows');
  tenantOpt(
    wf
      .command('list')
      .description('list workflows, newest first')
      .option('--status <status>', 'ENQUEUED | PENDING | SUCCESS | ERROR | CANCELLED')
      .option('--limit <n>', 'at most this many', '50')
      .option('--json', 'print JSON'),
  ).action((o: { tenant: string; status?: string; limit: string; json?: boolean }) =>
    withPlatform(async (p) => {
      const t = await p.auth.getTenant(o.tenant);
      const list = await p.workflows.listWorkflows({ tenantId: t.id, root: t.is_root }, listWorkflowsInput.parse({ limit: o.limit, ...(o.status ? { status: o.status } : {}) }));
      print(Boolean(o.json), { workflows: list }, () =>
        table(
          list.map((w) => ({ ...w, outcome: w.retraining?.status ?? null })),
          ['workflow_id', 'name', 'status', 'outcome', 'executor_id', 'created_at'],
        ),
      );
    }),
  );
  for (const [cmd, what] of [
    ['status', 'show a workflow and its steps'],
    ['cancel', 'cancel a workflow (it stops at its next step)'],
    ['resume', 'resume a cancelled or failed workflow from its last completed step'],
  ] as const) {
    tenantOpt(wf.command(`${cmd} <id>`).description(what).option('--json', 'print JSON')).action((id: string, o: { tenant: string; json?: boolean }) =>
      withPlatform(async (p) => {
        const t = await p.auth.getTenant(o.tenant);
        const caller = { tenantId: t.id, root: t.is_root };
        const w =
          cmd === 'status' ? await p.workflows.getWorkflow(caller, id, { steps: true }) : cmd === 'cancel' ? await p.workflows.cancel(caller, id, CLI_ACTOR) : await p.workflows.resume(caller, id, CLI_ACTOR);
        print(Boolean(o.json), w, () => describe(w));
      }),
    );
  }
}
