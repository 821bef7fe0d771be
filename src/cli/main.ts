#!/usr/bin/env node
// The `plinth` command. Thin: parse arguments, call a service, print the result
// (human-readable, or JSON with --json). Errors print their message and code and exit non-zero.
import { Command, Option } from 'commander';
import { pino } from 'pino';
import { SCOPES, scopeSchema, type Scope } from '../auth/index.js';
import { loadConfig, type Config } from '../config/index.js';
import { migrate, migrationStatus, openDatabase } from '../db/index.js';
import { PlinthError, toPlinthError } from '../errors.js';
import { startServer } from '../http/server.js';
import { LIMIT_FIELDS } from '../gateway/store.js';
import type { LimitsOutput } from '../gateway/index.js';
import { runDoctor } from '../ops/doctor.js';
import { registerMemoryCommands } from './memory.js';
import { registerWorkflowCommands } from './workflows.js';
import { registerRegistryCommands } from './registry.js';
import { registerBackupCommands } from './backup.js';
import { registerDriftCommands } from './drift.js';
import { registerRetentionCommands } from './retention.js';
import { runStdioServer } from '../mcp/stdio.js';
import { readFileSync } from 'node:fs';
import { startPlatform, type Platform } from '../platform.js';
import { createLogger } from '../telemetry/logger.js';
import { VERSION } from '../version.js';

const CLI_ACTOR = { actor: 'cli' };

function print(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '-';
    if (Array.isArray(v)) return v.join(',');
    return typeof v === 'string' ? v : JSON.stringify(v);
  };
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}

/** Open the platform for a one-shot command; attaches to a running embedded server if there is one. */
async function withPlatform<T>(fn: (platform: Platform) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', destination: pino.destination(2) });
  const platform = await startPlatform(config, { logger, allowAttach: true });
  try {
    return await fn(platform);
  } finally {
    await platform.close();
  }
}

function parseScopes(raw: string): Scope[] {
  return raw.split(',').map((s) => {
    const parsed = scopeSchema.safeParse(s.trim());
    if (!parsed.success) throw new PlinthError('INVALID_SCOPE', `Unknown scope "${s.trim()}". Known scopes: ${SCOPES.join(', ')}.`);
    return parsed.data;
  });
}

function parseExpiry(opts: { expiresAt?: string; expiresIn?: string }): string | undefined {
  if (opts.expiresAt) return opts.expiresAt;
  if (!opts.expiresIn) return undefined;
  const m = /^(\d+)\s*([mhdw])$/.exec(opts.expiresIn);
  if (!m) throw new PlinthError('VALIDATION_FAILED', '--expires-in takes a number and a unit: 30m, 12h, 90d or 4w.');
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'm' | 'h' | 'd' | 'w'];
  return new Date(Date.now() + Number(m[1]) * unit).toISOString();
}

