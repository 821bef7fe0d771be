// The authorization matrix: every HTTP route the running server has and every MCP tool, tried with
// no credentials, bad keys, a key for each single scope, and an admin key of another tenant. What
// each route needs is written once in ROUTE_RULES below; a route missing from that table fails the
// test, so every new route must be classified. Cross-tenant reads, writes and deletes of every
// resource kind answer 404 and never show the other tenant's data. Finally the captured logs are
// scanned for every key and secret the run used.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { SCOPES, hasScope, type Scope } from '../../src/auth/index.js';
import { buildApp } from '../../src/http/app.js';
import { TOOLS } from '../../src/mcp/server.js';
import { DOCUMENT_TOOLS } from '../../src/mcp/documents.js';
import { MEMORY_TOOLS } from '../../src/mcp/memory.js';
import { startOllamaDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

/**
 * What a route needs. A scope: a key carrying it (or `admin`). `any-key`: any valid key.
 * `root-admin`: an admin key of the root tenant. `open`: nothing (liveness, readiness and the
 * OAuth discovery document MCP clients must read before they hold a token). `signature`: no API
 * key; authenticated by an HMAC signature (MLflow webhooks).
 */
type Rule = Scope | 'any-key' | 'root-admin' | 'open' | 'signature';

const ROUTE_RULES: Record<string, Rule> = {
  'GET /livez': 'open',
  'GET /readyz': 'open',
  'GET /.well-known/oauth-protected-resource': 'open',
  'POST /v1/registry/webhooks/mlflow': 'signature',
  'GET /openapi.json': 'any-key',
  'GET /docs': 'any-key',
  'GET /docs/': 'any-key',
  'GET /docs/static/index.html': 'any-key',
  'GET /docs/static/swagger-initializer.js': 'any-key',
  'GET /docs/*': 'any-key',
  'GET /docs/json': 'any-key',
  'GET /docs/yaml': 'any-key',
  'GET /metrics': 'admin',
  'POST /mcp': 'any-key',
  'GET /mcp': 'any-key',
  'DELETE /mcp': 'any-key',
  'GET /v1/whoami': 'any-key',
  'POST /v1/tenants': 'root-admin',
  'GET /v1/tenants': 'root-admin',
  'GET /v1/admin/tenants/:id/limits': 'root-admin',
  'PUT /v1/admin/tenants/:id/limits': 'root-admin',
  'POST /v1/keys': 'admin',
  'GET /v1/keys': 'admin',
  'DELETE /v1/keys/:id': 'admin',
  'GET /v1/audit': 'admin',
  'POST /v1/memories': 'memory:write',
  'GET /v1/memories': 'memory:read',
  'POST /v1/memories/search': 'memory:read',
  'GET /v1/memories/:id': 'memory:read',
  'PATCH /v1/memories/:id': 'memory:write',
  'DELETE /v1/memories/:id': 'memory:write',
  'GET /v1/memories/:id/history': 'memory:read',
  'POST /v1/export': 'memory:read',
  'POST /v1/erase': 'memory:write',
  'POST /v1/documents': 'memory:write',
  'GET /v1/documents': 'memory:read',
  'GET /v1/documents/:id': 'memory:read',
  'DELETE /v1/documents/:id': 'memory:write',
  'POST /v1/search': 'memory:read',
  'GET /v1/registry/models': 'models:read',
  'POST /v1/registry/models': 'models:write',
  'GET /v1/registry/models/:name': 'models:read',
  'PATCH /v1/registry/models/:name': 'models:write',
  'DELETE /v1/registry/models/:name': 'models:write',
  'PUT /v1/registry/models/:name/tags/:key': 'models:write',
  'DELETE /v1/registry/models/:name/tags/:key': 'models:write',
  'GET /v1/registry/models/:name/versions': 'models:read',
  'POST /v1/registry/models/:name/versions': 'models:write',
  'GET /v1/registry/models/:name/versions/:version': 'models:read',
  'PATCH /v1/registry/models/:name/versions/:version': 'models:write',
  'DELETE /v1/registry/models/:name/versions/:version': 'models:write',
  'GET /v1/registry/models/:name/versions/:version/download-uri': 'models:read',
  'PUT /v1/registry/models/:name/versions/:version/tags/:key': 'models:write',
  'DELETE /v1/registry/models/:name/versions/:version/tags/:key': 'models:write',
  'GET /v1/registry/models/:name/aliases/:alias': 'models:read',
  'PUT /v1/registry/models/:name/aliases/:alias': 'models:write',
  'DELETE /v1/registry/models/:name/aliases/:alias': 'models:write',
  'POST /v1/cache/invalidate': 'llm:invoke',
  'POST /v1/chat/completions': 'llm:invoke',
  'GET /v1/usage': 'llm:invoke',
  'GET /v1/gateway/limits': 'admin',
  'PUT /v1/gateway/limits': 'admin',
  'GET /v1/models': 'llm:invoke',
  'GET /v1/models/:model': 'llm:invoke',
  'POST /v1/embeddings': 'llm:invoke',
  'POST /v1/drift/checks': 'drift:run',
  'GET /v1/drift/checks/:id': 'drift:run',
  'GET /v1/drift/checks/:id/report': 'drift:run',
  'POST /v1/drift/profiles': 'drift:run',
  'GET /v1/drift/profiles/:id': 'drift:run',
  'POST /v1/drift/inference-log': 'drift:run',
  'POST /v1/monitors': 'drift:run',
  'GET /v1/monitors': 'drift:run',
  'GET /v1/monitors/:monitor': 'drift:run',
  'PATCH /v1/monitors/:monitor': 'drift:run',
  'DELETE /v1/monitors/:monitor': 'drift:run',
  'GET /v1/monitors/:monitor/checks': 'drift:run',
  'POST /v1/workflows/retrain': 'workflows:run',
  'GET /v1/workflows': 'admin',
  'GET /v1/workflows/:id': 'workflows:run',
  'POST /v1/workflows/:id/cancel': 'admin',
  'POST /v1/workflows/:id/resume': 'admin',
};

/** 503s a route may answer when allowed, because this server runs without that backend (none here). */
const SERVER_ERRORS_ALLOWED = new Set<string>();

interface Route {
  method: string;
  path: string;
}

/** Every route of the app, read from Fastify's route tree (hidden routes included, HEAD left out). */
function routesOf(app: FastifyInstance): Route[] {
  const tree = app.printRoutes({ commonPrefix: false });
  const stack: string[] = [];
  const routes: Route[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    const path = stack.join('');
    for (const method of (m[3] ?? '').split(', ').filter(Boolean)) {
      if (method !== 'HEAD') routes.push({ method, path });
    }
  }
  return routes;
}

const PARAM_VALUES: Record<string, string> = {
  id: '00000000-0000-4000-8000-000000000001',
  name: 'authz-model',
  version: '1',
  key: 'k',
  alias: 'champion',
  monitor: '00000000-0000-4000-8000-000000000002',
  model: 'llama3.2',
};

function concrete(path: string): string {
  return path.replace(/:([a-z]+)/g, (_, p: string) => PARAM_VALUES[p] ?? 'x').replace(/\*$/, 'x');
}

function satisfies(rule: Rule, scopes: readonly string[], isRoot: boolean): boolean {
  if (rule === 'open' || rule === 'signature' || rule === 'any-key') return true;
  if (rule === 'root-admin') return isRoot && hasScope(scopes, 'admin');
  return hasScope(scopes, rule);
}

/** The error code of an answer: problem+json carries it at the top, OpenAI-compatible routes under `error`. */
function codeOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { code?: string; error?: { code?: string } };
    return parsed.code ?? parsed.error?.code;
  } catch {
    return undefined;
  }
}

