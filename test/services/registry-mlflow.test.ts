// The registry contract against a real MLflow tracking server (PLINTH_TEST_MLFLOW_URL, started by
// scripts/services.sh), and a real webhook delivery from MLflow to a listening Plinth: an alias
// moved in MLflow behind Plinth's back reaches Plinth's cached view without polling.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { createMlflowRegistry } from '../../src/registry/index.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { registryContract } from '../helpers/registry-contract.js';

const MLFLOW = process.env.PLINTH_TEST_MLFLOW_URL;
if (!MLFLOW) throw new Error('PLINTH_TEST_MLFLOW_URL is unset: start the services with scripts/services.sh start');
const mlflowUrl: string = MLFLOW;

async function mlflow<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${mlflowUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const run = randomBytes(3).toString('hex');
registryContract('mlflow', () =>
  Promise.resolve({
    port: createMlflowRegistry({ trackingUri: mlflowUrl, timeoutMs: 15_000 }),
    // Tenant names are random so runs against the same server never share a namespace.
    tenants: [
      { id: randomUUID(), name: `ta${run}` },
      { id: randomUUID(), name: `tb${run}` },
    ],
    close: () => Promise.resolve(),
  }),
);

describe('MLflow webhooks delivered to Plinth', () => {
  const secret = randomBytes(24).toString('hex');
  let t: TestPlatform;
  let app: FastifyInstance;
  let webhookId: string | undefined;
  let tenantId: string;

  before(async () => {
    t = await startTestPlatform({ MLFLOW_TRACKING_URI: mlflowUrl, MLFLOW_WEBHOOK_SECRET: secret, MLFLOW_ALIAS_CACHE_TTL_MS: '600000' });
    app = await buildApp(t.platform);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as AddressInfo).port;
    tenantId = (await t.platform.auth.getTenant('default')).id;
    const created = await mlflow<{ webhook: { webhook_id: string } }>('POST', '/api/2.0/mlflow/webhooks', {
      name: `plinth-test-${run}`,
      url: `http://127.0.0.1:${port}/v1/registry/webhooks/mlflow`,
      events: [
        { entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' },
        { entity: 'MODEL_VERSION_ALIAS', action: 'DELETED' },
        { entity: 'MODEL_VERSION', action: 'CREATED' },
      ],
      secret,
      status: 'ACTIVE',
    });
    webhookId = created.webhook.webhook_id;
  });
  after(async () => {
    if (webhookId) await mlflow('DELETE', `/api/2.0/mlflow/webhooks/${webhookId}`).catch(() => undefined);
    await app?.close();
    await t?.close();
  });

  it('records signed deliveries and drops the cached alias when MLflow moves it', async () => {
    const { registry } = t.platform;
    assert.equal(registry.port.kind, 'mlflow');
    const name = `hooked-${run}`;
    await registry.createVersion(tenantId, { name, source: 's3://hook/1' });
    await registry.createVersion(tenantId, { name, source: 's3://hook/2' });
    const promoted = await registry.promote(tenantId, name, 1, {}, { actor: 'test' });
    assert.equal(promoted.changed, true);
    // Resolved once: served from the in-process cache (TTL 10 minutes) from now on.
    assert.equal((await registry.getVersion(tenantId, name, { alias: 'champion' })).version, 1);

    // MLflow's own signed delivery of the promotion reaches Plinth and is recorded.
    const first = await waitFor('the alias event of the promotion', async () =>
      (await registry.listEvents(tenantId)).find((e) => e.model === name && e.entity === 'model_version_alias' && e.version === 1),
    );
    assert.equal(first.alias, 'champion');
    assert.equal(first.action, 'created');
    assert.ok((await registry.listEvents(tenantId)).some((e) => e.model === name && e.entity === 'model_version' && e.action === 'created'));

    // Someone moves the alias in MLflow directly; the webhook invalidates Plinth's cached answer.
    await mlflow('POST', '/api/2.0/mlflow/registered-models/alias', { name: `default.${name}`, alias: 'champion', version: '2' });
    await waitFor('the alias event of the direct move', async () =>
      (await registry.listEvents(tenantId)).find((e) => e.model === name && e.entity === 'model_version_alias' && e.version === 2),
    );
    assert.equal((await registry.getVersion(tenantId, name, { alias: 'champion' })).version, 2);
  });

  it('refuses a delivery signed with another secret', async () => {
    const body = JSON.stringify({ entity: 'model_version_alias', action: 'created', data: { name: 'default.x', alias: 'a', version: '1' } });
    const res = await app.inject({
      method: 'POST',
      url: '/v1/registry/webhooks/mlflow',
      headers: {
        'content-type': 'application/json',
        'x-mlflow-delivery-id': randomUUID(),
        'x-mlflow-timestamp': String(Math.floor(Date.now() / 1000)),
        'x-mlflow-signature': 'v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      },
      payload: body,
    });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json<{ code: string }>().code, 'PLINTH_WEBHOOK_SIGNATURE_INVALID');
  });
});
