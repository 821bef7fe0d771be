// Redis killed under the gateway: two servers share a private redis-server, one configured to fail
// open (GATEWAY_LIMITS_FAIL_OPEN=true) and one to fail closed (false). While Redis is down the
// first serves chat calls without limits, the second refuses them with 503
// PLINTH_LIMITS_UNAVAILABLE and Retry-After, sending nothing upstream; both keep serving
// everything that does not need Redis, answer promptly, and both enforce their limits in Redis
// again once it is back, without a restart.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startOllamaDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { jsonPost, newKey, problemCode, request, startInProcess, startPgCluster, startRedisServer, until, type InProcessServer, type PgCluster, type RedisServer } from '../helpers/faults.js';

const PER_MINUTE = 3;
/** Every answer while Redis is down comes within this bound (connect timeout 2 s, no offline queue). */
const MAX_LATENCY_MS = 3_000;

describe('Redis stopped under the gateway', { timeout: 170_000 }, () => {
  let pgc: PgCluster;
  let redis: RedisServer;
  let ollama: LlmDouble;
  let open: InProcessServer;
  let closed: InProcessServer;

  before(async () => {
    pgc = await startPgCluster();
    redis = await startRedisServer();
    ollama = await startOllamaDouble({ models: ['llama3.2'] });
    const env = { REDIS_URL: redis.url, OLLAMA_URL: ollama.url, GATEWAY_REQUESTS_PER_MINUTE: String(PER_MINUTE), GATEWAY_RETRIES: '0' };
    // Two databases: each server bootstraps its own tenant and admin key.
    open = await startInProcess({ ...env, DATABASE_URL: await pgc.createDatabase('fail_open'), GATEWAY_LIMITS_FAIL_OPEN: 'true' });
    closed = await startInProcess({ ...env, DATABASE_URL: await pgc.createDatabase('fail_closed'), GATEWAY_LIMITS_FAIL_OPEN: 'false' });
  });

  after(async () => {
    await open?.close();
    await closed?.close();
    await ollama?.close();
    await redis?.destroy();
    await pgc?.destroy();
  });

  let n = 0;
  const chat = (s: InProcessServer, key: string) =>
    jsonPost(`${s.url}/v1/chat/completions`, key, { model: 'llama3.2', messages: [{ role: 'user', content: `question ${n++}` }], max_tokens: 5 });
  const remember = (s: InProcessServer) => jsonPost(`${s.url}/v1/memories`, s.adminKey, { memories: [{ text: `redis outage note ${n++}`, user_id: 'ops' }] });
  /** Waits, if needed, so that `calls` quick calls fit in one rate-limit window (one UTC minute). */
  const sameMinute = async () => {
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 8_000) await new Promise((r) => setTimeout(r, left + 50));
  };
  /** The per-key limit holds: PER_MINUTE calls served, the next one refused with 429. */
  const enforced = async (s: InProcessServer) => {
    await sameMinute();
    const key = await newKey(s.platform, ['llm:invoke']);
    for (let i = 0; i < PER_MINUTE; i++) {
      const a = await chat(s, key);
      assert.equal(a.status, 200, a.body);
      assert.equal(a.headers.get('x-ratelimit-remaining-requests'), String(PER_MINUTE - 1 - i));
    }
    const refused = await chat(s, key);
    assert.equal(refused.status, 429, refused.body);
    assert.equal(problemCode(refused), 'PLINTH_RATE_LIMITED');
  };
  const limitKeys = async () => {
    const r = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await r.connect();
      return (await r.keys('plinth:limits:*')).length;
    } finally {
      r.disconnect();
    }
  };

  it('enforces the limits in Redis while it is up', async () => {
    assert.equal(open.platform.gateway.limiter.kind, 'redis');
    assert.equal(closed.platform.gateway.limiter.kind, 'redis');
    await enforced(open);
    await enforced(closed);
    assert.ok((await limitKeys()) > 0, 'the counters live in Redis');
  });

  it('follows each policy while Redis is down and keeps serving the rest', async () => {
    await redis.stop();
    await sameMinute();

    // Fail open: served, without limits (more calls than the per-key limit all pass).
    const openKey = await newKey(open.platform, ['llm:invoke']);
    const served = [];
    for (let i = 0; i < PER_MINUTE + 2; i++) served.push(await chat(open, openKey));
    for (const a of served) {
      assert.equal(a.status, 200, `fail open: ${a.body}`);
      assert.ok(a.ms < MAX_LATENCY_MS, `fail open answered in ${a.ms.toFixed(0)} ms`);
    }
    assert.ok(open.logs.text().includes('serving without limits'), 'a warning says the limits are off');

    // Fail closed: refused with a stable code and Retry-After; the upstream sees nothing.
    const closedKey = await newKey(closed.platform, ['llm:invoke']);
    const upstreamBefore = ollama.requestsTo('/api/chat').length;
    for (let i = 0; i < 3; i++) {
      const a = await chat(closed, closedKey);
      assert.equal(a.status, 503, `fail closed: ${a.body}`);
      assert.equal(problemCode(a), 'PLINTH_LIMITS_UNAVAILABLE');
      assert.equal(a.headers.get('retry-after'), '1');
      assert.ok(a.ms < MAX_LATENCY_MS, `fail closed answered in ${a.ms.toFixed(0)} ms`);
    }
    assert.equal(ollama.requestsTo('/api/chat').length, upstreamBefore, 'nothing was sent upstream by the fail-closed server');

    // Both keep serving what does not need Redis, and stay ready (Redis is not a required dependency).
    for (const s of [open, closed]) {
      const w = await remember(s);
      assert.equal(w.status, 201, w.body);
      assert.ok(w.ms < MAX_LATENCY_MS);
      const ready = await request(`${s.url}/readyz`);
      assert.equal(ready.status, 200, ready.body);
      const redisCheck = (JSON.parse(ready.body) as { checks: Array<{ name: string; ok: boolean }> }).checks.find((c) => c.name === 'redis');
      assert.equal(redisCheck?.ok, false, 'readiness reports Redis as down');
    }
  });

  it('recovers when Redis is back, without a restart', async () => {
    await redis.start();
    const started = performance.now();
    const key = await newKey(closed.platform, ['llm:invoke']);
    // The first call after the restart may still find the connection down (ioredis reconnects with backoff).
    await until('the fail-closed server to serve chat again', async () => ((await chat(closed, key)).status === 200 ? true : undefined), 20_000, 200);
    console.log(`fail-closed server serving again ${(performance.now() - started).toFixed(0)} ms after Redis restarted`);
    await until('the fail-open server to use Redis again', async () => {
      const a = await chat(open, await newKey(open.platform, ['llm:invoke']));
      return a.status === 200 && a.headers.get('x-ratelimit-remaining-requests') === String(PER_MINUTE - 1) ? true : undefined;
    }, 20_000, 200);
    await enforced(open);
    await enforced(closed);
    assert.ok((await limitKeys()) > 0, 'the counters are written to the restarted Redis');
  });
});
