// The `plinth` command, run as a separate process. In embedded mode it attaches to the database
// hosted by the running platform (as it would to a running `plinth serve`).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADAPTER, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

const MAIN = path.resolve('src/cli/main.ts');

describe(`plinth CLI (${ADAPTER})`, () => {
  let t: TestPlatform;
  before(async () => {
    t = await startTestPlatform();
  });
  after(async () => {
    await t?.close();
  });

  function plinth(args: string[], extraEnv: Record<string, string> = {}) {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('PLINTH_') && k !== 'DATABASE_URL') env[k] = v;
    const res = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      env: { ...env, ...t.env.env, LOG_LEVEL: 'warn', ...extraEnv },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: res.status, stdout: res.stdout, stderr: res.stderr };
  }
  const json = <T>(r: { stdout: string }) => JSON.parse(r.stdout) as T;

  it('wrote the bootstrap admin key with mode 0600', () => {
    const mode = statSync(path.join(t.env.dataDir, 'admin.key')).mode & 0o777;
    assert.equal(mode, 0o600);
  });

  it('prints its version', () => {
    const r = plinth(['version', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(json<{ version: string }>(r).version, /^\d+\.\d+\.\d+/);
  });

  it('shows migration status', () => {
    const r = plinth(['migrate', '--status', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json<{ upToDate: boolean }>(r).upToDate, true);
    assert.equal(plinth(['migrate']).code, 0);
  });

  it('manages tenants and keys; a key is printed once and works over HTTP', async () => {
    const tenant = plinth(['tenants', 'create', 'cli-co', '--json']);
    assert.equal(tenant.code, 0, tenant.stderr);
    const list = plinth(['tenants', 'list', '--json']);
    assert.ok(json<{ tenants: Array<{ name: string }> }>(list).tenants.some((x) => x.name === 'cli-co'));
    const created = plinth(['keys', 'create', '--tenant', 'cli-co', '--name', 'agent', '--scopes', 'memory:read,llm:invoke', '--expires-in', '30d', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const key = json<{ key: string; prefix: string; scopes: string[]; expires_at: string }>(created);
    assert.deepEqual(key.scopes, ['llm:invoke', 'memory:read']);
    assert.ok(new Date(key.expires_at).getTime() > Date.now() + 29 * 86_400_000);
    const principal = await t.platform.auth.authenticate(key.key);
    assert.equal(principal.tenantName, 'cli-co');

    const human = plinth(['keys', 'list', '--tenant', 'cli-co']);
    assert.equal(human.code, 0);
    assert.ok(human.stdout.includes(key.prefix));
    assert.ok(!human.stdout.includes(key.key));

    const revoked = plinth(['keys', 'revoke', key.prefix, '--tenant', 'cli-co', '--json']);
    assert.equal(revoked.code, 0, revoked.stderr);
    t.platform.auth.invalidate();
    await assert.rejects(t.platform.auth.authenticate(key.key), /revoked/);
  });

  it('fails with a message, a code and a non-zero exit on bad input', () => {
    const badScope = plinth(['keys', 'create', '--tenant', 'cli-co', '--scopes', 'everything']);
    assert.equal(badScope.code, 1);
    assert.match(badScope.stderr, /Unknown scope "everything".*PLINTH_INVALID_SCOPE/);
    const noTenant = plinth(['keys', 'list', '--tenant', 'nobody']);
    assert.equal(noTenant.code, 1);
    assert.match(noTenant.stderr, /PLINTH_TENANT_NOT_FOUND/);
    const badConfig = plinth(['doctor'], { PLINTH_PORT: 'not-a-port' });
    assert.equal(badConfig.code, 2);
    assert.match(badConfig.stderr, /PLINTH_PORT \(server\.port\)/);
  });

  it('ingests files, directories and globs, searches, exports and erases', () => {
    const dir = path.join(t.env.dataDir, 'corpus');
    mkdirSync(path.join(dir, 'nested'), { recursive: true });
    writeFileSync(path.join(dir, 'runbook.md'), '# Runbook\n\n## Failover\n\nPromote the replica with pg_ctl promote, then repoint the pooler.\n');
    writeFileSync(path.join(dir, 'nested', 'faq.html'), '<h1>FAQ</h1><p>The pooler runs PgBouncer in session mode.</p>');
    writeFileSync(path.join(dir, 'notes.txt'), 'Loose notes about the pooler.');
    writeFileSync(path.join(dir, 'image.bin'), 'binary');
    const ingest = plinth(['ingest', dir, path.join(dir, '*.txt'), '--user-id', 'ops', '--json']);
    assert.equal(ingest.code, 0, ingest.stderr);
    const summary = json<{ files: number; created: number; failed: number; chunks: number }>(ingest);
    assert.deepEqual([summary.files, summary.created, summary.failed], [3, 3, 0], 'the directory gives md and html, the glob the txt; the .bin is skipped');
    assert.ok(summary.chunks >= 3);
    const again = plinth(['ingest', path.join(dir, '**/*.{md,html}'), '--user-id', 'ops', '--json']);
    assert.equal(json<{ unchanged: number }>(again).unchanged, 2);
    const missing = plinth(['ingest', path.join(dir, 'nothing-*.md')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /PLINTH_NOT_FOUND/);

    const search = plinth(['search', 'how do I promote the replica', '--user-id', 'ops', '--json']);
    assert.equal(search.code, 0, search.stderr);
    const hits = json<{ results: Array<{ type: string; document?: { name: string } }> }>(search).results;
    assert.equal(hits[0]?.document?.name, 'runbook.md');
    assert.match(plinth(['search', 'pooler session mode', '--user-id', 'ops']).stdout, /faq\.html/);

    const exported = plinth(['memory', 'export', '--user-id', 'ops']);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(exported.stdout.trim().split('\n').filter((l) => (JSON.parse(l) as { type: string }).type === 'document').length, 3);
    const erased = plinth(['memory', 'erase', '--user-id', 'ops', '--json']);
    assert.equal(json<{ documents: number }>(erased).documents, 3);
    // Only the append-only audit trail of the export and the erasure is left.
    const left = plinth(['memory', 'export', '--user-id', 'ops']).stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; action: string });
    assert.deepEqual(left.map((l) => `${l.type}:${l.action}`), ['audit:data.exported', 'audit:data.erased']);
    const noScope = plinth(['memory', 'erase']);
    assert.equal(noScope.code, 1);
    assert.match(noScope.stderr, /PLINTH_VALIDATION_FAILED/);
  });

  it('doctor reports embedded vs real and passes on a healthy setup', () => {
    const r = plinth(['doctor', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const report = json<{ ok: boolean; checks: Array<{ name: string; mode: string; ok: boolean }> }>(r);
    assert.equal(report.ok, true);
    const db = report.checks.find((c) => c.name === 'database');
    assert.equal(db?.mode, ADAPTER === 'embedded' ? 'embedded' : 'external');
    assert.ok(report.checks.some((c) => c.name === 'redis' && c.mode === 'embedded'));
    assert.ok(report.checks.some((c) => c.name === 'migrations' && c.ok));
    const human = plinth(['doctor']);
    assert.match(human.stdout, /Plinth is ready/);
  });
});
