// The one contract every RegistryPort adapter answers: run against the built-in PostgreSQL
// adapter (test/integration/registry-builtin.test.ts) and against a real MLflow server
// (test/services/registry-mlflow.test.ts). Names carry a random suffix so runs against a shared
// server never meet each other's models.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PlinthError } from '../../src/errors.js';
import type { RegistryPort, TenantRef } from '../../src/registry/index.js';

export interface ContractSubject {
  port: RegistryPort;
  /** Two distinct tenants. */
  tenants: [TenantRef, TenantRef];
  close(): Promise<void>;
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof PlinthError, `expected a PlinthError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

export function registryContract(label: string, setup: () => Promise<ContractSubject>): void {
  describe(`registry contract (${label})`, () => {
    let s: ContractSubject;
    let port: RegistryPort;
    let a: TenantRef;
    let b: TenantRef;
    const run = randomBytes(4).toString('hex');
    const n = (base: string) => `${base}-${run}`;

    before(async () => {
      s = await setup();
      port = s.port;
      [a, b] = s.tenants;
    });
    after(async () => {
      await s?.close();
    });

    it('creates a registered model idempotently and reads it back', async () => {
      const name = n('churn');
      const first = await port.createModel(a, { name, description: 'predicts churn', tags: { team: 'growth' } });
      assert.equal(first.created, true);
      assert.equal(first.model.name, name);
      assert.equal(first.model.description, 'predicts churn');
      assert.deepEqual(first.model.tags, { team: 'growth' });
      assert.deepEqual(first.model.aliases, {});
      assert.ok(!Number.isNaN(Date.parse(first.model.createdAt)));
      const again = await port.createModel(a, { name, description: 'ignored on repeat' });
      assert.equal(again.created, false);
      assert.equal(again.model.description, 'predicts churn');
      const got = await port.getModel(a, name);
      assert.deepEqual(got.tags, { team: 'growth' });
    });

    it('answers REGISTERED_MODEL_NOT_FOUND for an unknown model', async () => {
      const name = n('nope');
      await rejectsWith(port.getModel(a, name), 'PLINTH_REGISTERED_MODEL_NOT_FOUND');
      await rejectsWith(port.updateModel(a, name, { description: 'x' }), 'PLINTH_REGISTERED_MODEL_NOT_FOUND');
      await rejectsWith(port.deleteModel(a, name), 'PLINTH_REGISTERED_MODEL_NOT_FOUND');
      await rejectsWith(port.createVersion(a, name, { source: 's3://b/x' }), 'PLINTH_REGISTERED_MODEL_NOT_FOUND');
      await rejectsWith(port.getVersion(a, name, 1), 'PLINTH_REGISTERED_MODEL_NOT_FOUND');
      await rejectsWith(port.searchVersions(a, name, { maxResults: 10 }), 'PLINTH_REGISTERED_MODEL_NOT_FOUND');
      await rejectsWith(port.getVersionByAlias(a, name, 'champion'), 'PLINTH_REGISTERED_MODEL_NOT_FOUND');
      await rejectsWith(port.setModelTag(a, name, 'k', 'v'), 'PLINTH_REGISTERED_MODEL_NOT_FOUND');
    });

    it('searches models in name order, with paging and a case-insensitive name filter', async () => {
      const names = ['pg-d', 'pg-a', 'pg-e', 'pg-c', 'pg-b'].map((x) => n(x));
      for (const name of names) await port.createModel(a, { name });
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await port.searchModels(a, { query: `PG-`, maxResults: 2, pageToken: token });
        assert.ok(page.items.length <= 2);
        seen.push(...page.items.map((m) => m.name).filter((x) => x.endsWith(run)));
        token = page.nextPageToken ?? undefined;
        pages++;
        assert.ok(pages < 50, 'paging terminates');
      } while (token);
      assert.deepEqual(seen, [...names].sort());
      const one = await port.searchModels(a, { query: `pg-c-${run}`.toUpperCase(), maxResults: 10 });
      assert.deepEqual(
        one.items.map((m) => m.name),
        [n('pg-c')],
      );
    });

    it('updates the description and deletes a model', async () => {
      const name = n('temp');
      await port.createModel(a, { name });
      const updated = await port.updateModel(a, name, { description: 'now described' });
      assert.equal(updated.description, 'now described');
      assert.equal((await port.getModel(a, name)).description, 'now described');
      await port.deleteModel(a, name);
      await rejectsWith(port.getModel(a, name), 'PLINTH_REGISTERED_MODEL_NOT_FOUND');
    });

    it('sets, overwrites and deletes model tags; deleting a missing tag is a no-op', async () => {
      const name = n('tagged');
      await port.createModel(a, { name });
      await port.setModelTag(a, name, 'owner', 'alice');
      await port.setModelTag(a, name, 'owner', 'bob');
      await port.setModelTag(a, name, 'tier', 'gold');
      assert.deepEqual((await port.getModel(a, name)).tags, { owner: 'bob', tier: 'gold' });
      await port.deleteModelTag(a, name, 'owner');
      await port.deleteModelTag(a, name, 'never-set');
      assert.deepEqual((await port.getModel(a, name)).tags, { tier: 'gold' });
    });

    it('creates versions numbered from 1, never reusing a deleted number', async () => {
      const name = n('versions');
      await port.createModel(a, { name });
      const v1 = await port.createVersion(a, name, { source: 's3://bucket/m/1', runId: 'run-1', description: 'first', tags: { stage: 'dev' } });
      assert.equal(v1.created, true);
      assert.equal(v1.version.version, 1);
      assert.equal(v1.version.name, name);
      assert.equal(v1.version.source, 's3://bucket/m/1');
      assert.equal(v1.version.runId, 'run-1');
      assert.equal(v1.version.description, 'first');
      assert.deepEqual(v1.version.tags, { stage: 'dev' });
      assert.deepEqual(v1.version.aliases, []);
      assert.equal(v1.version.status, 'READY');
      const v2 = await port.createVersion(a, name, { source: 's3://bucket/m/2' });
      assert.equal(v2.version.version, 2);
      assert.equal(v2.version.runId, null);
      assert.equal(v2.version.description, '');
      const v3 = await port.createVersion(a, name, { source: 's3://bucket/m/3' });
      assert.equal(v3.version.version, 3);
      const got = await port.getVersion(a, name, 1);
      assert.equal(got.source, 's3://bucket/m/1');
      assert.deepEqual(got.tags, { stage: 'dev' });
      await port.deleteVersion(a, name, 3);
      await rejectsWith(port.getVersion(a, name, 3), 'PLINTH_MODEL_VERSION_NOT_FOUND');
      await rejectsWith(port.deleteVersion(a, name, 3), 'PLINTH_MODEL_VERSION_NOT_FOUND');
      const v4 = await port.createVersion(a, name, { source: 's3://bucket/m/4' });
      assert.equal(v4.version.version, 4, 'a deleted number is not reused');
    });

    it('lists versions newest first with paging, and updates and tags versions', async () => {
      const name = n('paged');
      await port.createModel(a, { name });
      for (let i = 1; i <= 5; i++) await port.createVersion(a, name, { source: `s3://b/p/${i}` });
      const seen: number[] = [];
      let token: string | undefined;
      do {
        const page = await port.searchVersions(a, name, { maxResults: 2, pageToken: token });
        assert.ok(page.items.length <= 2);
        seen.push(...page.items.map((v) => v.version));
        token = page.nextPageToken ?? undefined;
      } while (token);
      assert.deepEqual(seen, [5, 4, 3, 2, 1]);
      const updated = await port.updateVersion(a, name, 2, { description: 'second' });
      assert.equal(updated.description, 'second');
      await port.setVersionTag(a, name, 2, 'accuracy', '0.91');
      await port.setVersionTag(a, name, 2, 'accuracy', '0.93');
      await port.setVersionTag(a, name, 2, 'dataset', 'd1');
      await port.deleteVersionTag(a, name, 2, 'dataset');
      await port.deleteVersionTag(a, name, 2, 'never-set');
      assert.deepEqual((await port.getVersion(a, name, 2)).tags, { accuracy: '0.93' });
      await rejectsWith(port.updateVersion(a, name, 99, { description: 'x' }), 'PLINTH_MODEL_VERSION_NOT_FOUND');
      await rejectsWith(port.setVersionTag(a, name, 99, 'k', 'v'), 'PLINTH_MODEL_VERSION_NOT_FOUND');
    });

    it('returns the existing version for a repeated idempotency key', async () => {
      const name = n('idem');
      await port.createModel(a, { name });
      const first = await port.createVersion(a, name, { source: 's3://b/i/1', idempotencyKey: 'train-2026-11-26' });
      assert.equal(first.created, true);
      assert.equal(first.version.tags['plinth.idempotency_key'], 'train-2026-11-26');
      const again = await port.createVersion(a, name, { source: 's3://b/i/other', idempotencyKey: 'train-2026-11-26' });
      assert.equal(again.created, false);
      assert.equal(again.version.version, first.version.version);
      assert.equal(again.version.source, 's3://b/i/1');
      const other = await port.createVersion(a, name, { source: 's3://b/i/2', idempotencyKey: 'train-2026-11-27' });
      assert.equal(other.created, true);
      assert.equal(other.version.version, first.version.version + 1);
    });

    it('sets, moves, resolves and deletes aliases', async () => {
      const name = n('aliases');
      await port.createModel(a, { name });
      await port.createVersion(a, name, { source: 's3://b/a/1' });
      await port.createVersion(a, name, { source: 's3://b/a/2' });
      await rejectsWith(port.getVersionByAlias(a, name, 'champion'), 'PLINTH_MODEL_ALIAS_NOT_FOUND');
      await port.setAlias(a, name, 'champion', 1);
      const champ = await port.getVersionByAlias(a, name, 'champion');
      assert.equal(champ.version, 1);
      assert.deepEqual(champ.aliases, ['champion']);
      assert.deepEqual((await port.getModel(a, name)).aliases, { champion: 1 });
      await port.setAlias(a, name, 'champion', 2);
      await port.setAlias(a, name, 'challenger', 1);
      assert.equal((await port.getVersionByAlias(a, name, 'champion')).version, 2);
      assert.deepEqual((await port.getModel(a, name)).aliases, { champion: 2, challenger: 1 });
      assert.deepEqual((await port.getVersion(a, name, 1)).aliases, ['challenger']);
      await rejectsWith(port.setAlias(a, name, 'champion', 42), 'PLINTH_MODEL_VERSION_NOT_FOUND');
      assert.equal((await port.getVersionByAlias(a, name, 'champion')).version, 2, 'a failed move leaves the alias where it was');
      await port.deleteAlias(a, name, 'challenger');
      await port.deleteAlias(a, name, 'challenger'); // missing: a no-op
      await rejectsWith(port.getVersionByAlias(a, name, 'challenger'), 'PLINTH_MODEL_ALIAS_NOT_FOUND');
      // Deleting a version takes the aliases pointing at it along.
      await port.deleteVersion(a, name, 2);
      await rejectsWith(port.getVersionByAlias(a, name, 'champion'), 'PLINTH_MODEL_ALIAS_NOT_FOUND');
      assert.deepEqual((await port.getModel(a, name)).aliases, {});
    });

    it('gives a download URI for a version', async () => {
      const name = n('download');
      await port.createModel(a, { name });
      await port.createVersion(a, name, { source: 's3://artifacts/churn/7' });
      assert.equal(await port.getDownloadUri(a, name, 1), 's3://artifacts/churn/7');
      await rejectsWith(port.getDownloadUri(a, name, 2), 'PLINTH_MODEL_VERSION_NOT_FOUND');
    });

    it("keeps tenants apart: one tenant never sees or touches another's models", async () => {
      const name = n('private');
      await port.createModel(a, { name, description: 'tenant a' });
      await port.createVersion(a, name, { source: 's3://a/1' });
      await port.setAlias(a, name, 'champion', 1);
      await rejectsWith(port.getModel(b, name), 'PLINTH_REGISTERED_MODEL_NOT_FOUND');
      await rejectsWith(port.getVersion(b, name, 1), 'PLINTH_REGISTERED_MODEL_NOT_FOUND');
      await rejectsWith(port.getVersionByAlias(b, name, 'champion'), 'PLINTH_REGISTERED_MODEL_NOT_FOUND');
      await rejectsWith(port.deleteModel(b, name), 'PLINTH_REGISTERED_MODEL_NOT_FOUND');
      const listed = await port.searchModels(b, { maxResults: 1000 });
      assert.ok(!listed.items.some((m) => m.name === name));
      // The same name in another tenant is another model with its own numbering.
      const mine = await port.createModel(b, { name, description: 'tenant b' });
      assert.equal(mine.created, true);
      const v = await port.createVersion(b, name, { source: 's3://b/1' });
      assert.equal(v.version.version, 1);
      assert.equal((await port.getModel(a, name)).description, 'tenant a');
      assert.equal((await port.getVersion(a, name, 1)).source, 's3://a/1');
    });

    it('allocates distinct version numbers under concurrent creates', async () => {
      const name = n('concurrent');
      await port.createModel(a, { name });
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => port.createVersion(a, name, { source: `s3://c/${i}` })));
      const numbers = results.map((r) => r.version.version).sort((x, y) => x - y);
      assert.deepEqual(numbers, [1, 2, 3, 4, 5, 6]);
      const page = await port.searchVersions(a, name, { maxResults: 100 });
      assert.equal(page.items.length, 6);
    });

    it('creates one version for concurrent creates with the same idempotency key', async () => {
      const name = n('concurrent-idem');
      await port.createModel(a, { name });
      const results = await Promise.all(Array.from({ length: 4 }, () => port.createVersion(a, name, { source: 's3://ci/1', idempotencyKey: 'same' })));
      const numbers = new Set(results.map((r) => r.version.version));
      assert.equal(numbers.size, 1, `all callers got one version, got ${[...numbers].join(',')}`);
      assert.equal(results.filter((r) => r.created).length, 1);
      const page = await port.searchVersions(a, name, { maxResults: 100 });
      assert.equal(page.items.length, 1);
    });
  });
}
