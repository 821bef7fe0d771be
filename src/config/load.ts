// Builds the one Config object: optional YAML file (PLINTH_CONFIG), then environment
// variables (and their *_FILE variants for secrets) on top, validated by zod, then frozen.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { PlinthError } from '../errors.js';
import { ENV_VARS, META_ENV_VARS, configSchema, type Config } from './schema.js';

export interface LoadConfigOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  let raw: Record<string, unknown> = {};

  const configFile = env.PLINTH_CONFIG;
  if (configFile) {
    try {
      const parsed: unknown = parseYaml(readFileSync(path.resolve(cwd, configFile), 'utf8'));
      if (parsed !== null && parsed !== undefined) {
        if (typeof parsed !== 'object' || Array.isArray(parsed)) problems.push('PLINTH_CONFIG: the file must hold a YAML mapping');
        else raw = parsed as Record<string, unknown>;
      }
    } catch (err) {
      problems.push(`PLINTH_CONFIG: cannot read ${configFile}: ${(err as Error).message.split('\n')[0] ?? ''}`);
    }
  }

  const known = new Set<string>(META_ENV_VARS);
  for (const v of ENV_VARS) {
    known.add(v.name);
    if (v.secret) known.add(`${v.name}_FILE`);
    const direct = nonEmpty(env[v.name]);
    const fileVar = v.secret ? nonEmpty(env[`${v.name}_FILE`]) : undefined;
    if (direct !== undefined && fileVar !== undefined) {
      problems.push(`${v.name}: set either ${v.name} or ${v.name}_FILE, not both`);
      continue;
    }
    let value = direct;
    if (fileVar !== undefined) {
      try {
        value = readFileSync(path.resolve(cwd, fileVar), 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        problems.push(`${v.name}_FILE: cannot read ${fileVar} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
        continue;
      }
    }
    if (value !== undefined) setPath(raw, v.path, value);
  }

  for (const name of Object.keys(env)) {
    // PLINTH_TEST_* belongs to the test and benchmark harness (service URLs, ports), never to Plinth.
    if (name.startsWith('PLINTH_') && !name.startsWith('PLINTH_TEST_') && !known.has(name)) problems.push(`${name}: unknown setting`);
  }

  if (problems.length === 0) {
    const result = configSchema.safeParse(raw);
    if (result.success) {
      const config = result.data;
      config.dataDir = path.resolve(cwd, config.dataDir);
      config.server.host ??= config.database.url ? '0.0.0.0' : '127.0.0.1';
      if (config.server.tls.certFile) config.server.tls.certFile = path.resolve(cwd, config.server.tls.certFile);
      if (config.server.tls.keyFile) config.server.tls.keyFile = path.resolve(cwd, config.server.tls.keyFile);
      if (config.database.caFile) config.database.caFile = path.resolve(cwd, config.database.caFile);
      if (config.database.sslMode === 'verify-full' || config.database.sslMode === 'verify-ca') {
        // A verifying mode without a CA would silently fall back to the system store; say so explicitly instead.
        if (!config.database.caFile) problems.push(`DATABASE_CA_FILE (database.caFile): required when DATABASE_SSL_MODE is ${config.database.sslMode}`);
      }
      if (config.database.readUrl && !config.database.url) problems.push('DATABASE_READ_URL (database.readUrl): needs DATABASE_URL as well');
      if (problems.length === 0) return deepFreeze(config);
    } else {
      problems.push(...formatIssues(result.error.issues));
    }
  }
  throw new PlinthError('CONFIG_INVALID', `Invalid configuration:\n  - ${problems.join('\n  - ')}`, { problems });
}

function formatIssues(issues: z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const base = issue.path.join('.');
      return issue.keys.map((k) => `${base ? `${base}.` : ''}${k}: unknown setting`).join('; ');
    }
    const dotted = issue.path.join('.');
    const envVar = ENV_VARS.find((v) => v.path === dotted);
    const field = envVar ? `${envVar.name} (${dotted})` : dotted || '(root)';
    return `${field}: ${issue.message}`;
  });
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A printable view of the configuration (secrets masked, URLs with passwords masked). */
export function describeConfig(config: Config): Record<string, unknown> {
  return JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
}
