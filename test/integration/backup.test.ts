// Backup → restore → drill on the embedded database, or on a real PostgreSQL when
// PLINTH_TEST_PG_URL is set (then pg_dump/pg_restore come from PLINTH_TEST_PG_BIN).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { Secret, type Config } from '../../src/config/index.js';
import { openDatabase } from '../../src/db/index.js';
import { isPlinthError } from '../../src/errors.js';
import { applyRetention, listBackups, runBackup } from '../../src/ops/backup.js';
import { decryptBuffer, encryptBuffer, parseKeyring } from '../../src/ops/backup-crypto.js';
import { assertDrillPassed, drillMetrics, runDrill } from '../../src/ops/drill.js';
import { restoreBackup } from '../../src/ops/restore.js';
import { createFsStorage } from '../../src/ops/storage-fs.js';
import { ADAPTER, REAL_PG_URL, freshEnv, startTestPlatform, type TestEnv, type TestPlatform } from '../helpers/platform.js';

const KEY_HEX = randomBytes(32).toString('hex');
const work = mkdtempSync(path.join(os.tmpdir(), 'plinth-backup-it-'));
const keyFile = path.join(work, 'backup.key');
writeFileSync(keyFile, `${KEY_HEX}\n`, { mode: 0o600 });
const backupDir = path.join(work, 'backups');

async function countMemories(config: Config): Promise<number> {
  const db = await openDatabase(config, { allowAttach: true });
  try {
    return await db.withSystem(async (tx) => Number((await tx.query<{ n: string }>('SELECT count(*) AS n FROM memories')).rows[0]!.n));
  } finally {
    await db.close();
  }
}

