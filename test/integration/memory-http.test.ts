// Agent memory over HTTP on the adapter chosen by the environment (embedded PGlite or real
// PostgreSQL with pgvector), with the deterministic hashing embedder.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

interface M {
  id: string;
  text: string;
  version: number;
  deduplicated?: boolean;
  metadata: Record<string, unknown>;
  tags: string[];
  user_id: string | null;
  embedding_model: string | null;
}

describe(`memory over HTTP (${ADAPTER})`, () => {
  let t: TestPlatform;
  let app: FastifyInstance;
  let writer: string;
  let reader: string;
  let otherTenant: string;
  const h = (key: string) => ({ authorization: `Bearer ${key}` });

  before(async () => {
    t = await startTestPlatform();
    app = await buildApp(t.platform);
    const { auth } = t.platform;
    const tenant = await auth.getTenant('default');
    writer = (await auth.createKey(tenant.id, { name: 'writer', scopes: ['memory:read', 'memory:write'] }, { actor: 'test' })).key;
    reader = (await auth.createKey(tenant.id, { name: 'reader', scopes: ['memory:read'] }, { actor: 'test' })).key;
    const other = await auth.createTenant('other', { actor: 'test' });
    otherTenant = (await auth.createKey(other.id, { name: 'o', scopes: ['memory:read', 'memory:write'] }, { actor: 'test' })).key;
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  async function add(memories: Array<Record<string, unknown>>, key = writer) {
    const res = await app.inject({ method: 'POST', url: '/v1/memories', headers: h(key), payload: { memories } });
    assert.equal(res.statusCode, 201, res.body);
    return res.json<{ memories: M[] }>().memories;
  }
  async function search(body: Record<string, unknown>, key = reader) {
    const res = await app.inject({ method: 'POST', url: '/v1/memories/search', headers: h(key), payload: body });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ results: Array<M & { score: number; scores: { vector: number | null; fulltext: number | null } }> }>().results;
  }

  it('stores a memory with its embedding model, and deduplicates the same content in the same scope', async () => {
    const [a] = await add([{ text: 'Alice prefers  green tea in the morning.', user_id: 'alice', tags: ['prefs'], metadata: { topic: 'drinks' } }]);
    assert.ok(a);
    assert.equal(a.version, 1);
    assert.equal(a.deduplicated, false);
    assert.equal(a.embedding_model, t.platform.embedder.model);
    const [again] = await add([{ text: 'Alice prefers green tea in the morning. ', user_id: 'alice' }]);
    assert.equal(again?.id, a.id);
    assert.equal(again?.deduplicated, true);
    const [otherScope] = await add([{ text: 'Alice prefers green tea in the morning.', user_id: 'bob' }]);
    assert.notEqual(otherScope?.id, a.id);
  });

  it('honours idempotency keys', async () => {
    const [first] = await add([{ text: 'Deploy window is Tuesday.', idempotency_key: 'req-1' }]);
    const [second] = await add([{ text: 'Deploy window is Wednesday.', idempotency_key: 'req-1' }]);
    assert.equal(second?.id, first?.id);
    assert.equal(second?.text, 'Deploy window is Tuesday.');
    assert.equal(second?.deduplicated, true);
  });

  it('writes a batch atomically: one bad item and nothing is stored', async () => {
    const before = await app.inject({ url: '/v1/memories?limit=500', headers: h(reader) });
    const res = await app.inject({
      method: 'POST',
      url: '/v1/memories',
      headers: h(writer),
      payload: { memories: [{ text: 'fine one' }, { text: 'x'.repeat(40_000) }] },
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json<{ code: string }>().code, 'PLINTH_VALIDATION_FAILED');
    const bad = await app.inject({ method: 'POST', url: '/v1/memories', headers: h(writer), payload: { memories: [{ text: 'ok' }, { text: 'y', valid_from: '2025-01-02T00:00:00Z', valid_to: '2025-01-01T00:00:00Z' }] } });
    assert.equal(bad.statusCode, 400);
    const afterList = await app.inject({ url: '/v1/memories?limit=500', headers: h(reader) });
    assert.equal(afterList.json<{ memories: M[] }>().memories.length, before.json<{ memories: M[] }>().memories.length);
  });

  it('rejects unknown fields, bad filters and missing scope with stable codes', async () => {
    const unknown = await app.inject({ method: 'POST', url: '/v1/memories', headers: h(writer), payload: { memories: [{ text: 'a', tenant_id: 'x' }] } });
    assert.equal(unknown.statusCode, 400);
    const badFilter = await app.inject({ method: 'POST', url: '/v1/memories/search', headers: h(reader), payload: { query: 'tea', filters: { metadata: { n: { between: [1, 2] } } } } });
    assert.equal(badFilter.statusCode, 400);
    assert.equal(badFilter.json<{ code: string }>().code, 'PLINTH_VALIDATION_FAILED');
    const forbidden = await app.inject({ method: 'POST', url: '/v1/memories', headers: h(reader), payload: { memories: [{ text: 'a' }] } });
    assert.equal(forbidden.statusCode, 403);
    const badId = await app.inject({ url: '/v1/memories/not-a-uuid', headers: h(reader) });
    assert.equal(badId.statusCode, 400);
  });

  it('updates by writing a new version and keeps the history', async () => {
    const [m] = await add([{ text: 'The office is in Berlin.', user_id: 'carol' }]);
    const upd = await app.inject({ method: 'PATCH', url: `/v1/memories/${m!.id}`, headers: h(writer), payload: { text: 'The office is in Munich.', expected_version: 1 } });
    assert.equal(upd.statusCode, 200, upd.body);
    assert.equal(upd.json<M>().version, 2);
    const stale = await app.inject({ method: 'PATCH', url: `/v1/memories/${m!.id}`, headers: h(writer), payload: { tags: ['x'], expected_version: 1 } });
    assert.equal(stale.statusCode, 409);
    const hist = await app.inject({ url: `/v1/memories/${m!.id}/history`, headers: h(reader) });
    const versions = hist.json<{ versions: Array<{ version: number; text: string; superseded_at: string | null; change: string }> }>().versions;
    assert.deepEqual(versions.map((v) => [v.version, v.text, v.change]), [
      [1, 'The office is in Berlin.', 'created'],
      [2, 'The office is in Munich.', 'updated'],
    ]);
    assert.ok(versions[0]?.superseded_at);
    assert.equal(versions[1]?.superseded_at, null);
    const got = await app.inject({ url: `/v1/memories/${m!.id}`, headers: h(reader) });
    assert.equal(got.json<M>().text, 'The office is in Munich.');
  });

  it('deletes a memory and its history, audited', async () => {
    const [m] = await add([{ text: 'temporary note to delete' }]);
    const del = await app.inject({ method: 'DELETE', url: `/v1/memories/${m!.id}`, headers: h(writer) });
    assert.equal(del.statusCode, 204);
    assert.equal((await app.inject({ url: `/v1/memories/${m!.id}`, headers: h(reader) })).statusCode, 404);
    assert.equal((await app.inject({ url: `/v1/memories/${m!.id}/history`, headers: h(reader) })).statusCode, 404);
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/memories/${m!.id}`, headers: h(writer) })).statusCode, 404);
    const tenant = await t.platform.auth.getTenant('default');
    const audit = await t.platform.auth.listAudit(tenant.id, { limit: 500 });
    assert.ok(audit.some((e) => e.action === 'memory.deleted' && e.target === m!.id));
  });

  it('searches hybrid, with scores from each retriever, scope and metadata filters', async () => {
    await add([
      { text: 'The payment service retries failed card charges three times.', user_id: 'dev', metadata: { team: 'payments', priority: 3 }, tags: ['runbook', 'payments'] },
      { text: 'Kubernetes pods are drained before node upgrades.', user_id: 'dev', metadata: { team: 'platform', priority: 1 }, tags: ['runbook'] },
      { text: 'Lunch is served at noon in the cafeteria.', user_id: 'dev', metadata: { team: 'office', priority: 5 }, tags: ['office'] },
      { text: 'Card charges that fail are retried with exponential backoff.', user_id: 'ops', metadata: { team: 'payments', priority: 2 }, tags: ['payments'] },
    ]);
    const hits = await search({ query: 'how are failed card charges retried', user_id: 'dev', k: 3 });
    assert.ok(hits.length >= 1);
    assert.match(hits[0]!.text, /payment service retries/);
    assert.ok(hits.every((r) => r.user_id === 'dev'));
    assert.ok(hits[0]!.scores.vector !== null && hits[0]!.scores.fulltext !== null, 'both retrievers contributed');

    const payments = await search({ query: 'card charges', filters: { metadata: { team: 'payments' } } });
    assert.equal(payments.length, 2);
    const inFilter = await search({ query: 'runbook', filters: { metadata: { team: { in: ['platform', 'office'] } } } });
    assert.ok(inFilter.length >= 1 && inFilter.every((r) => ['platform', 'office'].includes(String(r.metadata.team))));
    const range = await search({ query: 'charges pods lunch', filters: { metadata: { priority: { gte: 2, lt: 5 } } } });
    assert.ok(range.length >= 1 && range.every((r) => Number(r.metadata.priority) >= 2 && Number(r.metadata.priority) < 5));
    const tags = await search({ query: 'retries', filters: { tags_all: ['runbook', 'payments'] } });
    assert.deepEqual(tags.map((r) => r.tags.sort()), [['payments', 'runbook']]);
    const contains = await search({ query: 'anything', mode: 'vector', filters: { contains: { team: 'platform' } } });
    assert.ok(contains.length === 1 && contains[0]!.metadata.team === 'platform');
    const ft = await search({ query: 'cafeteria', mode: 'fulltext' });
    assert.equal(ft.length, 1);
    assert.equal(ft[0]!.scores.vector, null);
    const k1 = await search({ query: 'card charges retried', k: 1 });
    assert.equal(k1.length, 1);
    const diverse = await search({ query: 'card charges retried', k: 2, mmr_lambda: 0.3 });
    assert.equal(diverse.length, 2);
    assert.equal(new Set(diverse.map((r) => r.id)).size, 2);
  });

  it('respects validity intervals and as_of', async () => {
    const [m] = await add([{ text: 'The team lead is Dana.', user_id: 'hist', valid_from: '2020-01-01T00:00:00Z' }]);
    await app.inject({ method: 'PATCH', url: `/v1/memories/${m!.id}`, headers: h(writer), payload: { valid_to: '2024-01-01T00:00:00Z' } });
    await add([{ text: 'The team lead is Eve.', user_id: 'hist', valid_from: '2024-01-01T00:00:00Z' }]);
    const now = await search({ query: 'who is the team lead', user_id: 'hist' });
    assert.deepEqual(now.map((r) => r.text), ['The team lead is Eve.']);
    const past = await search({ query: 'who is the team lead', user_id: 'hist', as_of: '2022-06-01T00:00:00Z' });
    assert.deepEqual(past.map((r) => r.text), ['The team lead is Dana.']);
  });

  it('lists with cursor pagination', async () => {
    await add(Array.from({ length: 7 }, (_, i) => ({ text: `page item ${i}`, session_id: 'paging' })));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { statusCode: number; body: string; json: <T>() => T } = await app.inject({ url: `/v1/memories?session_id=paging&limit=3${cursor ? `&cursor=${cursor}` : ''}`, headers: h(reader) });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json<{ memories: M[]; next_cursor: string | null }>();
      seen.push(...body.memories.map((m) => m.text));
      cursor = body.next_cursor;
    } while (cursor);
    assert.equal(seen.length, 7);
    assert.equal(new Set(seen).size, 7);
    assert.equal((await app.inject({ url: '/v1/memories?cursor=garbage', headers: h(reader) })).statusCode, 400);
  });

  it('isolates tenants', async () => {
    const [mine] = await add([{ text: 'secret plan for tenant default' }]);
    assert.equal((await app.inject({ url: `/v1/memories/${mine!.id}`, headers: h(otherTenant) })).statusCode, 404);
    const theirs = await search({ query: 'secret plan for tenant default' }, otherTenant);
    assert.equal(theirs.length, 0);
    assert.equal((await app.inject({ method: 'PATCH', url: `/v1/memories/${mine!.id}`, headers: h(otherTenant), payload: { text: 'hijack' } })).statusCode, 404);
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/memories/${mine!.id}`, headers: h(otherTenant) })).statusCode, 404);
  });

  it('refuses precomputed vectors of the wrong dimension or with NaN, writing nothing', async () => {
    const tenant = await t.platform.auth.getTenant('default');
    const dims = t.platform.embedder.dimensions;
    const add = (v: Float32Array) => t.platform.memory.add(tenant.id, { memories: [{ text: `vector check ${v.length}`, session_id: 'vec' }] }, { actor: 'test' }, { vectors: [v] });
    await assert.rejects(add(new Float32Array(dims + 1)), (e: Error & { code?: string }) => e.code === 'PLINTH_VALIDATION_FAILED' && /dimensions/.test(e.message));
    const nan = new Float32Array(dims);
    nan[3] = Number.NaN;
    await assert.rejects(add(nan), (e: Error & { code?: string }) => e.code === 'PLINTH_VALIDATION_FAILED' && /finite/.test(e.message));
    await assert.rejects(
      t.platform.memory.search(tenant.id, { query: 'x', mode: 'vector' }, { queryVector: new Float32Array(3) }),
      (e: Error & { code?: string }) => e.code === 'PLINTH_VALIDATION_FAILED',
    );
    const list = await t.platform.memory.list(tenant.id, { session_id: 'vec', limit: 10 });
    assert.equal(list.memories.length, 0);
  });

  it('keeps concurrent writers of the same content to one memory', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => add([{ text: 'concurrent fact', user_id: 'race' }])));
    const ids = new Set(results.map((r) => r[0]!.id));
    assert.equal(ids.size, 1);
    assert.equal(results.filter((r) => r[0]!.deduplicated === false).length, 1);
  });
});
