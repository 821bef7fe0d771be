// Disposable servers for the fault tests: a private PostgreSQL cluster (initdb + pg_ctl from
// PLINTH_TEST_PG_BIN), a private redis-server, and a password-protected Redis master + replica
// watched by three Sentinels, each on free loopback ports in a temp dir, that a test may stop,
// crash and start again at will; a `plinth serve` child process and one-shot `plinth` commands;
// and small polling and HTTP utilities. Nothing here touches the shared servers of
// scripts/services.sh.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
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
// Redis Sentinel: one master, one replica, three Sentinels (quorum 2)

export interface RedisNode {
  port: number;
  /** Undefined once the node was killed. */
  child: ChildProcess | undefined;
}

export interface SentinelGroup {
  /** The master name the Sentinels monitor. */
  name: string;
  password: string;
  /** A file holding the password (for REDIS_PASSWORD_FILE). */
  passwordFile: string;
  master: RedisNode;
  replica: RedisNode;
  sentinelPorts: number[];
  /** `host:port,host:port,host:port` (for REDIS_SENTINELS). */
  sentinels: string;
  /** A client of one Redis server (with the password); closed by destroy(). */
  node(port: number): Redis;
  /** A client of one Sentinel; closed by destroy(). */
  sentinel(port: number): Redis;
  /** The master port each Sentinel names now, in the order of sentinelPorts (undefined: no answer). */
  masterPorts(): Promise<Array<number | undefined>>;
  /** Waits until every Sentinel could promote the replica and knows the two other Sentinels. */
  waitPromotable(timeoutMs?: number): Promise<void>;
  /** SIGKILL: the node dies at once, as a crashed host does. */
  kill(node: RedisNode): Promise<void>;
  destroy(): Promise<void>;
}

const exitedProcess = (c: ChildProcess) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve())));

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

/** SENTINEL REPLICAS / SENTINELS answer a list of flat field/value arrays. */
const fieldMaps = (rows: unknown): Array<Map<string, string>> =>
  (rows as string[][]).map((fields) => {
    const m = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!, fields[i + 1]!);
    return m;
  });

/**
 * A master and a replica (requirepass + masterauth) and three Sentinels monitoring them with
 * quorum 2, a 1 s down-after and a short failover timeout, all on free loopback ports. Resolves
 * once the replica is in sync and every Sentinel could promote it.
 */
export async function startSentinelGroup(options: { name?: string; downAfterMs?: number; failoverTimeoutMs?: number } = {}): Promise<SentinelGroup> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-fault-sentinel-'));
  const name = options.name ?? 'plinth-fault';
  const password = `pw-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const passwordFile = path.join(dir, 'redis-password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const children: ChildProcess[] = [];
  const clients: Redis[] = [];
  let sentinelClients: Redis[] = [];
  const spawnChild = (cmd: string, args: string[]) => {
    const c = spawn(cmd, args, { stdio: 'ignore' });
    children.push(c);
    return c;
  };
  const redisServer = async (port: number, extra: string[]): Promise<RedisNode> => {
    const child = spawnChild('redis-server', [
      '--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir,
      '--dbfilename', `${port}.rdb`, '--logfile', path.join(dir, `redis-${port}.log`),
      '--requirepass', password, '--masterauth', password, ...extra,
    ]);
    await until(`redis-server on ${port}`, () => listening(port), 10_000);
    return { port, child };
  };
  const group: SentinelGroup = {
    name,
    password,
    passwordFile,
    master: { port: 0, child: undefined },
    replica: { port: 0, child: undefined },
    sentinelPorts: [],
    sentinels: '',
    node(port) {
      const r = new Redis({ host: '127.0.0.1', port, password, maxRetriesPerRequest: 1, connectTimeout: 2_000, lazyConnect: true });
      // These servers may be killed while a client still reconnects.
      r.on('error', () => undefined);
      clients.push(r);
      return r;
    },
    sentinel(port) {
      const r = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, connectTimeout: 2_000, lazyConnect: true });
      r.on('error', () => undefined);
      clients.push(r);
      return r;
    },
    async masterPorts() {
      return Promise.all(
        sentinelClients.map(async (s) => {
          try {
            const addr = (await s.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string] | null;
            return addr ? Number(addr[1]) : undefined;
          } catch {
            return undefined;
          }
        }),
      );
    },
    async waitPromotable(timeoutMs = 60_000) {
      // Sentinel promotes only a replica it has heard from recently, linked to the master and not
      // flagged down; a failover needs a quorum of Sentinels that know each other.
      await until('every Sentinel to see a promotable replica and the two other Sentinels', async () => {
        for (const s of sentinelClients) {
          try {
            const replicas = fieldMaps(await s.call('SENTINEL', 'REPLICAS', name));
            const promotable = replicas.some((r) => r.get('flags') === 'slave' && r.get('master-link-status') === 'ok' && Number(r.get('port')) === group.replica.port);
            const peers = fieldMaps(await s.call('SENTINEL', 'SENTINELS', name)).filter((p) => !(p.get('flags') ?? '').includes('down'));
            if (!promotable || peers.length !== 2) return false;
          } catch {
            return false;
          }
        }
        return true;
      }, timeoutMs, 200);
    },
    async kill(node) {
      const c = node.child;
      node.child = undefined;
      if (!c) return;
      c.kill('SIGKILL');
      await exitedProcess(c);
    },
    async destroy() {
      for (const r of clients) r.disconnect();
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(children.map(exitedProcess));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    group.master = await redisServer(await freePort(), []);
    group.replica = await redisServer(await freePort(), ['--replicaof', '127.0.0.1', String(group.master.port)]);
    const replica = group.node(group.replica.port);
    await until('the replica to sync with the master', async () => (await replica.info('replication').catch(() => '')).includes('master_link_status:up'), 30_000, 100);
    for (let i = 0; i < 3; i++) group.sentinelPorts.push(await freePort());
    for (const port of group.sentinelPorts) {
      // Sentinel rewrites its configuration file: one writable file each.
      const conf = path.join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          'bind 127.0.0.1',
          `port ${port}`,
          `dir ${dir}`,
          `logfile ${path.join(dir, `sentinel-${port}.log`)}`,
          `sentinel monitor ${name} 127.0.0.1 ${group.master.port} 2`,
          `sentinel auth-pass ${name} ${password}`,
          `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1_000}`,
          `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 5_000}`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      spawnChild('redis-sentinel', [conf]);
    }
    for (const port of group.sentinelPorts) await until(`redis-sentinel on ${port}`, () => listening(port), 10_000);
    group.sentinels = group.sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',');
    sentinelClients = group.sentinelPorts.map((p) => group.sentinel(p));
    await group.waitPromotable();
    return group;
  } catch (err) {
    const logs = readdirSafe(dir).map((f) => `--- ${f}\n${readFileSafe(path.join(dir, f)).slice(-1500)}`).join('\n');
    await group.destroy();
    throw new Error(`${(err as Error).message}\n${logs}`, { cause: err });
  }
}

const readdirSafe = (dir: string): string[] => {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.log'));
  } catch {
    return [];
  }
};
const readFileSafe = (file: string): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

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

/** Runs one `plinth` command (e.g. `keys create …`) to completion; resolves with its stdout. */
export async function runPlinth(args: string[], env: Record<string, string>, timeoutMs = 90_000): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), LOG_LEVEL: 'warn', ...env },
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  return stdout;
}
