// Documents, combined search, export and erasure over HTTP, on the adapter chosen by the environment.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { makePdf } from '../helpers/pdf.js';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

const GUIDE = `# Operations guide

Intro paragraph about the platform.

## Backups

Backups run nightly with pg_dump and are encrypted at rest.

\`\`\`bash
plinth backup --to s3://bucket/prefix
\`\`\`

## Restores

A restore drill proves the backup: it restores into a scratch database and verifies row counts.
`;

interface Doc {
  id: string;
  version: number;
  chunk_count: number;
  title: string | null;
  media_type: string;
}

describe(`documents over HTTP (${ADAPTER})`, () => {
  let t: TestPlatform;
  let app: FastifyInstance;
  let key: string;
  let otherKey: string;
  const h = (k: string) => ({ authorization: `Bearer ${k}` });

  before(async () => {
    t = await startTestPlatform();
    app = await buildApp(t.platform);
    const tenant = await t.platform.auth.getTenant('default');
    key = (await t.platform.auth.createKey(tenant.id, { name: 'rw', scopes: ['memory:read', 'memory:write'] }, { actor: 'test' })).key;
    const other = await t.platform.auth.createTenant('doc-other', { actor: 'test' });
    otherKey = (await t.platform.auth.createKey(other.id, { name: 'o', scopes: ['memory:read', 'memory:write'] }, { actor: 'test' })).key;
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  async function ingest(body: Record<string, unknown>, k = key) {
    return app.inject({ method: 'POST', url: '/v1/documents', headers: h(k), payload: body });
  }

  it('ingests Markdown into chunks with heading paths, and replaces them atomically when it changes', async () => {
    const first = await ingest({ name: 'guide.md', content: GUIDE, user_id: 'ops' });
    assert.equal(first.statusCode, 201, first.body);
    const doc = first.json<{ document: Doc; status: string }>().document;
    assert.equal(doc.media_type, 'text/markdown');
    assert.ok(doc.chunk_count >= 1);
    const got = await app.inject({ url: `/v1/documents/${doc.id}?chunks=true`, headers: h(key) });
    const chunks = got.json<{ chunks: Array<{ text: string; heading_path: string[]; kind: string }> }>().chunks;
    assert.equal(chunks.length, doc.chunk_count);
    assert.ok(chunks.some((c) => c.heading_path.includes('Backups')));
    assert.ok(chunks.some((c) => c.text.includes('plinth backup --to s3://bucket/prefix')));

    const same = await ingest({ name: 'guide.md', content: GUIDE, user_id: 'ops' });
    assert.equal(same.statusCode, 200);
    assert.equal(same.json<{ status: string }>().status, 'unchanged');

    const changed = await ingest({ name: 'guide.md', content: GUIDE.replace('nightly', 'every hour'), user_id: 'ops' });
    assert.equal(changed.json<{ status: string }>().status, 'replaced');
    assert.equal(changed.json<{ document: Doc }>().document.version, 2);
    const after = await app.inject({ url: `/v1/documents/${doc.id}?chunks=true`, headers: h(key) });
    const texts = after.json<{ chunks: Array<{ text: string }> }>().chunks.map((c) => c.text).join('\n');
    assert.ok(texts.includes('every hour') && !texts.includes('nightly'));
  });

  it('ingests HTML and PDF, and refuses unsupported types with a stable code', async () => {
    const html = await ingest({ name: 'page.html', content: '<html><head><title>Status page</title><script>var secret=1</script></head><body><h1>Incidents</h1><p>No incidents today on the payment API.</p></body></html>' });
    assert.equal(html.statusCode, 201, html.body);
    const htmlDoc = html.json<{ document: Doc }>().document;
    const htmlChunks = await app.inject({ url: `/v1/documents/${htmlDoc.id}?chunks=true`, headers: h(key) });
    assert.ok(!htmlChunks.body.includes('var secret'));
    assert.ok(htmlChunks.body.includes('No incidents today'));

    const pdf = await ingest({ name: 'report.pdf', content_base64: makePdf(['Quarterly report', 'Revenue grew in the storage segment.']).toString('base64') });
    assert.equal(pdf.statusCode, 201, pdf.body);
    const pdfDoc = pdf.json<{ document: Doc }>().document;
    const pdfChunks = await app.inject({ url: `/v1/documents/${pdfDoc.id}?chunks=true`, headers: h(key) });
    assert.match(pdfChunks.body, /Revenue grew in the storage segment/);

    const bad = await ingest({ name: 'image.png', content: 'not really' });
    assert.equal(bad.statusCode, 415);
    assert.equal(bad.json<{ code: string }>().code, 'PLINTH_UNSUPPORTED_DOCUMENT_TYPE');
    const both = await ingest({ name: 'x.txt', content: 'a', content_base64: 'YQ==' });
    assert.equal(both.statusCode, 400);
  });

  it('searches memories and chunks together with provenance', async () => {
    await app.inject({ method: 'POST', url: '/v1/memories', headers: h(key), payload: { memories: [{ text: 'Restore drills run every Sunday.', user_id: 'ops' }] } });
    const res = await app.inject({ method: 'POST', url: '/v1/search', headers: h(key), payload: { query: 'restore drill verifies backups', k: 5 } });
    assert.equal(res.statusCode, 200, res.body);
    const results = res.json<{ results: Array<{ type: string; document?: { name: string }; chunk?: { heading_path: string[] } }> }>().results;
    assert.ok(results.some((r) => r.type === 'memory'));
    const chunk = results.find((r) => r.type === 'chunk' && r.document?.name === 'guide.md');
    assert.ok(chunk?.chunk?.heading_path.includes('Restores'));
    const onlyDocs = await app.inject({ method: 'POST', url: '/v1/search', headers: h(key), payload: { query: 'restore', sources: ['documents'] } });
    assert.ok(onlyDocs.json<{ results: Array<{ type: string }> }>().results.every((r) => r.type === 'chunk'));
  });

  it('isolates documents between tenants', async () => {
    const list = await app.inject({ url: '/v1/documents', headers: h(otherKey) });
    assert.deepEqual(list.json<{ documents: unknown[] }>().documents, []);
    const search = await app.inject({ method: 'POST', url: '/v1/search', headers: h(otherKey), payload: { query: 'backups restore incidents revenue' } });
    assert.deepEqual(search.json<{ results: unknown[] }>().results, []);
  });

  it('exports and erases everything about a user, audited', async () => {
    await app.inject({ method: 'POST', url: '/v1/memories', headers: h(key), payload: { memories: [{ text: 'u-42 likes dark mode', user_id: 'u-42' }, { text: 'u-42 lives in Lisbon', user_id: 'u-42' }] } });
    await ingest({ name: 'notes.txt', content: 'Private notes of u-42.', user_id: 'u-42' });
    const exp = await app.inject({ method: 'POST', url: '/v1/export', headers: h(key), payload: { user_id: 'u-42' } });
    assert.equal(exp.statusCode, 200, exp.body);
    assert.match(String(exp.headers['content-type']), /application\/x-ndjson/);
    const lines = exp.body.trim().split('\n').map((l) => JSON.parse(l) as { type: string; versions?: unknown[] });
    assert.equal(lines.filter((l) => l.type === 'memory').length, 2);
    assert.equal(lines.filter((l) => l.type === 'document').length, 1);
    assert.ok(lines.every((l) => l.type !== 'memory' || (l.versions?.length ?? 0) >= 1));

    const noScope = await app.inject({ method: 'POST', url: '/v1/erase', headers: h(key), payload: {} });
    assert.equal(noScope.statusCode, 400);
    const all = await app.inject({ method: 'POST', url: '/v1/erase', headers: h(key), payload: { all: true } });
    assert.equal(all.statusCode, 403, 'erasing a whole tenant needs admin');

    const erased = await app.inject({ method: 'POST', url: '/v1/erase', headers: h(key), payload: { user_id: 'u-42' } });
    assert.equal(erased.statusCode, 200, erased.body);
    assert.deepEqual(erased.json<{ erased: Record<string, unknown> }>().erased, {
      memories: 2,
      memory_versions: 2,
      documents: 1,
      chunks: 1,
      usage_records: 0,
      inference_log_rows: 0,
      cache_invalidated: true,
    });
    // Nothing is left but the append-only audit trail of the export and the erasure.
    const again = await app.inject({ method: 'POST', url: '/v1/export', headers: h(key), payload: { user_id: 'u-42' } });
    const left = again.body.trim().split('\n').map((l) => JSON.parse(l) as { type: string; action?: string });
    assert.deepEqual(left.map((l) => `${l.type}:${l.action}`), ['audit:data.exported', 'audit:data.erased']);
    const tenant = await t.platform.auth.getTenant('default');
    const audit = await t.platform.auth.listAudit(tenant.id, { limit: 500 });
    assert.ok(audit.some((e) => e.action === 'data.erased'));
    assert.ok(audit.some((e) => e.action === 'data.exported'));
  });
});
