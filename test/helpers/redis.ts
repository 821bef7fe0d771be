// Fixtures for the tests that need the real Redis (scripts/services.sh): a check that fails, never
// skips, when PLINTH_TEST_REDIS_URL is unset; Redis clients closed after the file, optionally
// deleting every key under a prefix; and two gateway replicas sharing one Redis and one database.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from '../../src/http/app.js';
import { startOllamaDouble, type LlmDouble } from './llm-doubles.js';
import { startTestPlatform, type TestPlatform } from './platform.js';

/** Set by `npm run test:services`. */
export const REDIS_URL = process.env.PLINTH_TEST_REDIS_URL;

/** A test that fails when the Redis URL is missing, so a file without Redis cannot pass silently. */
export function requireRedis(): void {
  describe('Redis is available for the service tests', () => {
    it('has PLINTH_TEST_REDIS_URL (set by scripts/services.sh start)', () => {
      assert.ok(REDIS_URL, 'PLINTH_TEST_REDIS_URL is unset: run the service tests through npm run test:services');
    });
  });
}

/** Deletes every key starting with `prefix`. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/**
 * A factory of Redis clients on REDIS_URL, all disconnected after the current file (or suite).
 * With `cleanPrefix`, keys under it are deleted first, leaving the shared Redis as it was.
 */
export function redisClients(options: { cleanPrefix?: string } = {}): () => Redis {
  const clients: Redis[] = [];
  const client = () => {
    const r = new Redis(REDIS_URL ?? 'redis://127.0.0.1:1', { maxRetriesPerRequest: 1 });
    clients.push(r);
    return r;
  };
  after(async () => {
    if (options.cleanPrefix !== undefined) await deleteKeys(client(), options.cleanPrefix);
    for (const c of clients) c.disconnect();
  });
  return client;
}

export interface RedisReplicas {
  ollama: LlmDouble;
  a: TestPlatform;
  b: TestPlatform;
  appA: FastifyInstance;
  appB: FastifyInstance;
}

/**
 * Two gateway replicas on one Redis behind one Ollama double, started before the tests of the
 * enclosing suite and closed after them. The second replica shares the first one's database when
 * it is a real PostgreSQL (as replicas do); on embedded PGlite each has its own.
 * The returned object is filled in once the suite's `before` hook has run.
 */
export function useRedisReplicas(env: Record<string, string>): RedisReplicas {
  const replicas = {} as RedisReplicas;
  before(async () => {
    assert.ok(REDIS_URL, 'PLINTH_TEST_REDIS_URL is unset');
    replicas.ollama = await startOllamaDouble({ models: ['llama3.2'] });
    const shared = { OLLAMA_URL: replicas.ollama.url, REDIS_URL, EMBEDDINGS_PROVIDER: 'hashing', ...env };
    replicas.a = await startTestPlatform(shared);
    const databaseUrl = replicas.a.env.databaseUrl;
    replicas.b = await startTestPlatform({ ...shared, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) }, { bootstrap: !databaseUrl });
    replicas.appA = await buildApp(replicas.a.platform);
    replicas.appB = await buildApp(replicas.b.platform);
  });
  after(async () => {
    await replicas.appA?.close();
    await replicas.appB?.close();
    await replicas.b?.close();
    await replicas.a?.close();
    await replicas.ollama?.close();
  });
  return replicas;
}