describe(`backups, restore and drills (${ADAPTER})`, { timeout: 600_000 }, () => {
  let tp: TestPlatform;
  let config: Config;
  let backupId: string;
  const targets: TestEnv[] = [];

  /** A fresh restore target: an empty database (postgres) or data directory (embedded). */
  async function freshTarget(): Promise<{ databaseUrl: string } | { dataDir: string }> {
    const env = await freshEnv();
    targets.push(env);
    return env.databaseUrl ? { databaseUrl: env.databaseUrl } : { dataDir: path.join(env.dataDir, 'restored') };
  }

  before(async () => {
    tp = await startTestPlatform({
      BACKUP_KEY_FILE: keyFile,
      BACKUP_TARGET: backupDir,
      ...(REAL_PG_URL ? { PG_BIN_DIR: process.env.PLINTH_TEST_PG_BIN ?? '', BACKUP_DRILL_DATABASE_URL: process.env.PLINTH_TEST_PG_ADMIN_URL ?? '' } : {}),
    });
    config = tp.config;
    const tenant = await tp.platform.auth.getTenant('default');
    const memories = Array.from({ length: 24 }, (_, i) => ({ text: `fact number ${i}: the ${['red', 'green', 'blue'][i % 3]} box holds ${i * 7} marbles`, tags: [`t${i % 4}`] }));
    await tp.platform.memory.add(tenant.id, { memories }, { actor: 'test' });
    await tp.platform.documents.ingest(tenant.id, { name: 'notes.md', content: '# Notes\n\nBackups are encrypted.\n\n## Drills\n\nDrills restore them weekly.' }, { actor: 'test' });
  });

  after(async () => {
    await tp.close();
    for (const t of targets) await t.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it('takes a backup (embedded: refused while another holder serves the database)', async () => {
    if (!REAL_PG_URL) {
      await assert.rejects(runBackup({ config }), (e) => isPlinthError(e, 'BACKUP_SOURCE_BUSY'));
      await tp.platform.close(); // embedded backups need the database to themselves
    }
    const r = await runBackup({ config });
    backupId = r.id;
    assert.equal(r.source, ADAPTER);
    assert.equal(r.format, REAL_PG_URL ? 'pg_dump-custom' : 'pglite-datadir-tar-gz');
    assert.ok(r.schemaVersion >= 4);
    assert.ok(r.rows >= 24 + 24, `rows ${r.rows}`);
    assert.deepEqual(await listBackups(createFsStorage(backupDir)), [{ id: r.id, complete: true }]);
    // Encrypted at rest: no plaintext of a memory in the object.
    assert.ok(!readFileSync(path.join(backupDir, r.id, 'data.enc')).includes('marbles'));
  });

  it('restores into an empty target, verifies it and migrates it', async () => {
    const target = await freshTarget();
    const r = await restoreBackup({ config, ...target });
    assert.deepEqual(r.problems, []);
    assert.equal(r.id, backupId);
    const restored: Config =
      'databaseUrl' in target
        ? { ...config, database: { ...config.database, url: new Secret(target.databaseUrl) } }
        : { ...config, dataDir: target.dataDir, database: { ...config.database, url: undefined } };
    assert.equal(await countMemories(restored), 24);

    // A second restore into the now non-empty target is refused, unless forced.
    await assert.rejects(restoreBackup({ config, ...target }), (e) => isPlinthError(e, 'RESTORE_TARGET_NOT_EMPTY'));
    const forced = await restoreBackup({ config, ...target, force: true });
    assert.deepEqual(forced.problems, []);
    assert.equal(await countMemories(restored), 24);
  });

  it('refuses tampered ciphertext and a tampered manifest, before touching the target', async () => {
    for (const object of ['data.enc', 'manifest.enc']) {
      const dir = path.join(work, `tampered-${object}`);
      cpSync(backupDir, dir, { recursive: true });
      const file = path.join(dir, backupId, object);
      const bytes = readFileSync(file);
      bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
      writeFileSync(file, bytes);
      const target = await freshTarget();
      await assert.rejects(restoreBackup({ config, from: dir, ...target }), (e) => isPlinthError(e, 'BACKUP_INTEGRITY_FAILED'), object);
      // Nothing was restored: the target is still empty, so a clean restore is accepted.
      const clean = await restoreBackup({ config, ...target });
      assert.deepEqual(clean.problems, []);
    }
  });

  it('drills the newest backup: checksums, invariants, searches against the source, RTO and metrics', async () => {
    const report = await runDrill({ config });
    assert.ok(report.ok, JSON.stringify(report.checks, null, 2));
    assert.equal(report.backup, backupId);
    const byName = new Map(report.checks.map((c) => [c.name, c]));
    for (const name of ['authenticated', 'rows and checksums', 'migrations', 'vectors', 'foreign keys', 'searches']) assert.ok(byName.get(name)?.ok, name);
    assert.match(byName.get('searches')!.detail, /5 return the same ids as on the source/);
    assert.ok(report.restoreSeconds! > 0 && report.restoreSeconds! <= report.durationSeconds);
    assertDrillPassed(report);
    const registry = new Registry();
    drillMetrics(registry, report);
    const text = await registry.metrics();
    assert.match(text, /^plinth_backup_drill_ok 1$/m);
    assert.match(text, /^plinth_backup_drill_last_success_timestamp_seconds \d+/m);
    assert.match(text, /^plinth_backup_drill_restore_duration_seconds [\d.]+$/m);
  });

  it('fails the drill when the restored row counts do not match the manifest', async () => {
    const dir = path.join(work, 'miscounted');
    cpSync(backupDir, dir, { recursive: true });
    const ring = parseKeyring(KEY_HEX);
    const file = path.join(dir, backupId, 'manifest.enc');
    const manifest = JSON.parse((await decryptBuffer(ring, readFileSync(file))).toString()) as { tables: Record<string, { rows: number }> };
    manifest.tables['public.memories']!.rows += 1;
    writeFileSync(file, await encryptBuffer(ring.current, Buffer.from(JSON.stringify(manifest))));
    const report = await runDrill({ config, from: dir });
    assert.equal(report.ok, false);
    const rows = report.checks.find((c) => c.name === 'rows and checksums');
    assert.equal(rows?.ok, false);
    assert.match(rows.detail, /public\.memories: 24 rows, the backup holds 25/);
    assert.throws(() => assertDrillPassed(report), (e) => isPlinthError(e, 'DRILL_FAILED'));
    const registry = new Registry();
    drillMetrics(registry, report, 1_700_000_000);
    const text = await registry.metrics();
    assert.match(text, /^plinth_backup_drill_ok 0$/m);
    assert.match(text, /^plinth_backup_drill_last_success_timestamp_seconds 1700000000$/m);
  });

  it('keeps the newest N complete backups and never deletes incomplete ones', async () => {
    const incomplete = '20000101T000000000Z-abcdef';
    mkdirSync(path.join(backupDir, incomplete));
    writeFileSync(path.join(backupDir, incomplete, 'data.enc'), 'partial');
    const second = await runBackup({ config });
    const third = await runBackup({ config, keep: 2 });
    assert.deepEqual(third.removed, [backupId]);
    assert.deepEqual(await listBackups(createFsStorage(backupDir)), [
      { id: incomplete, complete: false },
      { id: second.id, complete: true },
      { id: third.id, complete: true },
    ]);
    assert.deepEqual(await applyRetention(createFsStorage(backupDir), 2), []);
  });
});
