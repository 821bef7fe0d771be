// Redis command spans against the real Redis (scripts/services.sh): a gateway chat completion
// whose limits live in Redis shows the limiter's Lua script as one `EVALSHA` client span (and the
// cache's commands as theirs) under the request's HTTP span, in the caller's trace, with the
// server named and no key or value recorded. Work outside any span (the health check's PING)
// makes no span. Fails, never skips, when PLINTH_TEST_REDIS_URL is unset.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { loadConfig } from '../../src/config/index.js';
import { buildApp } from '../../src/http/app.js';
import { createTracing, type Tracing } from '../../src/telemetry/tracing.js';
import { startOllamaDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { REDIS_URL, requireRedis } from '../helpers/redis.js';

requireRedis();

describe('tracing: Redis commands', { timeout: 60_000 }, () => {
  let exporter: InMemorySpanExporter;
  let tracing: Tracing;
  let ollama: LlmDouble;
  let t: TestPlatform;
  let app: FastifyInstance;
  let key: string;
  let tenantId: string;
  const prompt = `Redis tracing ${randomBytes(4).toString('hex')}: the launch code is 0451.`;

  const chat = (traceparent: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Bearer ${key}`, traceparent },
      payload: { model: 'llama3.2', messages: [{ role: 'user', content: prompt }], temperature: 0 },
    });

  before(async () => {
    exporter = new InMemorySpanExporter();
    tracing = createTracing(loadConfig({ env: {} }).otel, { spanProcessor: new SimpleSpanProcessor(exporter) });
    ollama = await startOllamaDouble({ models: ['llama3.2'] });
    t = await startTestPlatform(
      { REDIS_URL: REDIS_URL ?? 'redis://127.0.0.1:1', OLLAMA_URL: ollama.url, EMBEDDINGS_PROVIDER: 'hashing', GATEWAY_REQUESTS_PER_MINUTE: '10000', GATEWAY_TOKENS_PER_MINUTE: '10000000', LOG_LEVEL: 'warn' },
      { tracing },
    );
    app = await buildApp(t.platform);
    const tenant = await t.platform.auth.getTenant('default');
    tenantId = tenant.id;
    key = (await t.platform.auth.createKey(tenant.id, { name: 'llm', scopes: ['llm:invoke'] }, { actor: 'test' })).key;
  });

  after(async () => {
    await app?.close();
    await t?.close();
    await ollama?.close();
    await tracing?.shutdown();
  });

  it('shows the limit check as an EVALSHA span under the request span, without keys or values', async () => {
    // The first call loads the scripts (EVALSHA, then EVAL on NOSCRIPT) and warms the connection.
    const warm = await chat(`00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`);
    assert.equal(warm.statusCode, 200, warm.body);

    exporter.reset();
    const traceId = randomBytes(16).toString('hex');
    const res = await chat(`00-${traceId}-${randomBytes(8).toString('hex')}-01`);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['x-plinth-cache'], 'exact', 'the second identical call is a cache hit read from Redis');
    await tracing.forceFlush();

    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const http = spans.find((s) => s.name === 'POST /v1/chat/completions');
    assert.ok(http, spans.map((s) => s.name).join(', '));
    const redis = spans.filter((s) => s.attributes['db.system.name'] === 'redis');
    const names = redis.map((s) => s.name);
    assert.ok(names.includes('EVALSHA'), `the limiter's script among ${names.join(', ')}`);
    assert.ok(
      names.some((n) => n !== 'EVALSHA'),
      `the cache's commands too: ${names.join(', ')}`,
    );

    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const underHttp = (s: ReadableSpan): boolean => {
      for (let p = s.parentSpanContext?.spanId; p; p = byId.get(p)?.parentSpanContext?.spanId) if (p === http.spanContext().spanId) return true;
      return false;
    };
    const port = Number(new URL(REDIS_URL ?? 'redis://127.0.0.1:1').port || 6379);
    for (const s of redis) {
      assert.equal(s.kind, 2, 'CLIENT');
      assert.ok(underHttp(s), `${s.name} is inside the request's span`);
      assert.equal(s.attributes['db.operation.name'], s.name);
      assert.equal(s.attributes['server.port'], port);
      assert.equal(typeof s.attributes['server.address'], 'string');
      const recorded = JSON.stringify(s.attributes);
      assert.doesNotMatch(recorded, /plinth:|0451|launch code/, `${s.name} records no key or value: ${recorded}`);
      assert.ok(!recorded.includes(tenantId), `${s.name} does not name the tenant`);
    }
  });

  it('makes no span for commands outside a span', async () => {
    exporter.reset();
    const { checkOptional } = await import('../../src/ops/dependencies.js');
    const states = await checkOptional(t.config);
    assert.equal(states.find((s) => s.name === 'redis')?.ok, true);
    await tracing.forceFlush();
    assert.deepEqual(
      exporter.getFinishedSpans().filter((s) => s.attributes['db.system.name'] === 'redis').map((s) => s.name),
      [],
      'the dependency check (CONNECT, PING) runs outside any span',
    );
  });
});
