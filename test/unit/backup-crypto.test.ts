import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isPlinthError } from '../../src/errors.js';
import { createEncryptStream, decryptBuffer, encryptBuffer, parseKeyring } from '../../src/ops/backup-crypto.js';
import { compareTables, parseManifest } from '../../src/ops/backup-manifest.js';
import { parseBackupRef } from '../../src/ops/restore.js';

const HEX = randomBytes(32).toString('hex');
const ring = parseKeyring(`# current\n${HEX}\n`);

function encryptChunked(plain: Buffer, chunk: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const t = createEncryptStream(ring.current, chunk);
    t.on('data', (c: Buffer) => parts.push(c));
    t.on('end', () => resolve(Buffer.concat(parts)));
    t.on('error', reject);
    // Uneven writes: chunk boundaries must not depend on how the producer writes.
    for (let i = 0; i < plain.length; i += 7) t.write(plain.subarray(i, i + 7));
    t.end();
  });
}

const integrity = (e: unknown) => isPlinthError(e, 'BACKUP_INTEGRITY_FAILED');

describe('backup encryption (chunked AES-256-GCM)', () => {
  it('round-trips empty, exact-multiple and ragged lengths', async () => {
    for (const n of [0, 1, 63, 64, 65, 128, 1000]) {
      const plain = randomBytes(n);
      const sealed = await encryptChunked(plain, 64);
      assert.equal(sealed.length, 36 + n + 16 * Math.max(1, Math.ceil(n / 64)));
      assert.ok((await decryptBuffer(ring, sealed)).equals(plain), `length ${n}`);
    }
  });

  it('never repeats ciphertext: a fresh salt per file', async () => {
    const plain = Buffer.from('same plaintext');
    assert.notDeepEqual(await encryptBuffer(ring.current, plain), await encryptBuffer(ring.current, plain));
  });

  it('refuses a flipped bit anywhere, truncation, an appended chunk and reordered chunks', async () => {
    const plain = randomBytes(300);
    const sealed = await encryptChunked(plain, 64); // 5 chunks of 80 bytes after the 36-byte header
    for (const pos of [40, 36 + 80 + 3, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[pos]! ^= 1;
      await assert.rejects(decryptBuffer(ring, bad), integrity, `bit at ${pos}`);
    }
    const header = Buffer.from(sealed);
    header[20]! ^= 1; // the salt is authenticated as associated data
    await assert.rejects(decryptBuffer(ring, header), integrity);
    await assert.rejects(decryptBuffer(ring, sealed.subarray(0, 36 + 80 * 2)), integrity, 'cut at a chunk boundary');
    await assert.rejects(decryptBuffer(ring, sealed.subarray(0, sealed.length - 5)), integrity);
    await assert.rejects(decryptBuffer(ring, Buffer.concat([sealed, sealed.subarray(36, 116)])), integrity, 'appended');
    const swapped = Buffer.concat([sealed.subarray(0, 36), sealed.subarray(116, 196), sealed.subarray(36, 116), sealed.subarray(196)]);
    await assert.rejects(decryptBuffer(ring, swapped), integrity, 'reordered');
    await assert.rejects(decryptBuffer(ring, Buffer.alloc(0)), integrity);
  });

  it('decrypts with an older key after rotation, and names a missing key', async () => {
    const old = parseKeyring(HEX);
    const sealed = await encryptBuffer(old.current, Buffer.from('before rotation'));
    const rotated = parseKeyring(`${randomBytes(32).toString('base64')}\n${HEX}`);
    assert.notEqual(rotated.current.id, old.current.id);
    assert.equal((await decryptBuffer(rotated, sealed)).toString(), 'before rotation');
    const other = parseKeyring(randomBytes(32).toString('hex'));
    await assert.rejects(decryptBuffer(other, sealed), (e) => isPlinthError(e, 'BACKUP_KEY_INVALID') && e.message.includes(old.current.id));
  });

  it('refuses malformed key files', () => {
    for (const text of ['', '# only a comment', 'abcd', randomBytes(16).toString('hex')]) {
      assert.throws(() => parseKeyring(text), (e) => isPlinthError(e, 'BACKUP_KEY_INVALID'), JSON.stringify(text));
    }
  });
});

describe('backup manifest', () => {
  it('reports missing, extra, recounted and altered tables', () => {
    const want = { 'public.a': { rows: 2, checksum: '10' }, 'public.b': { rows: 1, checksum: '5' }, 'public.c': { rows: 0, checksum: '0' } };
    assert.deepEqual(compareTables(want, { ...want }), []);
    const got = { 'public.a': { rows: 3, checksum: '10' }, 'public.b': { rows: 1, checksum: '6' }, 'public.d': { rows: 0, checksum: '0' } };
    assert.deepEqual(compareTables(want, got), [
      'table public.a: 3 rows, the backup holds 2',
      'table public.b: content checksum differs from the backup\'s',
      'table public.c is missing',
      'table public.d is not in the backup',
    ]);
  });

  it('refuses a manifest that is not JSON or lacks fields', () => {
    assert.throws(() => parseManifest(Buffer.from('{')), integrity);
    assert.throws(() => parseManifest(Buffer.from('{"manifestVersion":1}')), integrity);
  });

  it('parses backup references', () => {
    const id = '20250101T021700123Z-a1b2c3';
    assert.deepEqual(parseBackupRef(id, '/b'), { target: '/b', id });
    assert.deepEqual(parseBackupRef('latest', '/b'), { target: '/b', id: undefined });
    assert.deepEqual(parseBackupRef(`s3://bucket/pre/${id}`, undefined), { target: 's3://bucket/pre', id });
    assert.deepEqual(parseBackupRef(`/var/backups/${id}/`, undefined), { target: '/var/backups', id });
    assert.throws(() => parseBackupRef('yesterday', '/b'), (e) => isPlinthError(e, 'BACKUP_NOT_FOUND'));
  });
});