/** Bodies that get past validation, so that handler-level checks (root tenant) are reached. */
const BODIES: Record<string, unknown> = {
  'POST /v1/tenants': { name: 'authz-made' },
};

/** Tool arguments the schema-derived sample cannot express (cross-field rules). */
const TOOL_ARGS: Record<string, Record<string, unknown>> = {
  document_ingest: { name: 'authz.md', content: 'Authorization matrix sample.' },
};

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** The JSON-RPC message in an MCP HTTP answer (plain JSON or one SSE `data:` line). */
function rpcOf(body: string): { result?: Record<string, unknown>; error?: { code: number; message: string } } {
  const data = body.split('\n').find((l) => l.startsWith('data: '));
  return JSON.parse(data ? data.slice(6) : body) as { result?: Record<string, unknown>; error?: { code: number; message: string } };
}

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minItems?: number;
  items?: JsonSchema;
  format?: string;
  pattern?: string;
  minimum?: number;
  default?: unknown;
}

/** The smallest value a JSON schema accepts, good enough to get past input validation. */
function sample(schema: JsonSchema | undefined, name = ''): unknown {
  if (!schema) return 'x';
  if (schema.enum) return schema.enum[0];
  const alt = schema.anyOf ?? schema.oneOf;
  if (alt) return sample(alt[0], name);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const key of schema.required ?? []) out[key] = sample(schema.properties?.[key], key);
      return out;
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => sample(schema.items, name));
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    default:
      if (schema.format === 'uuid') return randomUUID();
      if (schema.format === 'uri' || name.endsWith('url')) return 'http://127.0.0.1:9/x';
      return 'authz-sample';
  }
}

