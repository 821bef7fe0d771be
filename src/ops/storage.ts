// The backup storage port: where encrypted backup objects live. Two adapters share one contract
// (test/unit/backup-storage.test.ts): a directory on a filesystem, and an S3 bucket (AWS or any
// S3-compatible server). Objects are written whole or not at all: a reader never sees a partial
// object, which is what lets "the manifest exists" mean "the backup is complete".
import type { Readable } from 'node:stream';
import type { Config } from '../config/index.js';
import { PlinthError } from '../errors.js';
import { createFsStorage } from './storage-fs.js';
import { createS3Storage, parseS3Target } from './storage-s3.js';

export interface BackupStorage {
  /** Where the objects live, safe to print. */
  readonly location: string;
  /** Store `body` under `name`; the object becomes visible only once fully written. Replaces an existing object. */
  write(name: string, body: Readable): Promise<{ bytes: number }>;
  /** A stream of the object's bytes; BACKUP_NOT_FOUND when there is none. */
  read(name: string): Promise<Readable>;
  /** Every object name, sorted. */
  list(): Promise<string[]>;
  /** Delete an object; deleting a missing object is not an error. */
  remove(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Object names: path segments of letters, digits, dot, dash and underscore; no empty, hidden or `..` segments. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

export function checkObjectName(name: string): string {
  if (!NAME.test(name) || name.split('/').some((s) => s === '..' || s.includes('.tmp-'))) {
    throw new PlinthError('BACKUP_TARGET_INVALID', `Invalid backup object name "${name}".`);
  }
  return name;
}

/** Open the storage for a target: `s3://bucket[/prefix]` or a directory path. */
export function openBackupStorage(target: string | undefined, config: Config): BackupStorage {
  if (!target) {
    throw new PlinthError('BACKUP_TARGET_INVALID', 'No backup target: set BACKUP_TARGET or pass --to/--from (a directory or s3://bucket/prefix).');
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    if (!target.toLowerCase().startsWith('s3://')) throw new PlinthError('BACKUP_TARGET_INVALID', `Unsupported backup target scheme in "${target}": use a directory or s3://bucket/prefix.`);
    return createS3Storage({ ...parseS3Target(target), ...config.backup.s3 });
  }
  return createFsStorage(target);
}
