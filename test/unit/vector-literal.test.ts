// The pgvector text form of a vector is exact for float4: every component reads back as the same
// float32 value, whatever its magnitude or sign.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { vectorLiteral } from '../../src/memory/store.js';

const parse = (literal: string) => Float32Array.from(literal.slice(1, -1).split(',').map(Number));

it('reads back as the same float32 values', () => {
  fc.assert(
    fc.property(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 64 }), (xs) => {
      const v = Float32Array.from(xs);
      assert.deepEqual(Array.from(parse(vectorLiteral(v)), (x) => Object.is(x, -0) ? 0 : x), Array.from(v, (x) => Object.is(x, -0) ? 0 : x));
    }),
    { numRuns: 500 },
  );
});

it('writes doubles as the float4 PostgreSQL would store, and zero as 0', () => {
  assert.equal(vectorLiteral([0, 1, -0.5]), '[0,1.00000000,-0.500000000]');
  const d = [0.1, 1 / 3, -2.718281828459045, 1e-30, 3.4e38];
  assert.deepEqual(Array.from(parse(vectorLiteral(d))), Array.from(Float32Array.from(d)));
});
