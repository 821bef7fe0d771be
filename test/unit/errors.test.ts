import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERRORS, PlinthError, toPlinthError } from '../../src/errors.js';

describe('error catalogue', () => {
  it('gives every entry a PLINTH_ code and a 4xx/5xx status', () => {
    for (const [name, entry] of Object.entries(ERRORS)) {
      const e = new PlinthError(name as keyof typeof ERRORS);
      assert.equal(e.code, `PLINTH_${name}`);
      assert.ok(entry.status >= 400 && entry.status < 600);
      assert.equal(e.message, entry.title);
    }
  });

  it('maps connection failures to DATABASE_UNAVAILABLE and unique violations to CONFLICT', () => {
    assert.equal(toPlinthError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).code, 'PLINTH_DATABASE_UNAVAILABLE');
    assert.equal(toPlinthError(Object.assign(new Error('x'), { code: '57P01' })).code, 'PLINTH_DATABASE_UNAVAILABLE');
    assert.equal(toPlinthError(new Error('Connection terminated unexpectedly')).code, 'PLINTH_DATABASE_UNAVAILABLE');
    assert.equal(toPlinthError(Object.assign(new Error('dup'), { code: '23505' })).code, 'PLINTH_CONFLICT');
  });

  it('turns unknown errors into INTERNAL without exposing their message', () => {
    const e = toPlinthError(new Error('secret internals at /srv/app.js:12'));
    assert.equal(e.code, 'PLINTH_INTERNAL');
    assert.ok(!e.message.includes('secret internals'));
    assert.ok(e.cause instanceof Error);
  });
});

describe('database data exceptions', () => {
  it('are the client\'s input (400 PLINTH_VALIDATION_FAILED), also when wrapped in an internal error', () => {
    for (const code of ['22P05', '22008', '22003']) {
      const pgError = Object.assign(new Error('data exception'), { code });
      assert.equal(toPlinthError(pgError).code, 'PLINTH_VALIDATION_FAILED', code);
      assert.equal(toPlinthError(new PlinthError('INTERNAL', undefined, {}, { cause: pgError })).code, 'PLINTH_VALIDATION_FAILED', `${code} wrapped`);
    }
    assert.equal(toPlinthError(Object.assign(new Error('x'), { code: '42P01' })).code, 'PLINTH_INTERNAL', 'other SQLSTATEs stay internal');
    assert.equal(toPlinthError(new PlinthError('CONFLICT')).code, 'PLINTH_CONFLICT', 'catalogue errors pass through');
  });
});
