// The parallel drift check: the same result as the inline check, on worker threads, leaving the
// caller's columns as they were (lent buffers come back; views into shared buffers are copied).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { PARALLEL_MIN_VALUES, runCheck, runCheckParallel, SidePool, type Dataset, type RawColumn } from '../../src/drift/index.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

function dataset(rows: number, seed: number, shift: number, shared?: Float64Array): Dataset {
  const r = rng(seed);
  const columns = new Map<string, RawColumn>();
  for (let c = 0; c < 3; c++) {
    const v = new Float64Array(rows);
    for (let i = 0; i < rows; i++) v[i] = c === 2 && r() < 0.02 ? Number.NaN : (r() - 0.5) * (c + 1) + (c === 0 ? shift : 0);
    columns.set(`num_${c}`, { kind: 'number', values: v });
  }
  // A view into a larger buffer: cannot be lent, must be copied.
  if (shared) {
    for (let i = 0; i < rows; i++) shared[rows + i] = r() * 10 + shift;
    columns.set('view', { kind: 'number', values: shared.subarray(rows, 2 * rows) });
  }
  const cat = new Array<string | null>(rows);
  for (let i = 0; i < rows; i++) cat[i] = r() < 0.01 ? null : `c${Math.floor(r() * (shift > 0 ? 6 : 5))}`;
  columns.set('cat', { kind: 'string', values: cat });
  return { rows, columns };
}

const snapshot = (d: Dataset) => new Map([...d.columns].map(([k, c]) => [k, c.kind === 'number' ? Float64Array.from(c.values) : [...c.values]]));

describe('parallel drift check', () => {
  const pool = new SidePool(2);
  after(() => pool.close());
  const rows = Math.ceil(PARALLEL_MIN_VALUES / 2) + 1000;

  it('gives exactly the inline result, and hands every column back intact', async () => {
    const ref = dataset(rows, 1, 0, new Float64Array(3 * rows));
    const cur = dataset(rows, 2, 0.3, new Float64Array(3 * rows));
    const before = [snapshot(ref), snapshot(cur)];
    const inline = runCheck({ kind: 'data', data: ref }, cur);
    const parallel = await runCheckParallel({ kind: 'data', data: ref }, cur, {}, pool);
    assert.deepEqual({ ...parallel, duration_ms: 0 }, { ...inline, duration_ms: 0 });
    assert.equal(parallel.columns.find((c) => c.column === 'num_0')?.drifted, true);
    assert.deepEqual([snapshot(ref), snapshot(cur)], before, 'values unchanged and readable after the check');
    // Twice in a row on the same data: lent buffers came back usable.
    const again = await runCheckParallel({ kind: 'data', data: ref }, cur, {}, pool);
    assert.deepEqual({ ...again, duration_ms: 0 }, { ...inline, duration_ms: 0 });
  });

  it('runs several checks at once on one pool', async () => {
    const pairs = [1, 2, 3].map((k) => [dataset(rows, 10 * k, 0), dataset(rows, 10 * k + 1, 0.05 * k)] as const);
    const results = await Promise.all(pairs.map(([r, c]) => runCheckParallel({ kind: 'data', data: r }, c, { correction: 'bonferroni' }, pool)));
    pairs.forEach(([r, c], i) => assert.deepEqual({ ...results[i]!, duration_ms: 0 }, { ...runCheck({ kind: 'data', data: r }, c, { correction: 'bonferroni' }), duration_ms: 0 }));
  });

  it('checks small data inline, and reports the same errors as the inline check', async () => {
    const small = dataset(500, 5, 0);
    const out = await runCheckParallel({ kind: 'data', data: small }, dataset(500, 6, 1), {}, pool);
    assert.equal(out.checked_columns, 4);
    const empty: Dataset = { rows: 0, columns: new Map() };
    await assert.rejects(runCheckParallel({ kind: 'data', data: small }, empty, {}, pool), { code: 'PLINTH_DRIFT_INVALID_DATA' });
  });
});
