// `plinth restore`: authenticate a backup, restore it into a new or empty database, verify it
// against the manifest, then apply the migrations that are newer than the backup.
//
// The data object is checked against the manifest's SHA-256 before anything touches the target
// (the manifest itself is authenticated by its GCM tags), so a tampered or truncated backup is
// refused up front instead of half-restored. Verification runs before the migrations, because a
// newer migration may legitimately rewrite rows.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { buffer as readAll } from 'node:stream/consumers';
import { Writable } from 'node:stream';
import type { Config } from '../config/index.js';
import { Secret, maskUrl } from '../config/index.js';
import { migrate, openDatabase } from '../db/index.js';
import { PlinthError, isPlinthError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import { readManifest, resolveBackup, withPGliteImage } from './backup.js';
import { createDecryptStream, loadKeyring, type BackupKeyring } from './backup-crypto.js';
import { collectStats, compareTables, quoteIdent, type Manifest, type Queryable, type SnapshotStats } from './backup-manifest.js';
import { databaseName, findPgTool, pgClient, pgEnv, pgTarget, secretsOf, watchChild, withDatabase, type PgTarget } from './backup-pg.js';
import { openBackupStorage, type BackupStorage } from './storage.js';

const BACKUP_ID = /^[0-9]{8}T[0-9]{9}Z-[0-9a-f]{6}$/;

/** Split `<location>/<id>`, a bare id, or `latest` into a storage location and an id. */
export function parseBackupRef(ref: string, defaultTarget: string | undefined): { target: string | undefined; id: string | undefined } {
  const trimmed = ref.replace(/\/+$/, '');
  if (trimmed === 'latest') return { target: defaultTarget, id: undefined };
  if (BACKUP_ID.test(trimmed)) return { target: defaultTarget, id: trimmed };
  const slash = trimmed.lastIndexOf('/');
  const last = trimmed.slice(slash + 1);
  if (slash > 0 && BACKUP_ID.test(last)) return { target: trimmed.slice(0, slash), id: last };
  if (slash > 0 && last === 'latest') return { target: trimmed.slice(0, slash), id: undefined };
  throw new PlinthError('BACKUP_NOT_FOUND', `"${ref}" names no backup: give a backup id, "latest", or <location>/<id>.`);
}

export interface RestoreOptions {
  config: Config;
  /** Where the backups are (directory or s3://…); defaults to BACKUP_TARGET. */
  from?: string | undefined;
  /** Backup id; the newest complete backup when unset. */
  backup?: string | undefined;
  /** Target of a PostgreSQL backup. Created when it does not exist. */
  databaseUrl?: string | undefined;
  /** Target of an embedded backup: a Plinth data directory. */
  dataDir?: string | undefined;
  /** Restore into a database that already holds data (objects of the backup are replaced). */
  force?: boolean | undefined;
  logger?: Logger | undefined;
}

export interface RestoreResult {
  id: string;
  format: Manifest['format'];
  target: string;
  snapshotAt: string;
  /** Time from the first byte read to a verified database, migrations excluded (the RTO of this restore). */
  restoreMs: number;
  tables: number;
  rows: number;
  /** Verification failures: the restored data differs from the backup. */
  problems: string[];
  /** Differences that do not mean corruption (tables that were in a forced target but not in the backup). */
  warnings: string[];
  migrated: number[];
  schemaVersion: number;
  manifest: Manifest;
}

export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const { config, logger } = options;
  if ((options.databaseUrl === undefined) === (options.dataDir === undefined)) {
    throw new PlinthError('RESTORE_FORMAT_MISMATCH', 'Give exactly one restore target: --database-url for a PostgreSQL backup, --data-dir for an embedded one.');
  }
  const keyring = loadKeyring(config.backup.keyFile);
  const storage = openBackupStorage(options.from ?? config.backup.target, config);
  try {
    const id = await resolveBackup(storage, options.backup);
    const manifest = await readManifest(storage, keyring, id);
    if (manifest.format === 'pg_dump-custom' && !options.databaseUrl) {
      throw new PlinthError('RESTORE_FORMAT_MISMATCH', `Backup ${id} is a PostgreSQL dump: restore it with --database-url.`);
    }
    if (manifest.format === 'pglite-datadir-tar-gz' && !options.dataDir) {
      throw new PlinthError('RESTORE_FORMAT_MISMATCH', `Backup ${id} is of an embedded database: restore it with --data-dir (then plinth serve uses it as PLINTH_DATA_DIR).`);
    }
    const started = performance.now();
    await verifyDataObject(storage, manifest);
    logger?.info({ backup: id }, 'backup data authenticated');
    const outcome =
      manifest.format === 'pg_dump-custom'
        ? await restorePostgres(config, storage, keyring, manifest, options.databaseUrl!, options.force === true)
        : await restoreEmbedded(storage, keyring, manifest, path.resolve(options.dataDir!), options.force === true);
    const restoreMs = Math.round(performance.now() - started);
    const all = compareTables(manifest.tables, outcome.stats.tables);
    const warnings = options.force ? all.filter((p) => p.endsWith('is not in the backup')) : [];
    const problems = all.filter((p) => !warnings.includes(p));
    if (outcome.stats.schemaVersion !== manifest.schemaVersion) problems.push(`schema version ${outcome.stats.schemaVersion}, the backup has ${manifest.schemaVersion}`);
    let migrated: number[] = [];
    let schemaVersion = outcome.stats.schemaVersion;
    if (problems.length === 0) {
      const db = await openDatabase(outcome.config, { ...(logger ? { logger } : {}) });
      try {
        const r = await migrate(db, { ...(logger ? { logger } : {}) });
        migrated = r.applied;
        schemaVersion = r.status.current;
      } finally {
        await db.close();
      }
    }
    const stats = Object.values(manifest.tables);
    return {
      id,
      format: manifest.format,
      target: outcome.location,
      snapshotAt: manifest.snapshotAt,
      restoreMs,
      tables: stats.length,
      rows: stats.reduce((n, t) => n + t.rows, 0),
      problems,
      warnings,
      migrated,
      schemaVersion,
      manifest,
    };
  } finally {
    await storage.close();
  }
}

