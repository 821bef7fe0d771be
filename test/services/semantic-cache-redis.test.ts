// The Redis SemanticCacheStore against a real Redis (scripts/services.sh), through the same
// contract suite as the in-process store; the insert script's bound under concurrent writers;
// and two gateway replicas sharing semantic hits and invalidations through one Redis.
// Fails, never skips, when PLINTH_TEST_REDIS_URL is unset.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createRedisSemanticStore } from '../../src/cache/index.js';
import type { TestPlatform } from '../helpers/platform.js';
import { redisClients, requireRedis, useRedisReplicas } from '../helpers/redis.js';
import { CONTRACT_MAX_PER_PARTITION, CONTRACT_TTL_MS, axis, semanticContract } from '../unit/semantic-cache-contract.js';

const PREFIX = `plinth-test:${process.pid}:scache:`;

requireRedis();
const client = redisClients({ cleanPrefix: PREFIX });

semanticContract('redis', () => createRedisSemanticStore(client(), { prefix: PREFIX, maxPerPartition: CONTRACT_MAX_PER_PARTITION, ttlMs: CONTRACT_TTL_MS }));

describe('Redis semantic store under concurrent writers', () => {
  it('never keeps more than maxPerPartition entries, and stores vectors as int8', async () => {
    const redis = client();
    const store = createRedisSemanticStore(redis, { prefix: PREFIX, maxPerPartition: 8, ttlMs: 60_000 });
    const partition = randomUUID();
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.insert(partition, axis(i), { text: `q${i}`, value: 'v', tags: {} })));
    assert.equal(await redis.zcard(`${PREFIX}p:{${partition}}:z`), 8);
    assert.equal(await redis.hlen(`${PREFIX}p:{${partition}}:v`), 8);
    assert.equal(await redis.hlen(`${PREFIX}p:{${partition}}:d`), 8);
    const blobs = Object.values(await redis.hgetallBuffer(`${PREFIX}p:{${partition}}:v`));
    assert.ok(blobs.every((b) => b.length === 28 + 32), 'header, id and one byte per dimension');
    const ttl = await redis.pttl(`${PREFIX}p:{${partition}}:v`);
    assert.ok(ttl > 50_000 && ttl <= 60_000, `partition keys expire with the TTL (${ttl})`);
  });
});

describe('gateway replicas sharing the semantic cache through Redis', () => {
  const replicas = useRedisReplicas({ GATEWAY_SEMANTIC_CACHE: 'on', GATEWAY_SEMANTIC_THRESHOLD: '0.85' });

  it('serves a paraphrase answered on one replica from the other, until the tag is invalidated', async () => {
    // Both platforms see the same tenant id only with a shared database; otherwise each has its
    // own "default" tenant and the cache must stay apart.
    const { a, b, appA, appB } = replicas;
    const shared = Boolean(a.env.databaseUrl);
    const keyOn = async (t: TestPlatform) => {
      const tenant = await t.platform.auth.getTenant('default');
      return (await t.platform.auth.createKey(tenant.id, { name: `k-${randomUUID()}`, scopes: ['llm:invoke'] }, { actor: 'test' })).key;
    };
    const kA = await keyOn(a);
    const kB = shared ? kA : await keyOn(b);
    const question = `How do I rotate the API key of project ${process.pid}?`;
    const call = (app: FastifyInstance, k: string, text: string, headers: Record<string, string> = {}) =>
      app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${k}`, ...headers }, payload: { model: 'llama3.2', messages: [{ role: 'user', content: text }], temperature: 0 } });
    const first = await call(appA, kA, question, { 'x-plinth-cache-tags': 'keys' });
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.headers['x-plinth-cache'], 'miss');
    await a.platform.gateway.flush();
    await new Promise((r) => setTimeout(r, 50));
    const paraphrase = `Please, how do I rotate the API key of project ${process.pid}?`;
    const second = await call(appB, kB, paraphrase);
    assert.equal(second.statusCode, 200, second.body);
    assert.equal(second.headers['x-plinth-cache'], shared ? 'semantic' : 'miss');
    if (!shared) return;
    assert.equal(second.json<{ choices: Array<{ message: { content: string } }> }>().choices[0]?.message.content, `Echo: ${question}`);
    const inv = await appA.inject({ method: 'POST', url: '/v1/cache/invalidate', headers: { authorization: `Bearer ${kA}` }, payload: { tag: 'keys' } });
    assert.equal(inv.statusCode, 200, inv.body);
    const third = await call(appB, kB, paraphrase);
    assert.equal(third.headers['x-plinth-cache'], 'miss', 'invalidated on every replica');
  });
});
