// The shared Redis connection rides through a short reconnect (src/limits/ride-through.ts) and
// still fails fast in a real outage: a private redis-server on loopback has its connections
// killed, is crashed with SIGKILL and restarted, while commands are issued on a client made by
// createRedisConnection. Without the ride-through every command issued between connections is
// refused at once, which is what turned a Sentinel failover notice into refused gateway calls.
import assert from 'node:assert/strict';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/index.js';
import { createRedisConnection } from '../../src/limits/index.js';
import { startRedisServer, until, type RedisServer } from '../helpers/faults.js';

describe('Redis connection riding through reconnects', { timeout: 60_000 }, () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  const connect = async (graceMs: number): Promise<Redis> => {
    const config = loadConfig({ env: { PLINTH_DATA_DIR: os.tmpdir(), REDIS_URL: server.url, REDIS_RECONNECT_GRACE_MS: String(graceMs) } });
    const redis = createRedisConnection(config, { name: `plinth-ride-${graceMs}` });
    redis.on('error', () => undefined);
    clients.push(redis);
    await until('the client to connect', () => redis.status === 'ready' || undefined, 10_000, 5);
    return redis;
  };
  /** Runs PING and tells how it ended and how long it took. */
  const ping = async (redis: Redis): Promise<{ ok: boolean; ms: number; error?: string }> => {
    const t = performance.now();
    try {
      assert.equal(await redis.ping(), 'PONG');
      return { ok: true, ms: performance.now() - t };
    } catch (err) {
      return { ok: false, ms: performance.now() - t, error: (err as Error).message };
    }
  };
  /** Kills the client's connection from the server side and waits until the client notices. */
  const cut = async (redis: Redis, name: string) => {
    const admin = await connect(0);
    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    admin.disconnect();
    await until(`${name} to lose its connection`, () => redis.status !== 'ready' || undefined, 5_000, 1);
  };

  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await server?.destroy();
  });

  it('runs a command issued while a killed connection is being replaced, instead of refusing it', async () => {
    const redis = await connect(2_000);
    const bare = await connect(0);
    await cut(redis, 'the client');
    await until('the bare client to lose its connection', () => bare.status !== 'ready' || undefined, 5_000, 1);
    const [held, refused] = await Promise.all([ping(redis), ping(bare)]);
    assert.ok(held.ok, `the command waited for the new connection: ${held.error ?? ''}`);
    assert.ok(held.ms < 1_000, `and ran ${held.ms.toFixed(0)} ms later`);
    assert.equal(refused.ok, false, 'with REDIS_RECONNECT_GRACE_MS=0 it is refused');
    assert.match(refused.error ?? '', /enableOfflineQueue/);
  });

  it('waits out a server restarted within the grace', async () => {
    const redis = await connect(3_000);
    await server.stop();
    await until('the client to lose its connection', () => redis.status !== 'ready' || undefined, 5_000, 1);
    const pending = ping(redis);
    await sleep(300);
    await server.start();
    const r = await pending;
    assert.ok(r.ok, `served once the server was back: ${r.error ?? ''}`);
  });

  it('fails fast in an outage longer than the grace, and serves again when the server is back', async () => {
    const graceMs = 600;
    const redis = await connect(graceMs);
    await server.stop();
    await until('the client to lose its connection', () => redis.status !== 'ready' || undefined, 5_000, 1);
    const lost = performance.now();
    // Within the grace the command waits, and is refused when the grace ends.
    const first = await ping(redis);
    assert.equal(first.ok, false);
    const firstEnded = performance.now() - lost;
    assert.ok(firstEnded >= graceMs - 50 && firstEnded < graceMs + 500, `refused at the end of the grace (${firstEnded.toFixed(0)} ms after the loss)`);
    // After the grace every command is refused at once: a long outage costs one grace, not one per call.
    const later = await Promise.all(Array.from({ length: 20 }, () => ping(redis)));
    assert.ok(later.every((r) => !r.ok), 'refused during the outage');
    const slowest = Math.max(...later.map((r) => r.ms));
    assert.ok(slowest < 50, `refused at once after the grace (slowest ${slowest.toFixed(1)} ms)`);
    await server.start();
    await until('the client to serve again', async () => (await ping(redis)).ok || undefined, 10_000, 50);
    // Ready again, so a later loss gets a fresh grace.
    await cut(redis, 'the client');
    const again = await ping(redis);
    assert.ok(again.ok, `a new loss is ridden through again: ${again.error ?? ''}`);
  });
});
