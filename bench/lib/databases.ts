// Databases for benchmarks: the real PostgreSQL (started through scripts/services.sh when the
// environment does not already point at one) and the embedded PGlite, each as a fresh, empty
// database, with a platform started on it exactly as `plinth serve` starts one.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../src/config/index.js';
import { startPlatform, type Platform } from '../../src/platform.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { BENCH_DIR } from './report.js';

export type DbKind = 'postgres' | 'embedded';

const REPO = path.resolve(BENCH_DIR, '..');

export interface RealPostgres {
  url: string;
  adminUrl: string | undefined;
  /** Stop the services again at the end: set when this process started them. */
  stop: (() => void) | undefined;
}

function servicesScript(command: 'start' | 'env' | 'stop'): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync('bash', [path.join(REPO, 'scripts/services.sh'), command], { cwd: REPO, encoding: 'utf8', timeout: 600_000 });
  return { ok: r.status === 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** `export NAME=value` lines, as `eval "$(scripts/services.sh start)"` would apply them. */
function applyExports(stdout: string): void {
  for (const line of stdout.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) process.env[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1');
  }
}

async function reachable(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * The real PostgreSQL + pgvector. Uses PLINTH_TEST_PG_URL when set; otherwise starts the
 * project's services (idempotent) and applies their export lines. Services that were not
 * running before are stopped again at the end unless PLINTH_TEST_KEEP_SERVICES=1.
 */
export async function realPostgres(log: (line: string) => void): Promise<RealPostgres> {
  let stop: (() => void) | undefined;
  if (!process.env.PLINTH_TEST_PG_URL) {
    const before = servicesScript('env');
    const wasRunning = before.ok && (await reachable(/PLINTH_TEST_PG_URL=(\S+)/.exec(before.stdout)?.[1] ?? 'postgres://invalid'));
    log(wasRunning ? 'PLINTH_TEST_PG_URL is unset: using the already running services (scripts/services.sh env)' : 'PLINTH_TEST_PG_URL is unset: starting services (scripts/services.sh start)');
    const started = servicesScript('start');
    if (!started.ok) throw new Error(`scripts/services.sh start failed:\n${started.stderr.trim()}`);
    applyExports(started.stdout);
    if (!wasRunning && process.env.PLINTH_TEST_KEEP_SERVICES !== '1') stop = () => void servicesScript('stop');
  }
  const url = process.env.PLINTH_TEST_PG_URL;
  if (!url) throw new Error('PLINTH_TEST_PG_URL is still unset after starting the services');
  return { url, adminUrl: process.env.PLINTH_TEST_PG_ADMIN_URL, stop };
}

export interface FreshDatabase {
  kind: DbKind;
  env: Record<string, string>;
  dataDir: string;
  /** Statements to run once on a connection after the platform has started (embedded only). */
  sessionSettings: string[];
  cleanup(): Promise<void>;
}

/**
 * A fresh, empty database: a new PGlite data directory, or a new database on the real server.
 * `defaults` become the database's (or, embedded, the single session's) settings, e.g. the
 * `hnsw.ef_search` a raw baseline query runs with outside any transaction.
 */
export async function freshDatabase(kind: DbKind, real: RealPostgres | undefined, defaults: Readonly<Record<string, number>> = {}): Promise<FreshDatabase> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'plinth-bench-'));
  for (const [k, v] of Object.entries(defaults)) if (!/^[a-z_]+\.?[a-z_]+$/.test(k) || !Number.isFinite(v)) throw new Error(`bad setting ${k}`);
  const setAll = (prefix: string) => Object.entries(defaults).map(([k, v]) => `${prefix} ${k} = ${v}`);
  if (kind === 'embedded') {
    return {
      kind,
      env: { PLINTH_DATA_DIR: dataDir },
      dataDir,
      // PGlite serves every connection from one session: a session SET reaches them all.
      sessionSettings: setAll('SET'),
      cleanup: () => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })),
    };
  }
  if (!real) throw new Error('no real PostgreSQL');
  const name = `plinth_bench_${randomBytes(5).toString('hex')}`;
  await withClient(real.url, (c) => c.query(`CREATE DATABASE ${name}`));
  if (real.adminUrl) {
    // pgvector is not a trusted extension: a superuser creates it, as an operator would.
    const su = new URL(real.adminUrl);
    su.pathname = `/${name}`;
    await withClient(su.toString(), (c) => c.query('CREATE EXTENSION IF NOT EXISTS vector'));
  }
  const url = new URL(real.url);
  url.pathname = `/${name}`;
  const stmts = setAll(`ALTER DATABASE ${name} SET`);
  if (stmts.length > 0) {
    // A setting of an extension is only known once its library is loaded in the session (a
    // superuser may set it regardless).
    const su = real.adminUrl ? new URL(real.adminUrl) : undefined;
    if (su) su.pathname = `/${name}`;
    await withClient((su ?? url).toString(), async (c) => {
      if (!su) await c.query('SELECT NULL::vector');
      for (const stmt of stmts) await c.query(stmt);
    });
  }
  return {
    kind,
    sessionSettings: [],
    env: { PLINTH_DATA_DIR: dataDir, DATABASE_URL: url.toString() },
    dataDir,
    async cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
      await withClient(real.url, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A platform on `db`, configured only by `env` (the process environment is not read). */
export async function benchPlatform(db: FreshDatabase, env: Record<string, string> = {}): Promise<Platform> {
  const config = loadConfig({ env: { LOG_LEVEL: 'warn', ...db.env, ...env } });
  const logger = createLogger({ level: config.log.level, destination: process.stderr });
  return startPlatform(config, { logger });
}

/** Server and pgvector versions, as the database reports them. */
export async function versions(platform: Platform): Promise<{ server: string; pgvector: string }> {
  return platform.db.withConnection(async (c) => {
    const r = await c.query<{ v: string; x: string | null }>(
      `SELECT current_setting('server_version') AS v, (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS x`,
    );
    return { server: r.rows[0]!.v, pgvector: r.rows[0]!.x ?? 'absent' };
  });
}
