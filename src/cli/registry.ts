// CLI door for the model registry: `plinth models list|get|create|versions|promote|alias-delete`.
// Thin: parse, call the registry service, print (a table, or JSON with --json).
import type { Command } from 'commander';
import { PlinthError } from '../errors.js';
import type { Platform } from '../platform.js';
import { DEFAULT_ALIAS, modelToOutput, versionToOutput, type ModelVersion } from '../registry/index.js';

type WithPlatform = <T>(fn: (platform: Platform) => Promise<T>) => Promise<T>;
type Print = (json: boolean, value: unknown, human: () => string) => void;

const CLI_ACTOR = { actor: 'cli' };

/** Repeated `--tag key=value` options as a tag map. */
function parseTags(list: string[] | undefined): Record<string, string> | undefined {
  if (!list) return undefined;
  const tags: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new PlinthError('VALIDATION_FAILED', `--tag takes key=value, got "${item}".`);
    tags[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return tags;
}

function parseVersion(raw: string): number {
  if (!/^\d+$/.test(raw)) throw new PlinthError('VALIDATION_FAILED', `A version is a positive integer, got "${raw}".`);
  return Number(raw);
}

function describeVersion(v: ModelVersion): string {
  const tags = Object.entries(v.tags).map(([k, val]) => `${k}=${val}`);
  return [
    `${v.name} version ${v.version} (${v.status})`,
    `  source:  ${v.source}`,
    ...(v.runId ? [`  run id:  ${v.runId}`] : []),
    ...(v.aliases.length ? [`  aliases: ${v.aliases.join(', ')}`] : []),
    ...(tags.length ? [`  tags:    ${tags.join(', ')}`] : []),
    ...(v.description ? [`  ${v.description}`] : []),
    `  created: ${v.createdAt}`,
  ].join('\n');
}

function versionRows(versions: ModelVersion[]): string {
  if (versions.length === 0) return '(none)';
  const rows = versions.map((v) => [String(v.version), v.status, v.aliases.join(',') || '-', v.createdAt, v.source]);
  const head = ['VERSION', 'STATUS', 'ALIASES', 'CREATED', 'SOURCE'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function registerRegistryCommands(program: Command, withPlatform: WithPlatform, print: Print): void {
  const models = program.command('models').description('model registry: registered models, versions, aliases');

  models
    .command('list')
    .description('list registered models')
    .option('--tenant <name>', 'tenant name or id', 'default')
    .option('--query <text>', 'name substring')
    .option('--limit <n>', 'models per page', '100')
    .option('--page-token <token>', 'continue from a previous page')
    .option('--json', 'print JSON')
    .action((opts: { tenant: string; query?: string; limit: string; pageToken?: string; json?: boolean }) =>
      withPlatform(async (p) => {
        const tenant = await p.auth.getTenant(opts.tenant);
        const r = await p.registry.listModels(tenant.id, {
          limit: Number(opts.limit),
          ...(opts.query ? { query: opts.query } : {}),
          ...(opts.pageToken ? { page_token: opts.pageToken } : {}),
        });
        print(Boolean(opts.json), { models: r.models.map(modelToOutput), next_page_token: r.nextPageToken }, () => {
          if (r.models.length === 0) return '(no models)';
          const lines = r.models.map((m) => {
            const aliases = Object.entries(m.aliases).map(([a, v]) => `${a}=v${v}`);
            return `${m.name}${aliases.length ? `  [${aliases.join(', ')}]` : ''}${m.description ? `  ${m.description}` : ''}`;
          });
          return lines.join('\n') + (r.nextPageToken ? `\n(more: --page-token ${r.nextPageToken})` : '');
        });
      }),
    );

  models
    .command('get <name>')
    .description('show a model, or one of its versions with --version or --alias')
    .option('--tenant <name>', 'tenant name or id', 'default')
    .option('--version <n>', 'a version number')
    .option('--alias <alias>', 'an alias, e.g. champion')
    .option('--json', 'print JSON')
    .action((name: string, opts: { tenant: string; version?: string; alias?: string; json?: boolean }) =>
      withPlatform(async (p) => {
        if (opts.version && opts.alias) throw new PlinthError('VALIDATION_FAILED', 'Give either --version or --alias, not both.');
        const tenant = await p.auth.getTenant(opts.tenant);
        if (opts.version || opts.alias) {
          const v = await p.registry.getVersion(tenant.id, name, opts.alias ? { alias: opts.alias } : { version: parseVersion(opts.version!) });
          const uri = await p.registry.getDownloadUri(tenant.id, name, v.version);
          print(Boolean(opts.json), { ...versionToOutput(v), download_uri: uri }, () => `${describeVersion(v)}\n  download: ${uri}`);
          return;
        }
        const m = await p.registry.getModel(tenant.id, name);
        print(Boolean(opts.json), modelToOutput(m), () =>
          [
            m.name,
            ...(m.description ? [`  ${m.description}`] : []),
            `  aliases: ${Object.entries(m.aliases).map(([a, v]) => `${a}=v${v}`).join(', ') || '-'}`,
            `  tags:    ${Object.entries(m.tags).map(([k, v]) => `${k}=${v}`).join(', ') || '-'}`,
            `  created: ${m.createdAt}, updated: ${m.updatedAt}`,
          ].join('\n'),
        );
      }),
    );

  models
    .command('create <name>')
    .description('register a model, or with --source a new version of it (the model is created if needed)')
    .option('--tenant <name>', 'tenant name or id', 'default')
    .option('--description <text>')
    .option('--tag <key=value...>', 'tags (repeatable)')
    .option('--source <uri>', 'artifact location of a new version, e.g. s3://bucket/model or runs:/<id>/model')
    .option('--run-id <id>', 'MLflow run that produced the version')
    .option('--idempotency-key <key>', 'a repeated create with this key returns the first version')
    .option('--json', 'print JSON')
    .action(
      (name: string, opts: { tenant: string; description?: string; tag?: string[]; source?: string; runId?: string; idempotencyKey?: string; json?: boolean }) =>
        withPlatform(async (p) => {
          const tenant = await p.auth.getTenant(opts.tenant);
          const tags = parseTags(opts.tag);
          if (!opts.source) {
            if (opts.runId || opts.idempotencyKey) throw new PlinthError('VALIDATION_FAILED', '--run-id and --idempotency-key need --source (they describe a version).');
            const r = await p.registry.createModel(tenant.id, { name, ...(opts.description ? { description: opts.description } : {}), ...(tags ? { tags } : {}) }, CLI_ACTOR);
            print(Boolean(opts.json), { ...modelToOutput(r.model), created: r.created }, () => `${r.created ? 'created' : 'exists:'} model ${r.model.name}`);
            return;
          }
          const v = await p.registry.createVersion(
            tenant.id,
            {
              name,
              source: opts.source,
              ...(opts.runId ? { run_id: opts.runId } : {}),
              ...(opts.description ? { description: opts.description } : {}),
              ...(tags ? { tags } : {}),
              ...(opts.idempotencyKey ? { idempotency_key: opts.idempotencyKey } : {}),
            },
            CLI_ACTOR,
          );
          print(Boolean(opts.json), { ...versionToOutput(v), created: v.created }, () => `${v.created ? 'registered' : 'exists:'} ${v.name} version ${v.version}`);
        }),
    );

  models
    .command('versions <name>')
    .description('list the versions of a model, newest first')
    .option('--tenant <name>', 'tenant name or id', 'default')
    .option('--limit <n>', 'versions per page', '100')
    .option('--page-token <token>', 'continue from a previous page')
    .option('--json', 'print JSON')
    .action((name: string, opts: { tenant: string; limit: string; pageToken?: string; json?: boolean }) =>
      withPlatform(async (p) => {
        const tenant = await p.auth.getTenant(opts.tenant);
        const r = await p.registry.listVersions(tenant.id, name, { limit: Number(opts.limit), ...(opts.pageToken ? { page_token: opts.pageToken } : {}) });
        print(
          Boolean(opts.json),
          { versions: r.versions.map(versionToOutput), next_page_token: r.nextPageToken },
          () => versionRows(r.versions) + (r.nextPageToken ? `\n(more: --page-token ${r.nextPageToken})` : ''),
        );
      }),
    );

  models
    .command('promote <name> <version>')
    .description(`point an alias (default ${DEFAULT_ALIAS}) at a version; audited`)
    .option('--tenant <name>', 'tenant name or id', 'default')
    .option('--alias <alias>', 'alias to move', DEFAULT_ALIAS)
    .option('--json', 'print JSON')
    .action((name: string, version: string, opts: { tenant: string; alias: string; json?: boolean }) =>
      withPlatform(async (p) => {
        const tenant = await p.auth.getTenant(opts.tenant);
        const r = await p.registry.promote(tenant.id, name, parseVersion(version), { alias: opts.alias }, CLI_ACTOR);
        print(Boolean(opts.json), { name: r.name, alias: r.alias, version: r.version, previous_version: r.previousVersion, changed: r.changed }, () =>
          r.changed
            ? `${r.name}@${r.alias} -> version ${r.version}${r.previousVersion !== null ? ` (was ${r.previousVersion})` : ''}`
            : `${r.name}@${r.alias} already points at version ${r.version}`,
        );
      }),
    );

  models
    .command('alias-delete <name> <alias>')
    .description('remove an alias of a model')
    .option('--tenant <name>', 'tenant name or id', 'default')
    .option('--json', 'print JSON')
    .action((name: string, alias: string, opts: { tenant: string; json?: boolean }) =>
      withPlatform(async (p) => {
        const tenant = await p.auth.getTenant(opts.tenant);
        await p.registry.deleteAlias(tenant.id, name, alias, CLI_ACTOR);
        print(Boolean(opts.json), { name, alias, deleted: true }, () => `removed ${name}@${alias}`);
      }),
    );
}
