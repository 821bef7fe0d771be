// `plinth backup`: a consistent, encrypted logical backup of Plinth's database.
//
//   PostgreSQL — a REPEATABLE READ transaction exports its snapshot; the manifest statistics are
//                computed in it and `pg_dump --format=custom --snapshot=…` dumps exactly that state.
//   embedded   — PGlite's dumpDataDir (a crash-consistent tar of the data directory, taken by the
//                worker that hosts it); the statistics are computed on that very image, loaded
//                into a throwaway in-memory PGlite, which also proves the image loads.
//
// Layout at the target, per backup id (UTC time + random suffix, so names sort by age):
//   <id>/data.enc      the dump, encrypted (backup-crypto.ts)
//   <id>/manifest.enc  the manifest, encrypted, written last: its presence marks a complete backup.
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { Readable, Transform } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import type { Config } from '../config/index.js';
import { maskUrl } from '../config/index.js';
import { startEmbeddedDatabase } from '../db/embedded/host.js';
import { PlinthError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import { VERSION } from '../version.js';
import { createEncryptStream, decryptBuffer, encryptBuffer, loadKeyring, type BackupKey, type BackupKeyring } from './backup-crypto.js';
import { collectStats, parseManifest, type BackupFormat, type Manifest, type Queryable, type SnapshotStats } from './backup-manifest.js';
import { findPgTool, pgClient, pgEnv, pgTarget, secretsOf, watchChild } from './backup-pg.js';
import { openBackupStorage, type BackupStorage } from './storage.js';

export const DATA_OBJECT = 'data.enc';
export const MANIFEST_OBJECT = 'manifest.enc';
const ID = /^[0-9]{8}T[0-9]{9}Z-[0-9a-f]{6}$/;

export function newBackupId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:.]/g, ''); // 20250101T021700123Z
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export interface BackupEntry {
  id: string;
  complete: boolean;
}

/** Backups at a target, oldest first. Complete = the manifest was written. */
export async function listBackups(storage: BackupStorage): Promise<BackupEntry[]> {
  const byId = new Map<string, BackupEntry>();
  for (const name of await storage.list()) {
    const [id, object, ...rest] = name.split('/');
    if (!id || !ID.test(id) || rest.length > 0) continue;
    const entry = byId.get(id) ?? { id, complete: false };
    if (object === MANIFEST_OBJECT) entry.complete = true;
    byId.set(id, entry);
  }
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}

export async function readManifest(storage: BackupStorage, keyring: BackupKeyring, id: string): Promise<Manifest> {
  if (!ID.test(id)) throw new PlinthError('BACKUP_NOT_FOUND', `"${id}" is not a backup id (like 20250101T021700123Z-a1b2c3).`);
  const sealed = await readAll(await storage.read(`${id}/${MANIFEST_OBJECT}`));
  const manifest = parseManifest(await decryptBuffer(keyring, sealed));
  if (manifest.id !== id || manifest.data.object !== `${id}/${DATA_OBJECT}`) {
    throw new PlinthError('BACKUP_INTEGRITY_FAILED', `The manifest of ${id} belongs to another backup (${manifest.id}).`);
  }
  return manifest;
}

/** The newest complete backup, or the one named. */
export async function resolveBackup(storage: BackupStorage, id: string | undefined): Promise<string> {
  if (id) return id;
  const complete = (await listBackups(storage)).filter((b) => b.complete);
  const newest = complete[complete.length - 1];
  if (!newest) throw new PlinthError('BACKUP_NOT_FOUND', `No complete backup in ${storage.location}.`);
  return newest.id;
}

export interface BackupOptions {
  config: Config;
  /** Directory or s3://bucket/prefix; defaults to BACKUP_TARGET. */
  target?: string | undefined;
  /** Complete backups to keep (0 = all); defaults to BACKUP_KEEP. */
  keep?: number | undefined;
  logger?: Logger | undefined;
}

