// Tenant isolation is enforced by PostgreSQL row-level security. Property test: random tenants
// with random keys and audit rows; from inside any tenant's transaction, no repository function
// and no deliberately unscoped query can read or write another tenant's rows.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import * as store from '../../src/auth/store.js';
import { generateKey } from '../../src/auth/keys.js';
import { isPlinthError } from '../../src/errors.js';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

describe(`row-level security (${ADAPTER})`, () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(async () => {
    await t?.close();
  });

  it('hides every row when no tenant is set, even from a restricted-role query', async () => {
    const rows = await t.platform.db.withSystem(async (tx) => {
      await tx.query('SET LOCAL ROLE plinth_app');
      return (await tx.query('SELECT id FROM api_keys')).rows;
    });
    assert.equal(rows.length, 0);
  });

  it('refuses a tenant id that is not a UUID before touching the database', async () => {
    await assert.rejects(t.platform.db.withTenant("x'; DROP TABLE tenants; --", () => Promise.resolve()), (e) => isPlinthError(e, 'TENANT_NOT_FOUND'));
  });

  it('holds for random tenants, rows and every repository function', async () => {
    const { db } = t.platform;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ keys: fc.integer({ min: 0, max: 3 }), audits: fc.integer({ min: 0, max: 3 }) }), { minLength: 2, maxLength: 4 }),
        async (specs) => {
          run++;
          const tenants: Array<{ tenant: { id: string; name: string }; prefixes: string[]; spec: { keys: number; audits: number } }> = [];
          for (const [i, spec] of specs.entries()) {
            const tenant = await db.withSystem(async (tx) => (await store.insertTenant(tx, `p${run}-${i}-${Math.random().toString(36).slice(2, 8)}`, false))!);
            const prefixes: string[] = [];
            for (let k = 0; k < spec.keys; k++) {
              const g = generateKey();
              await db.withTenant(tenant.id, (tx) => store.insertKey(tx, { tenantId: tenant.id, name: `k${k}`, prefix: g.prefix, hash: g.hash, scopes: ['memory:read'], expiresAt: null }));
              prefixes.push(g.prefix);
            }
            for (let a = 0; a < spec.audits; a++) {
              await db.withTenant(tenant.id, (tx) => store.insertAudit(tx, { tenantId: tenant.id, actor: 'test', action: `a${a}` }));
            }
            tenants.push({ tenant, prefixes, spec });
          }

          for (const me of tenants) {
            for (const other of tenants) {
              if (other === me) continue;
              await db.withTenant(me.tenant.id, async (tx) => {
                // Repository functions asked, through their arguments, for another tenant's data.
                assert.deepEqual(await store.listKeys(tx, other.tenant.id), []);
                assert.deepEqual(await store.listAudit(tx, other.tenant.id, 0, 1000), []);
                assert.equal(await store.findTenant(tx, other.tenant.name), undefined);
                for (const p of other.prefixes) {
                  assert.equal(await store.revokeKey(tx, other.tenant.id, p), undefined);
                  assert.equal(await store.lookupKey(tx, p), undefined);
                }
              });
            }
            await db.withTenant(me.tenant.id, async (tx) => {
              // Deliberately unscoped queries: no WHERE clause at all.
              const keys = (await tx.query<{ tenant_id: string }>('SELECT tenant_id FROM api_keys')).rows;
              assert.ok(keys.every((k) => k.tenant_id === me.tenant.id));
              assert.equal(keys.length, me.spec.keys);
              const audits = (await tx.query<{ tenant_id: string }>('SELECT tenant_id FROM audit_log')).rows;
              assert.ok(audits.every((a) => a.tenant_id === me.tenant.id));
              const visibleTenants = (await tx.query<{ id: string }>('SELECT id FROM tenants')).rows;
              assert.deepEqual(visibleTenants.map((r) => r.id), [me.tenant.id]);
              const updated = await tx.query(`UPDATE api_keys SET name = 'hijacked'`);
              assert.equal(updated.rowCount, me.spec.keys, 'an unscoped UPDATE touches only own rows');
            });
            // Writing a row for another tenant is refused by the policy's WITH CHECK.
            const victim = tenants.find((x) => x !== me)!;
            const g = generateKey();
            await assert.rejects(
              db.withTenant(me.tenant.id, (tx) =>
                store.insertKey(tx, { tenantId: victim.tenant.id, name: 'planted', prefix: g.prefix, hash: g.hash, scopes: ['admin'], expiresAt: null }),
              ),
            );
            await assert.rejects(db.withTenant(me.tenant.id, (tx) => store.insertAudit(tx, { tenantId: victim.tenant.id, actor: 'x', action: 'forged' })));
            // The restricted role cannot create tenants.
            await assert.rejects(db.withTenant(me.tenant.id, (tx) => store.insertTenant(tx, `evil${run}`, true)));
          }
          // Names unchanged for others: the unscoped UPDATEs above only renamed own keys.
          const all = await db.withSystem(async (tx) => (await tx.query<{ name: string; tenant_id: string }>('SELECT name, tenant_id FROM api_keys')).rows);
          assert.ok(all.filter((k) => tenants.some((x) => x.tenant.id === k.tenant_id)).every((k) => k.name === 'hijacked'));
          assert.equal(all.filter((k) => k.name === 'planted').length, 0);
        },
      ),
      { numRuns: 6 },
    );
  });
});
