import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { loadMigrations, migrate, migrationStatus, openDatabase, type Database } from '../../src/db/index.js';
import { isPlinthError } from '../../src/errors.js';
import { ADAPTER, freshEnv, type TestEnv } from '../helpers/platform.js';

describe(`migrations (${ADAPTER})`, () => {
  let env: TestEnv;
  let db: Database;
  let db2: Database;

  before(async () => {
    env = await freshEnv();
    const config = loadConfig({ env: env.env });
    db = await openDatabase(config);
    // A second, independent pool: a second replica (or, embedded, a second process attaching).
    db2 = await openDatabase(config, { allowAttach: true });
  });
  after(async () => {
    await db2?.close();
    await db?.close();
    await env?.cleanup();
  });

  it('reports everything pending on an empty database', async () => {
    const s = await migrationStatus(db);
    assert.equal(s.current, 0);
    assert.equal(s.upToDate, false);
    assert.ok(s.migrations.every((m) => m.state === 'pending'));
  });

  it('applies each migration exactly once when two replicas start together', async () => {
    const [a, b] = await Promise.all([migrate(db), migrate(db2)]);
    const all = [...a.applied, ...b.applied].sort();
    assert.deepEqual(all, loadMigrations().map((m) => m.version).sort());
    const s = await migrationStatus(db);
    assert.equal(s.upToDate, true);
    assert.equal(s.current, s.latest);
    const rows = await db.withSystem((tx) => tx.query<{ n: number }>('SELECT count(*)::int AS n FROM plinth_schema_migrations'));
    assert.equal(rows.rows[0]?.n, loadMigrations().length);
  });

  it('is a no-op when up to date', async () => {
    const again = await migrate(db);
    assert.deepEqual(again.applied, []);
  });

  it('refuses to run when an applied migration was changed', async () => {
    const changed = loadMigrations().map((m, i) => (i === 0 ? { ...m, sql: `${m.sql}\n-- edited`, checksum: 'different' } : m));
    await assert.rejects(migrate(db, { migrations: changed }), (e) => isPlinthError(e, 'MIGRATION_FAILED') && /changed after it was applied/.test(e.message));
    const s = await migrationStatus(db, changed);
    assert.equal(s.migrations[0]?.state, 'checksum_mismatch');
    assert.equal(s.upToDate, false);
  });

  it('rolls back a failing migration completely', async () => {
    const broken = [...loadMigrations(), { version: 9999, name: 'broken', sql: 'CREATE TABLE half_written (id int); SELECT 1/0;', checksum: 'x' }];
    await assert.rejects(migrate(db, { migrations: broken }), (e) => isPlinthError(e, 'MIGRATION_FAILED'));
    const exists = await db.withSystem((tx) => tx.query<{ t: string | null }>(`SELECT to_regclass('half_written')::text AS t`));
    assert.equal(exists.rows[0]?.t, null);
    const s = await migrationStatus(db);
    assert.equal(s.upToDate, true, 'the lock was released and nothing was recorded');
  });
});