/** Stream the data object once and compare its size and SHA-256 with the authenticated manifest. */
async function verifyDataObject(storage: BackupStorage, manifest: Manifest): Promise<void> {
  const hash = createHash('sha256');
  let bytes = 0;
  await pipeline(
    await storage.read(manifest.data.object),
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        bytes += chunk.length;
        cb();
      },
    }),
  );
  if (bytes !== manifest.data.bytes || hash.digest('hex') !== manifest.data.sha256) {
    throw new PlinthError('BACKUP_INTEGRITY_FAILED', `The data of backup ${manifest.id} does not match its manifest (altered, truncated or replaced); nothing was restored.`);
  }
}

interface Outcome {
  stats: SnapshotStats;
  location: string;
  /** Configuration pointing at the restored database (for migrations and checks). */
  config: Config;
}

async function statsOf(q: Queryable): Promise<SnapshotStats> {
  await q.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    return await collectStats(q);
  } finally {
    await q.query('ROLLBACK');
  }
}

const EXTRA_OBJECTS = `SELECT count(*)::int AS n
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;

async function connectOrCreate(target: PgTarget): Promise<{ client: ReturnType<typeof pgClient>; created: boolean }> {
  const client = pgClient(target, 'plinth-restore');
  try {
    await client.connect();
    return { client, created: false };
  } catch (err) {
    await client.end().catch(() => undefined);
    if ((err as { code?: string }).code !== '3D000') {
      throw new PlinthError('DATABASE_UNAVAILABLE', `Cannot connect to ${maskUrl(target.url.toString())}: ${(err as Error).message}`);
    }
  }
  // A new database: create it from the server's maintenance database.
  const admin = pgClient(withDatabase(target, 'postgres'), 'plinth-restore');
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${quoteIdent(databaseName(target))}`);
  } catch (err) {
    throw new PlinthError('RESTORE_FAILED', `Cannot create database ${databaseName(target)}: ${(err as Error).message}`);
  } finally {
    await admin.end().catch(() => undefined);
  }
  const client2 = pgClient(target, 'plinth-restore');
  await client2.connect();
  return { client: client2, created: true };
}

