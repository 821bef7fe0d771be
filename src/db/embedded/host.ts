// Starts (or attaches to) the embedded PostgreSQL for a data directory.
//
// PGlite must never be opened by two processes at once, so the hosting process holds a lock
// file naming its pid and socket. Another process (say `plinth keys create` while `plinth
// serve` runs) attaches to that socket instead of opening the files. The socket is a Unix
// socket in a 0700 directory: only the owning OS user can connect.
import { createHash } from 'node:crypto';
import { mkdirSync, openSync, writeSync, closeSync, readFileSync, unlinkSync, existsSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PlinthError } from '../../errors.js';
import type { WorkerMessage } from './worker.js';

export const EMBEDDED_PORT = 5432;
const MAX_SOCKET_PATH = 100; // sun_path is 108 bytes on Linux; keep a margin.

export interface EmbeddedDatabase {
  /** Directory holding the `.s.PGSQL.5432` socket (the `host` for pg). */
  socketDir: string;
  port: number;
  /** True when this process hosts the database; false when attached to another process's. */
  hosted: boolean;
  /** A consistent gzipped tar of the data directory (PGlite dumpDataDir); only when hosted. */
  dump?: () => Promise<Uint8Array>;
  close(): Promise<void>;
}

interface LockInfo {
  pid: number;
  socketDir: string;
}

export interface StartEmbeddedOptions {
  dataDir: string;
  maxConnections: number;
  /** Attach to a database hosted by another live process instead of failing. */
  allowAttach: boolean;
  startTimeoutMs?: number;
}

export async function startEmbeddedDatabase(options: StartEmbeddedOptions): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lockPath = path.join(dataDir, 'embedded.lock');
  const socketDir = chooseSocketDir(dataDir);

  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, socketDir } satisfies LockInfo));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLock(lockPath);
      if (holder && isAlive(holder.pid)) {
        if (!options.allowAttach) {
          throw new PlinthError('DATABASE_UNAVAILABLE', `The embedded database in ${dataDir} is in use by process ${holder.pid}.`);
        }
        return { socketDir: holder.socketDir, port: EMBEDDED_PORT, hosted: false, close: () => Promise.resolve() };
      }
      // Stale lock from a process that died: take it over.
      safeUnlink(lockPath);
    }
  }

  mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  chmodSync(socketDir, 0o700);
  const socketPath = path.join(socketDir, `.s.PGSQL.${EMBEDDED_PORT}`);
  safeUnlink(socketPath);

  const here = fileURLToPath(import.meta.url);
  const workerFile = path.join(path.dirname(here), `worker${path.extname(here)}`);
  const workerData = { dataDir: path.join(dataDir, 'pglite'), socketPath, maxConnections: options.maxConnections };
  // Compiled builds run worker.js directly. From TypeScript sources (tests, `npm run plinth`) the
  // worker registers the tsx loader first: loader hooks are per-thread.
  const worker = workerFile.endsWith('.ts')
    ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(workerFile).href)}); })`, { eval: true, workerData })
    : new Worker(workerFile, { workerData });

  try {
    await waitFor(worker, 'ready', options.startTimeoutMs ?? 120_000);
  } catch (err) {
    await worker.terminate();
    safeUnlink(lockPath);
    throw new PlinthError('DATABASE_UNAVAILABLE', `The embedded database failed to start: ${(err as Error).message}`);
  }

  let closing: Promise<void> | undefined;
  let dumps: Promise<unknown> = Promise.resolve();
  return {
    socketDir,
    port: EMBEDDED_PORT,
    hosted: true,
    dump() {
      // One dump at a time: replies carry no request id.
      const next = dumps.then(() => requestDump(worker));
      dumps = next.catch(() => undefined);
      return next;
    },
    close() {
      closing ??= (async () => {
        try {
          worker.postMessage('close');
          await waitFor(worker, 'closed', 30_000);
        } finally {
          await worker.terminate();
          safeUnlink(socketPath);
          safeUnlink(lockPath);
        }
      })();
      return closing;
    },
  };
}

function waitFor(worker: Worker, type: 'ready' | 'closed', timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (msg: WorkerMessage) => {
      if (msg.type === type) finish();
      else if (msg.type === 'error') finish(new Error(msg.message));
    };
    const onError = (err: Error) => finish(err);
    const onExit = (code: number) => finish(type === 'closed' ? undefined : new Error(`worker exited with code ${code}`));
    function finish(err?: Error) {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    }
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

function requestDump(worker: Worker): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: WorkerMessage) => {
      if (msg.type === 'dumped') finish(undefined, new Uint8Array(msg.data));
      else if (msg.type === 'dump-failed') finish(new Error(msg.message));
    };
    const onExit = (code: number) => finish(new Error(`worker exited with code ${code}`));
    function finish(err?: Error, data?: Uint8Array) {
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      if (err) reject(err);
      else resolve(data!);
    }
    worker.on('message', onMessage);
    worker.on('exit', onExit);
    worker.postMessage('dump');
  });
}

function chooseSocketDir(dataDir: string): string {
  const preferred = path.join(dataDir, 'run');
  if (path.join(preferred, `.s.PGSQL.${EMBEDDED_PORT}`).length <= MAX_SOCKET_PATH) return preferred;
  const digest = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `plinth-${process.getuid?.() ?? 'u'}-${digest}`);
}

function readLock(lockPath: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(lockPath, 'utf8')) as Partial<LockInfo>;
    if (typeof info.pid === 'number' && typeof info.socketDir === 'string' && existsSync(info.socketDir)) {
      return { pid: info.pid, socketDir: info.socketDir };
    }
  } catch {
    // unreadable or half-written lock: treat as stale
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function safeUnlink(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // already gone
  }
}
