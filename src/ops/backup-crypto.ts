// Encryption at rest for backups: AES-256-GCM in a chunked, streaming construction (the "STREAM"
// scheme of Hoang, Reyhanitabar, Rogaway and Vizár, as used by age and Tink).
//
//   file   = header || chunk_0 || … || chunk_n
//   header = "PLNTHBK1" (8) || key id (8) || salt (16) || chunk size, u32 BE (4)
//   key    = HKDF-SHA256(master key, salt, "plinth-backup-v1", 32)     — a fresh key per file
//   nonce  = counter, u64 BE, in bytes 3..10 || last-chunk flag (byte 11)
//   chunk  = AES-256-GCM(key, nonce, plaintext[i], aad = header) → ciphertext || 16-byte tag
//
// Every chunk is authenticated before its plaintext is released; the counter stops reordering,
// the last-chunk flag stops truncation and appending, and the header (AAD) cannot be altered.
// A single GCM pass over the whole stream would only authenticate at the very end, after a
// restore had already consumed forged data.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { PlinthError } from '../errors.js';

const MAGIC = Buffer.from('PLNTHBK1', 'ascii');
const HEADER_BYTES = 36;
const TAG_BYTES = 16;
export const DEFAULT_CHUNK_BYTES = 64 * 1024;
const MAX_CHUNK_BYTES = 16 * 1024 * 1024;
const INFO = Buffer.from('plinth-backup-v1', 'ascii');

export interface BackupKey {
  /** First 8 bytes of SHA-256("plinth-backup-key-id" || key), hex: names the key without revealing it. */
  id: string;
  key: Buffer;
}

export interface BackupKeyring {
  /** The key new backups are encrypted with (the first in the file). */
  current: BackupKey;
  /** Every key, for decrypting backups made before a rotation. */
  all: BackupKey[];
}

export function keyId(key: Buffer): string {
  return createHash('sha256').update('plinth-backup-key-id').update(key).digest().subarray(0, 8).toString('hex');
}

/** Parse a key file: one 256-bit key per line, 64 hex characters or base64; `#` starts a comment. */
export function parseKeyring(text: string, source = 'the backup key file'): BackupKeyring {
  const all: BackupKey[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    let key: Buffer | undefined;
    if (/^[0-9a-fA-F]{64}$/.test(line)) key = Buffer.from(line, 'hex');
    else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(line)) key = Buffer.from(line.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key?.length !== 32) {
      throw new PlinthError('BACKUP_KEY_INVALID', `Line ${i + 1} of ${source} is not a 256-bit key (64 hex characters or 44 base64 characters).`);
    }
    all.push({ id: keyId(key), key });
  }
  const current = all[0];
  if (!current) throw new PlinthError('BACKUP_KEY_INVALID', `${source} holds no key. Create one with: openssl rand -hex 32 > backup.key`);
  return { current, all };
}

