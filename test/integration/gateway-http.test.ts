// The LLM gateway over HTTP against the Ollama and OpenAI chat test doubles: translation of the
// Ollama API, SSE streaming, tool calls, retries, timeouts, mid-stream failures, client
// disconnects, the exact cache, usage accounting, and that no failure leaks a token reservation.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { HASHING_MODEL } from '../../src/embeddings/index.js';
import { buildApp } from '../../src/http/app.js';
import { parseSse, startOllamaDouble, startOpenAIDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

const UPSTREAM_KEY = 'sk-upstream-secret-0123456789';

type Chunk = { choices: Array<{ delta: { content?: string; tool_calls?: Array<{ function?: { name?: string; arguments?: string } }> }; finish_reason: string | null }>; usage?: { total_tokens: number } };

describe(`LLM gateway over HTTP (${ADAPTER})`, () => {
  let t: TestPlatform;
  let app: FastifyInstance;
  let ollama: LlmDouble;
  let openai: LlmDouble;
  let key: string;
  let keyId: string;
  let memoryOnly: string;
  const h = (k = key) => ({ authorization: `Bearer ${k}` });
  const chat = (payload: Record<string, unknown>, k = key) => app.inject({ method: 'POST', url: '/v1/chat/completions', headers: h(k), payload });
  const user = (text: string) => [{ role: 'user', content: text }];

  before(async () => {
    ollama = await startOllamaDouble({ models: ['llama3.2', 'nomic-embed-text'] });
    openai = await startOpenAIDouble({ models: ['gpt-4o-mini', 'text-embedding-3-small'], apiKey: UPSTREAM_KEY });
    t = await startTestPlatform({
      OLLAMA_URL: ollama.url,
      OPENAI_BASE_URL: openai.url,
      OPENAI_API_KEY: UPSTREAM_KEY,
      EMBEDDINGS_PROVIDER: 'hashing',
      GATEWAY_RETRY_BASE_MS: '5',
      GATEWAY_FIRST_TOKEN_TIMEOUT_MS: '400',
      GATEWAY_BREAKER_THRESHOLD: '100',
      GATEWAY_MAX_PROMPT_CHARS: '5000',
      GATEWAY_REQUESTS_PER_MINUTE: '10000',
      GATEWAY_TOKENS_PER_MINUTE: '10000000',
    });
    app = await buildApp(t.platform);
    const tenant = await t.platform.auth.getTenant('default');
    const created = await t.platform.auth.createKey(tenant.id, { name: 'llm', scopes: ['llm:invoke'] }, { actor: 'test' });
    key = created.key;
    keyId = created.id;
    memoryOnly = (await t.platform.auth.createKey(tenant.id, { name: 'mem', scopes: ['memory:read'] }, { actor: 'test' })).key;
  });
  afterEach(async () => {
    ollama.faults.reset();
    openai.faults.reset();
    // No call, failed or not, may leave tokens reserved.
    assert.equal(await t.platform.gateway.reservedTokens(keyId), 0);
  });
  after(async () => {
    await app?.close();
    await t?.close();
    await ollama?.close();
    await openai?.close();
  });

  it('answers a non-streaming chat through Ollama, with keep_alive from config and no client credentials upstream', async () => {
    const before = ollama.requestsTo('/api/chat').length;
    const res = await chat({ model: 'llama3.2', messages: user('hello there world'), keep_alive: '24h', temperature: 0.7 });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<{ object: string; choices: Array<{ message: { content: string }; finish_reason: string }>; usage: { prompt_tokens: number; completion_tokens: number } }>();
    assert.equal(body.object, 'chat.completion');
    assert.equal(body.choices[0]?.message.content, 'Echo: hello there world');
    assert.equal(body.choices[0]?.finish_reason, 'stop');
    assert.equal(body.usage.prompt_tokens, 3);
    assert.equal(body.usage.completion_tokens, 4);
    assert.equal(res.headers['x-plinth-cache'], 'miss');
    assert.ok(Number(res.headers['x-plinth-overhead-ms']) >= 0);
    assert.equal(res.headers['x-ratelimit-limit-requests'], '10000');
    assert.ok(res.headers['x-ratelimit-remaining-tokens']);
    const sent = ollama.requestsTo('/api/chat');
    assert.equal(sent.length, before + 1);
    const upstream = sent.at(-1)!;
    assert.equal((upstream.body as { keep_alive: string }).keep_alive, '5m');
    assert.equal((upstream.body as { options: { temperature: number } }).options.temperature, 0.7);
    assert.equal(upstream.headers.authorization, undefined);
  });

  it('streams Ollama NDJSON as SSE chunks ending in [DONE], with a usage chunk when asked', async () => {
    const res = await chat({ model: 'llama3.2', messages: user('one two three'), stream: true, stream_options: { include_usage: true } });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/event-stream/);
    const { events, done } = parseSse(res.body);
    assert.ok(done);
    const chunks = events as Chunk[];
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    assert.equal(text, 'Echo: one two three');
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage?.total_tokens, 7);
    assert.equal(chunks.at(-2)?.choices[0]?.finish_reason, 'stop');
  });

  it('passes OpenAI-compatible requests through with its own key, streaming and not', async () => {
    const res = await chat({ model: 'gpt-4o-mini', messages: user('ping pong'), response_format: { type: 'json_object' }, temperature: 0.5 });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(JSON.parse(res.json<{ choices: Array<{ message: { content: string } }> }>().choices[0]!.message.content), { echo: 'Echo: ping pong' });
    const sent = openai.requestsTo('/v1/chat/completions').at(-1)!;
    assert.equal(sent.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
    assert.deepEqual((sent.body as { response_format: unknown }).response_format, { type: 'json_object' });
    const streamed = await chat({ model: 'gpt-4o-mini', messages: user('a b'), stream: true });
    const { events, done } = parseSse(streamed.body);
    assert.ok(done);
    assert.equal((events as Chunk[]).map((c) => c.choices[0]?.delta.content ?? '').join(''), 'Echo: a b');
    assert.ok((events as Chunk[]).every((c) => c.usage === undefined), 'no usage chunk unless include_usage');
  });

  it('maps tool calls from Ollama and passes them through from OpenAI-compatible servers', async () => {
    const tools = [{ type: 'function', function: { name: 'lookup', description: 'Find things', parameters: { type: 'object', properties: { query: { type: 'string' } } } } }];
    for (const model of ['llama3.2', 'gpt-4o-mini']) {
      const res = await chat({ model, messages: user('weather in Paris'), tools });
      assert.equal(res.statusCode, 200, res.body);
      const choice = res.json<{ choices: Array<{ message: { content: string | null; tool_calls: Array<{ id: string; type: string; function: { name: string; arguments: string } }> }; finish_reason: string }> }>().choices[0]!;
      assert.equal(choice.finish_reason, 'tool_calls', model);
      assert.equal(choice.message.tool_calls[0]?.function.name, 'lookup');
      assert.deepEqual(JSON.parse(choice.message.tool_calls[0].function.arguments), { query: 'weather in Paris' });
      assert.ok(choice.message.tool_calls[0]?.id);
      const streamed = parseSse((await chat({ model, messages: user('weather in Rome'), tools, stream: true })).body);
      const deltas = (streamed.events as Chunk[]).flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
      assert.equal(deltas.map((d) => d.function?.arguments ?? '').join(''), JSON.stringify({ query: 'weather in Rome' }));
    }
    // The tool result goes back to Ollama with the tool's name.
    const followUp = await chat({
      model: 'llama3.2',
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"query":"x"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      ],
      tools,
    });
    assert.equal(followUp.json<{ choices: Array<{ message: { content: string } }> }>().choices[0]?.message.content, 'Tool said: sunny');
    const sent = ollama.requestsTo('/api/chat').at(-1)!.body as { messages: Array<Record<string, unknown>> };
    assert.equal(sent.messages[2]?.tool_name, 'lookup');
    assert.deepEqual((sent.messages[1]?.tool_calls as Array<{ function: { arguments: unknown } }>)[0]?.function.arguments, { query: 'x' });
  });

  it('answers errors in OpenAI shape: unknown model 404, bad messages 400 without calling upstream, oversized prompt 413', async () => {
    const calls = ollama.requests.length + openai.requests.length;
    const unknown = await chat({ model: 'no-such-model', messages: user('x') });
    assert.equal(unknown.statusCode, 404);
    assert.deepEqual(unknown.json(), {
      error: { message: 'The model `no-such-model` does not exist or is not served by any configured upstream.', type: 'invalid_request_error', param: 'model', code: 'PLINTH_MODEL_NOT_FOUND' },
    });
    const sentBefore = ollama.requestsTo('/api/chat').length + openai.requestsTo('/v1/chat/completions').length;
    for (const bad of [
      { model: 'llama3.2', messages: [] },
      { model: 'llama3.2', messages: [{ role: 'wizard', content: 'x' }] },
      { model: 'llama3.2', messages: user('x'), temperature: 7 },
      { model: 'llama3.2', messages: [{ role: 'tool', content: 'x' }] },
    ]) {
      const res = await chat(bad);
      assert.equal(res.statusCode, 400, JSON.stringify(bad));
      const e = res.json<{ error: { code: string; type: string } }>().error;
      assert.equal(e.code, 'PLINTH_VALIDATION_FAILED');
      assert.equal(e.type, 'invalid_request_error');
    }
    const big = await chat({ model: 'llama3.2', messages: user('x'.repeat(6000)) });
    assert.equal(big.statusCode, 413);
    assert.equal(big.json<{ error: { code: string } }>().error.code, 'PLINTH_PROMPT_TOO_LARGE');
    const notJson = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { ...h(), 'content-type': 'application/json' }, payload: '{oops' });
    assert.equal(notJson.statusCode, 400);
    assert.equal(notJson.json<{ error: { code: string } }>().error.code, 'PLINTH_BAD_REQUEST');
    assert.equal(ollama.requestsTo('/api/chat').length + openai.requestsTo('/v1/chat/completions').length, sentBefore, 'nothing sent upstream');
    assert.ok(ollama.requests.length + openai.requests.length >= calls);
    const noKey = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { model: 'llama3.2', messages: user('x') } });
    assert.equal(noKey.statusCode, 401);
    assert.equal(noKey.json<{ error: { type: string } }>().error.type, 'authentication_error');
    const wrongScope = await chat({ model: 'llama3.2', messages: user('x') }, memoryOnly);
    assert.equal(wrongScope.statusCode, 403);
  });

  it('retries 429 and 503 before the first byte, then succeeds', async () => {
    ollama.faults.failNext(1, 429, { retryAfter: 0 });
    ollama.faults.failNext(1, 503);
    const before = ollama.requestsTo('/api/chat').length;
    const res = await chat({ model: 'llama3.2', messages: user('retry me'), temperature: 1 });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(ollama.requestsTo('/api/chat').length, before + 3);
    openai.faults.failNext(3, 503);
    const exhausted = await chat({ model: 'gpt-4o-mini', messages: user('fail'), temperature: 1 });
    assert.equal(exhausted.statusCode, 503);
    assert.equal(exhausted.json<{ error: { code: string } }>().error.code, 'PLINTH_UPSTREAM_UNAVAILABLE');
    assert.ok(exhausted.headers['retry-after']);
    assert.ok(!exhausted.body.includes(UPSTREAM_KEY));
  });

  it('times out a slow first token on every attempt with 504', async () => {
    ollama.faults.firstTokenDelayMs = 1500;
    const before = ollama.requestsTo('/api/chat').length;
    const started = Date.now();
    const res = await chat({ model: 'llama3.2', messages: user('slow'), stream: true });
    assert.equal(res.statusCode, 504, res.body);
    assert.equal(res.json<{ error: { code: string } }>().error.code, 'PLINTH_UPSTREAM_TIMEOUT');
    assert.equal(ollama.requestsTo('/api/chat').length, before + 3);
    assert.ok(Date.now() - started < 4000);
  });

  it('ends a stream with a clean error event when the upstream fails or drops mid-stream', async () => {
    for (const [double, model, fault] of [
      [ollama, 'llama3.2', 'error'],
      [openai, 'gpt-4o-mini', 'error'],
      [ollama, 'llama3.2', 'drop'],
      [openai, 'gpt-4o-mini', 'drop'],
    ] as const) {
      if (fault === 'error') double.faults.midStreamErrorNext(1);
      else double.faults.midStreamDropNext(1);
      const res = await chat({ model, messages: user('four five six seven'), stream: true, temperature: 1 });
      assert.equal(res.statusCode, 200, `${model} ${fault}: ${res.body}`);
      const { events, done } = parseSse(res.body);
      assert.equal(done, false, `${model} ${fault}: no [DONE] after an error`);
      const last = events.at(-1) as { error?: { code: string; type: string } };
      assert.equal(last.error?.code, 'PLINTH_UPSTREAM_FAILED', `${model} ${fault}`);
      assert.equal(last.error?.type, 'server_error');
    }
    ollama.faults.midStreamErrorNext(1);
    const nonStream = await chat({ model: 'llama3.2', messages: user('x y'), temperature: 1 });
    assert.equal(nonStream.statusCode, 502);
    assert.equal(nonStream.json<{ error: { code: string } }>().error.code, 'PLINTH_UPSTREAM_FAILED');
  });

  it('cancels the upstream request when the client disconnects mid-stream', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    ollama.faults.chunkDelayMs = 150;
    const aborted = ollama.faults.abortedStreams;
    await new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', headers: { ...h(), 'content-type': 'application/json' } },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', (err) => (err.message.includes('socket hang up') ? undefined : reject(err)));
      req.end(JSON.stringify({ model: 'llama3.2', messages: user('a b c d e f g h i j k l'), stream: true, temperature: 1 }));
    });
    for (let i = 0; i < 50 && ollama.faults.abortedStreams === aborted; i++) await sleep(20);
    assert.equal(ollama.faults.abortedStreams, aborted + 1, 'the upstream stream was cancelled');
    for (let i = 0; i < 50 && (await t.platform.gateway.reservedTokens(keyId)) > 0; i++) await sleep(20);
    // The same for a client waiting on a non-streamed answer.
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', headers: { ...h(), 'content-type': 'application/json' } });
    req.on('error', () => undefined);
    req.end(JSON.stringify({ model: 'llama3.2', messages: user('a b c d e f g h i j k l'), temperature: 1 }));
    await sleep(300);
    req.destroy();
    for (let i = 0; i < 50 && ollama.faults.abortedStreams === aborted + 1; i++) await sleep(20);
    assert.equal(ollama.faults.abortedStreams, aborted + 2);
    for (let i = 0; i < 50 && (await t.platform.gateway.reservedTokens(keyId)) > 0; i++) await sleep(20);
  });

  it('serves deterministic requests from the exact cache, replayed as a stream or not', async () => {
    const payload = { model: 'llama3.2', messages: user('cache me please'), temperature: 0 };
    const first = await chat(payload);
    assert.equal(first.headers['x-plinth-cache'], 'miss');
    const sent = ollama.requestsTo('/api/chat').length;
    const second = await chat({ ...payload, top_p: 1 });
    assert.equal(second.statusCode, 200);
    assert.equal(second.headers['x-plinth-cache'], 'exact');
    assert.equal(second.json<{ choices: Array<{ message: { content: string } }> }>().choices[0]?.message.content, 'Echo: cache me please');
    const streamed = await chat({ ...payload, stream: true, stream_options: { include_usage: true } });
    assert.equal(streamed.headers['x-plinth-cache'], 'exact');
    const { events, done } = parseSse(streamed.body);
    assert.ok(done);
    assert.equal((events as Chunk[]).map((c) => c.choices[0]?.delta.content ?? '').join(''), 'Echo: cache me please');
    assert.ok((events as Chunk[]).at(-1)?.usage);
    assert.equal(ollama.requestsTo('/api/chat').length, sent, 'hits never reach the upstream');
    const otherTemp = await chat({ ...payload, temperature: 0.3 });
    assert.equal(otherTemp.headers['x-plinth-cache'], 'miss');
  });

  it('lists models of every upstream and serves embeddings from the configured embedder', async () => {
    const models = await app.inject({ url: '/v1/models', headers: h() });
    assert.equal(models.statusCode, 200);
    const ids = models.json<{ object: string; data: Array<{ id: string; owned_by: string }> }>().data.map((m) => m.id);
    for (const id of ['llama3.2', 'gpt-4o-mini']) assert.ok(ids.includes(id), id);
    const doc = await app.inject({ url: '/openapi.json', headers: h(t.adminKey) });
    const paths = doc.json<{ paths: Record<string, unknown> }>().paths;
    for (const p of ['/v1/chat/completions', '/v1/models', '/v1/embeddings', '/v1/usage']) assert.ok(paths[p], p);
    const one = await app.inject({ url: '/v1/models/gpt-4o-mini', headers: h() });
    assert.equal(one.json<{ owned_by: string }>().owned_by, 'openai');
    const emb = await app.inject({ method: 'POST', url: '/v1/embeddings', headers: h(), payload: { model: HASHING_MODEL, input: ['alpha beta', 'gamma'] } });
    assert.equal(emb.statusCode, 200, emb.body);
    const data = emb.json<{ data: Array<{ index: number; embedding: number[] }> }>().data;
    assert.equal(data.length, 2);
    assert.equal(data[0]?.embedding.length, t.platform.embedder.dimensions);
    const unknown = await app.inject({ method: 'POST', url: '/v1/embeddings', headers: h(), payload: { model: 'nope', input: 'x' } });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json<{ error: { code: string } }>().error.code, 'PLINTH_MODEL_NOT_FOUND');
  });

  it('records usage per model and day, and exports token, latency, TTFT and circuit metrics', async () => {
    const res = await app.inject({ url: '/v1/usage', headers: h() });
    assert.equal(res.statusCode, 200, res.body);
    const rows = res.json<{ usage: Array<{ model: string; requests: number; tokens_in: number; tokens_out: number; cache_hits: number; errors: number; avg_ttft_ms: number | null }> }>().usage;
    const llama = rows.find((r) => r.model === 'llama3.2');
    assert.ok(llama && llama.requests > 5 && llama.tokens_in > 0 && llama.tokens_out > 0 && llama.cache_hits >= 2 && llama.errors >= 1);
    assert.ok(llama.avg_ttft_ms !== null);
    const filtered = await app.inject({ url: '/v1/usage?model=gpt-4o-mini', headers: h() });
    assert.ok(filtered.json<{ usage: Array<{ model: string }> }>().usage.every((r) => r.model === 'gpt-4o-mini'));
    const other = await t.platform.auth.createTenant('usage-other', { actor: 'test' });
    const otherKey = (await t.platform.auth.createKey(other.id, { name: 'o', scopes: ['llm:invoke'] }, { actor: 'test' })).key;
    const isolated = await app.inject({ url: '/v1/usage', headers: h(otherKey) });
    assert.deepEqual(isolated.json(), { usage: [] }, 'row-level security: another tenant sees none of it');
    const bad = await app.inject({ url: '/v1/usage?from=yesterday', headers: h() });
    assert.equal(bad.statusCode, 400);
    assert.match(String(bad.headers['content-type']), /problem\+json/);
    const metrics = await t.platform.collectMetrics();
    assert.match(metrics, /plinth_llm_tokens_total\{model="llama3.2",direction="in"\} \d+/);
    assert.match(metrics, /plinth_llm_upstream_duration_seconds_bucket/);
    assert.match(metrics, /plinth_llm_time_to_first_token_seconds_count\{upstream="ollama",model="llama3.2"\} \d+/);
    assert.match(metrics, /plinth_llm_circuit_state\{upstream="openai"\} 0/);
  });
});
