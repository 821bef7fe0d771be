import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { generateKey, hashKey, keyMatches, parseKey } from '../../src/auth/keys.js';
import { hasScope } from '../../src/auth/scopes.js';
import { scrubKeys } from '../../src/telemetry/logger.js';

describe('API keys', () => {
  it('have a visible prefix and a 256-bit secret, and are stored only as a hash', () => {
    const k = generateKey();
    assert.match(k.key, /^plk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/);
    assert.ok(k.key.startsWith(`${k.prefix}_`));
    assert.equal(k.hash.length, 32);
    assert.ok(!k.hash.toString('hex').includes(k.key));
    assert.deepEqual(parseKey(k.key), { prefix: k.prefix });
  });

  it('are unique', () => {
    const keys = new Set(Array.from({ length: 2000 }, () => generateKey().key));
    const prefixes = new Set([...keys].map((k) => parseKey(k)!.prefix));
    assert.equal(keys.size, 2000);
    assert.equal(prefixes.size, 2000);
  });

  it('match only their own hash', () => {
    const a = generateKey();
    const b = generateKey();
    assert.ok(keyMatches(a.key, a.hash));
    assert.ok(!keyMatches(b.key, a.hash));
    assert.ok(!keyMatches(`${a.key}x`, a.hash));
    assert.deepEqual(hashKey(a.key), a.hash);
  });

  it('reject anything that is not exactly a key', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const parsed = parseKey(s);
        return parsed === undefined || /^plk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/.test(s);
      }),
    );
    assert.equal(parseKey(''), undefined);
    assert.equal(parseKey('Bearer plk_x'), undefined);
  });

  it('are scrubbed from free text', () => {
    const k = generateKey();
    assert.equal(scrubKeys(`token=${k.key} end`), 'token=plk_**** end');
  });

  it('admin implies every scope; others only themselves', () => {
    assert.ok(hasScope(['admin'], 'memory:write'));
    assert.ok(hasScope(['memory:read'], 'memory:read'));
    assert.ok(!hasScope(['memory:read'], 'memory:write'));
    assert.ok(!hasScope([], 'admin'));
  });
});