describe('authorization matrix', { timeout: 240_000 }, () => {
  let ollama: LlmDouble;
  let t: TestPlatform;
  let app: FastifyInstance;
  let sourceCounter = 0;
  /** Each request from its own address, so bad keys here never trip the per-source brute-force limit. */
  const nextSource = () => {
    sourceCounter += 1;
    return `10.${(sourceCounter >> 16) & 255}.${(sourceCounter >> 8) & 255}.${sourceCounter & 255}`;
  };
  const keys = new Map<string, { key: string; scopes: Scope[]; root: boolean }>();
  const secrets: string[] = [];
  let otherAdmin = '';

  async function call(method: string, url: string, key: string | undefined, payload?: unknown) {
    const headers: Record<string, string> = {};
    if (key !== undefined) headers.authorization = `Bearer ${key}`;
    const withBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
    if (withBody) headers['content-type'] = 'application/json';
    return app.inject({
      method: method as 'GET',
      url,
      headers,
      remoteAddress: nextSource(),
      ...(withBody ? { payload: JSON.stringify(payload ?? {}) } : {}),
    });
  }

  async function createKey(tenantKey: string, name: string, scopes: Scope[]): Promise<string> {
    const res = await call('POST', '/v1/keys', tenantKey, { name, scopes });
    assert.equal(res.statusCode, 201, res.body);
    const key = res.json<{ key: string }>().key;
    secrets.push(key);
    return key;
  }

  before(async () => {
    ollama = await startOllamaDouble({ models: ['llama3.2'] });
    t = await startTestPlatform({ OLLAMA_URL: ollama.url, EMBEDDINGS_PROVIDER: 'hashing', MLFLOW_WEBHOOK_SECRET: 'whsec-authz-matrix-0123456789abcdef' });
    secrets.push(t.adminKey, 'whsec-authz-matrix-0123456789abcdef');
    app = await buildApp(t.platform);
    await app.ready();
    keys.set('admin (root)', { key: t.adminKey, scopes: ['admin'], root: true });
    for (const scope of SCOPES) {
      if (scope !== 'admin') keys.set(scope, { key: await createKey(t.adminKey, `only ${scope}`, [scope]), scopes: [scope], root: true });
    }
    const tenant = await call('POST', '/v1/tenants', t.adminKey, { name: 'other' });
    assert.equal(tenant.statusCode, 201, tenant.body);
    const created = await t.platform.auth.createKey(tenant.json<{ id: string }>().id, { name: 'other admin', scopes: ['admin'] }, { actor: 'test' });
    otherAdmin = created.key;
    secrets.push(otherAdmin);
    keys.set('admin (other tenant)', { key: otherAdmin, scopes: ['admin'], root: false });
  });

  after(async () => {
    await app?.close();
    await t?.close();
    await ollama?.close();
  });

  test('every route is classified in the table, and the table lists no route that does not exist', () => {
    const routes = routesOf(app).map((r) => `${r.method} ${r.path}`);
    assert.ok(routes.length > 50, `only ${routes.length} routes found`);
    const unclassified = routes.filter((r) => !(r in ROUTE_RULES));
    assert.deepEqual(unclassified, [], `classify these routes in ROUTE_RULES: ${unclassified.join(', ')}`);
    const stale = Object.keys(ROUTE_RULES).filter((r) => !routes.includes(r));
    assert.deepEqual(stale, [], `ROUTE_RULES lists routes the server does not have: ${stale.join(', ')}`);
    // The OpenAPI document describes no route the tree does not have.
    const doc = app.swagger() as { paths: Record<string, Record<string, unknown>> };
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const op of Object.keys(ops)) {
        const fastifyPath = p.replace(/\{([a-z]+)\}/g, ':$1');
        assert.ok(`${op.toUpperCase()} ${fastifyPath}` in ROUTE_RULES, `OpenAPI ${op} ${p} is not classified`);
      }
    }
  });

  test('only liveness, readiness and the OAuth discovery document answer without credentials', async () => {
    const open = Object.entries(ROUTE_RULES).filter(([, rule]) => rule === 'open').map(([r]) => r);
    assert.deepEqual(open.sort(), ['GET /.well-known/oauth-protected-resource', 'GET /livez', 'GET /readyz']);
    for (const r of open) {
      const [method, path] = r.split(' ') as [string, string];
      const res = await call(method, path, undefined);
      assert.ok(res.statusCode === 200 || (path === '/readyz' && res.statusCode === 503), `${r}: ${res.statusCode}`);
      // Nothing about any tenant is in an open answer.
      assert.doesNotMatch(res.body, /default|other|plk_/, `${r} leaks tenant data: ${res.body.slice(0, 200)}`);
    }
  });

  test('without credentials or with bad keys, every credentialed route answers 401', async () => {
    const bad = [undefined, '', 'nope', 'plk_aaaaaaaaaaaa_' + 'A'.repeat(43), `${t.adminKey.slice(0, -4)}AAAA`, 'Basic Zm9vOmJhcg=='];
    let checked = 0;
    for (const route of routesOf(app)) {
      const rule = ROUTE_RULES[`${route.method} ${route.path}`]!;
      if (rule === 'open') continue;
      for (const key of bad) {
        const res = await call(route.method, concrete(route.path), key);
        checked++;
        if (rule === 'signature') {
          // No API key applies; an unsigned delivery is refused whatever the Authorization header says.
          assert.equal(res.statusCode, 401, `${route.method} ${route.path} unsigned: ${res.statusCode} ${res.body}`);
          assert.equal(codeOf(res.body), 'PLINTH_WEBHOOK_SIGNATURE_INVALID');
          continue;
        }
        assert.equal(res.statusCode, 401, `${route.method} ${route.path} with ${JSON.stringify(key)}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        assert.equal(codeOf(res.body), 'PLINTH_UNAUTHENTICATED', `${route.method} ${route.path}: ${res.body.slice(0, 200)}`);
        assert.match(String(res.headers['www-authenticate']), /^Bearer /);
      }
    }
    assert.ok(checked > 400, `only ${checked} requests`);
  });

  test('each single-scope key reaches exactly the routes its scope allows; the rest answer 403 PLINTH_FORBIDDEN', async () => {
    const failures: string[] = [];
    for (const route of routesOf(app)) {
      const id = `${route.method} ${route.path}`;
      const rule = ROUTE_RULES[id]!;
      if (rule === 'open' || rule === 'signature') continue;
      for (const [label, k] of keys) {
        const res = await call(route.method, concrete(route.path), k.key, BODIES[id]);
        const code = codeOf(res.body);
        const allowed = satisfies(rule, k.scopes, k.root);
        if (res.statusCode >= 500 && !SERVER_ERRORS_ALLOWED.has(code ?? '')) failures.push(`${id} as ${label}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        if (res.statusCode === 401) failures.push(`${id} as ${label}: 401 with a valid key`);
        if (allowed && code === 'PLINTH_FORBIDDEN') failures.push(`${id} as ${label}: refused (${res.body.slice(0, 160)})`);
        if (!allowed) {
          if (res.statusCode !== 403 || code !== 'PLINTH_FORBIDDEN') failures.push(`${id} as ${label}: expected 403 PLINTH_FORBIDDEN, got ${res.statusCode} ${res.body.slice(0, 160)}`);
          else if (rule !== 'root-admin' && rule !== 'any-key') {
            const body = res.json<{ code?: string; required_scope?: string }>();
            // Problem details name the missing scope (OpenAI-compatible error bodies have no room for it).
            if (body.code && body.required_scope !== rule) failures.push(`${id} as ${label}: required_scope ${body.required_scope}, expected ${rule}`);
          }
        }
      }
    }
    assert.deepEqual(failures, []);
  });

  test('every MCP tool: listed and runnable with its scope, refused or unlisted without it', async () => {
    const listed = async (key: string) => {
      const res = await app.inject({ method: 'POST', url: '/mcp', headers: { ...MCP_HEADERS, authorization: `Bearer ${key}` }, payload: { jsonrpc: '2.0', id: 1, method: 'tools/list' } });
      assert.equal(res.statusCode, 200, res.body);
      return (rpcOf(res.body).result as { tools: Array<{ name: string; inputSchema: JsonSchema }> }).tools;
    };
    const all = await listed(t.adminKey);
    const byName = new Map(all.map((tool) => [tool.name, tool]));
    assert.deepEqual(TOOLS.map((tool) => tool.name).filter((n) => !byName.has(n)), [], 'every tool is listed to an admin');
    const alwaysListed = new Set([...MEMORY_TOOLS, ...DOCUMENT_TOOLS].map((tool) => tool.name));
    const failures: string[] = [];
    let calls = 0;
    for (const [label, k] of keys) {
      const names = new Set((await listed(k.key)).map((tool) => tool.name));
      for (const tool of TOOLS) {
        const allowed = hasScope(k.scopes, tool.scope);
        const isListed = names.has(tool.name);
        if (allowed && !isListed) failures.push(`${tool.name} not listed to ${label}`);
        if (!allowed && isListed && !alwaysListed.has(tool.name) && !(tool.scope.startsWith('models:') && k.scopes.some((s) => s.startsWith('models:')))) {
          failures.push(`${tool.name} listed to ${label} without ${tool.scope}`);
        }
        const args = TOOL_ARGS[tool.name] ?? sample(byName.get(tool.name)!.inputSchema);
        const res = await app.inject({
          method: 'POST',
          url: '/mcp',
          headers: { ...MCP_HEADERS, authorization: `Bearer ${k.key}` },
          payload: { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: tool.name, arguments: args } },
        });
        calls++;
        if (res.statusCode >= 500) failures.push(`${tool.name} as ${label}: HTTP ${res.statusCode}`);
        const rpc = rpcOf(res.body);
        const result = rpc.result as { isError?: boolean; _meta?: Record<string, { code?: string }> } | undefined;
        const code = result?._meta?.['plinth/error']?.code;
        if (code === 'PLINTH_INTERNAL') failures.push(`${tool.name} as ${label}: internal error`);
        if (allowed && code === 'PLINTH_FORBIDDEN') failures.push(`${tool.name} as ${label}: refused with its scope`);
        if (!allowed) {
          if (isListed && code !== 'PLINTH_FORBIDDEN') failures.push(`${tool.name} as ${label}: expected PLINTH_FORBIDDEN, got ${res.body.slice(0, 200)}`);
          if (!isListed && !rpc.error && !result?.isError) failures.push(`${tool.name} as ${label}: an unlisted tool ran`);
        }
      }
    }
    assert.ok(calls >= TOOLS.length * SCOPES.length, `only ${calls} calls`);
    assert.deepEqual(failures, []);
  });

  test('another tenant never reads, changes or deletes this tenant’s resources: 404 and no data', async () => {
    const marker = `authz-secret-${randomUUID()}`;
    const admin = t.adminKey;
    const mem = await call('POST', '/v1/memories', admin, { memories: [{ text: `The vault code is ${marker}.`, user_id: 'dana' }] });
    assert.equal(mem.statusCode, 201, mem.body);
    const memoryId = mem.json<{ memories: Array<{ id: string }> }>().memories[0]!.id;
    const doc = await call('POST', '/v1/documents', admin, { name: 'vault.md', content: `# Vault\n\nThe vault code is ${marker}.`, user_id: 'dana' });
    assert.equal(doc.statusCode, 201, doc.body);
    const documentId = doc.json<{ document: { id: string } }>().document.id;
    const model = await call('POST', '/v1/registry/models', admin, { name: 'vault-model', description: marker });
    assert.equal(model.statusCode, 201, model.body);
    const profile = await call('POST', '/v1/drift/profiles', admin, { name: `vault-${marker}`, data: { columns: { x: [1, 2, 3, 4, 5, 6] } } });
    assert.equal(profile.statusCode, 201, profile.body);
    const profileId = profile.json<{ id: string }>().id;
    const check = await call('POST', '/v1/drift/checks', admin, { reference: { columns: { x: [1, 2, 3, 4, 5, 6] } }, current: { columns: { x: [1, 2, 3, 4, 5, 7] } } });
    assert.equal(check.statusCode, 201, check.body);
    const checkId = check.json<{ id: string }>().id;

    const attempts: Array<[string, string, unknown?]> = [
      ['GET', `/v1/memories/${memoryId}`],
      ['GET', `/v1/memories/${memoryId}/history`],
      ['PATCH', `/v1/memories/${memoryId}`, { text: 'overwritten' }],
      ['DELETE', `/v1/memories/${memoryId}`],
      ['GET', `/v1/documents/${documentId}`],
      ['DELETE', `/v1/documents/${documentId}`],
      ['GET', '/v1/registry/models/vault-model'],
      ['PATCH', '/v1/registry/models/vault-model', { description: 'overwritten' }],
      ['GET', '/v1/registry/models/vault-model/versions'],
      ['PUT', '/v1/registry/models/vault-model/tags/owner', { value: 'other' }],
      ['DELETE', '/v1/registry/models/vault-model'],
      ['GET', `/v1/drift/profiles/${profileId}`],
      ['GET', `/v1/drift/checks/${checkId}`],
      ['GET', `/v1/drift/checks/${checkId}/report`],
      ['DELETE', `/v1/keys/${keys.get('memory:read')!.key.slice(0, 16)}`],
    ];
    for (const [method, url, body] of attempts) {
      const res = await call(method, url, otherAdmin, body);
      assert.equal(res.statusCode, 404, `${method} ${url} across tenants: ${res.statusCode} ${res.body.slice(0, 200)}`);
      assert.ok(!res.body.includes(marker), `${method} ${url} leaked the other tenant's data`);
    }
    // Lists, searches and exports of the other tenant hold none of it.
    const lists: Array<[string, string, unknown?]> = [
      ['GET', '/v1/memories?user_id=dana'],
      ['POST', '/v1/memories/search', { query: 'vault code', user_id: 'dana' }],
      ['POST', '/v1/search', { query: 'vault code' }],
      ['GET', '/v1/documents'],
      ['GET', '/v1/registry/models'],
      ['POST', '/v1/export', { user_id: 'dana' }],
      ['GET', '/v1/audit'],
      ['GET', '/v1/keys'],
    ];
    for (const [method, url, body] of lists) {
      const res = await call(method, url, otherAdmin, body);
      assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      assert.ok(!res.body.includes(marker) && !res.body.includes('vault-model') && !res.body.includes(memoryId), `${method} ${url} leaked the other tenant's data`);
    }
    // The other tenant's erase of the same user leaves this tenant's data alone.
    const erase = await call('POST', '/v1/erase', otherAdmin, { user_id: 'dana' });
    assert.ok(erase.statusCode < 300, erase.body);
    // Over MCP too.
    for (const [name, args] of [
      ['memory_get', { id: memoryId }],
      ['memory_update', { id: memoryId, text: 'overwritten' }],
      ['memory_delete', { id: memoryId }],
      ['memory_history', { id: memoryId }],
      ['drift_report', { check_id: checkId }],
      ['model_get', { name: 'vault-model' }],
    ] as const) {
      const res = await app.inject({
        method: 'POST',
        url: '/mcp',
        headers: { ...MCP_HEADERS, authorization: `Bearer ${otherAdmin}` },
        payload: { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name, arguments: args } },
      });
      assert.ok(!res.body.includes(marker), `${name} leaked the other tenant's data`);
      const result = rpcOf(res.body).result as { isError?: boolean; _meta?: Record<string, { status?: number }> };
      assert.equal(result.isError, true, `${name} across tenants succeeded: ${res.body.slice(0, 200)}`);
      assert.equal(result._meta?.['plinth/error']?.status, 404, `${name}: ${res.body.slice(0, 200)}`);
    }
    // Everything is still there, unchanged, for its owner.
    const still = await call('GET', `/v1/memories/${memoryId}`, admin);
    assert.equal(still.statusCode, 200);
    assert.ok(still.body.includes(marker));
    assert.equal((await call('GET', `/v1/documents/${documentId}`, admin)).statusCode, 200);
    const m = await call('GET', '/v1/registry/models/vault-model', admin);
    assert.equal(m.statusCode, 200);
    assert.ok(m.body.includes(marker));
  });

  test('failed authentications are limited per source, answered 429 with Retry-After, and audited', async () => {
    const limit = t.platform.auth.failures.options.maxFailures;
    assert.ok(limit > 0 && limit <= 100);
    const attacker = '192.0.2.66';
    const bystander = '192.0.2.77';
    const otherPrefix = otherAdmin.slice(0, 16);
    const guess = `${otherPrefix}_${'B'.repeat(43)}`; // the right prefix, the wrong secret
    const from = (source: string, key: string, url = '/v1/whoami') =>
      app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` }, remoteAddress: source });
    for (let i = 0; i < limit; i++) {
      const res = await from(attacker, i % 2 ? guess : `plk_${'a'.repeat(12)}_${String(i).padStart(43, 'C')}`);
      assert.equal(res.statusCode, 401, `attempt ${i + 1}: ${res.statusCode}`);
    }
    const blocked = await from(attacker, guess);
    assert.equal(blocked.statusCode, 429, blocked.body);
    assert.equal(codeOf(blocked.body), 'PLINTH_RATE_LIMITED');
    const retryAfter = Number(blocked.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= Math.ceil(t.platform.auth.failures.options.blockMs / 1000), `retry-after ${retryAfter}`);
    // While blocked, even a valid key from that source is refused, on every door, and the key is not checked.
    assert.equal((await from(attacker, t.adminKey)).statusCode, 429);
    const mcp = await app.inject({ method: 'POST', url: '/mcp', headers: { ...MCP_HEADERS, authorization: `Bearer ${t.adminKey}` }, remoteAddress: attacker, payload: { jsonrpc: '2.0', id: 1, method: 'ping' } });
    assert.equal(mcp.statusCode, 429, mcp.body);
    assert.equal((await from(attacker, t.adminKey, '/metrics')).statusCode, 429);
    // Requests without credentials are not attempts: they still get 401, not 429.
    assert.equal((await app.inject({ method: 'GET', url: '/v1/whoami', remoteAddress: attacker })).statusCode, 401);
    // Other sources are unaffected.
    assert.equal((await from(bystander, guess)).statusCode, 401);
    assert.equal((await from(bystander, t.adminKey)).statusCode, 200);
    // Audited: the block in the root tenant, the guesses at a real key in that key's tenant.
    type AuditPage = { entries: Array<{ action: string; target: string | null; details: Record<string, unknown> }> };
    const { entries } = (await call('GET', '/v1/audit?limit=500', t.adminKey)).json<AuditPage>();
    const block = entries.find((e) => e.action === 'auth.source_blocked' && e.target === attacker);
    assert.ok(block, `no auth.source_blocked entry: ${JSON.stringify(entries.slice(-3))}`);
    assert.equal(block.details.failures, limit);
    const otherEntries = (await call('GET', '/v1/audit?limit=500', otherAdmin)).json<AuditPage>().entries;
    const guesses = otherEntries.filter((e) => e.action === 'auth.failed' && e.target === otherPrefix);
    assert.equal(guesses.length, Math.floor(limit / 2) + 1, `auth.failed entries: ${guesses.length}`);
    assert.ok(guesses.every((g) => g.details.reason === 'mismatch' && g.details.source !== undefined));
    // Counted in the metrics.
    const metrics = await t.platform.collectMetrics();
    assert.match(metrics, /plinth_auth_failures_total\{reason="blocked"\} [1-9]/);
    assert.match(metrics, /plinth_auth_failures_total\{reason="mismatch"\} [1-9]/);
    t.platform.auth.failures.reset();
    assert.equal((await from(attacker, t.adminKey)).statusCode, 200);
  });

  test('no key or secret used in the run appears in the logs', () => {
    const logs = t.logs.text();
    assert.ok(t.logs.lines.length > 100, `only ${t.logs.lines.length} log lines captured`);
    for (const secret of secrets) {
      assert.ok(secret.length >= 20);
      assert.ok(!logs.includes(secret), 'a secret value appears in the logs');
      // Nor the secret half of a key on its own.
      const tail = secret.slice(-43);
      assert.ok(!logs.includes(tail), 'the secret part of a key appears in the logs');
    }
  });
});