export interface BackupResult {
  id: string;
  location: string;
  format: BackupFormat;
  source: 'postgres' | 'embedded';
  bytes: number;
  schemaVersion: number;
  tables: number;
  rows: number;
  durationMs: number;
  /** Backups deleted by retention. */
  removed: string[];
}

interface Produced {
  format: BackupFormat;
  stats: SnapshotStats;
  source: Manifest['source'];
  data: { bytes: number; sha256: string };
}

export async function runBackup(options: BackupOptions): Promise<BackupResult> {
  const { config, logger } = options;
  const started = performance.now();
  const keyring = loadKeyring(config.backup.keyFile);
  const storage = openBackupStorage(options.target ?? config.backup.target, config);
  const keep = options.keep ?? config.backup.keep;
  const id = newBackupId();
  const dataName = `${id}/${DATA_OBJECT}`;
  try {
    let produced: Produced;
    try {
      const write = (body: Readable) => writeEncrypted(storage, dataName, body, keyring.current);
      produced = config.database.url ? await backupPostgres(config, write) : await backupEmbedded(config, write);
    } catch (err) {
      // No manifest was written, so this is not a backup; drop the partial data object too.
      await storage.remove(dataName).catch(() => undefined);
      throw err;
    }
    const manifest: Manifest = {
      manifestVersion: 1,
      id,
      plinthVersion: VERSION,
      format: produced.format,
      snapshotAt: produced.stats.snapshotAt,
      finishedAt: new Date().toISOString(),
      source: produced.source,
      schemaVersion: produced.stats.schemaVersion,
      extensions: produced.stats.extensions,
      tables: produced.stats.tables,
      invariants: produced.stats.invariants,
      data: { object: dataName, bytes: produced.data.bytes, sha256: produced.data.sha256, keyId: keyring.current.id },
    };
    const sealed = await encryptBuffer(keyring.current, Buffer.from(JSON.stringify(manifest, null, 2)));
    await storage.write(`${id}/${MANIFEST_OBJECT}`, Readable.from([sealed]));
    logger?.info({ backup: id, location: storage.location, bytes: produced.data.bytes }, 'backup complete');
    const removed = keep > 0 ? await applyRetention(storage, keep) : [];
    const tableStats = Object.values(manifest.tables);
    return {
      id,
      location: storage.location,
      format: manifest.format,
      source: manifest.source.kind,
      bytes: produced.data.bytes,
      schemaVersion: manifest.schemaVersion,
      tables: tableStats.length,
      rows: tableStats.reduce((n, t) => n + t.rows, 0),
      durationMs: Math.round(performance.now() - started),
      removed,
    };
  } finally {
    await storage.close();
  }
}

/** Delete the oldest complete backups beyond `keep`; incomplete ones (in progress, failed) are left alone. */
export async function applyRetention(storage: BackupStorage, keep: number): Promise<string[]> {
  const complete = (await listBackups(storage)).filter((b) => b.complete);
  const doomed = complete.slice(0, Math.max(0, complete.length - keep));
  for (const b of doomed) {
    // Manifest first: from that moment the backup no longer counts as complete.
    await storage.remove(`${b.id}/${MANIFEST_OBJECT}`);
    await storage.remove(`${b.id}/${DATA_OBJECT}`);
  }
  return doomed.map((b) => b.id);
}

async function writeEncrypted(storage: BackupStorage, name: string, body: Readable, key: BackupKey): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  const encrypt = createEncryptStream(key);
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  // Errors anywhere upstream must reach the storage writer so it never completes the object.
  body.once('error', (err) => encrypt.destroy(err));
  encrypt.once('error', (err) => hashing.destroy(err));
  const { bytes } = await storage.write(name, body.pipe(encrypt).pipe(hashing));
  return { bytes, sha256: hash.digest('hex') };
}

type WriteData = (body: Readable) => Promise<{ bytes: number; sha256: string }>;

