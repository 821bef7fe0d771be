// Backups on a real S3-compatible server (moto, started by scripts/services.sh): the storage
// contract, and a backup → restore → drill round trip through a bucket.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Secret } from '../../src/config/index.js';
import { isPlinthError } from '../../src/errors.js';
import { listBackups, runBackup } from '../../src/ops/backup.js';
import { runDrill } from '../../src/ops/drill.js';
import { restoreBackup } from '../../src/ops/restore.js';
import { createS3Storage } from '../../src/ops/storage-s3.js';
import { REAL_PG_URL, freshEnv, startTestPlatform, type TestEnv, type TestPlatform } from '../helpers/platform.js';
import { storageContract } from '../unit/backup-storage.test.js';

const S3_URL = process.env.PLINTH_TEST_S3_URL;
if (!S3_URL) throw new Error('PLINTH_TEST_S3_URL is unset: start the services with scripts/services.sh start');

const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const client = new S3Client({ region: 'us-east-1', endpoint: S3_URL, forcePathStyle: true, credentials });
const bucket = `plinth-backups-${randomBytes(4).toString('hex')}`;

function s3Storage(prefix: string) {
  return createS3Storage({
    bucket,
    prefix,
    endpoint: S3_URL,
    region: 'us-east-1',
    accessKeyId: new Secret(credentials.accessKeyId),
    secretAccessKey: new Secret(credentials.secretAccessKey),
    forcePathStyle: true,
  });
}

before(async () => {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
});
after(() => client.destroy());

storageContract('S3 (moto)', () => Promise.resolve(s3Storage(`contract-${randomBytes(4).toString('hex')}`)));

describe('S3 adapter', () => {
  it('lists only its own prefix and pages past 1000 objects', async () => {
    const mine = s3Storage('paging/mine');
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'paging/other/x', Body: 'x' }));
    await Promise.all(Array.from({ length: 1005 }, (_, i) => client.send(new PutObjectCommand({ Bucket: bucket, Key: `paging/mine/o/${String(i).padStart(4, '0')}`, Body: 'x' }))));
    const names = await mine.list();
    assert.equal(names.length, 1005);
    assert.equal(names[0], 'o/0000');
    await mine.close();
  });

  it('reports an unreachable endpoint as BACKUP_STORAGE_UNAVAILABLE', async () => {
    const s = createS3Storage({ bucket, prefix: '', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', accessKeyId: new Secret('a'), secretAccessKey: new Secret('b'), forcePathStyle: true });
    await assert.rejects(s.write('x/y', Readable.from([Buffer.from('z')])), (e) => isPlinthError(e, 'BACKUP_STORAGE_UNAVAILABLE'));
    await s.close();
  });
});

describe('backup → restore → drill through S3', { timeout: 600_000 }, () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'plinth-backup-s3-'));
  const keyFile = path.join(work, 'backup.key');
  writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const target = `s3://${bucket}/plinth/prod`;
  let tp: TestPlatform;
  const envs: TestEnv[] = [];

  before(async () => {
    tp = await startTestPlatform({
      BACKUP_KEY_FILE: keyFile,
      BACKUP_TARGET: target,
      BACKUP_S3_ENDPOINT: S3_URL,
      BACKUP_S3_REGION: 'us-east-1',
      BACKUP_S3_ACCESS_KEY_ID: credentials.accessKeyId,
      BACKUP_S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      BACKUP_S3_FORCE_PATH_STYLE: 'true',
      ...(REAL_PG_URL ? { PG_BIN_DIR: process.env.PLINTH_TEST_PG_BIN ?? '', BACKUP_DRILL_DATABASE_URL: process.env.PLINTH_TEST_PG_ADMIN_URL ?? '' } : {}),
    });
    const tenant = await tp.platform.auth.getTenant('default');
    await tp.platform.memory.add(tenant.id, { memories: Array.from({ length: 12 }, (_, i) => ({ text: `s3 fact ${i}` })) }, { actor: 'test' });
    if (!REAL_PG_URL) await tp.platform.close();
  });

  after(async () => {
    await tp.close();
    for (const e of envs) await e.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it('writes the manifest last, restores, drills, applies retention and refuses tampered data', async () => {
    const first = await runBackup({ config: tp.config });
    const second = await runBackup({ config: tp.config, keep: 1 });
    assert.deepEqual(second.removed, [first.id]);
    const storage = s3Storage('plinth/prod');
    assert.deepEqual(await listBackups(storage), [{ id: second.id, complete: true }]);
    assert.deepEqual((await storage.list()).sort(), [`${second.id}/data.enc`, `${second.id}/manifest.enc`]);
    await storage.close();

    const env = await freshEnv();
    envs.push(env);
    const into = env.databaseUrl ? { databaseUrl: env.databaseUrl } : { dataDir: path.join(env.dataDir, 'restored') };
    const restored = await restoreBackup({ config: tp.config, ...into });
    assert.deepEqual(restored.problems, []);
    assert.equal(restored.id, second.id);

    const drill = await runDrill({ config: tp.config });
    assert.ok(drill.ok, JSON.stringify(drill.checks));
    assert.equal(drill.backup, second.id);

    // Flip one byte of the stored ciphertext: the restore is refused with a stable code.
    const key = `plinth/prod/${second.id}/data.enc`;
    const body = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
    body[body.length >> 1]! ^= 1;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const env2 = await freshEnv();
    envs.push(env2);
    const into2 = env2.databaseUrl ? { databaseUrl: env2.databaseUrl } : { dataDir: path.join(env2.dataDir, 'restored') };
    await assert.rejects(restoreBackup({ config: tp.config, ...into2 }), (e) => isPlinthError(e, 'BACKUP_INTEGRITY_FAILED'));
  });
});
