// How the database port runs the hot read paths: searches as prepared statements on PostgreSQL
// (parsed and planned once per connection, unnamed on the embedded database, whose one session is
// shared by every connection), a memory search as one round trip (BEGIN, settings, EXECUTE and
// COMMIT in one message), and read-only transactions that hand their COMMIT over instead of
// waiting for it, without leaking transaction state into the connection's next user.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as auth from '../../src/auth/store.js';
import pg from 'pg';
import { literal, MAX_PREPARED, sqlStatementName, statementName } from '../../src/db/index.js';
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

  it('runs a search as a prepared statement on PostgreSQL, unnamed on the embedded database', async () => {
    const { db, memory } = t.platform;
    const runs = [];
    for (let i = 0; i < 8; i++) runs.push((await memory.search(tenantId, { query: 'heron reeds', k: 3 })).map((r) => [r.id, r.score]));
    for (const r of runs) assert.deepEqual(r, runs[0], 'the same answer every time (custom and generic plans alike)');
    assert.equal(runs[0]!.length, 3);
    const prepared = await db.withTenant(tenantId, async (tx) => (await tx.query<{ name: string; statement: string }>(`SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'plinth\\_%'`)).rows);
    if (ADAPTER === 'postgres') {
      assert.equal(prepared.length, 1, `one statement for eight searches: ${prepared.map((p) => p.name).join(', ')}`);
      assert.match(prepared[0]!.statement, /plinth_memory_fulltext/);
      const text = /^BEGIN; SET LOCAL ROLE plinth_app; PREPARE "[^"]+" AS ([\s\S]*); COMMIT$/.exec(prepared[0]!.statement)?.[1];
      assert.ok(text, `prepared with SQL PREPARE: ${prepared[0]!.statement.slice(0, 80)}`);
      assert.equal(prepared[0]!.name, sqlStatementName(text));
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

  describe('one-statement transactions', () => {
    /** Counts the messages (queries) node-postgres sends while `fn` runs. */
    async function messages<T>(fn: () => Promise<T>): Promise<{ result: T; sent: string[] }> {
      const sent: string[] = [];
      const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
      const original = proto.query;
      proto.query = function (this: pg.Client, ...args: unknown[]) {
        const q = args[0] as string | { text: string };
        sent.push(typeof q === 'string' ? q : q.text);
        return original.apply(this, args);
      };
      try {
        return { result: await fn(), sent };
      } finally {
        proto.query = original;
      }
    }

    it('sends a memory search as one message on PostgreSQL once its statement is prepared', async () => {
      const { memory } = t.platform;
      await memory.search(tenantId, { query: 'heron', k: 3, user_id: 'nobody' });
      const { result, sent } = await messages(() => memory.search(tenantId, { query: 'heron', k: 3, user_id: 'nobody' }));
      assert.deepEqual(result, []);
      if (ADAPTER === 'postgres') {
        assert.equal(sent.length, 1, sent.join('\n'));
        assert.match(sent[0]!, /^BEGIN READ ONLY; SET LOCAL ROLE plinth_app; SET LOCAL plinth\.tenant_id = '[0-9a-f-]{36}'; SET LOCAL hnsw\.ef_search = \d+; SET LOCAL plan_cache_mode = force_generic_plan; EXECUTE "plinth_[^"]+_x"\(.*\); COMMIT$/s);
        assert.match(sent[0]!, /'nobody'/, 'values travel as literals');
      } else {
        assert.equal(sent.length, 3, 'BEGIN, the statement, COMMIT');
      }
    });

    it('gives the same values back as binding them would, whatever their characters', async () => {
      const { db } = t.platform;
      const text = `SELECT $1::text AS t, $2::text[] AS a, $3::jsonb AS j, $4::timestamptz AS d, $5::float8 AS f, $6::int AS i, $7::bool AS b, $8::text AS n, $9::vector AS v`;
      const values = [
        `it's a \\ back'slash'' "quote" ; COMMIT; DROP TABLE memories; -- é ☃ \u{1F600}`,
        ['a', 'b,c', 'd"e', "f'g", 'h\\i', '', null],
        { k: "v'", nested: [1, 2.5, null, 'x\\y'] },
        new Date('2026-01-02T03:04:05.678Z'),
        -1.25e-7,
        42,
        true,
        null,
        '[0.5,-0.25,1e-05]',
      ];
      const bound = await db.withTenant(tenantId, (tx) => tx.query(text, values), { readOnly: true });
      const one = await db.withTenant(tenantId, (tx) => tx.query(text, values), { readOnly: true, oneStatement: true });
      assert.deepEqual(one.rows, bound.rows);
      assert.equal(one.rows[0]!.t, values[0]);
      assert.deepEqual(one.rows[0]!.a, values[1]);
      const memories = await db.withSystem(async (tx) => (await tx.query<{ n: string }>('SELECT count(*)::text AS n FROM memories')).rows[0]!.n);
      assert.ok(Number(memories) >= 3, 'the quoted text ran as data');
    });

    it('sees only its tenant and runs read-only, under the application role', async () => {
      const { db } = t.platform;
      const other = (await db.withSystem((tx) => auth.insertTenant(tx, `stmt-other-${Date.now().toString(36)}`, false)))!.id;
      const text = `SELECT count(*)::int AS n, current_user AS role, current_setting('transaction_read_only') AS ro, current_setting('hnsw.ef_search') AS ef FROM memories WHERE text <> $1`;
      for (let i = 0; i < 3; i++) {
        const mine = await db.withTenant(tenantId, (tx) => tx.query(text, ['']), { readOnly: true, oneStatement: true, settings: { 'hnsw.ef_search': 123 } });
        assert.deepEqual(mine.rows[0], { n: 3, role: 'plinth_app', ro: 'on', ef: '123' });
        const theirs = await db.withTenant(other, (tx) => tx.query(text, ['']), { readOnly: true, oneStatement: true });
        assert.equal(theirs.rows[0]!.n, 0);
        assert.notEqual(theirs.rows[0]!.ef, '123', 'settings end with the transaction');
      }
      await assert.rejects(
        db.withTenant(tenantId, (tx) => tx.query(`INSERT INTO memories (text) SELECT $1::text WHERE false`, ['x']), { readOnly: true, oneStatement: true }),
        (err: Error) => /read-only/.test(String((err.cause as Error | undefined)?.message ?? err.message)),
      );
    });

    it('refuses a second statement, and leaves the connection clean after a failed one', async () => {
      const { db } = t.platform;
      await assert.rejects(
        db.withTenant(
          tenantId,
          async (tx) => {
            await tx.query('SELECT $1::int AS one', [1]);
            await tx.query('SELECT 2');
          },
          { readOnly: true, oneStatement: true },
        ),
        /second statement/,
      );
      for (const bad of [0, '\u0000nul']) {
        const text = typeof bad === 'number' ? `SELECT 1 / $1::int AS x` : `SELECT $1::text AS x`;
        await assert.rejects(db.withTenant(tenantId, (tx) => tx.query(text, [bad]), { readOnly: true, oneStatement: true }));
        // The only connection is idle again, outside any transaction, not read-only.
        const after = await db.withTenant(tenantId, async (tx) => (await tx.query<{ ro: string }>("SELECT current_setting('transaction_read_only') AS ro")).rows[0]!.ro);
        assert.equal(after, 'off');
      }
      assert.deepEqual(db.poolStats(), { total: 1, idle: 1, waiting: 0 });
    });

    it('writes literals the way node-postgres binds values', () => {
      assert.equal(literal(null), 'NULL');
      assert.equal(literal(undefined), 'NULL');
      assert.equal(literal("o'k"), "'o''k'");
      assert.equal(literal('a\\b'), " E'a\\\\b'");
      assert.equal(literal(['x', null]), `'{"x",NULL}'`);
      assert.equal(literal(1.5), "'1.5'");
      assert.equal(literal('nul\u0000'), undefined, 'a NUL byte cannot travel in a simple-query message');
    });
  });

  // Last: it uses up the names for the rest of the process.
  it('gives names to a bounded number of statement texts', () => {
    const a = statementName('SELECT 1 AS bounded_0');
    assert.equal(statementName('SELECT 1 AS bounded_0'), a, 'the same text keeps its name');
    const names = Array.from({ length: MAX_PREPARED + 10 }, (_, i) => statementName(`SELECT 1 AS bounded_${i}`));
    assert.ok(names.at(-1) === undefined, 'texts past the bound run unnamed');
    assert.ok(names.filter((n) => n !== undefined).length <= MAX_PREPARED);
    assert.equal(new Set(names.filter((n) => n !== undefined)).size, names.filter((n) => n !== undefined).length, 'names are distinct');
  });
});
