// Authentication, scopes, keys, tenants, audit, errors and metrics over HTTP, on the
// adapter chosen by the environment (embedded PGlite, or real PostgreSQL in test:services).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

describe(`HTTP auth and admin (${ADAPTER})`, () => {
  let t: TestPlatform;
  let app: FastifyInstance;
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  before(async () => {
    t = await startTestPlatform();
    app = await buildApp(t.platform);
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  async function createKey(scopes: string[], extra: Record<string, unknown> = {}, key = t.adminKey) {
    const res = await app.inject({ method: 'POST', url: '/v1/keys', headers: bearer(key), payload: { name: 'test', scopes, ...extra } });
    assert.equal(res.statusCode, 201, res.body);
    return res.json<{ key: string; prefix: string; id: string }>();
  }

  it('serves liveness and readiness without credentials', async () => {
    const live = await app.inject('/livez');
    assert.equal(live.statusCode, 200);
    const ready = await app.inject('/readyz');
    assert.equal(ready.statusCode, 200, ready.body);
    const body = ready.json<{ status: string; checks: Array<{ name: string; ok: boolean; mode: string }> }>();
    assert.equal(body.status, 'ok');
    const db = body.checks.find((c) => c.name === 'database');
    assert.equal(db?.ok, true);
    assert.equal(db?.mode, ADAPTER === 'embedded' ? 'embedded' : 'external');
    assert.equal(body.checks.find((c) => c.name === 'migrations')?.ok, true);
  });

  it('bootstraps a root tenant whose admin key works', async () => {
    const res = await app.inject({ url: '/v1/whoami', headers: bearer(t.adminKey) });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json<{ tenant: string; scopes: string[]; root: boolean }>().tenant, 'default');
    assert.equal(res.json<{ root: boolean }>().root, true);
  });

  it('answers 401 with problem+json for missing, malformed and unknown keys', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'Basic abc' }, bearer(`${t.adminKey.slice(0, -4)}AAAA`), bearer('plk_aaaaaaaaaaaa_' + 'A'.repeat(43))]) {
      const res = await app.inject({ url: '/v1/whoami', headers });
      assert.equal(res.statusCode, 401, JSON.stringify(headers));
      assert.match(String(res.headers['content-type']), /application\/problem\+json/);
      assert.equal(res.json<{ code: string }>().code, 'PLINTH_UNAUTHENTICATED');
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
    }
  });

  it('answers 401 on unknown routes without credentials and 404 with them', async () => {
    assert.equal((await app.inject('/v1/nothing-here')).statusCode, 401);
    const res = await app.inject({ url: '/v1/nothing-here', headers: bearer(t.adminKey) });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json<{ code: string }>().code, 'PLINTH_NOT_FOUND');
  });

  it('answers 403 when a key lacks the scope', async () => {
    const reader = await createKey(['memory:read']);
    const res = await app.inject({ url: '/v1/keys', headers: bearer(reader.key) });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json<{ code: string; required_scope: string }>().required_scope, 'admin');
    const who = await app.inject({ url: '/v1/whoami', headers: bearer(reader.key) });
    assert.equal(who.statusCode, 200);
  });

  it('shows a key once, lists only prefixes, and revokes it', async () => {
    const created = await createKey(['llm:invoke']);
    const list = await app.inject({ url: '/v1/keys', headers: bearer(t.adminKey) });
    assert.ok(!list.body.includes(created.key));
    assert.ok(list.body.includes(created.prefix));
    assert.equal((await app.inject({ url: '/v1/whoami', headers: bearer(created.key) })).statusCode, 200);
    const revoked = await app.inject({ method: 'DELETE', url: `/v1/keys/${created.prefix}`, headers: bearer(t.adminKey) });
    assert.equal(revoked.statusCode, 200);
    assert.ok(revoked.json<{ revoked_at: string | null }>().revoked_at);
    const after = await app.inject({ url: '/v1/whoami', headers: bearer(created.key) });
    assert.equal(after.statusCode, 401);
    assert.match(after.json<{ detail: string }>().detail, /revoked/);
    const again = await app.inject({ method: 'DELETE', url: `/v1/keys/${created.id}`, headers: bearer(t.adminKey) });
    assert.equal(again.statusCode, 200, 'revocation is idempotent');
    const missing = await app.inject({ method: 'DELETE', url: '/v1/keys/plk_doesnotexist', headers: bearer(t.adminKey) });
    assert.equal(missing.json<{ code: string }>().code, 'PLINTH_KEY_NOT_FOUND');
  });

  it('refuses expired keys and expiry in the past', async () => {
    const past = await app.inject({
      method: 'POST',
      url: '/v1/keys',
      headers: bearer(t.adminKey),
      payload: { name: 'x', scopes: ['admin'], expires_at: new Date(Date.now() - 1000).toISOString() },
    });
    assert.equal(past.statusCode, 400);
    const soon = await createKey(['admin'], { expires_at: new Date(Date.now() + 1500).toISOString() });
    assert.equal((await app.inject({ url: '/v1/whoami', headers: bearer(soon.key) })).statusCode, 200);
    await new Promise((r) => setTimeout(r, 1600));
    const res = await app.inject({ url: '/v1/whoami', headers: bearer(soon.key) });
    assert.equal(res.statusCode, 401);
    assert.match(res.json<{ detail: string }>().detail, /expired/);
  });

  it('records last-used time', async () => {
    const k = await createKey(['memory:read']);
    await app.inject({ url: '/v1/whoami', headers: bearer(k.key) });
    await new Promise((r) => setTimeout(r, 200));
    const list = await app.inject({ url: '/v1/keys', headers: bearer(t.adminKey) });
    const rec = list.json<{ keys: Array<{ prefix: string; last_used_at: string | null }> }>().keys.find((x) => x.prefix === k.prefix);
    assert.ok(rec?.last_used_at);
  });

  it('validates input with stable codes and nothing half-written', async () => {
    const bad = await app.inject({ method: 'POST', url: '/v1/keys', headers: bearer(t.adminKey), payload: { name: 'x', scopes: ['root:everything'] } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json<{ code: string }>().code, 'PLINTH_VALIDATION_FAILED');
    const unknownField = await app.inject({ method: 'POST', url: '/v1/keys', headers: bearer(t.adminKey), payload: { name: 'x', scopes: ['admin'], owner: 'me' } });
    assert.equal(unknownField.statusCode, 400);
    const malformed = await app.inject({ method: 'POST', url: '/v1/keys', headers: { ...bearer(t.adminKey), 'content-type': 'application/json' }, payload: '{"name":' });
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json<{ code: string }>().code, 'PLINTH_BAD_REQUEST');
    const huge = await app.inject({ method: 'POST', url: '/v1/keys', headers: bearer(t.adminKey), payload: { name: 'x'.repeat(2 * 1024 * 1024), scopes: ['admin'] } });
    assert.equal(huge.statusCode, 413);
    assert.equal(huge.json<{ code: string }>().code, 'PLINTH_PAYLOAD_TOO_LARGE');
    const keys = await app.inject({ url: '/v1/keys', headers: bearer(t.adminKey) });
    assert.ok(!keys.json<{ keys: Array<{ name: string }> }>().keys.some((k) => k.name === 'x'), 'no key was created by a rejected request');
  });

  it('lets only root-tenant admins manage tenants, and isolates the new tenant', async () => {
    const created = await app.inject({ method: 'POST', url: '/v1/tenants', headers: bearer(t.adminKey), payload: { name: 'acme' } });
    assert.equal(created.statusCode, 201, created.body);
    const dup = await app.inject({ method: 'POST', url: '/v1/tenants', headers: bearer(t.adminKey), payload: { name: 'acme' } });
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json<{ code: string }>().code, 'PLINTH_TENANT_EXISTS');
    const acme = created.json<{ id: string }>();
    const acmeAdmin = await t.platform.auth.createKey(acme.id, { name: 'acme admin', scopes: ['admin'] }, { actor: 'test' });
    const forbidden = await app.inject({ method: 'POST', url: '/v1/tenants', headers: bearer(acmeAdmin.key), payload: { name: 'other' } });
    assert.equal(forbidden.statusCode, 403);
    const acmeKeys = await app.inject({ url: '/v1/keys', headers: bearer(acmeAdmin.key) });
    const prefixes = acmeKeys.json<{ keys: Array<{ tenant_id: string }> }>().keys.map((k) => k.tenant_id);
    assert.deepEqual([...new Set(prefixes)], [acme.id], 'an acme admin sees only acme keys');
    const revokeOther = await app.inject({ method: 'DELETE', url: `/v1/keys/${t.adminKey.slice(0, 16)}`, headers: bearer(acmeAdmin.key) });
    assert.equal(revokeOther.statusCode, 404, 'cannot revoke another tenant\'s key');
  });

  it('keeps an append-only audit log of security-relevant actions', async () => {
    const k = await createKey(['memory:read']);
    await app.inject({ method: 'DELETE', url: `/v1/keys/${k.id}`, headers: bearer(t.adminKey) });
    const res = await app.inject({ url: '/v1/audit?limit=500', headers: bearer(t.adminKey) });
    assert.equal(res.statusCode, 200);
    const entries = res.json<{ entries: Array<{ action: string; target: string; actor: string; request_id: string | null }> }>().entries;
    assert.ok(entries.some((e) => e.action === 'key.created' && e.target === k.prefix && e.actor.startsWith('key:plk_') && e.request_id));
    assert.ok(entries.some((e) => e.action === 'key.revoked' && e.target === k.prefix));
    assert.ok(entries.some((e) => e.action === 'tenant.created' && e.target === 'default'));
    const appendOnly = (err: unknown) => /append-only/.test(String((err as Error).cause));
    await assert.rejects(t.platform.db.withSystem((tx) => tx.query('UPDATE audit_log SET action = $1', ['tampered'])), appendOnly);
    await assert.rejects(t.platform.db.withSystem((tx) => tx.query('DELETE FROM audit_log')), appendOnly);
    await assert.rejects(t.platform.db.withSystem((tx) => tx.query('TRUNCATE audit_log')), appendOnly);
    const page = await app.inject({ url: '/v1/audit?limit=1', headers: bearer(t.adminKey) });
    const next = page.json<{ next_after: string }>().next_after;
    assert.ok(next);
    const page2 = await app.inject({ url: `/v1/audit?limit=1&after=${next}`, headers: bearer(t.adminKey) });
    assert.notEqual(page2.json<{ entries: Array<{ id: string }> }>().entries[0]?.id, next);
  });

  it('serves OpenAPI 3.1 generated from the schemas, to authenticated callers', async () => {
    assert.equal((await app.inject('/openapi.json')).statusCode, 401);
    const res = await app.inject({ url: '/openapi.json', headers: bearer(t.adminKey) });
    assert.equal(res.statusCode, 200);
    const doc = res.json<{ openapi: string; paths: Record<string, unknown> }>();
    assert.equal(doc.openapi, '3.1.0');
    for (const p of ['/v1/keys', '/v1/tenants', '/v1/audit', '/readyz']) assert.ok(doc.paths[p], p);
    const docs = await app.inject({ url: '/docs', headers: bearer(t.adminKey) });
    assert.ok(docs.statusCode < 400);
  });

  it('exposes Prometheus metrics to admins with per-route labels', async () => {
    assert.equal((await app.inject('/metrics')).statusCode, 401);
    const reader = await createKey(['memory:read']);
    assert.equal((await app.inject({ url: '/metrics', headers: bearer(reader.key) })).statusCode, 403);
    const res = await app.inject({ url: '/metrics', headers: bearer(t.adminKey) });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /plinth_http_requests_total\{method="GET",route="\/v1\/whoami",status_code="200"\} \d+/);
    assert.match(res.body, /plinth_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/v1\/keys"/);
    assert.match(res.body, /plinth_auth_failures_total\{reason="missing"\}/);
    assert.match(res.body, /plinth_process_cpu_seconds_total/);
  });

  it('propagates a valid x-request-id and replaces an invalid one', async () => {
    const ok = await app.inject({ url: '/livez', headers: { 'x-request-id': 'abc-123' } });
    assert.equal(ok.headers['x-request-id'], 'abc-123');
    const bad = await app.inject({ url: '/livez', headers: { 'x-request-id': 'a b<script>' } });
    assert.match(String(bad.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  it('never writes a key to the logs', async () => {
    const k = await createKey(['admin']);
    await app.inject({ url: `/v1/whoami?api_key=${k.key}`, headers: bearer(k.key) });
    await app.inject({ url: '/v1/whoami', headers: bearer(`${k.key}x`) });
    const text = t.logs.text();
    assert.ok(t.logs.lines.length > 10, 'requests were logged');
    assert.ok(!text.includes(t.adminKey), 'admin key leaked into logs');
    // The secret is everything after `plk_<12-char prefix>_`; it may itself contain `_`.
    const secret = k.key.slice('plk_'.length + 12 + 1);
    assert.equal(secret.length, 43);
    assert.ok(!text.includes(secret), 'key secret leaked into logs');
  });
});
