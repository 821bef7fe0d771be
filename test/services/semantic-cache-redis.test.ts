// The Redis SemanticCacheStore against a real Redis (scripts/services.sh), through the same
// contract suite as the in-process store; the insert script's bound under concurrent writers;
// and two gateway replicas sharing semantic hits and invalidations through one Redis.
// Fails, never skips, when PLINTH_TEST_REDIS_URL is unset.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { createRedisSemanticStore } from '../../src/cache/index.js';
import { buildApp } from '../../src/http/app.js';
import { startOllamaDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { CONTRACT_MAX_PER_PARTITION, CONTRACT_TTL_MS, axis, semanticContract } from '../unit/semantic-cache-contract.js';

const REDIS_URL = process.env.PLINTH_TEST_REDIS_URL;
const PREFIX = `plinth-test:${process.pid}:scache:`;

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
after(async () => {
  const r = client();
  // Leave the shared Redis as it was.
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    if (keys.length > 0) await r.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  for (const c of clients) c.disconnect();
});

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
  let ollama: LlmDouble;
  let a: TestPlatform;
  let b: TestPlatform;
  let appA: FastifyInstance;
  let appB: FastifyInstance;

  before(async () => {
    assert.ok(REDIS_URL, 'PLINTH_TEST_REDIS_URL is unset');
    ollama = await startOllamaDouble({ models: ['llama3.2'] });
    const env = { OLLAMA_URL: ollama.url, REDIS_URL, EMBEDDINGS_PROVIDER: 'hashing', GATEWAY_SEMANTIC_CACHE: 'on', GATEWAY_SEMANTIC_THRESHOLD: '0.85' };
    a = await startTestPlatform(env);
    b = await startTestPlatform({ ...env, ...(a.env.databaseUrl ? { DATABASE_URL: a.env.databaseUrl } : {}) }, { bootstrap: !a.env.databaseUrl });
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

  it('serves a paraphrase answered on one replica from the other, until the tag is invalidated', async () => {
    // Both platforms see the same tenant id only with a shared database; otherwise each has its
    // own "default" tenant and the cache must stay apart.
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
