// The semantic cache through the HTTP gateway (embedded database, in-process stores, hashing
// embedder, Ollama test double): hits on rewordings replayed as JSON or SSE, refusals by the
// guard, per-request switches and tags, invalidation, usage records and metrics.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { startOllamaDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

type Completion = { choices: Array<{ message: { content: string } }> };

describe(`semantic cache over HTTP (${ADAPTER})`, () => {
  let t: TestPlatform;
  let app: FastifyInstance;
  let ollama: LlmDouble;
  let key: string;
  const chat = (text: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Bearer ${key}`, ...headers },
      payload: { model: 'llama3.2', messages: [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: text }], temperature: 0, ...extra },
    });
  const upstreamCalls = () => ollama.requestsTo('/api/chat').length;

  before(async () => {
    ollama = await startOllamaDouble({ models: ['llama3.2'] });
    t = await startTestPlatform({ OLLAMA_URL: ollama.url, EMBEDDINGS_PROVIDER: 'hashing', GATEWAY_SEMANTIC_CACHE: 'on', GATEWAY_SEMANTIC_THRESHOLD: '0.85' });
    app = await buildApp(t.platform);
    const tenant = await t.platform.auth.getTenant('default');
    key = (await t.platform.auth.createKey(tenant.id, { name: 'llm', scopes: ['llm:invoke'] }, { actor: 'test' })).key;
  });
  after(async () => {
    await app?.close();
    await t?.close();
    await ollama?.close();
  });

  it('answers a reworded question from the cache, as JSON and as a stream, without calling upstream', async () => {
    const first = await chat('How do I rotate the admin key of the cluster?');
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.headers['x-plinth-cache'], 'miss');
    const calls = upstreamCalls();
    const again = await chat('Please, how do I rotate the admin key of the cluster?');
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.headers['x-plinth-cache'], 'semantic');
    assert.ok(Number(again.headers['x-plinth-cache-similarity']) >= 0.85);
    assert.ok(Number(again.headers['x-plinth-overhead-ms']) >= 0);
    assert.equal(again.json<Completion>().choices[0]?.message.content, 'Echo: How do I rotate the admin key of the cluster?');
    const streamed = await chat('How do I rotate the admin key of the cluster? Thanks!', { stream: true, stream_options: { include_usage: true } });
    assert.equal(streamed.headers['x-plinth-cache'], 'semantic');
    assert.match(String(streamed.headers['content-type']), /text\/event-stream/);
    const events = streamed.body
      .split('\n\n')
      .filter((b) => b.startsWith('data: '))
      .map((b) => b.slice(6));
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: Array<{ delta: { content?: string } }>; usage?: unknown });
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'Echo: How do I rotate the admin key of the cluster?');
    assert.ok(chunks.at(-1)?.usage, 'usage chunk when asked for');
    assert.equal(upstreamCalls(), calls, 'no upstream call for the hits');
  });

  it('refuses look-alikes that change a number, a negation, a name or an antonym', async () => {
    assert.equal((await chat('How do I resize volume data-7 to 50 GB?')).headers['x-plinth-cache'], 'miss');
    assert.equal((await chat('How do I resize volume data-7 to 60 GB?')).headers['x-plinth-cache'], 'miss');
    assert.equal((await chat('Why is the nightly backup job failing?')).headers['x-plinth-cache'], 'miss');
    assert.equal((await chat('Why is the nightly backup job not failing?')).headers['x-plinth-cache'], 'miss');
    assert.equal((await chat('How do I enable audit logging for the billing service in the production cluster?')).headers['x-plinth-cache'], 'miss');
    assert.equal((await chat('How do I disable audit logging for the billing service in the production cluster?')).headers['x-plinth-cache'], 'miss');
    const metrics = await t.platform.collectMetrics();
    assert.match(metrics, /plinth_llm_semantic_cache_refusals_total\{reason="number"\} [1-9]/);
    assert.match(metrics, /plinth_llm_semantic_cache_refusals_total\{reason="negation"\} [1-9]/);
    assert.match(metrics, /plinth_llm_semantic_cache_refusals_total\{reason="antonym"\} [1-9]/);
    assert.match(metrics, /plinth_llm_semantic_cache_lookups_total\{outcome="hit"\} [1-9]/);
    assert.match(metrics, /plinth_llm_requests_total\{endpoint="chat",outcome="ok",cache="semantic"\} [1-9]/);
  });

  it('keeps other contexts apart and follows the per-request switch', async () => {
    await chat('What is the retention period of audit logs?');
    const otherSystem = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: `Bearer ${key}` },
      payload: { model: 'llama3.2', messages: [{ role: 'system', content: 'Answer at length.' }, { role: 'user', content: 'Please, what is the retention period of audit logs?' }], temperature: 0 },
    });
    assert.equal(otherSystem.headers['x-plinth-cache'], 'miss', 'another system prompt is another partition');
    assert.equal((await chat('Please, what is the retention period of audit logs?', {}, { 'x-plinth-semantic-cache': 'off' })).headers['x-plinth-cache'], 'miss');
    assert.equal((await chat('Please, what is the retention period of audit logs?', { temperature: 0.5 })).headers['x-plinth-cache'], 'miss', 'other sampling, other partition');
    const bad = await chat('x', {}, { 'x-plinth-semantic-cache': 'sometimes' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json<{ error: { code: string } }>().error.code, 'PLINTH_VALIDATION_FAILED');
    const badTag = await chat('x', {}, { 'x-plinth-cache-tags': 'fine, not fine' });
    assert.equal(badTag.statusCode, 400);
    assert.equal(badTag.json<{ error: { param: string } }>().error.param, 'x-plinth-cache-tags');
  });

  it('invalidates by tag and by model over HTTP', async () => {
    const invalidate = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/v1/cache/invalidate', headers: { authorization: `Bearer ${key}` }, payload });
    await chat('Where are the release notes for the desktop client?', {}, { 'x-plinth-cache-tags': 'release-notes' });
    await chat('How many seats does the team plan include?');
    assert.equal((await chat('Where are the release notes for the desktop client?')).headers['x-plinth-cache'], 'exact');
    const byTag = await invalidate({ tag: 'release-notes' });
    assert.equal(byTag.statusCode, 200, byTag.body);
    assert.deepEqual(byTag.json(), { invalidated: { model: null, tag: 'release-notes' } });
    assert.equal((await chat('Where are the release notes for the desktop client?')).headers['x-plinth-cache'], 'miss');
    assert.equal((await chat('Please, how many seats does the team plan include?')).headers['x-plinth-cache'], 'semantic', 'other entries stay');
    assert.equal((await invalidate({ model: 'llama3.2' })).statusCode, 200);
    assert.equal((await chat('Please, how many seats does the team plan include?')).headers['x-plinth-cache'], 'miss');
    const both = await invalidate({ model: 'llama3.2', tag: 'x' });
    assert.equal(both.statusCode, 400);
    assert.equal((await invalidate({ tag: 'no spaces allowed' })).statusCode, 400);
  });

  it('records semantic hits in usage as cache hits', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/usage', headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.statusCode, 200, res.body);
    const row = res.json<{ usage: Array<{ model: string; cache_hits: number; requests: number }> }>().usage.find((r) => r.model === 'llama3.2');
    assert.ok(row, res.body);
    const stored = await t.platform.db.withSystem((tx) => tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM llm_usage WHERE cache = 'semantic'`));
    assert.ok(stored.rows[0]!.n >= 3, `semantic usage rows: ${stored.rows[0]!.n}`);
    assert.ok(row.cache_hits >= stored.rows[0]!.n + 1, 'exact and semantic hits both count');
  });
});
