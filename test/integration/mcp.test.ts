// Agent memory over MCP (Streamable HTTP and stdio) on the adapter chosen by the environment, with
// the official clients of the current SDK major (v2) and the previous one (v1), the MCP Inspector
// CLI, API keys and OAuth JWTs from a local issuer.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { TOOLS } from '../../src/mcp/server.js';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { connectV1, connectV2, startTestIssuer, type TestIssuer } from '../helpers/mcp.js';

const MEMORY_TOOLS = ['document_ingest', 'memory_add', 'memory_delete', 'memory_get', 'memory_history', 'memory_search', 'memory_update', 'search'];
const AUDIENCE = 'https://plinth.test';
const ALLOWED_ORIGIN = 'https://agent.example.com';

interface M {
  id: string;
  text: string;
  version: number;
  deduplicated?: boolean;
  user_id: string | null;
  tags: string[];
}
interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
}

function structured<T>(r: ToolResult): T {
  assert.notEqual(r.isError, true, JSON.stringify(r.content));
  assert.ok(r.structuredContent, 'structured content');
  // Text content carries the same JSON for clients that ignore output schemas.
  assert.deepEqual(JSON.parse(r.content[0]?.text ?? ''), r.structuredContent);
  return r.structuredContent as T;
}

function errorCode(r: ToolResult): string {
  assert.equal(r.isError, true, JSON.stringify(r));
  const meta = r._meta?.['plinth/error'] as { code: string } | undefined;
  assert.ok(meta, 'error _meta');
  assert.ok(r.content[0]?.text?.startsWith(`${meta.code}: `), r.content[0]?.text);
  assert.ok(!/\bat .+:\d+:\d+/.test(r.content[0]?.text ?? ''), 'no stack trace');
  return meta.code;
}

