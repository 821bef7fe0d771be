// The Redis adapters of the limiter and the cache against a real Redis (scripts/services.sh),
// through the same contract suites as the in-process adapters, and a gateway on two platforms
// sharing one Redis: limits and cache entries are shared across replicas. Fails, never skips,
// when PLINTH_TEST_REDIS_URL is unset.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { createRedisCacheStore } from '../../src/cache/index.js';
import { buildApp } from '../../src/http/app.js';
import { createRedisLimiterStore } from '../../src/limits/index.js';
import { startOllamaDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { cacheContract } from '../unit/cache-contract.js';
import { limiterContract } from '../unit/limits-contract.js';

const REDIS_URL = process.env.PLINTH_TEST_REDIS_URL;

describe('Redis is available for the service tests', () => {
  it('has PLINTH_TEST_REDIS_URL (set by scripts/services.sh start)', () => {
    assert.ok(REDIS_URL, 'PLINTH_TEST_REDIS_URL is unset: run the service tests through npm run test:services');
  });
});

const clients: Redis[] = [];
const client = () => {
  const r = new Redis(REDIS_URL ?? 'redis://127.0.0.1:1', { maxRetriesPerRequest: 1 });
  clients.push(r);
  return r;
};
after(() => {
  for (const r of clients) r.disconnect();
});

limiterContract('redis', () => createRedisLimiterStore(client(), { prefix: `plinth-test:${process.pid}:limits:` }));
cacheContract('redis', () => createRedisCacheStore(client(), { prefix: `plinth-test:${process.pid}:cache:` }));

describe('gateway replicas sharing Redis', () => {
  let ollama: LlmDouble;
  let a: TestPlatform;
  let b: TestPlatform;
  let appA: FastifyInstance;
  let appB: FastifyInstance;

  before(async () => {
    assert.ok(REDIS_URL, 'PLINTH_TEST_REDIS_URL is unset');
    ollama = await startOllamaDouble({ models: ['llama3.2'] });
    const env = { OLLAMA_URL: ollama.url, REDIS_URL, EMBEDDINGS_PROVIDER: 'hashing', GATEWAY_REQUESTS_PER_MINUTE: '3', GATEWAY_TOKENS_PER_MINUTE: '100000' };
    a = await startTestPlatform(env);
    // The second replica shares the first one's database, as replicas do.
    b = await startTestPlatform({ ...env, ...(a.env.databaseUrl ? { DATABASE_URL: a.env.databaseUrl } : {}) }, { bootstrap: false });
    appA = await buildApp(a.platform);
    appB = await buildApp(b.platform);
  });
  after(async () => {
    await appA?.close();
    await appB?.close();
    await b?.close();
    await a?.close();
    await ollama?.close();
  });

  it('counts one key across replicas and shares cached completions', async (t) => {
    if (!a.env.databaseUrl) {
      t.skip('replicas need a shared PostgreSQL (PLINTH_TEST_PG_URL)');
      return;
    }
    const tenant = await a.platform.auth.getTenant('default');
    const k = await a.platform.auth.createKey(tenant.id, { name: 'shared', scopes: ['llm:invoke'] }, { actor: 'test' });
    const call = (app: FastifyInstance) =>
      app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${k.key}` }, payload: { model: 'llama3.2', messages: [{ role: 'user', content: `shared ${process.pid}` }], temperature: 0 } });
    const first = await call(appA);
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.headers['x-plinth-cache'], 'miss');
    const second = await call(appB);
    assert.equal(second.statusCode, 200);
    assert.equal(second.headers['x-plinth-cache'], 'exact', 'the cache is shared');
    assert.equal((await call(appA)).statusCode, 200);
    const limited = await call(appB);
    assert.equal(limited.statusCode, 429, 'the fourth request in the minute, across replicas');
    assert.equal(await a.platform.gateway.reservedTokens(k.id), 0);
  });
});
