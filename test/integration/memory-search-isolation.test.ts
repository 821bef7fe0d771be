// Hybrid search reads full-text candidates through SECURITY DEFINER functions (migration 0007),
// which bypass row-level security and filter by tenant themselves. These tests hold them to it:
// no tenant can reach another tenant's memories or chunks through them, whatever it passes, and
// the search statements keep using the indexes that the functions exist for.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as auth from '../../src/auth/store.js';
import type { Tx } from '../../src/db/index.js';
import { searchChunks } from '../../src/memory/documents-store.js';
import { search as searchSql, vectorLiteral, type SearchParams } from '../../src/memory/store.js';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

const WORD = 'zyzzogeton';
const actor = { actor: 'test' };

describe(`memory search isolation (${ADAPTER})`, () => {
  let t: TestPlatform;
  const tenants: Array<{ id: string; memoryIds: Set<string>; chunkIds: Set<string> }> = [];

  before(async () => {
    t = await startTestPlatform();
    const { db, memory, documents } = t.platform;
    for (const name of ['iso-a', 'iso-b']) {
      const tenant = (await db.withSystem((tx) => auth.insertTenant(tx, `${name}-${Date.now().toString(36)}`, false)))!;
      const added = await memory.add(
        tenant.id,
        {
          memories: [
            { text: `The ${WORD} lives in ${name}'s garden`, user_id: 'u1', metadata: { team: 'x' }, tags: ['t'] },
            { text: `A second ${WORD} note for ${name}`, user_id: 'u2', metadata: { team: 'y' } },
          ],
        },
        actor,
      );
      await documents.ingest(tenant.id, { name: 'notes.md', content: `# Notes\n\nThe ${WORD} of ${name} is documented here.`, user_id: 'u1' }, actor);
      const chunkIds = await db.withTenant(tenant.id, async (tx) => new Set((await tx.query<{ id: string }>('SELECT id FROM document_chunks')).rows.map((r) => r.id)));
      tenants.push({ id: tenant.id, memoryIds: new Set(added.map((m) => m.id)), chunkIds });
    }
  });
  after(async () => {
    await t?.close();
  });

  it('returns only the current tenant rows from the full-text functions, whatever the arguments', async () => {
    const { db } = t.platform;
    for (const me of tenants) {
      const other = tenants.find((x) => x !== me)!;
      const { memories, chunks } = await db.withTenant(me.id, async (tx) => ({
        memories: (await tx.query<{ id: string }>(`SELECT id FROM plinth_memory_fulltext(to_tsquery('english', $1), NULL, NULL, NULL, NULL, NULL)`, [WORD])).rows,
        chunks: (await tx.query<{ id: string }>(`SELECT id FROM plinth_chunk_fulltext(to_tsquery('english', $1), NULL, NULL, NULL, NULL)`, [WORD])).rows,
      }));
      assert.deepEqual(new Set(memories.map((r) => r.id)), me.memoryIds);
      assert.ok(chunks.length > 0 && chunks.every((r) => me.chunkIds.has(r.id)));
      assert.ok(!memories.some((r) => other.memoryIds.has(r.id)) && !chunks.some((r) => other.chunkIds.has(r.id)));
    }
  });

  it('returns nothing when no tenant is set', async () => {
    const rows = await t.platform.db.withSystem(async (tx) => {
      await tx.query('SET LOCAL ROLE plinth_app');
      return [
        ...(await tx.query(`SELECT id FROM plinth_memory_fulltext(to_tsquery('english', $1), NULL, NULL, NULL, NULL, NULL)`, [WORD])).rows,
        ...(await tx.query(`SELECT id FROM plinth_chunk_fulltext(to_tsquery('english', $1), NULL, NULL, NULL, NULL)`, [WORD])).rows,
      ];
    });
    assert.equal(rows.length, 0);
  });

  it('cannot be pointed at another tenant: the setting is the only input, and only the restricted role may call it', async () => {
    const { db } = t.platform;
    const [a, b] = tenants as [(typeof tenants)[number], (typeof tenants)[number]];
    // Changing the tenant setting inside a tenant transaction is the one way in: it is what the
    // platform itself does, and RLS on every table trusts the same setting.
    const fns = await db.withSystem((tx) =>
      tx.query<{ name: string; definer: boolean; anyone: boolean }>(
        `SELECT p.proname AS name, p.prosecdef AS definer, has_function_privilege('public', p.oid, 'EXECUTE') AS anyone
           FROM pg_proc p WHERE p.proname IN ('plinth_memory_fulltext', 'plinth_chunk_fulltext') ORDER BY 1`,
      ),
    );
    assert.deepEqual(
      fns.rows.map((r) => [r.name, r.definer, r.anyone]),
      [
        ['plinth_chunk_fulltext', true, false],
        ['plinth_memory_fulltext', true, false],
      ],
    );
    // Scope arguments narrow within the tenant; they never widen beyond it.
    const scoped = await db.withTenant(a.id, (tx) =>
      tx.query<{ id: string }>(`SELECT id FROM plinth_memory_fulltext(to_tsquery('english', $1), 10, NULL, 'u1', NULL, NULL)`, [WORD]),
    );
    assert.equal(scoped.rows.length, 1);
    assert.ok(a.memoryIds.has(scoped.rows[0]!.id) && !b.memoryIds.has(scoped.rows[0]!.id));
  });

  it('keeps search results inside the tenant in every mode, with and without extra filters', async () => {
    const { memory, documents } = t.platform;
    for (const me of tenants) {
      for (const mode of ['hybrid', 'fulltext', 'vector'] as const) {
        for (const filters of [undefined, { metadata: { team: 'x' } }, { tags_any: ['t'] }]) {
          const found = await memory.search(me.id, { query: `${WORD} garden`, k: 10, mode, filters });
          assert.ok(found.length > 0, `${mode} ${JSON.stringify(filters)} finds the tenant's own memory`);
          assert.ok(
            found.every((m) => me.memoryIds.has(m.id)),
            `${mode} ${JSON.stringify(filters)} stays in the tenant`,
          );
          if (filters) assert.ok(found.every((m) => m.metadata.team === 'x'));
        }
        const combined = await documents.search(me.id, { query: WORD, k: 10, mode, sources: ['memories', 'documents'] });
        assert.ok(combined.some((r) => r.type === 'chunk'));
        assert.ok(combined.every((r) => (r.type === 'chunk' ? me.chunkIds.has(r.id) : me.memoryIds.has(r.id))));
      }
      const scoped = await memory.search(me.id, { query: WORD, k: 10, mode: 'fulltext', user_id: 'u2' });
      assert.equal(scoped.length, 1);
      assert.equal(scoped[0]!.user_id, 'u2');
    }
  });

  // Regression: under row-level security the final join on coalesce(vec.id, fts.id) read the whole
  // table, and `@@` (not leakproof) could never use the GIN index. With sequential scans
  // discouraged, the planner must find index paths for every read of the two tables.
  it('plans memory and chunk search without reading whole tables', async () => {
    const { db, memory } = t.platform;
    const tenant = tenants[0]!;
    const [vector] = await t.platform.embedder.embed([WORD]);
    const params: SearchParams = {
      tenantId: tenant.id,
      space: memory.space,
      queryVector: vectorLiteral(vector!),
      queryText: `${WORD} garden`,
      mode: 'hybrid',
      candidates: 10,
      limit: 10,
      scope: {},
      filters: undefined,
      asOf: undefined,
      recencyHalfLifeDays: undefined,
      withEmbeddings: false,
    };
    const statements: Array<{ text: string; values: readonly unknown[] }> = [];
    const recorder = {
      query: (statement: string | { text: string; values: readonly unknown[] }, values?: readonly unknown[]) => {
        statements.push(typeof statement === 'string' ? { text: statement, values: values ?? [] } : { text: statement.text, values: statement.values });
        return Promise.resolve({ rows: [] });
      },
    } as unknown as Tx;
    await searchSql(recorder, params);
    await searchChunks(recorder, { ...params, space: memory.space });
    for (const s of statements) {
      const plan = await db.withTenant(tenant.id, async (tx) => {
        await tx.query('SET LOCAL enable_seqscan = off');
        return (await tx.query(`EXPLAIN ${s.text}`, s.values)).rows.map((r) => String(r['QUERY PLAN'])).join('\n');
      });
      assert.doesNotMatch(plan, /Seq Scan on (memories|document_chunks|documents)\b/, plan);
      assert.match(plan, /plinth_(memory|chunk)_fulltext/, plan);
      // Searches run as prepared statements with the generic plan forced (the one for any
      // values): it must use the same index paths.
      const generic = await db.withTenant(tenant.id, async (tx) => {
        await tx.query('SET LOCAL enable_seqscan = off');
        return (await tx.query(`EXPLAIN (GENERIC_PLAN) ${s.text}`)).rows.map((r) => String(r['QUERY PLAN'])).join('\n');
      });
      assert.doesNotMatch(generic, /Seq Scan on (memories|document_chunks|documents)\b/, generic);
      assert.match(generic, /plinth_(memory|chunk)_fulltext/, generic);
    }
  });
});