describe(`MCP server (${ADAPTER})`, () => {
  let t: TestPlatform;
  let server: RunningServer;
  let issuer: TestIssuer;
  let url: string;
  let writer: string;
  let reader: string;
  let otherTenant: string;

  before(async () => {
    issuer = await startTestIssuer();
    t = await startTestPlatform({
      PLINTH_PORT: '0',
      OAUTH_ISSUER: issuer.issuer,
      OAUTH_JWKS_URL: issuer.jwksUrl,
      OAUTH_AUDIENCE: AUDIENCE,
      MCP_ALLOWED_ORIGINS: ALLOWED_ORIGIN,
    });
    server = await startServer(t.platform, { handleSignals: false, closePlatform: false });
    url = `${server.url}/mcp`;
    const { auth } = t.platform;
    const tenant = await auth.getTenant('default');
    writer = (await auth.createKey(tenant.id, { name: 'writer', scopes: ['memory:read', 'memory:write'] }, { actor: 'test' })).key;
    reader = (await auth.createKey(tenant.id, { name: 'reader', scopes: ['memory:read'] }, { actor: 'test' })).key;
    const other = await auth.createTenant('other', { actor: 'test' });
    otherTenant = (await auth.createKey(other.id, { name: 'o', scopes: ['memory:read', 'memory:write'] }, { actor: 'test' })).key;
  });
  after(async () => {
    await server?.close();
    await t?.close();
    await issuer?.close();
  });

  it('lists the memory tools with input and output schemas and behaviour hints (v2 client, 2026-07-28)', async () => {
    const c = await connectV2(url, writer, { mode: 'auto' });
    try {
      assert.equal(c.protocolVersion, '2026-07-28');
      assert.equal(c.era, 'modern');
      const { tools } = await c.client.listTools();
      assert.deepEqual(tools.map((x) => x.name).sort(), MEMORY_TOOLS);
      for (const tool of tools) {
        assert.equal(tool.inputSchema.type, 'object', tool.name);
        assert.ok(tool.outputSchema, `${tool.name} has an output schema`);
        assert.equal(tool.annotations?.openWorldHint, false, tool.name);
        assert.equal(typeof tool.annotations?.readOnlyHint, 'boolean', tool.name);
        assert.equal(typeof tool.annotations?.destructiveHint, 'boolean', tool.name);
        assert.equal(typeof tool.annotations?.idempotentHint, 'boolean', tool.name);
      }
      const byName = new Map(tools.map((x) => [x.name, x]));
      assert.equal(byName.get('memory_search')?.annotations?.readOnlyHint, true);
      assert.equal(byName.get('memory_delete')?.annotations?.destructiveHint, true);
      assert.equal(byName.get('memory_add')?.annotations?.readOnlyHint, false);
      const addProps = byName.get('memory_add')?.inputSchema.properties ?? {};
      for (const field of ['text', 'user_id', 'metadata', 'tags', 'idempotency_key', 'memories']) assert.ok(field in addProps, `memory_add takes ${field}`);
      assert.deepEqual(byName.get('memory_get')?.inputSchema.required, ['id']);
    } finally {
      await c.close();
    }
  });

  it('adds, searches, gets, updates, shows history and deletes through tools; reads the resource and the prompt (v2 client, 2026-07-28)', async () => {
    const c = await connectV2(url, writer, { mode: 'auto' });
    try {
      const call = (name: string, args: Record<string, unknown>) => c.client.callTool({ name, arguments: args }) as Promise<ToolResult>;
      const added = structured<{ memories: M[] }>(await call('memory_add', { text: 'Dana prefers oat milk in her coffee.', user_id: 'dana', tags: ['prefs'] }));
      const m = added.memories[0]!;
      assert.equal(m.deduplicated, false);
      assert.equal(m.version, 1);
      const again = structured<{ memories: M[] }>(await call('memory_add', { text: 'Dana prefers oat milk in her coffee.', user_id: 'dana' }));
      assert.equal(again.memories[0]?.id, m.id);
      assert.equal(again.memories[0]?.deduplicated, true);
      const batch = structured<{ memories: M[] }>(
        await call('memory_add', { memories: [{ text: 'The staging cluster runs in eu-west-1.', user_id: 'dana' }, { text: 'Deploys freeze on Fridays.', user_id: 'dana' }] }),
      );
      assert.equal(batch.memories.length, 2);

      const found = structured<{ results: Array<M & { score: number }>; embedding: { model: string } }>(
        await call('memory_search', { query: 'what milk does Dana like in coffee', user_id: 'dana', k: 3 }),
      );
      assert.equal(found.results[0]?.id, m.id);
      assert.equal(found.embedding.model, t.platform.embedder.model);

      assert.equal(structured<M>(await call('memory_get', { id: m.id })).text, 'Dana prefers oat milk in her coffee.');
      const updated = structured<M>(await call('memory_update', { id: m.id, text: 'Dana prefers soy milk in her coffee.', expected_version: 1 }));
      assert.equal(updated.version, 2);
      assert.equal(errorCode(await call('memory_update', { id: m.id, tags: ['x'], expected_version: 1 })), 'PLINTH_CONFLICT');
      assert.equal(errorCode(await call('memory_update', { id: m.id })), 'PLINTH_VALIDATION_FAILED');
      const history = structured<{ versions: Array<{ version: number; text: string; change: string }> }>(await call('memory_history', { id: m.id }));
      assert.deepEqual(history.versions.map((v) => [v.version, v.change]), [
        [1, 'created'],
        [2, 'updated'],
      ]);

      const resource = await c.client.readResource({ uri: `plinth://memories/${m.id}` });
      const content = resource.contents[0] as { uri: string; mimeType?: string; text?: string };
      assert.equal(content.mimeType, 'application/json');
      assert.equal((JSON.parse(content.text ?? '{}') as M).text, 'Dana prefers soy milk in her coffee.');
      const { resources } = await c.client.listResources();
      assert.ok(resources.some((r) => r.uri === `plinth://memories/${m.id}`));
      const { resourceTemplates } = await c.client.listResourceTemplates();
      assert.deepEqual(resourceTemplates.map((r) => r.uriTemplate).sort(), ['plinth://documents/{id}', 'plinth://memories/{id}']);

      const ingested = structured<{ document: { id: string; chunk_count: number }; status: string }>(
        await call('document_ingest', { name: 'coffee.md', content: '# Coffee\n\n## Milk\n\nThe office stocks oat, soy and dairy milk for coffee.', user_id: 'dana' }),
      );
      assert.equal(ingested.status, 'created');
      assert.ok(ingested.document.chunk_count >= 1);
      const mixed = structured<{ results: Array<{ type: string; document?: { name: string } }> }>(await call('search', { query: 'which milk for coffee', user_id: 'dana', k: 5 }));
      assert.ok(mixed.results.some((r) => r.type === 'memory'));
      assert.ok(mixed.results.some((r) => r.type === 'chunk' && r.document?.name === 'coffee.md'));
      assert.equal(errorCode(await call('document_ingest', { name: 'photo.png', content: 'x' })), 'PLINTH_UNSUPPORTED_DOCUMENT_TYPE');
      const docResource = await c.client.readResource({ uri: `plinth://documents/${ingested.document.id}` });
      assert.match((docResource.contents[0] as { text?: string }).text ?? '', /oat, soy and dairy/);

      const { prompts } = await c.client.listPrompts();
      assert.deepEqual(prompts.map((p) => p.name), ['recall_context']);
      const prompt = await c.client.getPrompt({ name: 'recall_context', arguments: { task: 'make Dana a coffee', user_id: 'dana' } });
      const first = prompt.messages[0]?.content as { type: string; text: string };
      assert.equal(first.type, 'text');
      assert.match(first.text, /soy milk/);
      assert.match(first.text, new RegExp(`plinth://memories/${m.id}`));

      assert.deepEqual(structured(await call('memory_delete', { id: m.id })), { id: m.id, deleted: true });
      assert.equal(errorCode(await call('memory_get', { id: m.id })), 'PLINTH_NOT_FOUND');
      assert.equal(errorCode(await call('memory_delete', { id: m.id })), 'PLINTH_NOT_FOUND');
      await assert.rejects(c.client.readResource({ uri: `plinth://memories/${m.id}` }));
      const audit = await t.platform.auth.listAudit((await t.platform.auth.getTenant('default')).id, { limit: 500 });
      assert.ok(audit.some((e) => e.action === 'memory.deleted' && e.target === m.id && e.actor.startsWith('key:') && e.request_id));
    } finally {
      await c.close();
    }
  });

  it('rejects bad arguments with a readable error, not a crash', async () => {
    const c = await connectV2(url, writer, { mode: 'auto' });
    try {
      const bad = (await c.client.callTool({ name: 'memory_get', arguments: { id: 'not-a-uuid' } })) as ToolResult;
      assert.equal(bad.isError, true);
      assert.match(bad.content[0]?.text ?? '', /id/);
      const both = (await c.client.callTool({ name: 'memory_add', arguments: { text: 'a', memories: [{ text: 'b' }] } })) as ToolResult;
      assert.equal(errorCode(both), 'PLINTH_VALIDATION_FAILED');
      const neither = (await c.client.callTool({ name: 'memory_add', arguments: { user_id: 'x' } })) as ToolResult;
      assert.equal(errorCode(neither), 'PLINTH_VALIDATION_FAILED');
      await assert.rejects(c.client.callTool({ name: 'no_such_tool', arguments: {} }));
    } finally {
      await c.close();
    }
  });

  it('serves 2025-era clients statelessly: v2 legacy handshake (2025-11-25), an older client (2025-06-18) and the v1 SDK', async () => {
    const legacy = await connectV2(url, writer);
    try {
      assert.equal(legacy.protocolVersion, '2025-11-25');
      assert.equal(legacy.era, 'legacy');
      const r = structured<{ memories: M[] }>((await legacy.client.callTool({ name: 'memory_add', arguments: { text: 'Legacy clients still work.' } })) as ToolResult);
      assert.equal(r.memories.length, 1);
    } finally {
      await legacy.close();
    }

    const older = await connectV2(url, writer, { versions: ['2025-06-18'] });
    try {
      assert.equal(older.protocolVersion, '2025-06-18');
      assert.deepEqual((await older.client.listTools()).tools.map((x) => x.name).sort(), MEMORY_TOOLS);
    } finally {
      await older.close();
    }

    const v1 = await connectV1(url, writer);
    try {
      assert.equal(v1.protocolVersion, '2025-11-25');
      const { tools } = await v1.client.listTools();
      assert.deepEqual(tools.map((x) => x.name).sort(), MEMORY_TOOLS);
      assert.equal(tools.find((x) => x.name === 'memory_delete')?.annotations?.destructiveHint, true);
      const added = structured<{ memories: M[] }>((await v1.client.callTool({ name: 'memory_add', arguments: { text: 'The v1 SDK can store memories.', tags: ['v1'] } })) as ToolResult);
      const id = added.memories[0]!.id;
      const hits = structured<{ results: M[] }>((await v1.client.callTool({ name: 'memory_search', arguments: { query: 'v1 SDK store memories', k: 1 } })) as ToolResult);
      assert.equal(hits.results[0]?.id, id);
      const res = await v1.client.readResource({ uri: `plinth://memories/${id}` });
      assert.match(String((res.contents[0] as { text?: string }).text), /v1 SDK/);
      const prompt = await v1.client.getPrompt({ name: 'recall_context', arguments: { task: 'use the v1 SDK' } });
      assert.match(JSON.stringify(prompt.messages), /v1 SDK can store/);
    } finally {
      await v1.close();
    }
  });

  it('enforces scopes per tool: a read-only key cannot write', async () => {
    const c = await connectV2(url, reader, { mode: 'auto' });
    try {
      const r = (await c.client.callTool({ name: 'memory_add', arguments: { text: 'quokkaberry should not be stored' } })) as ToolResult;
      assert.equal(errorCode(r), 'PLINTH_FORBIDDEN');
      assert.equal((r._meta?.['plinth/error'] as { status: number }).status, 403);
      assert.equal(structured<{ results: M[] }>((await c.client.callTool({ name: 'memory_search', arguments: { query: 'quokkaberry', mode: 'fulltext' } })) as ToolResult).results.length, 0);
    } finally {
      await c.close();
    }
  });

  it('isolates tenants', async () => {
    const mine = await connectV2(url, writer, { mode: 'auto' });
    const theirs = await connectV2(url, otherTenant, { mode: 'auto' });
    try {
      const id = structured<{ memories: M[] }>((await mine.client.callTool({ name: 'memory_add', arguments: { text: 'tenant default secret plan' } })) as ToolResult).memories[0]!.id;
      assert.equal(errorCode((await theirs.client.callTool({ name: 'memory_get', arguments: { id } })) as ToolResult), 'PLINTH_NOT_FOUND');
      assert.equal(errorCode((await theirs.client.callTool({ name: 'memory_delete', arguments: { id } })) as ToolResult), 'PLINTH_NOT_FOUND');
      const found = structured<{ results: M[] }>((await theirs.client.callTool({ name: 'memory_search', arguments: { query: 'tenant default secret plan' } })) as ToolResult);
      assert.equal(found.results.length, 0);
      await assert.rejects(theirs.client.readResource({ uri: `plinth://memories/${id}` }));
      assert.ok(!(await theirs.client.listResources()).resources.some((r) => r.uri.endsWith(id)));
    } finally {
      await mine.close();
      await theirs.close();
    }
  });

  it('answers 401 with a pointer to the protected-resource metadata, and serves that document', async () => {
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const missing = await fetch(url, { method: 'POST', headers, body: JSON.stringify(init) });
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('www-authenticate'), `Bearer resource_metadata="${server.url}/.well-known/oauth-protected-resource"`);
    assert.equal(missing.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(((await missing.json()) as { code: string }).code, 'PLINTH_UNAUTHENTICATED');
    const invalid = await fetch(url, { method: 'POST', headers: { ...headers, authorization: 'Bearer plk_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' }, body: JSON.stringify(init) });
    assert.equal(invalid.status, 401);
    assert.match(invalid.headers.get('www-authenticate') ?? '', /resource_metadata=".*", error="invalid_token"/);

    const meta = await fetch(`${server.url}/.well-known/oauth-protected-resource`);
    assert.equal(meta.status, 200);
    const doc = (await meta.json()) as Record<string, unknown>;
    assert.equal(doc.resource, server.url);
    assert.deepEqual(doc.authorization_servers, [issuer.issuer]);
    assert.deepEqual(doc.bearer_methods_supported, ['header']);
    assert.ok((doc.scopes_supported as string[]).includes('memory:read'));

    // Raw 2025-06-18 initialize: the server answers in the client's revision.
    const ok = await fetch(url, { method: 'POST', headers: { ...headers, authorization: `Bearer ${writer}` }, body: JSON.stringify(init) });
    assert.equal(ok.status, 200);
    const body = await ok.text();
    assert.match(body, /"protocolVersion":"2025-06-18"/);
    assert.equal(ok.headers.get('mcp-session-id'), null, 'stateless: no session id');
  });

  it('answers GET and DELETE with 405 (stateless: no SSE stream, no sessions)', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(url, { method, headers: { authorization: `Bearer ${writer}`, accept: 'text/event-stream' } });
      assert.equal(res.status, 405, method);
    }
  });

  it('rejects browser origins that are not allowed (DNS rebinding)', async () => {
    const list = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    const post = (origin: string) =>
      fetch(url, { method: 'POST', headers: { origin, authorization: `Bearer ${writer}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: list });
    const evil = await post('http://evil.example:7070');
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(((await evil.json()) as { code: string }).code, 'PLINTH_ORIGIN_NOT_ALLOWED');
    assert.equal((await post('null')).status, 403);
    const port = new URL(server.url).port;
    assert.equal((await post(`http://localhost:${Number(port) + 1}`)).status, 403, 'loopback on another port is another origin');
    assert.equal((await post(`http://127.0.0.1:${port}`)).status, 200);
    assert.equal((await post(`http://localhost:${port}`)).status, 200);
    assert.equal((await post(ALLOWED_ORIGIN)).status, 200);
  });

  it('accepts OAuth JWTs from the configured issuer and rejects wrong audience, expired, foreign-signed and unknown-tenant tokens', async () => {
    const good = await issuer.sign({ sub: 'agent-7', aud: AUDIENCE, plinth_tenant: 'default', scope: 'openid memory:read memory:write' });
    const c = await connectV2(url, good, { mode: 'auto' });
    try {
      const r = structured<{ memories: M[] }>((await c.client.callTool({ name: 'memory_add', arguments: { text: 'Stored with an OAuth token.' } })) as ToolResult);
      assert.equal(r.memories.length, 1);
    } finally {
      await c.close();
    }
    const audit = await t.platform.auth.listAudit((await t.platform.auth.getTenant('default')).id, { limit: 500 });
    assert.ok(!audit.some((e) => JSON.stringify(e).includes(good)), 'the token is not recorded');

    const readOnly = await issuer.sign({ sub: 'agent-8', aud: AUDIENCE, plinth_tenant: 'other', scope: 'memory:read' });
    const ro = await connectV2(url, readOnly);
    try {
      assert.equal(errorCode((await ro.client.callTool({ name: 'memory_add', arguments: { text: 'nope' } })) as ToolResult), 'PLINTH_FORBIDDEN');
    } finally {
      await ro.close();
    }

    const rejected = async (token: string) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      return { status: res.status, body: (await res.json()) as { code: string; detail: string } };
    };
    const wrongAudience = await rejected(await issuer.sign({ sub: 'a', aud: 'https://someone-else.example', plinth_tenant: 'default', scope: 'memory:read' }));
    assert.equal(wrongAudience.status, 401);
    assert.match(wrongAudience.body.detail, /aud/);
    const expired = await rejected(await issuer.sign({ sub: 'a', aud: AUDIENCE, plinth_tenant: 'default', exp: Math.floor(Date.now() / 1000) - 3600 }));
    assert.equal(expired.status, 401);
    assert.match(expired.body.detail, /expired/);
    assert.equal((await rejected(await issuer.sign({ sub: 'a', aud: AUDIENCE, plinth_tenant: 'default' }, { key: 'stranger' }))).status, 401);
    assert.equal((await rejected(await issuer.sign({ sub: 'a', aud: AUDIENCE, plinth_tenant: 'nobody' }))).status, 401);
    assert.equal((await rejected(await issuer.sign({ sub: 'a', aud: AUDIENCE }))).status, 401);
    assert.equal((await rejected(await issuer.sign({ sub: 'a', aud: AUDIENCE, plinth_tenant: 'default', iss: 'https://impostor.example' }))).status, 401);
  });

  it('works with the MCP Inspector CLI', async () => {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve('@modelcontextprotocol/inspector/package.json');
    const launcher = path.join(path.dirname(pkg), 'clients/launcher/build/index.js');
    const home = mkdtempSync(path.join(os.tmpdir(), 'plinth-inspector-'));
    const inspect = (args: string[]) =>
      new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          [launcher, '--cli', url, '--transport', 'http', '--header', `Authorization: Bearer ${writer}`, ...args],
          { timeout: 60_000, env: { ...process.env, HOME: home, MCP_CATALOG_PATH: path.join(home, 'mcp.json') } },
          (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
        );
      });
    try {
      const listed = JSON.parse(await inspect(['--method', 'tools/list'])) as { tools: Array<{ name: string }> };
      assert.deepEqual(listed.tools.map((x) => x.name).sort(), MEMORY_TOOLS);
      const called = JSON.parse(await inspect(['--method', 'tools/call', '--tool-name', 'memory_add', '--tool-arg', 'text=Stored by the MCP Inspector.'])) as ToolResult;
      assert.equal((called.structuredContent as { memories: M[] }).memories[0]?.text, 'Stored by the MCP Inspector.');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('MCP server over stdio', () => {
  it('serves a client on stdin/stdout with logs on stderr only', async () => {
    const helper = fileURLToPath(new URL('../helpers/mcp-stdio-server.ts', import.meta.url));
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('PLINTH_') && k !== 'DATABASE_URL') env[k] = v;
    if (process.env.PLINTH_TEST_PG_URL) env.PLINTH_TEST_PG_URL = process.env.PLINTH_TEST_PG_URL;
    if (process.env.PLINTH_TEST_PG_ADMIN_URL) env.PLINTH_TEST_PG_ADMIN_URL = process.env.PLINTH_TEST_PG_ADMIN_URL;
    const transport = new StdioClientTransport({ command: process.execPath, args: ['--import', 'tsx', helper], env, stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const client = new Client({ name: 'plinth-test-stdio', version: '1.0.0' });
    const errors: Error[] = [];
    client.onerror = (err) => errors.push(err);
    await client.connect(transport);
    try {
      assert.equal(client.getNegotiatedProtocolVersion(), '2025-11-25');
      // The bootstrap admin key may run every domain's tools; the LLM tools need an upstream, and there is none.
      const offered = TOOLS.map((x) => x.name).filter((name) => !name.startsWith('llm_')).sort();
      assert.deepEqual((await client.listTools()).tools.map((x) => x.name).sort(), offered);
      assert.ok(MEMORY_TOOLS.every((name) => offered.includes(name)));
      const r = (await client.callTool({ name: 'memory_add', arguments: { text: 'Remembered over stdio.' } })) as ToolResult;
      assert.equal((structured<{ memories: M[] }>(r)).memories[0]?.text, 'Remembered over stdio.');
    } finally {
      await client.close();
    }
    assert.deepEqual(errors, [], 'nothing but protocol messages on stdout');
    assert.match(stderr, /serving MCP on stdio/);
  });
});