async function backupPostgres(config: Config, write: WriteData): Promise<Produced> {
  const target = pgTarget(config.database.url!.reveal(), config);
  const tool = await findPgTool('pg_dump', config.backup.pgBinDir);
  const client = pgClient(target, 'plinth-backup');
  await client.connect().catch((err: unknown) => {
    throw new PlinthError('DATABASE_UNAVAILABLE', `Cannot connect to ${maskUrl(target.url.toString())}: ${(err as Error).message}`);
  });
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // pg_dump runs while this transaction sits idle holding the exported snapshot.
    await client.query('SET LOCAL idle_in_transaction_session_timeout = 0; SET LOCAL statement_timeout = 0');
    const snapshot = String((await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s);
    const stats = await collectStats(client);
    const serverMajor = Math.floor(stats.serverVersionNum / 10_000);
    if (tool.major < serverMajor) {
      throw new PlinthError('BACKUP_TOOL_MISSING', `pg_dump ${tool.version} cannot dump PostgreSQL ${stats.serverVersion}: use pg_dump ${serverMajor} or newer (PG_BIN_DIR).`);
    }
    if (!/^[0-9A-F-]+$/i.test(snapshot)) throw new PlinthError('BACKUP_FAILED', 'Unexpected snapshot id from the server.');
    const child = spawn(tool.path, ['--format=custom', '--no-password', `--snapshot=${snapshot}`], { env: pgEnv(target), stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = watchChild(child, 'pg_dump', secretsOf(target), 'BACKUP_FAILED');
    let data: { bytes: number; sha256: string };
    try {
      [, data] = await Promise.all([exited, write(child.stdout)]);
    } catch (err) {
      child.kill('SIGTERM');
      await exited.catch(() => undefined);
      throw err;
    }
    await client.query('COMMIT');
    return {
      format: 'pg_dump-custom',
      stats,
      source: { kind: 'postgres', location: maskUrl(config.database.url!.reveal()), serverVersion: stats.serverVersion, serverVersionNum: stats.serverVersionNum, toolMajor: tool.major },
      data,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function backupEmbedded(config: Config, write: WriteData): Promise<Produced> {
  const embedded = await startEmbeddedDatabase({ dataDir: config.dataDir, maxConnections: 4, allowAttach: true });
  let tar: Uint8Array;
  try {
    if (!embedded.hosted || !embedded.dump) {
      throw new PlinthError(
        'BACKUP_SOURCE_BUSY',
        `The embedded database in ${config.dataDir} is hosted by another running Plinth process; stop it (plinth serve) for the backup, or run Plinth on PostgreSQL for online backups.`,
      );
    }
    tar = await embedded.dump();
  } finally {
    await embedded.close();
  }
  const stats = await withPGliteImage(tar, async (db) => {
    await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    try {
      return await collectStats(db);
    } finally {
      await db.query('ROLLBACK');
    }
  });
  const data = await write(Readable.from([Buffer.from(tar.buffer, tar.byteOffset, tar.byteLength)]));
  return {
    format: 'pglite-datadir-tar-gz',
    stats,
    source: { kind: 'embedded', location: config.dataDir, serverVersion: stats.serverVersion, serverVersionNum: stats.serverVersionNum },
    data,
  };
}

/** Load a data-directory image into a throwaway in-memory PGlite (or into `dataDir`) and use it. */
export async function withPGliteImage<T>(tar: Uint8Array, fn: (db: Queryable) => Promise<T>, dataDir?: string): Promise<T> {
  const [{ PGlite }, { vector }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-pgvector')]);
  let db: InstanceType<typeof PGlite>;
  try {
    db = await PGlite.create({ ...(dataDir ? { dataDir } : {}), loadDataDir: new Blob([tar as Uint8Array<ArrayBuffer>]), extensions: { vector } });
  } catch (err) {
    throw new PlinthError('BACKUP_INTEGRITY_FAILED', `The embedded database image does not load: ${(err as Error).message}`);
  }
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
