// The MLflow adapter's edges, against a scripted fetch: credentials, timeouts, upstream failures,
// MLflow error codes, and the tenant namespace (names outside it are never shown).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Secret } from '../../src/config/index.js';
import { PlinthError } from '../../src/errors.js';
import { createMlflowRegistry, type TenantRef } from '../../src/registry/index.js';

interface Seen {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

function scripted(answer: (req: Seen) => Response | Promise<Response>): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const fake = (async (input: string | URL | Request, init?: RequestInit) => {
    const req: Seen = {
      url: new URL(input instanceof Request ? input.url : input),
      method: init?.method ?? 'GET',
      headers: { ...(init?.headers as Record<string, string>) },
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    seen.push(req);
    if (init?.signal?.aborted) throw init.signal.reason;
    return answer(req);
  }) as typeof fetch;
  return { fetch: fake, seen };
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const tenant: TenantRef = { id: '00000000-0000-4000-8000-000000000001', name: 'acme_ml' };

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof PlinthError, String(err));
    return err.code;
  }
  return assert.fail('expected a failure');
}

describe('MLflow adapter', () => {
  it('namespaces names per tenant and sends the bearer token', async () => {
    const s = scripted((req) => {
      assert.equal(req.url.pathname, '/api/2.0/mlflow/registered-models/create');
      return json(200, { registered_model: { name: (req.body as { name: string }).name, creation_timestamp: 1_700_000_000_000 } });
    });
    const port = createMlflowRegistry({ trackingUri: 'http://mlflow:5000/', token: new Secret('tok-123'), timeoutMs: 1000, fetch: s.fetch });
    const r = await port.createModel(tenant, { name: 'churn', tags: { a: 'b' } });
    assert.equal(r.model.name, 'churn');
    assert.equal(r.model.createdAt, '2023-11-14T22:13:20.000Z');
    assert.deepEqual(s.seen[0]!.body, { name: 'acme_ml.churn', description: '', tags: [{ key: 'a', value: 'b' }] });
    assert.equal(s.seen[0]!.headers.authorization, 'Bearer tok-123');
  });

  it('sends basic credentials when configured', async () => {
    const s = scripted(() => json(200, { registered_model: { name: 'acme_ml.m' } }));
    const port = createMlflowRegistry({ trackingUri: 'http://mlflow:5000', username: 'ops', password: new Secret('pw'), timeoutMs: 1000, fetch: s.fetch });
    await port.getModel(tenant, 'm');
    assert.equal(s.seen[0]!.headers.authorization, `Basic ${Buffer.from('ops:pw').toString('base64')}`);
    assert.equal(s.seen[0]!.url.searchParams.get('name'), 'acme_ml.m');
  });

  it('never lists a model outside the namespace, even when LIKE lets one through', async () => {
    // "_" in the tenant name is a LIKE wildcard: MLflow may answer with acmexml.* as well.
    const s = scripted(() =>
      json(200, {
        registered_models: [{ name: 'acme_ml.a' }, { name: 'acmexml.secret' }, { name: 'acme_ml.b' }],
      }),
    );
    const port = createMlflowRegistry({ trackingUri: 'http://mlflow:5000', timeoutMs: 1000, fetch: s.fetch });
    const page = await port.searchModels(tenant, { maxResults: 10 });
    assert.deepEqual(
      page.items.map((m) => m.name),
      ['a', 'b'],
    );
    assert.equal(s.seen[0]!.url.searchParams.get('filter'), "name LIKE 'acme_ml.%'");
    assert.equal(s.seen[0]!.url.searchParams.get('order_by'), 'name ASC');
  });

  it('maps MLflow error codes to catalogue codes', async () => {
    const answers: Record<string, Response> = {
      '/api/2.0/mlflow/registered-models/get': json(404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'Registered Model with name=acme_ml.x not found' }),
      '/api/2.0/mlflow/registered-models/update': json(400, { error_code: 'INVALID_PARAMETER_VALUE', message: 'bad value for acme_ml.x' }),
      '/api/2.0/mlflow/registered-models/set-tag': json(400, { error_code: 'RESOURCE_ALREADY_EXISTS', message: 'exists' }),
    };
    const s = scripted((req) => answers[req.url.pathname]?.clone() ?? json(500, {}));
    const port = createMlflowRegistry({ trackingUri: 'http://mlflow:5000', timeoutMs: 1000, fetch: s.fetch });
    assert.equal(await code(port.getModel(tenant, 'x')), 'PLINTH_REGISTERED_MODEL_NOT_FOUND');
    try {
      await port.updateModel(tenant, 'x', { description: 'd' });
      assert.fail('expected a failure');
    } catch (err) {
      assert.ok(err instanceof PlinthError);
      assert.equal(err.code, 'PLINTH_VALIDATION_FAILED');
      assert.ok(!err.message.includes('acme_ml.'), 'the namespace prefix is not shown');
    }
    assert.equal(await code(port.setModelTag(tenant, 'x', 'k', 'v')), 'PLINTH_CONFLICT');
  });

  it('tells a missing alias from a missing model (MLflow answers INVALID_PARAMETER_VALUE for the first)', async () => {
    const s = scripted((req) =>
      req.url.pathname.endsWith('/registered-models/alias')
        ? json(400, { error_code: 'INVALID_PARAMETER_VALUE', message: 'Registered model alias champion not found.' })
        : json(200, { registered_model: { name: 'acme_ml.m' } }),
    );
    const port = createMlflowRegistry({ trackingUri: 'http://mlflow:5000', timeoutMs: 1000, fetch: s.fetch });
    assert.equal(await code(port.getVersionByAlias(tenant, 'm', 'champion')), 'PLINTH_MODEL_ALIAS_NOT_FOUND');
  });

  it('turns unreachable, slow, overloaded and broken upstreams into 503/502 codes without leaking the token', async () => {
    const cases: Array<[string, (req: Seen) => Response | Promise<Response>]> = [
      ['PLINTH_REGISTRY_UNAVAILABLE', () => Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }))],
      ['PLINTH_REGISTRY_UNAVAILABLE', () => json(503, { message: 'overloaded' })],
      ['PLINTH_REGISTRY_FAILED', () => json(500, { error_code: 'INTERNAL_ERROR', message: 'boom' })],
      ['PLINTH_REGISTRY_FAILED', () => new Response('<html>proxy error</html>', { status: 200 })],
      ['PLINTH_REGISTRY_FAILED', () => json(401, { message: 'no' })],
    ];
    for (const [expected, answer] of cases) {
      const s = scripted(answer);
      const port = createMlflowRegistry({ trackingUri: 'http://mlflow:5000', token: new Secret('tok-secret-9'), timeoutMs: 1000, fetch: s.fetch });
      try {
        await port.getModel(tenant, 'm');
        assert.fail('expected a failure');
      } catch (err) {
        assert.ok(err instanceof PlinthError, String(err));
        assert.equal(err.code, expected);
        assert.ok(!err.message.includes('tok-secret-9'));
      }
    }
  });

  it('gives up after the timeout', async () => {
    // A server that never answers (its timer keeps the test process alive; AbortSignal.timeout's does not).
    const hanging = ((_input: string | URL | Request, init?: RequestInit) =>
      new Promise<Response>((resolve, reject) => {
        const timer = setTimeout(() => resolve(json(200, {})), 5_000);
        init?.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(init.signal!.reason as Error);
        });
      })) as typeof fetch;
    const port = createMlflowRegistry({ trackingUri: 'http://mlflow:5000', timeoutMs: 150, fetch: hanging });
    const started = Date.now();
    try {
      await port.getModel(tenant, 'm');
      assert.fail('expected a failure');
    } catch (err) {
      assert.ok(err instanceof PlinthError);
      assert.equal(err.code, 'PLINTH_REGISTRY_UNAVAILABLE');
      assert.match(err.message, /150 ms/);
    }
    assert.ok(Date.now() - started < 2000);
  });
});
