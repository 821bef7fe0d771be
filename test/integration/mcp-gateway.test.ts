// The LLM gateway over MCP: llm_chat and llm_models through the real server and the official
// clients, with the same limits, budgets, cache and usage accounting as the HTTP API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { startOllamaDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { connectV1, connectV2 } from '../helpers/mcp.js';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
}
interface ChatOut {
  content: string | null;
  model: string;
  finish_reason: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  cache: string | null;
  rate_limits: Record<string, string>;
}

function ok<T>(r: ToolResult): T {
  assert.notEqual(r.isError, true, JSON.stringify(r.content));
  assert.deepEqual(JSON.parse(r.content[0]?.text ?? ''), r.structuredContent);
  return r.structuredContent as T;
}

function failure(r: ToolResult): { code: string; retry_after_s?: number; limit?: string } {
  assert.equal(r.isError, true, JSON.stringify(r));
  const meta = r._meta?.['plinth/error'] as { code: string; retry_after_s?: number; limit?: string } | undefined;
  assert.ok(meta, 'error _meta');
  return meta;
}

describe(`MCP gateway tools (${ADAPTER})`, () => {
  let ollama: LlmDouble;
  let t: TestPlatform;
  let server: RunningServer;
  let url: string;
  let tenantId: string;

  const key = async (name: string, scopes: Array<'llm:invoke' | 'memory:read'>) => t.platform.auth.createKey(tenantId, { name, scopes }, { actor: 'test' });
  const hello = (extra: Record<string, unknown> = {}) => ({ model: 'llama3.2', messages: [{ role: 'user', content: 'hello world' }], max_tokens: 10, ...extra });

  before(async () => {
    ollama = await startOllamaDouble({ models: ['llama3.2'] });
    t = await startTestPlatform({ PLINTH_PORT: '0', OLLAMA_URL: ollama.url, EMBEDDINGS_PROVIDER: 'hashing', GATEWAY_REQUESTS_PER_MINUTE: '3' });
    server = await startServer(t.platform, { handleSignals: false, closePlatform: false });
    url = `${server.url}/mcp`;
    tenantId = (await t.platform.auth.getTenant('default')).id;
  });
  after(async () => {
    await server?.close();
    await t?.close();
    await ollama?.close();
  });

  it('lists llm_chat and llm_models to llm:invoke keys only, with schemas and hints', async () => {
    const invoker = await key('invoker', ['llm:invoke']);
    const c = await connectV2(url, invoker.key);
    try {
      const { tools } = await c.client.listTools();
      const chat = tools.find((x) => x.name === 'llm_chat');
      assert.ok(chat, tools.map((x) => x.name).join(','));
      assert.ok(tools.some((x) => x.name === 'llm_models'));
      assert.equal(chat.annotations?.readOnlyHint, false);
      assert.equal(chat.annotations?.openWorldHint, true);
      assert.ok((chat.inputSchema.required ?? []).includes('messages'));
      assert.equal(chat.outputSchema?.type, 'object');
    } finally {
      await c.close();
    }
    const reader = await key('reader', ['memory:read']);
    const r = await connectV2(url, reader.key);
    try {
      const names = (await r.client.listTools()).tools.map((x) => x.name);
      assert.ok(!names.includes('llm_chat') && !names.includes('llm_models'), names.join(','));
    } finally {
      await r.close();
    }
  });

  it('chats through the gateway: usage recorded, repeat answered from the cache, limits enforced', async () => {
    const k = await key('chatter', ['llm:invoke']);
    const c = await connectV2(url, k.key);
    try {
      const models = ok<{ models: Array<{ id: string; owned_by: string }> }>((await c.client.callTool({ name: 'llm_models', arguments: {} })) as ToolResult);
      assert.ok(models.models.some((m) => m.id === 'llama3.2' && m.owned_by === 'ollama'));

      const first = ok<ChatOut>((await c.client.callTool({ name: 'llm_chat', arguments: hello({ temperature: 0 }) })) as ToolResult);
      assert.equal(first.content, 'Echo: hello world');
      assert.equal(first.finish_reason, 'stop');
      assert.deepEqual(first.usage, { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
      assert.equal(first.cache, 'miss');
      assert.equal(first.rate_limits['limit-requests'], '3');
      assert.equal(first.rate_limits['remaining-requests'], '2');

      const sent = ollama.requestsTo('/api/chat').length;
      const second = ok<ChatOut>((await c.client.callTool({ name: 'llm_chat', arguments: hello({ temperature: 0 }) })) as ToolResult);
      assert.equal(second.cache, 'exact');
      assert.equal(second.content, first.content);
      assert.equal(ollama.requestsTo('/api/chat').length, sent, 'a cache hit sends nothing upstream');

      ok<ChatOut>((await c.client.callTool({ name: 'llm_chat', arguments: hello() })) as ToolResult);
      const limited = failure((await c.client.callTool({ name: 'llm_chat', arguments: hello() })) as ToolResult);
      assert.equal(limited.code, 'PLINTH_RATE_LIMITED');
      assert.equal(limited.limit, 'key_per_minute');
      assert.ok((limited.retry_after_s ?? 0) >= 1);

      await t.platform.gateway.flush();
      const rows = await t.platform.gateway.usage(tenantId, { key_prefix: k.prefix, group_by: ['key'] });
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.requests, 3, 'three calls served, the refused one not recorded');
      assert.equal(rows[0]?.cache_hits, 1);
      assert.equal(await t.platform.gateway.reservedTokens(k.id), 0);
    } finally {
      await c.close();
    }
  });

  it('refuses over a tenant daily budget and on bad input, as isError results with the code', async () => {
    const other = await t.platform.auth.createTenant('mcp-budget', { actor: 'test' });
    const k = await t.platform.auth.createKey(other.id, { name: 'b', scopes: ['llm:invoke'] }, { actor: 'test' });
    // Each call reserves ceil(11 / 4) = 3 prompt tokens + max_tokens 10 = 13 and really uses 5.
    await t.platform.gateway.limits.set(other.id, { tenant_tokens_per_day: 15 }, { actor: 'test' });
    const c = await connectV1(url, k.key);
    try {
      const first = (await c.client.callTool({ name: 'llm_chat', arguments: hello() })) as ToolResult;
      assert.equal(ok<ChatOut>(first).rate_limits['remaining-tokens-day'], '2');
      const refused = failure((await c.client.callTool({ name: 'llm_chat', arguments: hello() })) as ToolResult);
      assert.equal(refused.code, 'PLINTH_BUDGET_EXCEEDED');
      assert.equal(refused.limit, 'tenant_tokens_per_day');
      const unknown = failure((await c.client.callTool({ name: 'llm_chat', arguments: hello({ model: 'nope' }) })) as ToolResult);
      assert.equal(unknown.code, 'PLINTH_MODEL_NOT_FOUND');
      const bad = (await c.client.callTool({ name: 'llm_chat', arguments: { model: 'llama3.2', messages: [] } }).catch((err: unknown) => ({ isError: true, thrown: err }))) as ToolResult;
      assert.equal(bad.isError, true, 'an empty conversation is refused');
    } finally {
      await c.close();
    }
    await t.platform.gateway.flush();
    const rows = await t.platform.gateway.usage(other.id, {});
    assert.deepEqual(rows.map((r) => r.requests), [1]);
  });
});
