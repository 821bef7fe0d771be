// How the database port runs the hot read paths: searches as named prepared statements on
// PostgreSQL (parsed and planned once per connection, unnamed on the embedded database, whose one
// session is shared by every connection), and read-only transactions that hand their COMMIT over
// instead of waiting for it, without leaking transaction state into the connection's next user.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as auth from '../../src/auth/store.js';
import { MAX_PREPARED, statementName } from '../../src/db/index.js';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

describe(`database statements (${ADAPTER})`, () => {
  let t: TestPlatform;
  let tenantId: string;

  before(async () => {
    // One connection, so every transaction below runs on the same one.
    t = await startTestPlatform({ DATABASE_POOL_MAX: '1' });
    const { db, memory } = t.platform;
    tenantId = (await db.withSystem((tx) => auth.insertTenant(tx, `stmt-${Date.now().toString(36)}`, false)))!.id;
    await memory.add(
      tenantId,
      { memories: ['The heron waits in the reeds', 'A heron nests by the lake', 'Reeds grow by the water'].map((text) => ({ text })) },
      { actor: 'test' },
    );
  });
  after(async () => {
    await t?.close();
  });

  it('runs a search as a named prepared statement on PostgreSQL, unnamed on the embedded database', async () => {
    const { db, memory } = t.platform;
    const runs = [];
    for (let i = 0; i < 8; i++) runs.push((await memory.search(tenantId, { query: 'heron reeds', k: 3 })).map((r) => [r.id, r.score]));
    for (const r of runs) assert.deepEqual(r, runs[0], 'the same answer every time (custom and generic plans alike)');
    assert.equal(runs[0]!.length, 3);
    const prepared = await db.withTenant(tenantId, async (tx) => (await tx.query<{ name: string; statement: string }>(`SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'plinth\\_%'`)).rows);
    if (ADAPTER === 'postgres') {
      assert.equal(prepared.length, 1, `one statement for eight searches: ${prepared.map((p) => p.name).join(', ')}`);
      assert.match(prepared[0]!.statement, /plinth_memory_fulltext/);
      assert.equal(prepared[0]!.name, statementName(prepared[0]!.statement));
    } else {
      assert.deepEqual(prepared, []);
    }
  });

  it('runs searches unnamed with DATABASE_PREPARED_STATEMENTS=false (a pooler in transaction mode)', async () => {
    const unnamed = await startTestPlatform({ DATABASE_POOL_MAX: '1', DATABASE_PREPARED_STATEMENTS: 'false' });
    try {
      const { db, memory } = unnamed.platform;
      const tenant = (await db.withSystem((tx) => auth.insertTenant(tx, `stmt-off-${Date.now().toString(36)}`, false)))!.id;
      await memory.add(tenant, { memories: [{ text: 'The heron waits in the reeds' }] }, { actor: 'test' });
      for (let i = 0; i < 3; i++) assert.equal((await memory.search(tenant, { query: 'heron', k: 3 })).length, 1);
      const prepared = await db.withTenant(tenant, async (tx) => (await tx.query(`SELECT name FROM pg_prepared_statements WHERE name LIKE 'plinth\\_%'`)).rows);
      assert.deepEqual(prepared, []);
    } finally {
      await unnamed.close();
    }
  });

  it('returns a read-only result before its COMMIT, and the next transaction on the connection starts clean', async () => {
    const { db } = t.platform;
    for (let i = 0; i < 50; i++) {
      const read = await db.withTenant(tenantId, async (tx) => (await tx.query<{ ro: string }>("SELECT current_setting('transaction_read_only') AS ro")).rows[0]!.ro, { readOnly: true });
      assert.equal(read, 'on');
      // Straight after, on the only connection: a read-write transaction, not inside the previous one.
      const write = await db.withTenant(tenantId, async (tx) => {
        const ro = (await tx.query<{ ro: string }>("SELECT current_setting('transaction_read_only') AS ro")).rows[0]!.ro;
        const xact = (await tx.query<{ n: string }>(`SELECT count(*)::text AS n FROM memories`)).rows[0]!.n;
        return { ro, xact };
      });
      assert.deepEqual(write, { ro: 'off', xact: '3' });
    }
    // Every connection is back in the pool once the COMMITs are done.
    const deadline = Date.now() + 5_000;
    while (db.poolStats().idle !== db.poolStats().total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(db.poolStats(), { total: 1, idle: 1, waiting: 0 });
  });

  it('runs concurrent searches on several connections (the embedded session would see a name twice)', async () => {
    const several = await startTestPlatform({ DATABASE_POOL_MAX: '4' });
    try {
      const { db, memory } = several.platform;
      const tenant = (await db.withSystem((tx) => auth.insertTenant(tx, `stmt4-${Date.now().toString(36)}`, false)))!.id;
      await memory.add(tenant, { memories: [{ text: 'The heron waits in the reeds' }] }, { actor: 'test' });
      for (let round = 0; round < 5; round++) {
        const answers = await Promise.all(Array.from({ length: 8 }, () => memory.search(tenant, { query: 'heron', k: 3 })));
        assert.ok(answers.every((a) => a.length === 1));
      }
      assert.ok(db.poolStats().total > 1, 'several connections were used');
    } finally {
      await several.close();
    }
  });

  it('gives names to a bounded number of statement texts', () => {
    const a = statementName('SELECT 1 AS bounded_0');
    assert.equal(statementName('SELECT 1 AS bounded_0'), a, 'the same text keeps its name');
    const names = Array.from({ length: MAX_PREPARED + 10 }, (_, i) => statementName(`SELECT 1 AS bounded_${i}`));
    assert.ok(names.at(-1) === undefined, 'texts past the bound run unnamed');
    assert.ok(names.filter((n) => n !== undefined).length <= MAX_PREPARED);
    assert.equal(new Set(names.filter((n) => n !== undefined)).size, names.filter((n) => n !== undefined).length, 'names are distinct');
  });
});
