// Redis through Sentinel: the limiter contract through the shared Sentinel of scripts/services.sh
// (master name "plinth"), a gateway configured with REDIS_SENTINELS enforcing its limits there,
// and a failover on a private, password-protected master + replica + Sentinel started on free
// loopback ports by this test (and stopped by it): the limiter follows the new master and keeps
// the counts. Fails, never skips, when PLINTH_TEST_REDIS_SENTINEL is unset.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/index.js';
import { buildApp } from '../../src/http/app.js';
import { createRedisConnection, createRedisLimiterStore, type LimitRule } from '../../src/limits/index.js';
import { startOllamaDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { limiterContract, limiterRulesContract } from '../unit/limits-contract.js';

const SENTINEL = process.env.PLINTH_TEST_REDIS_SENTINEL;
const REDIS_URL = process.env.PLINTH_TEST_REDIS_URL;
const MASTER = 'plinth';

describe('Redis Sentinel is available for the service tests', () => {
  it('has PLINTH_TEST_REDIS_SENTINEL and PLINTH_TEST_REDIS_URL (set by scripts/services.sh start)', () => {
    assert.ok(SENTINEL, 'PLINTH_TEST_REDIS_SENTINEL is unset: run the service tests through npm run test:services');
    assert.ok(REDIS_URL, 'PLINTH_TEST_REDIS_URL is unset');
  });
});

const clients: Redis[] = [];
const viaSentinel = (env: Record<string, string> = {}) => {
  const config = loadConfig({ env: { PLINTH_DATA_DIR: os.tmpdir(), REDIS_SENTINELS: SENTINEL ?? '127.0.0.1:1', REDIS_SENTINEL_NAME: MASTER, ...env } });
  const r = createRedisConnection(config);
  clients.push(r);
  return r;
};
/** A connection through the Sentinel that has found the master (commands fail fast before that). */
const ready = async (env: Record<string, string> = {}) => {
  const r = viaSentinel(env);
  if (r.status !== 'ready') await new Promise<void>((resolve, reject) => {
    r.once('ready', resolve);
    setTimeout(() => reject(new Error('no master found through the Sentinel within 10 s')), 10_000).unref();
  });
  return r;
};
after(() => {
  for (const r of clients) r.disconnect();
});

limiterContract('redis via sentinel', async () => createRedisLimiterStore(await ready(), { prefix: `plinth-test:${process.pid}:sentinel:` }));
limiterRulesContract('redis via sentinel', async () => createRedisLimiterStore(await ready(), { prefix: `plinth-test:${process.pid}:sentinel-rules:` }));

describe('gateway configured with REDIS_SENTINELS', () => {
  let ollama: LlmDouble;
  let t: TestPlatform;
  let app: FastifyInstance;
  before(async () => {
    assert.ok(SENTINEL && REDIS_URL);
    ollama = await startOllamaDouble({ models: ['llama3.2'] });
    t = await startTestPlatform({ OLLAMA_URL: ollama.url, REDIS_SENTINELS: SENTINEL, REDIS_SENTINEL_NAME: MASTER, EMBEDDINGS_PROVIDER: 'hashing', GATEWAY_TENANT_REQUESTS_PER_MINUTE: '2' });
    app = await buildApp(t.platform);
  });
  after(async () => {
    await app?.close();
    await t?.close();
    await ollama?.close();
  });

  it('keeps the tenant limit in the Redis master the Sentinel names', async () => {
    assert.equal(t.platform.gateway.limiter.kind, 'redis');
    const tenant = await t.platform.auth.getTenant('default');
    const k = await t.platform.auth.createKey(tenant.id, { name: 's', scopes: ['llm:invoke'] }, { actor: 'test' });
    const call = () => app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${k.key}` }, payload: { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 } });
    assert.equal((await call()).statusCode, 200);
    assert.equal((await call()).statusCode, 200);
    const limited = await call();
    assert.equal(limited.statusCode, 429, limited.body);
    // The counters are where the Sentinel says the master is (the shared Redis of the services).
    const direct = new Redis(REDIS_URL!, { maxRetriesPerRequest: 1 });
    try {
      const keys = await direct.keys(`plinth:limits:{${tenant.id}}:tenant:m:*`);
      assert.equal(keys.length, 1);
      assert.equal(await direct.hget(keys[0]!, 'r'), '2');
    } finally {
      direct.disconnect();
    }
  });
});

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

describe('failover of a private master + replica + Sentinel', () => {
  const password = `pw-${process.pid}-${Date.now()}`;
  const procs: ChildProcess[] = [];
  let dir: string;
  let ports: { master: number; replica: number; sentinel: number };
  const admin = (port: number) => {
    const r = new Redis({ host: '127.0.0.1', port, password, maxRetriesPerRequest: 1, lazyConnect: true });
    // These servers are stopped at the end while clients may still be reconnecting.
    r.on('error', () => undefined);
    clients.push(r);
    return r;
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-sentinel-'));
    ports = { master: await freePort(), replica: await freePort(), sentinel: await freePort() };
    const server = (port: number, extra: string[]) => {
      const p = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--dbfilename', `${port}.rdb`, '--requirepass', password, '--masterauth', password, ...extra], { stdio: 'ignore' });
      procs.push(p);
    };
    server(ports.master, []);
    server(ports.replica, ['--replicaof', '127.0.0.1', String(ports.master)]);
    const conf = path.join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        'bind 127.0.0.1',
        `port ${ports.sentinel}`,
        `dir ${dir}`,
        `sentinel monitor failover-test 127.0.0.1 ${ports.master} 1`,
        `sentinel auth-pass failover-test ${password}`,
        'sentinel down-after-milliseconds failover-test 1000',
        'sentinel failover-timeout failover-test 5000',
        '',
      ].join('\n'),
    );
    procs.push(spawn('redis-sentinel', [conf], { stdio: 'ignore' }));
    const replica = admin(ports.replica);
    await until('the replica to sync', async () => ((await replica.info('replication')).includes('master_link_status:up') ? true : undefined), 20_000);
    const sentinel = new Redis({ host: '127.0.0.1', port: ports.sentinel, maxRetriesPerRequest: 1 });
    sentinel.on('error', () => undefined);
    clients.push(sentinel);
    // Sentinel promotes only a replica it has heard from recently, linked to the master, and not
    // flagged down or disconnected: wait for that, not just for the replica to be listed.
    await until('the Sentinel to see a promotable replica', async () => {
      const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', 'failover-test')) as string[][];
      const promotable = replicas.some((fields) => {
        const info = new Map<string, string>();
        for (let i = 0; i + 1 < fields.length; i += 2) info.set(fields[i]!, fields[i + 1]!);
        return info.get('flags') === 'slave' && info.get('master-link-status') === 'ok' && Number(info.get('info-refresh') ?? Infinity) < 5_000;
      });
      return promotable ? true : undefined;
    }, 30_000);
  });
  after(async () => {
    for (const r of clients) r.disconnect();
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : Promise.resolve())));
    rmSync(dir, { recursive: true, force: true });
  });

  it('follows the new master after SENTINEL FAILOVER, with the counts replicated', { timeout: 60_000 }, async () => {
    const pwFile = path.join(dir, 'redis-password');
    writeFileSync(pwFile, `${password}\n`);
    const redis = await ready({ REDIS_SENTINELS: `127.0.0.1:${ports.sentinel}`, REDIS_SENTINEL_NAME: 'failover-test', REDIS_PASSWORD_FILE: pwFile });
    const store = createRedisLimiterStore(redis);
    const rules: LimitRule[] = [{ scope: 'tenant', period: 'minute', requests: 5, tokens: 0, name: 'tenant_per_minute' }];
    // One fixed time for every call: the whole test counts in one minute window.
    const now = Date.now();
    for (let i = 0; i < 3; i++) assert.equal((await store.check('failover', rules, 0, now)).allowed, true);
    const master = admin(ports.master);
    assert.equal(await master.call('WAIT', '1', '2000'), 1, 'the replica has the counts');

    const sentinel = new Redis({ host: '127.0.0.1', port: ports.sentinel, maxRetriesPerRequest: 1 });
    sentinel.on('error', () => undefined);
    clients.push(sentinel);
    // NOGOODSLAVE can still answer while the Sentinel refreshes what it knows of the replica: retry.
    await until('the Sentinel to accept FAILOVER', async () => {
      await sentinel.call('SENTINEL', 'FAILOVER', 'failover-test');
      return true;
    }, 20_000);
    await until('the Sentinel to name the replica master', async () => {
      const [, port] = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'failover-test')) as [string, string];
      return Number(port) === ports.replica ? true : undefined;
    }, 30_000);

    // The client may need a moment to notice; then two more calls fit and the sixth is refused.
    const fourth = await until('a call on the new master', () => store.check('failover', rules, 0, now), 20_000);
    assert.equal(fourth.allowed, true);
    assert.equal(fourth.states[0]?.requests, 4, 'the count survived the failover');
    assert.equal((await store.check('failover', rules, 0, now)).allowed, true);
    assert.equal((await store.check('failover', rules, 0, now)).allowed, false);
    const role = (await admin(ports.replica).call('ROLE')) as [string];
    assert.equal(role[0], 'master');
  });
});
