// API key format and hashing.
//
//   plk_<prefix:12 base32>_<secret:43 base64url>
//
// The prefix is stored in clear for lookup and shown in listings; the whole key is stored only
// as a SHA-256 digest. Keys carry 256 bits of randomness, so a fast hash is the right tool
// (slow password hashes protect low-entropy secrets; they would only add latency here).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const KEY_PATTERN = /^(plk_[a-z2-7]{12})_([A-Za-z0-9_-]{43})$/;

export interface GeneratedKey {
  /** The full key: shown once, never stored. */
  key: string;
  prefix: string;
  hash: Buffer;
}

export function generateKey(): GeneratedKey {
  const bytes = randomBytes(12);
  let prefix = 'plk_';
  for (const b of bytes) prefix += PREFIX_ALPHABET[b & 31];
  const key = `${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: hashKey(key) };
}

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** The lookup prefix of a well-formed key, or undefined for anything else. */
export function parseKey(key: string): { prefix: string } | undefined {
  const m = KEY_PATTERN.exec(key);
  return m ? { prefix: m[1]! } : undefined;
}

export function keyMatches(key: string, storedHash: Buffer): boolean {
  const h = hashKey(key);
  return h.length === storedHash.length && timingSafeEqual(h, storedHash);
}
