// The registry contract against the built-in adapter (embedded PGlite, or real PostgreSQL when
// PLINTH_TEST_PG_URL is set), plus what only the built-in tables can show: row-level security
// and version allocation under many concurrent writers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createBuiltinRegistry, type TenantRef } from '../../src/registry/index.js';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { registryContract } from '../helpers/registry-contract.js';

async function tenants(t: TestPlatform): Promise<[TenantRef, TenantRef]> {
  const { auth } = t.platform;
  const a = await auth.getTenant('default');
  const b = await auth.createTenant('other', { actor: 'test' });
  return [
    { id: a.id, name: a.name },
    { id: b.id, name: b.name },
  ];
}

registryContract(`built-in, ${ADAPTER}`, async () => {
  const t = await startTestPlatform();
  return { port: createBuiltinRegistry(t.platform.db), tenants: await tenants(t), close: () => t.close() };
});

describe(`built-in registry tables (${ADAPTER})`, () => {
  let t: TestPlatform;
  let a: TenantRef;
  let b: TenantRef;

  before(async () => {
    t = await startTestPlatform();
    [a, b] = await tenants(t);
  });
  after(async () => {
    await t?.close();
  });

  it('hides every registry row of one tenant from the other under row-level security', async () => {
    const port = createBuiltinRegistry(t.platform.db);
    await port.createModel(a, { name: 'rls', tags: { k: 'v' } });
    await port.createVersion(a, 'rls', { source: 's3://x', tags: { t: '1' }, idempotencyKey: 'k' });
    await port.setAlias(a, 'rls', 'champion', 1);
    const tables = ['registered_models', 'model_versions', 'model_aliases', 'registered_model_tags', 'model_version_tags'];
    for (const table of tables) {
      const mine = await t.platform.db.withTenant(a.id, async (tx) => (await tx.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0]!.n);
      const theirs = await t.platform.db.withTenant(b.id, async (tx) => (await tx.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0]!.n);
      assert.ok(Number(mine) >= 1, table);
      assert.equal(theirs, '0', table);
    }
    // Writing a row for another tenant is refused by the policy's WITH CHECK.
    await assert.rejects(
      t.platform.db.withTenant(b.id, (tx) => tx.query('INSERT INTO registered_models (tenant_id, name) VALUES ($1, $2)', [a.id, 'sneaky'])),
    );
  });

  it('allocates 1..N without gaps or duplicates for N concurrent creates', async () => {
    const port = createBuiltinRegistry(t.platform.db);
    await port.createModel(a, { name: 'race' });
    const n = 25;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => port.createVersion(a, 'race', { source: `s3://race/${i}` })));
    assert.deepEqual(
      results.map((r) => r.version.version).sort((x, y) => x - y),
      Array.from({ length: n }, (_, i) => i + 1),
    );
  });

  it('refuses a page token it did not issue', async () => {
    const port = createBuiltinRegistry(t.platform.db);
    await assert.rejects(port.searchModels(a, { maxResults: 5, pageToken: 'garbage' }), { code: 'PLINTH_VALIDATION_FAILED' });
  });
});
