// Filesystem adapter of the backup storage port. Writes go to a temporary name in the same
// directory, are fsynced, then renamed into place (atomic on POSIX filesystems), and the
// directory is fsynced so the rename survives a crash.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PlinthError } from '../errors.js';
import { checkObjectName, type BackupStorage } from './storage.js';

const TEMP_MARK = '.tmp-';

export function createFsStorage(dir: string): BackupStorage {
  const root = path.resolve(dir);
  const full = (name: string) => path.join(root, ...checkObjectName(name).split('/'));

  async function fsyncPath(p: string): Promise<void> {
    const fh = await open(p, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  return {
    location: root,

    async write(name, body) {
      const dest = full(name);
      await mkdir(path.dirname(dest), { recursive: true, mode: 0o700 }).catch((err: unknown) => {
        throw unavailable(root, err);
      });
      const temp = `${dest}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
      let bytes = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          bytes += chunk.length;
          cb(null, chunk);
        },
      });
      try {
        await pipeline(body, counter, createWriteStream(temp, { mode: 0o600, flags: 'wx' }));
        await fsyncPath(temp);
        await rename(temp, dest);
        await fsyncPath(path.dirname(dest));
      } catch (err) {
        await unlink(temp).catch(() => undefined);
        throw err instanceof PlinthError || !isFsError(err) ? err : unavailable(root, err);
      }
      return { bytes };
    },

    async read(name) {
      const p = full(name);
      const st = await stat(p).catch(() => undefined);
      if (!st?.isFile()) throw new PlinthError('BACKUP_NOT_FOUND', `No backup object ${name} in ${root}.`);
      return createReadStream(p);
    },

    async list() {
      const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw unavailable(root, err);
      });
      return entries
        .filter((e) => e.isFile() && !e.name.includes(TEMP_MARK))
        .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
        .sort();
    },

    async remove(name) {
      const p = full(name);
      await rm(p, { force: true });
      // Drop directories the removal left empty, up to (not including) the root.
      let dirPath = path.dirname(p);
      while (dirPath.startsWith(root + path.sep)) {
        try {
          await rmdir(dirPath);
        } catch {
          break; // not empty (or already gone)
        }
        dirPath = path.dirname(dirPath);
      }
    },

    close: () => Promise.resolve(),
  };
}

function isFsError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

function unavailable(root: string, err: unknown): PlinthError {
  const code = (err as NodeJS.ErrnoException | null)?.code ?? 'error';
  return new PlinthError('BACKUP_STORAGE_UNAVAILABLE', `Cannot write to the backup directory ${root} (${code}).`, {}, { cause: err });
}
