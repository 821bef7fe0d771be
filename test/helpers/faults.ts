// Disposable servers for the fault tests: a private PostgreSQL cluster (initdb + pg_ctl from
// PLINTH_TEST_PG_BIN) and a private redis-server, each on a free loopback port in a temp dir, that
// a test may stop and start again at will; a `plinth serve` child process; and small polling and
// HTTP utilities. Nothing here touches the shared servers of scripts/services.sh.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../../src/config/index.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { startPlatform, type Platform } from '../../src/platform.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { LogCapture } from './platform.js';

const run = promisify(execFile);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A TCP port nobody listens on right now (127.0.0.1). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `fn` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Answer {
  status: number;
  ms: number;
  body: string;
  headers: Headers;
  /** Set when no HTTP answer came (refused, reset, timed out). */
  error?: string;
}

/** One HTTP request with a hard client-side bound; never throws. */
export async function request(url: string, init: RequestInit = {}, timeoutMs = 15_000): Promise<Answer> {
  const started = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    return { status: res.status, ms: performance.now() - started, body, headers: res.headers };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { status: 0, ms: performance.now() - started, body: '', headers: new Headers(), error: e.cause?.code ?? e.name ?? e.message };
  }
}

export const problemCode = (a: Answer): string | undefined => {
  try {
    const b = JSON.parse(a.body) as { code?: string; error?: { code?: string } };
    return b.code ?? b.error?.code;
  } catch {
    return undefined;
  }
};

// ---------------------------------------------------------------------------------------------
// PostgreSQL

export interface PgCluster {
  port: number;
  /** Superuser URL of database `postgres` (Plinth creates its role and extensions itself). */
  url: string;
  /** A new, empty database on this cluster; returns its superuser URL. */
  createDatabase(name: string): Promise<string>;
  start(): Promise<void>;
  /** `fast`: clients are disconnected; `immediate`: the server crashes (recovery on next start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  destroy(): Promise<void>;
}

const PG_OS_USER = 'plinth-pg';

export async function startPgCluster(): Promise<PgCluster> {
  const bin = process.env.PLINTH_TEST_PG_BIN;
  assert.ok(bin, 'PLINTH_TEST_PG_BIN is unset: start the services: eval "$(bash scripts/services.sh start)"');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-fault-pg-'));
  const data = path.join(dir, 'data');
  const sock = path.join(dir, 'run');
  mkdirSync(sock);
  // initdb refuses to run as root: the cluster belongs to the unprivileged user services.sh uses.
  const asRoot = process.getuid?.() === 0;
  const wrap = (cmd: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', PG_OS_USER, '--', cmd, ...args]] : [cmd, args]);
  if (asRoot) {
    const { stdout } = await run('id', ['-u', PG_OS_USER]);
    const { stdout: gid } = await run('id', ['-g', PG_OS_USER]);
    for (const p of [dir, sock]) chownSync(p, Number(stdout.trim()), Number(gid.trim()));
    chmodSync(dir, 0o755);
  }
  const port = await freePort();
  const exec = async (cmd: string, args: string[]) => {
    const [c, a] = wrap(path.join(bin, cmd), args);
    await run(c, a, { timeout: 60_000 });
  };
  await exec('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C']);
  const opts = `-h 127.0.0.1 -p ${port} -k ${sock} -c fsync=off -c full_page_writes=off -c max_connections=100 -c shared_buffers=32MB`;
  const cluster: PgCluster = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async createDatabase(name) {
      assert.match(name, /^[a-z_][a-z0-9_]*$/);
      const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    start: () => exec('pg_ctl', ['-D', data, '-l', path.join(dir, 'postgres.log'), '-w', '-t', '60', '-o', opts, 'start']),
    stop: (mode = 'fast') => exec('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']),
    async destroy() {
      await exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}

// ---------------------------------------------------------------------------------------------
// Redis

export interface RedisServer {
  port: number;
  url: string;
  start(): Promise<void>;
  /** SIGKILL: the server vanishes without a goodbye, as a crashed node does. */
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startRedisServer(): Promise<RedisServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-fault-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const exited = (c: ChildProcess) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve())));
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
      await until(`redis-server on ${port}`, () => new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.end('PING\r\n');
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }), 10_000);
    },
    async stop() {
      if (!child) return;
      const c = child;
      child = undefined;
      c.kill('SIGKILL');
      await exited(c);
    },
    async destroy() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

// ---------------------------------------------------------------------------------------------
// A `plinth serve` process

export interface PlinthProcess {
  child: ChildProcess;
  url: string;
  logs: string[];
  /** Resolves with the exit code (null when killed by a signal). */
  exit: Promise<number | null>;
  kill(): Promise<void>;
}

export async function startPlinthProcess(env: Record<string, string>, timeoutMs = 90_000): Promise<PlinthProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), PLINTH_HOST: '127.0.0.1', PLINTH_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let url: string | undefined;
  let buffer = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      logs.push(line);
      const m = /"url":"(http[^"]+)"/.exec(line);
      if (!url && m && line.includes('Plinth listening')) url = m[1];
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => logs.push(d));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exit;
  };
  let ended = false;
  void exit.then(() => (ended = true));
  try {
    const found = await until('plinth serve to listen', () => (ended ? Promise.reject(new Error(`plinth serve exited early:\n${logs.join('\n').slice(-3000)}`)) : url), timeoutMs, 100);
    return { child, url: found, logs, exit, kill };
  } catch (err) {
    await kill();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// An in-process server (where a separate process is not needed)

export interface InProcessServer {
  platform: Platform;
  server: RunningServer;
  url: string;
  adminKey: string;
  logs: LogCapture;
  close(): Promise<void>;
}

/** A platform and its HTTP server on 127.0.0.1:<free port>; embedded PGlite unless DATABASE_URL is given. */
export async function startInProcess(env: Record<string, string>): Promise<InProcessServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'plinth-fault-data-'));
  const logs = new LogCapture();
  try {
    const config = loadConfig({ env: { PLINTH_DATA_DIR: dataDir, PLINTH_HOST: '127.0.0.1', PLINTH_PORT: '0', EMBEDDINGS_PROVIDER: 'hashing', ...env } });
    const platform = await startPlatform(config, { logger: createLogger({ level: 'info', destination: logs }) });
    const server = await startServer(platform, { handleSignals: false }).catch(async (err: unknown) => {
      await platform.close();
      throw err;
    });
    const adminKey = readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
    return {
      platform,
      server,
      url: server.url,
      adminKey,
      logs,
      async close() {
        await server.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/** A new API key of the default tenant with the given scopes. */
export async function newKey(platform: Platform, scopes: Parameters<Platform['auth']['createKey']>[1]['scopes']): Promise<string> {
  const tenant = await platform.auth.getTenant('default');
  return (await platform.auth.createKey(tenant.id, { name: `fault-${Math.random().toString(36).slice(2, 8)}`, scopes }, { actor: 'test' })).key;
}

export function jsonPost(url: string, key: string, body: unknown, timeoutMs = 15_000): Promise<Answer> {
  return request(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }, timeoutMs);
}
