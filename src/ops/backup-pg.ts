// PostgreSQL client tools for backups: locating pg_dump / pg_restore, checking their versions
// against the server, and the connection settings they get. Credentials travel in PG*
// environment variables of the child process, never on its command line (visible in `ps`).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import type { Config } from '../config/index.js';
import { scrub } from '../config/index.js';
import { sslOptions as dbSslOptions } from '../db/index.js';
import { PlinthError } from '../errors.js';

export interface PgTool {
  path: string;
  version: string;
  major: number;
}

export async function findPgTool(name: 'pg_dump' | 'pg_restore', binDir: string | undefined): Promise<PgTool> {
  const bin = binDir ? path.join(path.resolve(binDir), name) : name;
  const out = await new Promise<string>((resolve, reject) => {
    let text = '';
    const child = spawn(bin, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}`))));
  }).catch((err: unknown) => {
    throw new PlinthError(
      'BACKUP_TOOL_MISSING',
      `${name} is not available (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): install the PostgreSQL client tools matching the server, or set PG_BIN_DIR.`,
    );
  });
  const m = /(\d+)(?:\.(\d+))?/.exec(out);
  if (!m) throw new PlinthError('BACKUP_TOOL_MISSING', `Cannot read the version of ${bin}.`);
  return { path: bin, version: m[0], major: Number(m[1]) };
}

export interface PgTarget {
  /** The URL with TLS parameters removed (they are configured from one place below). */
  url: URL;
  sslMode: string;
  caFile: string | undefined;
}

export function pgTarget(rawUrl: string, config: Config): PgTarget {
  const url = new URL(rawUrl);
  const urlSslMode = url.searchParams.get('sslmode') ?? undefined;
  const urlRootCert = url.searchParams.get('sslrootcert') ?? undefined;
  for (const k of ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl']) url.searchParams.delete(k);
  return { url, sslMode: config.database.sslMode ?? urlSslMode ?? 'prefer', caFile: config.database.caFile ?? urlRootCert };
}

export function withDatabase(target: PgTarget, database: string): PgTarget {
  const url = new URL(target.url);
  url.pathname = `/${encodeURIComponent(database)}`;
  return { ...target, url };
}

export function databaseName(target: PgTarget): string {
  return decodeURIComponent(target.url.pathname.replace(/^\//, '')) || decodeURIComponent(target.url.username) || 'postgres';
}

export function pgClient(target: PgTarget, applicationName: string): pg.Client {
  return new pg.Client({
    connectionString: target.url.toString(),
    ssl: dbSslOptions(target.sslMode, target.caFile),
    application_name: applicationName,
    connectionTimeoutMillis: 10_000,
  });
}

/** libpq environment for a child tool; `prefer` maps to libpq's own prefer (it can fall back). */
export function pgEnv(target: PgTarget): NodeJS.ProcessEnv {
  const u = target.url;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C',
    PGHOST: u.searchParams.get('host') ?? (u.hostname.replace(/^\[|\]$/g, '') || 'localhost'),
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGDATABASE: databaseName(target),
    PGSSLMODE: target.sslMode,
    PGAPPNAME: 'plinth-backup',
    PGCONNECT_TIMEOUT: '10',
  };
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  if (target.caFile) env.PGSSLROOTCERT = path.resolve(target.caFile);
  return env;
}

/** Collects a child's stderr (bounded) and turns a non-zero exit into an error with the secrets removed. */
export function watchChild(child: ChildProcess, name: string, secrets: string[], code: 'BACKUP_FAILED' | 'RESTORE_FAILED'): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    if (stderr.length < 16_384) stderr += c.toString('utf8');
  });
  return new Promise((resolve, reject) => {
    child.on('error', (err) => reject(new PlinthError(code, `${name} could not run: ${err.message}`)));
    child.on('close', (exit, signal) => {
      if (exit === 0) resolve();
      else {
        const detail = scrub(stderr.trim().split('\n').slice(-5).join(' | '), secrets);
        reject(new PlinthError(code, `${name} failed (${signal ?? `exit ${exit}`})${detail ? `: ${detail}` : ''}`));
      }
    });
  });
}

export function secretsOf(target: PgTarget): string[] {
  return target.url.password ? [decodeURIComponent(target.url.password), target.url.password] : [];
}
