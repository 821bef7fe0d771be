// The backup storage contract, run here against the filesystem adapter and by
// test/services/backup-s3.test.ts against a real S3-compatible server.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { isPlinthError } from '../../src/errors.js';
import { createFsStorage } from '../../src/ops/storage-fs.js';
import type { BackupStorage } from '../../src/ops/storage.js';

export function storageContract(name: string, open: () => Promise<BackupStorage>): void {
  describe(`backup storage contract: ${name}`, () => {
    it('writes, reads back byte for byte, lists and removes', async () => {
      const s = await open();
      try {
        const big = randomBytes(3 * 1024 * 1024 + 17);
        const w = await s.write('b1/data.enc', Readable.from([big.subarray(0, 1000), big.subarray(1000)]));
        assert.equal(w.bytes, big.length);
        await s.write('b1/manifest.enc', Readable.from([Buffer.from('m')]));
        assert.ok((await buffer(await s.read('b1/data.enc'))).equals(big));
        assert.deepEqual(await s.list(), ['b1/data.enc', 'b1/manifest.enc']);
        await s.remove('b1/data.enc');
        await s.remove('b1/data.enc'); // removing twice is fine
        assert.deepEqual(await s.list(), ['b1/manifest.enc']);
        await s.remove('b1/manifest.enc');
        assert.deepEqual(await s.list(), []);
      } finally {
        await s.close();
      }
    });

    it('replaces an object written twice', async () => {
      const s = await open();
      try {
        await s.write('x/o', Readable.from([Buffer.from('first')]));
        await s.write('x/o', Readable.from([Buffer.from('second')]));
        assert.equal((await buffer(await s.read('x/o'))).toString(), 'second');
        await s.remove('x/o');
      } finally {
        await s.close();
      }
    });

    it('answers BACKUP_NOT_FOUND for a missing object', async () => {
      const s = await open();
      try {
        await assert.rejects(s.read('nope/manifest.enc'), (e) => isPlinthError(e, 'BACKUP_NOT_FOUND'));
      } finally {
        await s.close();
      }
    });

    it('never exposes a partial object when the producer fails', async () => {
      const s = await open();
      try {
        const failing = new Readable({
          read() {
            this.push(randomBytes(64 * 1024));
            setImmediate(() => this.destroy(new Error('producer died')));
          },
        });
        await assert.rejects(s.write('p/data.enc', failing), /producer died/);
        assert.deepEqual(await s.list(), []);
        await assert.rejects(s.read('p/data.enc'), (e) => isPlinthError(e, 'BACKUP_NOT_FOUND'));
      } finally {
        await s.close();
      }
    });

    it('refuses names that escape the target', async () => {
      const s = await open();
      try {
        for (const bad of ['../x', 'a/../../b', '/abs', '.hidden', 'a//b', 'a/b.tmp-1']) {
          await assert.rejects(s.write(bad, Readable.from([Buffer.from('x')])), (e) => isPlinthError(e, 'BACKUP_TARGET_INVALID'), bad);
        }
      } finally {
        await s.close();
      }
    });
  });
}

// Run against the filesystem when this file is the test itself, not when the S3 suite imports it.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  storageContract('filesystem', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-bstore-'));
    dirs.push(dir);
    return Promise.resolve(createFsStorage(dir));
  });

  describe('filesystem adapter', () => {
    it('leaves no temporary file behind after a failed write', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-bstore-'));
      dirs.push(dir);
      const s = createFsStorage(dir);
      const failing = new Readable({
        read() {
          this.destroy(new Error('boom'));
        },
      });
      await assert.rejects(s.write('a/data.enc', failing));
      assert.deepEqual(readdirSync(path.join(dir, 'a')), []);
    });
  });
}
