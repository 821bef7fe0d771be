// The model registry through its doors on the built-in adapter: HTTP routes and scopes, promotion
// (idempotent, audited with the previous holder), the service calls a retraining workflow makes,
// the MLflow webhook receiver, the MCP tools and the CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { signMlflowWebhook } from '../../src/registry/index.js';
import { connectV2 } from '../helpers/mcp.js';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

const SECRET = 'registry-webhook-test-secret';
const MAIN = path.resolve('src/cli/main.ts');

interface V {
  name: string;
  version: number;
  source: string;
  run_id: string | null;
  tags: Record<string, string>;
  aliases: string[];
  created?: boolean;
}
interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
}

describe(`model registry doors (${ADAPTER})`, () => {
  let t: TestPlatform;
  let app: FastifyInstance;
  let writer: string;
  let reader: string;
  let memoryOnly: string;
  let other: string;
  let tenantId: string;
  const h = (key: string) => ({ authorization: `Bearer ${key}` });

  before(async () => {
    t = await startTestPlatform({ MLFLOW_WEBHOOK_SECRET: SECRET });
    app = await buildApp(t.platform);
    const { auth } = t.platform;
    const tenant = await auth.getTenant('default');
    tenantId = tenant.id;
    writer = (await auth.createKey(tenant.id, { name: 'w', scopes: ['models:read', 'models:write'] }, { actor: 'test' })).key;
    reader = (await auth.createKey(tenant.id, { name: 'r', scopes: ['models:read'] }, { actor: 'test' })).key;
    memoryOnly = (await auth.createKey(tenant.id, { name: 'm', scopes: ['memory:read'] }, { actor: 'test' })).key;
    const o = await auth.createTenant('other', { actor: 'test' });
    other = (await auth.createKey(o.id, { name: 'o', scopes: ['models:read', 'models:write'] }, { actor: 'test' })).key;
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  async function req<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, key: string, payload?: unknown, status = 200): Promise<T> {
    const res = await app.inject({ method, url, headers: h(key), ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
    assert.equal(res.statusCode, status, `${method} ${url}: ${res.body}`);
    return (res.body ? res.json() : undefined) as T;
  }

  it('creates models idempotently and lists them; scopes are enforced', async () => {
    const created = await req<{ name: string; created: boolean }>('POST', '/v1/registry/models', writer, { name: 'churn', description: 'who leaves', tags: { team: 'growth' } }, 201);
    assert.equal(created.created, true);
    const again = await req<{ created: boolean; description: string }>('POST', '/v1/registry/models', writer, { name: 'churn' }, 200);
    assert.equal(again.created, false);
    assert.equal(again.description, 'who leaves');
    const list = await req<{ models: Array<{ name: string; tags: Record<string, string> }>; next_page_token: string | null }>('GET', '/v1/registry/models', reader);
    assert.deepEqual(
      list.models.map((m) => m.name),
      ['churn'],
    );
    assert.deepEqual(list.models[0]!.tags, { team: 'growth' });
    // Writes need models:write, reads models:read.
    const denied = await app.inject({ method: 'POST', url: '/v1/registry/models', headers: h(reader), payload: { name: 'x' } });
    assert.equal(denied.statusCode, 403);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/registry/models', headers: h(memoryOnly) })).statusCode, 403);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/registry/models' })).statusCode, 401);
    // Another tenant sees none of it.
    assert.deepEqual((await req<{ models: unknown[] }>('GET', '/v1/registry/models', other)).models, []);
    const hidden = await app.inject({ method: 'GET', url: '/v1/registry/models/churn', headers: h(other) });
    assert.equal(hidden.statusCode, 404);
    assert.equal(hidden.json<{ code: string }>().code, 'PLINTH_REGISTERED_MODEL_NOT_FOUND');
  });

  it('documents its routes in the OpenAPI description; the webhook needs no API key', async () => {
    const doc = await req<{ paths: Record<string, Record<string, { security?: unknown[] }>> }>('GET', '/openapi.json', t.adminKey);
    for (const p of ['/v1/registry/models', '/v1/registry/models/{name}/versions', '/v1/registry/models/{name}/aliases/{alias}']) assert.ok(doc.paths[p], p);
    assert.deepEqual(doc.paths['/v1/registry/webhooks/mlflow']?.post?.security, []);
  });

  it('rejects bad names, aliases and versions with VALIDATION_FAILED', async () => {
    for (const [method, url, payload] of [
      ['POST', '/v1/registry/models', { name: '../etc' }],
      ['POST', '/v1/registry/models', { name: 'ok', tags: { 'bad key!': 'v' } }],
      ['PUT', '/v1/registry/models/churn/aliases/latest', { version: 1 }],
      ['PUT', '/v1/registry/models/churn/aliases/v2', { version: 1 }],
      ['PUT', '/v1/registry/models/churn/aliases/champion', { version: 0 }],
      ['GET', '/v1/registry/models/churn/versions/abc', undefined],
    ] as const) {
      const res = await app.inject({ method, url, headers: h(writer), ...(payload ? { payload } : {}) });
      assert.equal(res.statusCode, 400, `${method} ${url}: ${res.body}`);
      assert.equal(res.json<{ code: string }>().code, 'PLINTH_VALIDATION_FAILED');
    }
  });

  it('registers versions (creating the model), honours idempotency keys, promotes with an audit trail', async () => {
    const v1 = await req<V>('POST', '/v1/registry/models/fraud/versions', writer, { source: 's3://m/fraud/1', run_id: 'r1', idempotency_key: 'job-1' }, 201);
    assert.equal(v1.version, 1);
    assert.equal(v1.created, true);
    const repeat = await req<V>('POST', '/v1/registry/models/fraud/versions', writer, { source: 's3://m/fraud/1', idempotency_key: 'job-1' }, 200);
    assert.equal(repeat.version, 1);
    assert.equal(repeat.created, false);
    const v2 = await req<V>('POST', '/v1/registry/models/fraud/versions', writer, { source: 's3://m/fraud/2', tags: { auc: '0.91' } }, 201);
    assert.equal(v2.version, 2);

    const missing = await app.inject({ method: 'GET', url: '/v1/registry/models/fraud/aliases/champion', headers: h(reader) });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json<{ code: string }>().code, 'PLINTH_MODEL_ALIAS_NOT_FOUND');

    assert.equal((await app.inject({ method: 'PUT', url: '/v1/registry/models/fraud/aliases/champion', headers: h(reader), payload: { version: 1 } })).statusCode, 403);
    const p1 = await req<{ version: number; previous_version: number | null; changed: boolean }>('PUT', '/v1/registry/models/fraud/aliases/champion', writer, { version: 1 });
    assert.deepEqual(p1, { name: 'fraud', alias: 'champion', version: 1, previous_version: null, changed: true });
    const same = await req<{ changed: boolean }>('PUT', '/v1/registry/models/fraud/aliases/champion', writer, { version: 1 });
    assert.equal(same.changed, false);
    const p2 = await req<{ previous_version: number | null; changed: boolean }>('PUT', '/v1/registry/models/fraud/aliases/champion', writer, { version: 2 });
    assert.equal(p2.previous_version, 1);
    assert.equal(p2.changed, true);
    const champ = await req<V>('GET', '/v1/registry/models/fraud/aliases/champion', reader);
    assert.equal(champ.version, 2);
    assert.deepEqual(champ.aliases, ['champion']);
    const model = await req<{ aliases: Record<string, number> }>('GET', '/v1/registry/models/fraud', reader);
    assert.deepEqual(model.aliases, { champion: 2 });
    const nowhere = await app.inject({ method: 'PUT', url: '/v1/registry/models/fraud/aliases/champion', headers: h(writer), payload: { version: 9 } });
    assert.equal(nowhere.json<{ code: string }>().code, 'PLINTH_MODEL_VERSION_NOT_FOUND');

    // Two promotions were audited (the no-op was not), each with the version it replaced.
    const audit = await t.platform.db.withTenant(tenantId, async (tx) =>
      (await tx.query<{ action: string; target: string; details: Record<string, unknown> }>("SELECT action, target, details FROM audit_log WHERE action = 'model.promoted' ORDER BY id")).rows,
    );
    assert.deepEqual(
      audit.map((a) => [a.target, a.details.version, a.details.previous_version]),
      [
        ['fraud', 1, null],
        ['fraud', 2, 1],
      ],
    );

    const list = await req<{ versions: V[] }>('GET', '/v1/registry/models/fraud/versions?limit=1', reader);
    assert.deepEqual(
      list.versions.map((v) => v.version),
      [2],
    );
    assert.deepEqual(await req('GET', '/v1/registry/models/fraud/versions/1/download-uri', reader), { artifact_uri: 's3://m/fraud/1' });
    const tagged = await req<V>('PUT', '/v1/registry/models/fraud/versions/2/tags/stage', writer, { value: 'prod' });
    assert.equal(tagged.tags.stage, 'prod');
    await req('DELETE', '/v1/registry/models/fraud/aliases/champion', writer, undefined, 204);
    await req('DELETE', '/v1/registry/models/fraud/aliases/champion', writer, undefined, 204);
    await req('DELETE', '/v1/registry/models/fraud/versions/1', writer, undefined, 204);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/registry/models/fraud/versions/1', headers: h(reader) })).statusCode, 404);
  });

  it('serves the calls a retraining workflow makes, idempotently', async () => {
    const { registry } = t.platform;
    const a = await registry.createVersion(tenantId, { name: 'retrained', source: 's3://r/1', run_id: 'run-7', idempotency_key: 'retrain-2026-11-26' });
    const b = await registry.createVersion(tenantId, { name: 'retrained', source: 's3://r/1', run_id: 'run-7', idempotency_key: 'retrain-2026-11-26' });
    assert.equal(a.created, true);
    assert.equal(b.created, false);
    assert.equal(a.version, b.version);
    const first = await registry.promote(tenantId, 'retrained', a.version, { alias: 'champion' }, { actor: 'workflow:retrain' });
    const second = await registry.promote(tenantId, 'retrained', a.version, { alias: 'champion' }, { actor: 'workflow:retrain' });
    assert.equal(first.changed, true);
    assert.equal(second.changed, false);
    assert.equal((await registry.getVersion(tenantId, 'retrained', { alias: 'champion' })).version, a.version);
    await assert.rejects(registry.createVersion(tenantId, { name: 'retrained', source: '' }), { code: 'PLINTH_VALIDATION_FAILED' });
    await assert.rejects(registry.getVersion(tenantId, 'retrained', { alias: 'latest' }), { code: 'PLINTH_VALIDATION_FAILED' });
  });

  describe('MLflow webhook receiver', () => {
    function delivery(body: string, over: { secret?: string; ts?: number; id?: string } = {}) {
      const id = over.id ?? randomUUID();
      const ts = String(over.ts ?? Math.floor(Date.now() / 1000));
      return {
        method: 'POST' as const,
        url: '/v1/registry/webhooks/mlflow',
        headers: {
          'content-type': 'application/json',
          'x-mlflow-delivery-id': id,
          'x-mlflow-timestamp': ts,
          'x-mlflow-signature': signMlflowWebhook(over.secret ?? SECRET, id, ts, body),
        },
        payload: body,
      };
    }
    // Python's json.dumps spacing, as MLflow sends it: the signature covers these exact bytes.
    const body = (name: string) => `{"entity": "model_version_alias", "action": "created", "timestamp": "2026-11-26T17:00:00+00:00", "data": {"name": "${name}", "alias": "champion", "version": "2"}}`;

    it('records a signed delivery once, for the tenant whose namespace the model is in', async () => {
      const d = delivery(body('default.fraud'));
      const first = await app.inject(d);
      assert.equal(first.statusCode, 200, first.body);
      assert.deepEqual(first.json(), { recorded: true });
      const replay = await app.inject(d);
      assert.deepEqual(replay.json(), { recorded: false });
      const events = await t.platform.registry.listEvents(tenantId);
      assert.equal(events.filter((e) => e.deliveryId === d.headers['x-mlflow-delivery-id']).length, 1);
      assert.equal(events[0]!.model, 'fraud');
      assert.equal(events[0]!.version, 2);
      assert.equal(events[0]!.alias, 'champion');
    });

    it('ignores models outside every tenant namespace', async () => {
      for (const name of ['example_model', 'nosuchtenant.m']) {
        const r = await app.inject(delivery(body(name)));
        assert.deepEqual(r.json(), { recorded: false });
      }
    });

    it('refuses bad signatures and stale deliveries with 401', async () => {
      for (const d of [delivery(body('default.fraud'), { secret: 'wrong' }), delivery(body('default.fraud'), { ts: Math.floor(Date.now() / 1000) - 3600 })]) {
        const r = await app.inject(d);
        assert.equal(r.statusCode, 401);
        assert.equal(r.json<{ code: string }>().code, 'PLINTH_WEBHOOK_SIGNATURE_INVALID');
      }
      const tampered = delivery(body('default.fraud'));
      tampered.payload = tampered.payload.replace('"2"', '"1"');
      assert.equal((await app.inject(tampered)).statusCode, 401);
    });
  });

  describe('MCP tools', () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer(t.platform, { handleSignals: false, closePlatform: false });
    });
    after(async () => {
      await server?.close();
    });

    const structured = <T>(r: ToolResult): T => {
      assert.notEqual(r.isError, true, JSON.stringify(r.content));
      return r.structuredContent as T;
    };

    it('lists, gets and promotes; promotion needs models:write; memory-only keys do not see the tools', async () => {
      await t.platform.registry.createVersion(tenantId, { name: 'mcp-model', source: 's3://mcp/1' });
      await t.platform.registry.createVersion(tenantId, { name: 'mcp-model', source: 's3://mcp/2' });
      const w = await connectV2(`${server.url}/mcp`, writer);
      const r = await connectV2(`${server.url}/mcp`, reader);
      const m = await connectV2(`${server.url}/mcp`, memoryOnly);
      try {
        const names = (await w.client.listTools()).tools.map((x) => x.name);
        for (const tool of ['models_list', 'model_get', 'model_promote']) assert.ok(names.includes(tool), tool);
        assert.ok(!(await m.client.listTools()).tools.some((x) => x.name.startsWith('model')));

        const list = structured<{ models: Array<{ name: string }> }>((await r.client.callTool({ name: 'models_list', arguments: { query: 'mcp' } })) as ToolResult);
        assert.deepEqual(
          list.models.map((x) => x.name),
          ['mcp-model'],
        );
        const promoted = structured<{ version: number; changed: boolean }>(
          (await w.client.callTool({ name: 'model_promote', arguments: { name: 'mcp-model', version: 2 } })) as ToolResult,
        );
        assert.equal(promoted.version, 2);
        assert.equal(promoted.changed, true);
        const got = structured<{ version: { version: number; source: string }; download_uri: string; model: { aliases: Record<string, number> } }>(
          (await r.client.callTool({ name: 'model_get', arguments: { name: 'mcp-model', alias: 'champion' } })) as ToolResult,
        );
        assert.equal(got.version.version, 2);
        assert.equal(got.download_uri, 's3://mcp/2');
        assert.deepEqual(got.model.aliases, { champion: 2 });

        const denied = (await r.client.callTool({ name: 'model_promote', arguments: { name: 'mcp-model', version: 1 } })) as ToolResult;
        assert.equal(denied.isError, true);
        assert.equal((denied._meta?.['plinth/error'] as { code: string }).code, 'PLINTH_FORBIDDEN');
        const absent = (await r.client.callTool({ name: 'model_get', arguments: { name: 'mcp-model', version: 99 } })) as ToolResult;
        assert.equal((absent._meta?.['plinth/error'] as { code: string }).code, 'PLINTH_MODEL_VERSION_NOT_FOUND');
      } finally {
        await Promise.all([w.close(), r.close(), m.close()]);
      }
    });
  });

  describe('CLI', () => {
    function plinth(args: string[]) {
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('PLINTH_') && k !== 'DATABASE_URL') env[k] = v;
      const res = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...env, ...t.env.env, LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 60_000 });
      return { code: res.status, stdout: res.stdout, stderr: res.stderr };
    }

    // Each run starts a whole platform in a new process: a few calls cover every command's path.
    it('creates a version, promotes it, resolves the alias and removes it, with --json', () => {
      const created = plinth(['models', 'create', 'cli-model', '--source', 's3://cli/1', '--tag', 'owner=ops', '--idempotency-key', 'k1', '--json']);
      assert.equal(created.code, 0, created.stderr);
      const v = JSON.parse(created.stdout) as { version: number; created: boolean; tags: Record<string, string> };
      assert.equal(v.version, 1);
      assert.equal(v.created, true);
      assert.equal(v.tags.owner, 'ops');
      const promoted = plinth(['models', 'promote', 'cli-model', '1']);
      assert.equal(promoted.code, 0, promoted.stderr);
      assert.match(promoted.stdout, /cli-model@champion -> version 1/);
      const got = JSON.parse(plinth(['models', 'get', 'cli-model', '--alias', 'champion', '--json']).stdout) as { version: number; download_uri: string; aliases: string[] };
      assert.equal(got.version, 1);
      assert.equal(got.download_uri, 's3://cli/1');
      assert.deepEqual(got.aliases, ['champion']);
      assert.equal(plinth(['models', 'alias-delete', 'cli-model', 'champion']).code, 0);
      const gone = plinth(['models', 'get', 'cli-model', '--alias', 'champion']);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /PLINTH_MODEL_ALIAS_NOT_FOUND/);
    });
  });
});
