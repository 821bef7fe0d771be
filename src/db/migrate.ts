// Versioned SQL migrations (plain files under ./migrations, named NNNN_title.sql).
// Each file runs in its own transaction; a session advisory lock makes replicas that start
// together take turns, and the loser finds the work done. A changed file that was already
// applied is refused (checksum), never re-run.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { PlinthError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { Database } from './database.js';

/** Arbitrary constant shared by every Plinth process: the advisory lock key for migrations. */
export const MIGRATION_LOCK_KEY = 0x706c696e; // "plin"

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationState {
  version: number;
  name: string;
  state: 'applied' | 'pending' | 'checksum_mismatch' | 'unknown';
  appliedAt?: string;
}

export interface MigrationStatus {
  current: number;
  latest: number;
  upToDate: boolean;
  migrations: MigrationState[];
}

const DEFAULT_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

export function loadMigrations(dir: string = DEFAULT_DIR): Migration[] {
  const files = readdirSync(dir).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  const seen = new Set<number>();
  return files.map((file) => {
    const version = Number(file.slice(0, 4));
    if (seen.has(version)) throw new PlinthError('MIGRATION_FAILED', `Two migrations share version ${version}.`);
    seen.add(version);
    const sql = readFileSync(path.join(dir, file), 'utf8');
    return { version, name: file.slice(5, -4), sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS plinth_schema_migrations (
  version     integer PRIMARY KEY,
  name        text NOT NULL,
  checksum    text NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now()
)`;

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
  applied_at: Date;
}

async function readApplied(client: pg.ClientBase): Promise<AppliedRow[]> {
  const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('plinth_schema_migrations')::text AS t`);
  if (!exists.rows[0]?.t) return [];
  const res = await client.query<AppliedRow>('SELECT version, name, checksum, applied_at FROM plinth_schema_migrations ORDER BY version');
  return res.rows;
}

function compare(migrations: Migration[], applied: AppliedRow[]): MigrationStatus {
  const byVersion = new Map(applied.map((a) => [a.version, a]));
  const states: MigrationState[] = migrations.map((m) => {
    const a = byVersion.get(m.version);
    if (!a) return { version: m.version, name: m.name, state: 'pending' };
    return {
      version: m.version,
      name: m.name,
      state: a.checksum === m.checksum ? 'applied' : 'checksum_mismatch',
      appliedAt: a.applied_at.toISOString(),
    };
  });
  for (const a of applied) {
    if (!migrations.some((m) => m.version === a.version)) {
      // Applied by a newer Plinth: this binary is older than the schema.
      states.push({ version: a.version, name: a.name, state: 'unknown', appliedAt: a.applied_at.toISOString() });
    }
  }
  states.sort((x, y) => x.version - y.version);
  const current = applied.reduce((max, a) => Math.max(max, a.version), 0);
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  return { current, latest, upToDate: states.every((s) => s.state === 'applied' || s.state === 'unknown'), migrations: states };
}

export async function migrationStatus(db: Database, migrations: Migration[] = loadMigrations()): Promise<MigrationStatus> {
  return db.withConnection(async (client) => compare(migrations, await readApplied(client)));
}

export interface MigrateOptions {
  logger?: Logger;
  migrations?: Migration[];
  lockTimeoutMs?: number;
}

/** Apply pending migrations. Safe to call from many processes at once. */
export async function migrate(db: Database, options: MigrateOptions = {}): Promise<{ applied: number[]; status: MigrationStatus }> {
  const migrations = options.migrations ?? loadMigrations();
  return db.withConnection(async (client) => {
    await acquireLock(client, options.lockTimeoutMs ?? 300_000);
    try {
      await client.query(CREATE_TABLE);
      const before = compare(migrations, await readApplied(client));
      const mismatch = before.migrations.find((m) => m.state === 'checksum_mismatch');
      if (mismatch) {
        throw new PlinthError(
          'MIGRATION_FAILED',
          `Migration ${mismatch.version} (${mismatch.name}) was changed after it was applied; refusing to continue.`,
        );
      }
      const applied: number[] = [];
      for (const m of migrations) {
        if (before.migrations.find((s) => s.version === m.version)?.state !== 'pending') continue;
        options.logger?.info({ version: m.version, migration: m.name }, 'applying migration');
        try {
          await client.query('BEGIN');
          // Re-check inside the transaction. Across PostgreSQL sessions the advisory lock already
          // serialises migrators; the embedded database has a single session for every connection
          // (the lock is re-entrant there) but runs one transaction at a time, so this check is what
          // keeps two local migrators from applying the same file.
          const done = await client.query('SELECT 1 FROM plinth_schema_migrations WHERE version = $1', [m.version]);
          if (done.rowCount) {
            await client.query('ROLLBACK');
            continue;
          }
          await client.query(m.sql);
          await client.query('INSERT INTO plinth_schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new PlinthError('MIGRATION_FAILED', `Migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, {}, { cause: err });
        }
        applied.push(m.version);
      }
      return { applied, status: compare(migrations, await readApplied(client)) };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    }
  });
}

async function acquireLock(client: pg.ClientBase, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK_KEY]);
    if (res.rows[0]?.locked) return;
    if (Date.now() > deadline) {
      throw new PlinthError('MIGRATION_FAILED', `Another process has held the migration lock for over ${timeoutMs} ms.`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
