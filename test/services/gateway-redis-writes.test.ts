// Socket writes to the real Redis (scripts/services.sh) per gateway call. Commands issued in one
// run of JavaScript leave in one write and keep their own replies and errors; a chat completion
// that misses the cache writes to Redis twice (limit check with the cache reads, then cache write
// with the settlement), a cache hit twice too (the reads, then the release), and an invalidation
// between two identical calls is still honoured. Fails, never skips, when PLINTH_TEST_REDIS_URL
// is unset.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { coalesceWrites } from '../../src/gateway/redis-writes.js';
import { buildApp } from '../../src/http/app.js';
import { startOllamaDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { REDIS_URL, requireRedis } from '../helpers/redis.js';

requireRedis();

const redisPort = Number(new URL(REDIS_URL ?? 'redis://127.0.0.1:1').port || 6379);

/** Counts the socket writes (write or writev system calls) this process makes to Redis. */
function countRedisWrites(): { count: () => number; restore: () => void } {
  const proto = net.Socket.prototype as unknown as Record<'_write' | '_writev', (this: net.Socket, ...args: unknown[]) => unknown>;
  const originals = { _write: proto._write, _writev: proto._writev };
  let n = 0;
  for (const name of ['_write', '_writev'] as const) {
    const original = originals[name];
    proto[name] = function (this: net.Socket, ...args: unknown[]) {
      if (this.remotePort === redisPort) n++;
      return original.apply(this, args);
    };
  }
  return {
    count: () => n,
    restore: () => Object.assign(proto, originals),
  };
}

describe('Redis commands issued together share one write', { timeout: 30_000 }, () => {
  let redis: Redis & { joinedWrites: () => number };
  const prefix = `plinth-test:${process.pid}:writes:`;

  before(async () => {
    redis = coalesceWrites(new Redis(REDIS_URL ?? 'redis://127.0.0.1:1', { maxRetriesPerRequest: 1 }));
    await redis.ping();
  });

  after(async () => {
    await redis.del(`${prefix}a`, `${prefix}b`, `${prefix}s`).catch(() => undefined);
    redis.disconnect();
  });

  it('sends three commands of one run in one write, each with its own reply or error', async () => {
    await redis.set(`${prefix}s`, 'a string');
    const writes = countRedisWrites();
    let results: Array<PromiseSettledResult<unknown>>;
    try {
      results = await Promise.allSettled([redis.set(`${prefix}a`, '1'), redis.hget(`${prefix}s`, 'field'), redis.incrby(`${prefix}b`, 5)]);
    } finally {
      writes.restore();
    }
    assert.equal(writes.count(), 1, 'one socket write for the three commands');
    assert.deepEqual(results[0], { status: 'fulfilled', value: 'OK' });
    assert.equal(results[1]!.status, 'rejected');
    assert.match(String((results[1] as PromiseRejectedResult).reason), /WRONGTYPE/, 'an error stays with its command');
    assert.deepEqual(results[2], { status: 'fulfilled', value: 5 });
    assert.ok(redis.joinedWrites() >= 1);
  });

  it('joins commands issued later in the same run, after promise callbacks', async () => {
    const writes = countRedisWrites();
    try {
      const first = redis.get(`${prefix}a`);
      const second = Promise.resolve()
        .then(() => undefined)
        .then(() => redis.get(`${prefix}b`));
      assert.deepEqual(await Promise.all([first, second]), ['1', '5']);
    } finally {
      writes.restore();
    }
    assert.equal(writes.count(), 1);
  });

  it('still fails fast while disconnected', async () => {
    const down = coalesceWrites(new Redis({ port: 1, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null }));
    try {
      const started = performance.now();
      await assert.rejects(down.get('k'));
      assert.ok(performance.now() - started < 1_000);
    } finally {
      down.disconnect();
    }
  });
});

describe('Redis writes per gateway chat completion', { timeout: 60_000 }, () => {
  let ollama: LlmDouble;
  let t: TestPlatform;
  let app: FastifyInstance;
  let key: string;
  let tenantId: string;

  const chat = (content: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Bearer ${key}` },
      payload: { model: 'llama3.2', messages: [{ role: 'user', content }], temperature: 0, max_tokens: 16 },
    });

  /** The Redis writes one call makes (its background cache write included). */
  async function writesOf(content: string) {
    const writes = countRedisWrites();
    try {
      const res = await chat(content);
      assert.equal(res.statusCode, 200, res.body);
      // The cache write is fired with the settlement; let it leave.
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { res, writes: writes.count() };
    } finally {
      writes.restore();
    }
  }

  before(async () => {
    ollama = await startOllamaDouble({ models: ['llama3.2'] });
    t = await startTestPlatform({
      REDIS_URL: REDIS_URL ?? 'redis://127.0.0.1:1',
      OLLAMA_URL: ollama.url,
      EMBEDDINGS_PROVIDER: 'hashing',
      GATEWAY_REQUESTS_PER_MINUTE: '10000',
      GATEWAY_TOKENS_PER_MINUTE: '10000000',
      GATEWAY_TOKENS_PER_DAY: '100000000',
      // The tenant's limits stay in memory for the whole file (no database read mid-call).
      GATEWAY_LIMITS_CACHE_TTL_MS: '600000',
      LOG_LEVEL: 'warn',
    });
    app = await buildApp(t.platform);
    const tenant = await t.platform.auth.getTenant('default');
    tenantId = tenant.id;
    key = (await t.platform.auth.createKey(tenant.id, { name: 'llm', scopes: ['llm:invoke'] }, { actor: 'test' })).key;
    // Loads the scripts on the connection and the tenant's limits.
    assert.equal((await chat(`warm ${randomBytes(4).toString('hex')}`)).statusCode, 200);
  });

  after(async () => {
    await app?.close();
    await t?.close();
    await ollama?.close();
  });

  it('writes twice for a cache miss and twice for an exact hit, and a generation bump still turns the hit into a miss', async () => {
    const prompt = `writes ${randomBytes(6).toString('hex')}`;
    const miss = await writesOf(prompt);
    assert.equal(miss.res.headers['x-plinth-cache'], 'miss');
    assert.equal(miss.writes, 2, 'limit check + cache reads, then cache write + settlement');

    const hit = await writesOf(prompt);
    assert.equal(hit.res.headers['x-plinth-cache'], 'exact');
    assert.equal(hit.writes, 2, 'limit check + cache reads, then the release');
    assert.equal(await t.platform.gateway.reservedTokens((await t.platform.auth.authenticate(key)).keyId), 0, 'nothing stays reserved');

    await t.platform.gateway.invalidateCache(tenantId, { model: 'llama3.2' });
    const after = await writesOf(prompt);
    assert.equal(after.res.headers['x-plinth-cache'], 'miss', 'the entry written before the invalidation is not served');
    assert.equal((await writesOf(prompt)).res.headers['x-plinth-cache'], 'exact', 'the answer written after it is');
  });
});