async function restorePostgres(config: Config, storage: BackupStorage, keyring: BackupKeyring, manifest: Manifest, databaseUrl: string, force: boolean): Promise<Outcome> {
  const target = pgTarget(databaseUrl, config);
  const tool = await findPgTool('pg_restore', config.backup.pgBinDir);
  if (manifest.source.toolMajor !== undefined && tool.major < manifest.source.toolMajor) {
    throw new PlinthError('BACKUP_TOOL_MISSING', `pg_restore ${tool.version} cannot read a dump made by pg_dump ${manifest.source.toolMajor}: use pg_restore ${manifest.source.toolMajor} or newer (PG_BIN_DIR).`);
  }
  const { client } = await connectOrCreate(target);
  try {
    const objects = Number((await client.query<{ n: number }>(EXTRA_OBJECTS)).rows[0]!.n);
    if (objects > 0 && !force) {
      throw new PlinthError('RESTORE_TARGET_NOT_EMPTY', `Database ${databaseName(target)} already holds ${objects} tables, views or sequences; restore into a new or empty database, or pass --force to replace the backup's objects in it.`);
    }
    const role = await client.query(`SELECT 1 FROM pg_roles WHERE rolname = 'plinth_app'`);
    if (role.rowCount === 0) {
      throw new PlinthError('RESTORE_FAILED', 'Role plinth_app does not exist on the target server; as a superuser run: CREATE ROLE plinth_app NOLOGIN NOINHERIT; GRANT plinth_app TO <plinth user>;');
    }
    // Extensions need privileges a restoring owner usually lacks: create them up front, or say who must.
    const have = new Set((await client.query<{ extname: string }>('SELECT extname FROM pg_extension')).rows.map((r) => r.extname));
    for (const ext of Object.keys(manifest.extensions)) {
      if (have.has(ext)) continue;
      try {
        await client.query(`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(ext)}`);
      } catch (err) {
        throw new PlinthError('RESTORE_FAILED', `Extension ${ext} is missing in ${databaseName(target)} and cannot be created by this role (${(err as Error).message}); as a superuser run: CREATE EXTENSION ${ext}; in that database.`);
      }
    }
  } finally {
    await client.end().catch(() => undefined);
  }

  const conninfoDb = `dbname='${databaseName(target).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const listDir = await mkdtemp(path.join(os.tmpdir(), 'plinth-restore-'));
  try {
    const listFile = path.join(listDir, 'toc.list');
    await writeFile(listFile, await tocWithoutExtensions(tool.path, storage, keyring, manifest), { mode: 0o600 });
    const args = ['--no-password', '--no-owner', '--no-comments', '--exit-on-error', '--single-transaction', `--use-list=${listFile}`, ...(force ? ['--clean', '--if-exists'] : []), `--dbname=${conninfoDb}`];
    await runPgRestore(spawn(tool.path, args, { env: pgEnv(target), stdio: ['pipe', 'ignore', 'pipe'] }), target, storage, keyring, manifest);
  } finally {
    await rm(listDir, { recursive: true, force: true });
  }

  const check = pgClient(target, 'plinth-restore');
  await check.connect();
  let stats: SnapshotStats;
  try {
    stats = await statsOf(check);
  } finally {
    await check.end().catch(() => undefined);
  }
  const restoredConfig: Config = { ...config, database: { ...config.database, url: new Secret(target.url.toString()), readUrl: undefined, sslMode: target.sslMode as Config['database']['sslMode'], caFile: target.caFile } };
  return { stats, location: maskUrl(target.url.toString()), config: restoredConfig };
}

/**
 * The archive's table of contents without its extensions: they were created above by a role
 * allowed to, and --clean would otherwise try to drop them (only their owner, usually a
 * superuser, may). pg_restore -l reads just the head of the stream.
 */
async function tocWithoutExtensions(pgRestore: string, storage: BackupStorage, keyring: BackupKeyring, manifest: Manifest): Promise<string> {
  const child = spawn(pgRestore, ['--list'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let toc = '';
  child.stdout.on('data', (c: Buffer) => (toc += c.toString('utf8')));
  const exited = watchChild(child, 'pg_restore --list', [], 'RESTORE_FAILED');
  const input = pipeline(await storage.read(manifest.data.object), createDecryptStream(keyring), child.stdin);
  const fed = input.catch((err: unknown) => {
    // pg_restore stops reading once it has the table of contents: a broken pipe is expected.
    if (isPlinthError(err)) throw err;
  });
  await Promise.all([exited, fed]);
  // Entries look like "2958; 0 0 EXTENSION - vector" and "2959; 0 0 COMMENT - EXTENSION vector".
  return toc
    .split('\n')
    .filter((line) => !/^\d+; \d+ \d+ (EXTENSION|COMMENT - EXTENSION) /.test(line))
    .join('\n');
}

async function runPgRestore(child: ChildProcess, target: PgTarget, storage: BackupStorage, keyring: BackupKeyring, manifest: Manifest): Promise<void> {
  const exited = watchChild(child, 'pg_restore', secretsOf(target), 'RESTORE_FAILED');
  try {
    await pipeline(await storage.read(manifest.data.object), createDecryptStream(keyring), child.stdin!);
  } catch (err) {
    // A decryption failure mid-way kills pg_restore: its single transaction rolls back.
    child.kill('SIGTERM');
    await exited.catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') await exited; // pg_restore stopped reading: its own error says why
    throw err;
  }
  await exited;
}

async function restoreEmbedded(storage: BackupStorage, keyring: BackupKeyring, manifest: Manifest, dataDir: string, force: boolean): Promise<Outcome> {
  const pgDir = path.join(dataDir, 'pglite');
  if (existsSync(path.join(pgDir, 'PG_VERSION'))) {
    if (!force) throw new PlinthError('RESTORE_TARGET_NOT_EMPTY', `${dataDir} already holds an embedded database; restore into a new or empty data directory, or pass --force to set the current one aside.`);
    const holder = lockHolder(dataDir);
    if (holder !== undefined) throw new PlinthError('BACKUP_SOURCE_BUSY', `The embedded database in ${dataDir} is in use by process ${holder}; stop it first.`);
    // Kept, not deleted: --force must not be the only copy of the data going away.
    const aside = `${pgDir}.replaced-${new Date().toISOString().replace(/[-:.]/g, '')}`;
    renameSync(pgDir, aside);
  }
  const tar = await readAll((await storage.read(manifest.data.object)).pipe(createDecryptStream(keyring)));
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const stats = await withPGliteImage(new Uint8Array(tar.buffer, tar.byteOffset, tar.byteLength), (db) => statsOf(db), pgDir);
  const { loadConfig } = await import('../config/index.js');
  return { stats, location: dataDir, config: loadConfig({ env: { PLINTH_DATA_DIR: dataDir, LOG_LEVEL: 'warn' } }) };
}

function lockHolder(dataDir: string): number | undefined {
  try {
    const info = JSON.parse(readFileSync(path.join(dataDir, 'embedded.lock'), 'utf8')) as { pid?: unknown };
    if (typeof info.pid !== 'number') return undefined;
    process.kill(info.pid, 0);
    return info.pid;
  } catch {
    return undefined;
  }
}
