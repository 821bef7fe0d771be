// The official `openai` npm client pointed at Plinth: chat (plain and streamed), models and
// embeddings work unchanged, and errors surface as the client's APIError with Plinth's code.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { HASHING_MODEL } from '../../src/embeddings/index.js';
import { buildApp } from '../../src/http/app.js';
import { startOllamaDouble, startOpenAIDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

describe(`the openai client against Plinth (${ADAPTER})`, () => {
  let t: TestPlatform;
  let app: FastifyInstance;
  let ollama: LlmDouble;
  let upstream: LlmDouble;
  let client: OpenAI;
  let keyId: string;

  before(async () => {
    ollama = await startOllamaDouble({ models: ['llama3.2'] });
    upstream = await startOpenAIDouble({ models: ['gpt-4o-mini'], apiKey: 'sk-up-0123456789' });
    t = await startTestPlatform({
      OLLAMA_URL: ollama.url,
      OPENAI_BASE_URL: upstream.url,
      OPENAI_API_KEY: 'sk-up-0123456789',
      EMBEDDINGS_PROVIDER: 'hashing',
      GATEWAY_TOKENS_PER_MINUTE: '1000000',
    });
    app = await buildApp(t.platform);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const tenant = await t.platform.auth.getTenant('default');
    const created = await t.platform.auth.createKey(tenant.id, { name: 'sdk', scopes: ['llm:invoke'] }, { actor: 'test' });
    keyId = created.id;
    client = new OpenAI({ apiKey: created.key, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
  });
  after(async () => {
    await app?.close();
    await t?.close();
    await ollama?.close();
    await upstream?.close();
  });

  it('chats without streaming', async () => {
    for (const model of ['llama3.2', 'gpt-4o-mini']) {
      const res = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi there' }] });
      assert.equal(res.choices[0]?.message.content, 'Echo: hi there', model);
      assert.ok((res.usage?.total_tokens ?? 0) > 0);
    }
  });

  it('streams, with usage at the end', async () => {
    const stream = await client.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'stream this' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    let total = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      total = chunk.usage?.total_tokens ?? total;
    }
    assert.equal(text, 'Echo: stream this');
    assert.ok(total > 0);
  });

  it('calls tools through the streaming helper', async () => {
    const runner = client.chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'find cats' }],
      tools: [{ type: 'function', function: { name: 'search', parameters: { type: 'object', properties: { query: { type: 'string' } } } } }],
    });
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0]?.message.tool_calls?.[0]?.type, 'function');
    const call = final.choices[0]?.message.tool_calls?.[0];
    assert.ok(call && call.type === 'function');
    assert.deepEqual(JSON.parse(call.function.arguments), { query: 'find cats' });
  });

  it('lists models and embeds (base64, the client default, decoded by the client)', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.ok(ids.includes('llama3.2') && ids.includes('gpt-4o-mini'));
    const emb = await client.embeddings.create({ model: HASHING_MODEL, input: ['one', 'two'] });
    assert.equal(emb.data.length, 2);
    assert.equal(emb.data[0]?.embedding.length, t.platform.embedder.dimensions);
    const direct = await t.platform.embedder.embed(['one']);
    assert.ok(Math.abs((emb.data[0]?.embedding[0] ?? 0) - direct[0]![0]!) < 1e-6);
  });

  it('surfaces errors as APIError with the Plinth code, also mid-stream', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.equal(err.code, 'PLINTH_MODEL_NOT_FOUND');
      return true;
    });
    ollama.faults.midStreamErrorNext(1);
    const stream = await client.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'a b c' }], stream: true });
    await assert.rejects(
      (async () => {
        for await (const _ of stream) {
          // drain
        }
      })(),
      (err: unknown) => err instanceof OpenAI.APIError && /mid-stream/.test(err.message),
    );
    assert.equal(await t.platform.gateway.reservedTokens(keyId), 0);
  });
});