export function loadKeyring(keyFile: string | undefined): BackupKeyring {
  if (!keyFile) throw new PlinthError('BACKUP_KEY_INVALID', 'Backups are encrypted: set BACKUP_KEY_FILE to a file holding a key (openssl rand -hex 32).');
  let text: string;
  try {
    text = readFileSync(path.resolve(keyFile), 'utf8');
  } catch (err) {
    throw new PlinthError('BACKUP_KEY_INVALID', `Cannot read BACKUP_KEY_FILE ${keyFile} (${(err as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
  return parseKeyring(text, `BACKUP_KEY_FILE ${keyFile}`);
}

function nonce(counter: bigint, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(counter, 3);
  n[11] = last ? 1 : 0;
  return n;
}

function fileKey(master: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', master, salt, INFO, 32));
}

function integrity(detail: string): PlinthError {
  return new PlinthError('BACKUP_INTEGRITY_FAILED', detail);
}

/** A Transform that encrypts everything written to it. */
export function createEncryptStream(key: BackupKey, chunkBytes = DEFAULT_CHUNK_BYTES): Transform {
  if (chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) throw new RangeError('chunk size out of range');
  const salt = randomBytes(16);
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  Buffer.from(key.id, 'hex').copy(header, 8);
  salt.copy(header, 16);
  header.writeUInt32BE(chunkBytes, 32);
  const k = fileKey(key.key, salt);
  let counter = 0n;
  let buf: Buffer = Buffer.alloc(0);
  let started = false;

  const seal = (plain: Buffer, last: boolean): Buffer => {
    const cipher = createCipheriv('aes-256-gcm', k, nonce(counter, last));
    cipher.setAAD(header);
    const out = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    counter++;
    return out;
  };
  const start = (t: Transform) => {
    if (!started) {
      started = true;
      t.push(header);
    }
  };

  return new Transform({
    transform(this: Transform, chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      start(this);
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      // Strictly more than one chunk buffered: only then is the first one known not to be the last.
      while (buf.length > chunkBytes) {
        this.push(seal(buf.subarray(0, chunkBytes), false));
        buf = buf.subarray(chunkBytes);
      }
      cb();
    },
    flush(this: Transform, cb: TransformCallback) {
      start(this);
      this.push(seal(buf, true));
      buf = Buffer.alloc(0);
      cb();
    },
  });
}

/** A Transform that authenticates and decrypts a stream made by createEncryptStream. */
export function createDecryptStream(keyring: BackupKeyring): Transform {
  let header: Buffer | undefined;
  let k: Buffer | undefined;
  let chunkBytes = 0;
  let counter = 0n;
  let buf: Buffer = Buffer.alloc(0);

  const open = (sealed: Buffer, last: boolean): Buffer => {
    const decipher = createDecipheriv('aes-256-gcm', k!, nonce(counter, last));
    decipher.setAAD(header!);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      const out = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
      counter++;
      return out;
    } catch {
      throw integrity(`Backup chunk ${counter} failed authentication: the data was altered, truncated or reordered.`);
    }
  };

  const readHeader = () => {
    if (header || buf.length < HEADER_BYTES) return;
    const h = buf.subarray(0, HEADER_BYTES);
    if (!h.subarray(0, 8).equals(MAGIC)) throw integrity('Not a Plinth encrypted backup object (bad magic).');
    const id = h.subarray(8, 16).toString('hex');
    const key = keyring.all.find((x) => x.id === id);
    if (!key) throw new PlinthError('BACKUP_KEY_INVALID', `The backup was encrypted with key ${id}, which is not in BACKUP_KEY_FILE (keys: ${keyring.all.map((x) => x.id).join(', ')}).`);
    chunkBytes = h.readUInt32BE(32);
    if (chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) throw integrity('Backup header names an invalid chunk size.');
    header = Buffer.from(h);
    k = fileKey(key.key, h.subarray(16, 32));
    buf = buf.subarray(HEADER_BYTES);
  };

  return new Transform({
    transform(this: Transform, chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      try {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        readHeader();
        if (header) {
          const sealedBytes = chunkBytes + TAG_BYTES;
          while (buf.length > sealedBytes) {
            this.push(open(buf.subarray(0, sealedBytes), false));
            buf = buf.subarray(sealedBytes);
          }
        }
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(this: Transform, cb: TransformCallback) {
      try {
        readHeader();
        if (!header) throw integrity('The backup object is empty or truncated (no header).');
        if (buf.length < TAG_BYTES) throw integrity('The backup object is truncated.');
        this.push(open(buf, true));
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}

/** Encrypt a small value (the manifest) in one go, with the same format. */
export async function encryptBuffer(key: BackupKey, plain: Buffer): Promise<Buffer> {
  return collect(createEncryptStream(key), plain);
}

export async function decryptBuffer(keyring: BackupKeyring, sealed: Buffer): Promise<Buffer> {
  return collect(createDecryptStream(keyring), sealed);
}

function collect(t: Transform, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    t.on('data', (c: Buffer) => parts.push(c));
    t.on('end', () => resolve(Buffer.concat(parts)));
    t.on('error', reject);
    t.end(input);
  });
}