export function buildCli(): Command {
  const program = new Command('plinth')
    .description('Plinth: the platform API for autonomous AI agents and ML models.')
    .version(VERSION, '-V, --version-flag', 'print the version')
    .showHelpAfterError();

  program
    .command('serve')
    .description('run the HTTP server (applies migrations; creates the default tenant on first start)')
    .action(async () => {
      const config: Config = loadConfig();
      const logger = createLogger({ level: config.log.level });
      // Embedded: this process is the only one on the database, so it runs the workflows too.
      const platform = await startPlatform(config, { logger, workflows: config.database.url ? 'client' : 'executor' });
      try {
        await startServer(platform);
      } catch (err) {
        await platform.close();
        throw err;
      }
    });

  program
    .command('migrate')
    .description('apply pending database migrations')
    .option('--status', 'show applied and pending migrations without changing anything')
    .option('--json', 'print JSON')
    .action(async (opts: { status?: boolean; json?: boolean }) => {
      const config = loadConfig();
      const db = await openDatabase(config, { allowAttach: true });
      try {
        if (opts.status) {
          const s = await migrationStatus(db);
          print(Boolean(opts.json), s, () => `${table(s.migrations as unknown as Array<Record<string, unknown>>, ['version', 'name', 'state', 'appliedAt'])}\n\nschema version ${s.current} of ${s.latest}${s.upToDate ? ' (up to date)' : ''}`);
          if (!s.upToDate) process.exitCode = 3;
        } else {
          const r = await migrate(db);
          print(Boolean(opts.json), r, () => (r.applied.length ? `applied ${r.applied.join(', ')}; ` : 'nothing to apply; ') + `schema version ${r.status.current}`);
        }
      } finally {
        await db.close();
      }
    });

  const tenants = program.command('tenants').description('manage tenants');
  tenants
    .command('create <name>')
    .description('create a tenant')
    .option('--json', 'print JSON')
    .action((name: string, opts: { json?: boolean }) =>
      withPlatform(async (p) => {
        const t = await p.auth.createTenant(name, CLI_ACTOR);
        print(Boolean(opts.json), t, () => `created tenant ${t.name} (${t.id})`);
      }),
    );
  tenants
    .command('list')
    .description('list tenants')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withPlatform(async (p) => {
        const list = await p.auth.listTenants();
        print(Boolean(opts.json), { tenants: list }, () => table(list, ['name', 'id', 'is_root', 'created_at']));
      }),
    );

  const keys = program.command('keys').description('manage API keys');
  keys
    .command('create')
    .description('create an API key; the key is printed once')
    .requiredOption('--tenant <name>', 'tenant name or id')
    .option('--name <name>', 'what the key is for', 'cli')
    .addOption(new Option('--scopes <list>', `comma-separated: ${SCOPES.join(', ')}`).makeOptionMandatory())
    .option('--expires-at <time>', 'RFC 3339 expiry time')
    .option('--expires-in <duration>', 'expiry from now: 30m, 12h, 90d, 4w')
    .option('--json', 'print JSON')
    .action((opts: { tenant: string; name: string; scopes: string; expiresAt?: string; expiresIn?: string; json?: boolean }) =>
      withPlatform(async (p) => {
        const tenant = await p.auth.getTenant(opts.tenant);
        const expires = parseExpiry(opts);
        const created = await p.auth.createKey(
          tenant.id,
          { name: opts.name, scopes: parseScopes(opts.scopes), ...(expires ? { expires_at: expires } : {}) },
          CLI_ACTOR,
        );
        print(Boolean(opts.json), created, () => `${created.key}\n\n(shown once) key ${created.prefix} for tenant ${tenant.name}, scopes ${created.scopes.join(',')}${created.expires_at ? `, expires ${created.expires_at}` : ''}`);
      }),
    );
  keys
    .command('list')
    .description("list a tenant's keys (never the secrets)")
    .requiredOption('--tenant <name>', 'tenant name or id')
    .option('--json', 'print JSON')
    .action((opts: { tenant: string; json?: boolean }) =>
      withPlatform(async (p) => {
        const tenant = await p.auth.getTenant(opts.tenant);
        const list = await p.auth.listKeys(tenant.id);
        print(Boolean(opts.json), { keys: list }, () => table(list, ['prefix', 'name', 'scopes', 'created_at', 'expires_at', 'revoked_at', 'last_used_at']));
      }),
    );
  keys
    .command('revoke <idOrPrefix>')
    .description('revoke a key by id or prefix')
    .requiredOption('--tenant <name>', 'tenant name or id')
    .option('--json', 'print JSON')
    .action((idOrPrefix: string, opts: { tenant: string; json?: boolean }) =>
      withPlatform(async (p) => {
        const tenant = await p.auth.getTenant(opts.tenant);
        const k = await p.auth.revokeKey(tenant.id, idOrPrefix, CLI_ACTOR);
        print(Boolean(opts.json), k, () => `revoked ${k.prefix} (${k.name})`);
      }),
    );

  // Gateway limits and budgets of a tenant: `set` changes only the fields given ("default" resets one).
  const limits = program.command('limits').description("show or change a tenant's LLM gateway limits and budgets (0 = unlimited)");
  const limitColumns = (l: LimitsOutput) => LIMIT_FIELDS.map((f) => ({ limit: f, effective: l.effective[f], override: l.overrides[f], default: l.defaults[f] }));
  limits
    .command('show')
    .description('effective limits, overrides and defaults')
    .requiredOption('--tenant <name>', 'tenant name or id')
    .option('--json', 'print JSON')
    .action((opts: { tenant: string; json?: boolean }) =>
      withPlatform(async (p) => {
        const l = await p.gateway.limits.get((await p.auth.getTenant(opts.tenant)).id);
        print(Boolean(opts.json), l, () => table(limitColumns(l), ['limit', 'effective', 'override', 'default']));
      }),
    );
  const setLimits = limits.command('set').description('override limits for a tenant').requiredOption('--tenant <name>', 'tenant name or id').option('--reset', 'drop every override first').option('--json', 'print JSON');
  for (const f of LIMIT_FIELDS) setLimits.option(`--${f.replace(/_/g, '-')} <n>`, `${f.replace(/_/g, ' ')} (a number, 0 = unlimited, or "default")`);
  setLimits.action((opts: Record<string, string | boolean | undefined>) =>
    withPlatform(async (p) => {
      const tenant = await p.auth.getTenant(String(opts.tenant));
      const current = opts.reset ? {} : (await p.gateway.limits.get(tenant.id)).overrides;
      const next: Record<string, number | null> = { ...current };
      for (const f of LIMIT_FIELDS) {
        const raw = opts[f.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())];
        if (typeof raw !== 'string') continue;
        if (raw === 'default') next[f] = null;
        else if (/^\d+$/.test(raw)) next[f] = Number(raw);
        else throw new PlinthError('VALIDATION_FAILED', `--${f.replace(/_/g, '-')}: expected a whole number or "default", got "${raw}".`);
      }
      const l = await p.gateway.limits.set(tenant.id, next, CLI_ACTOR);
      print(Boolean(opts.json), l, () => table(limitColumns(l), ['limit', 'effective', 'override', 'default']));
    }),
  );

  registerMemoryCommands(program, withPlatform, print);
  registerWorkflowCommands(program, withPlatform, print, table);
  registerRegistryCommands(program, withPlatform, print);
  registerBackupCommands(program, print);
  registerDriftCommands(program, print);
  registerRetentionCommands(program, withPlatform, print);

  program
    .command('mcp')
    .description('serve MCP over stdio for a local agent host (key from PLINTH_API_KEY or --key-file)')
    .option('--key-file <path>', 'file holding the API key')
    .action(async (opts: { keyFile?: string }) => {
      const key = opts.keyFile ? readFileSync(opts.keyFile, 'utf8') : process.env.PLINTH_API_KEY;
      if (!key?.trim()) throw new PlinthError('UNAUTHENTICATED', 'Give an API key in PLINTH_API_KEY or with --key-file.');
      const config = loadConfig();
      // stdout is the protocol channel: every log line goes to stderr.
      const logger = createLogger({ level: config.log.level, destination: pino.destination(2) });
      const platform = await startPlatform(config, { logger, allowAttach: true });
      try {
        const server = await runStdioServer(platform, key);
        await server.closed;
        await server.close();
      } finally {
        await platform.close();
      }
    });

  program
    .command('doctor')
    .description('check configuration, database, migrations and dependencies, with fixes')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const report = await runDoctor(loadConfig());
      print(Boolean(opts.json), report, () =>
        report.checks
          .map((c) => {
            const mark = c.ok ? 'ok  ' : c.required ? 'FAIL' : 'warn';
            const where = c.location ? ` ${c.location}` : '';
            const lat = c.latency_ms !== undefined ? ` (${c.latency_ms} ms)` : '';
            return `[${mark}] ${c.name.padEnd(15)} ${c.mode.padEnd(8)}${where}${lat}${c.detail ? `\n         ${c.detail}` : ''}${!c.ok && c.fix ? `\n         fix: ${c.fix}` : ''}`;
          })
          .join('\n') + `\n\n${report.ok ? 'Plinth is ready.' : 'Plinth is NOT ready: fix the FAIL lines above.'}`,
      );
      if (!report.ok) process.exitCode = 1;
    });

  program
    .command('version')
    .description('print the version')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => print(Boolean(opts.json), { version: VERSION, node: process.version }, () => `plinth ${VERSION}`));

  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  await buildCli().parseAsync(argv);
}

main().catch((err: unknown) => {
  const e = toPlinthError(err);
  const message = e.is('INTERNAL') && err instanceof Error ? err.message : e.message;
  process.stderr.write(`plinth: ${message} (${e.code})\n`);
  process.exit(e.is('CONFIG_INVALID') ? 2 : 1);
});
