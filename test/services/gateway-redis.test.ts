// The Redis adapters of the limiter and the cache against a real Redis (scripts/services.sh),
// through the same contract suites as the in-process adapters, and a gateway on two platforms
// sharing one Redis: limits and cache entries are shared across replicas. Fails, never skips,
// when PLINTH_TEST_REDIS_URL is unset.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createRedisCacheStore } from '../../src/cache/index.js';
import { createRedisLimiterStore } from '../../src/limits/index.js';
import { redisClients, requireRedis, useRedisReplicas } from '../helpers/redis.js';
import { cacheContract } from '../unit/cache-contract.js';
import { limiterContract } from '../unit/limits-contract.js';

requireRedis();
const client = redisClients();

limiterContract('redis', () => createRedisLimiterStore(client(), { prefix: `plinth-test:${process.pid}:limits:` }));
cacheContract('redis', () => createRedisCacheStore(client(), { prefix: `plinth-test:${process.pid}:cache:` }));

describe('gateway replicas sharing Redis', () => {
  const replicas = useRedisReplicas({ GATEWAY_REQUESTS_PER_MINUTE: '3', GATEWAY_TOKENS_PER_MINUTE: '100000' });

  it('counts one key across replicas and shares cached completions', async (t) => {
    const { a, appA, appB } = replicas;
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
