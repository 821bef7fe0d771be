// Drift statistics against SciPy/NumPy reference values
// (test/fixtures/drift/scipy.json, made by scripts/drift-fixtures.py), plus
// input validation, sorting and option-equivalence checks.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  andersonKSamp,
  binEdgesFromSummary,
  chiSquareTest,
  cramerVonMises2samp,
  energyDistance,
  fillZeroes,
  hellingerDistance,
  histogram,
  histogramBinEdges,
  jensenShannonDistance,
  klDivergence,
  ks2samp,
  mannWhitneyU,
  normedWasserstein,
  psi,
  sortFloat64,
  special,
  tTest,
  wassersteinDistance,
  zTwoProportions,
  type Bins,
} from '../../src/drift/stats/index.js';

type Num = number | 'NaN' | 'Infinity' | '-Infinity';
interface LcgSpec {
  gen: 'lcg';
  kind: 'uniform' | 'sum12';
  seed: number;
  n: number;
  mod?: number;
  mul?: number;
  offset?: number;
  div: number;
}
interface Case {
  fn: string;
  name: string;
  inputs: unknown[];
  options: Record<string, unknown>;
  expected: Record<string, Num | Num[]>;
}
interface Fixture {
  versions: Record<string, string>;
  cases: Case[];
}

const fixturePath = fileURLToPath(new URL('../fixtures/drift/scipy.json', import.meta.url));
const fixture = JSON.parse(readFileSync(fixturePath, 'utf8')) as Fixture;

function lcg(spec: LcgSpec): Float64Array {
  let state = spec.seed >>> 0;
  const out = new Float64Array(spec.n);
  const step = (): number => {
    state = (1664525 * state + 1013904223) % 4294967296;
    return Math.floor(state / 256);
  };
  for (let i = 0; i < spec.n; i++) {
    let k: number;
    if (spec.kind === 'uniform') {
      k = step();
      if (spec.mod) k %= spec.mod;
    } else {
      k = 0;
      for (let j = 0; j < 12; j++) k += step();
      k -= 6 * 2 ** 24;
    }
    out[i] = (k * (spec.mul ?? 1) + (spec.offset ?? 0)) / spec.div;
  }
  return out;
}

const cache = new Map<unknown, Float64Array>();
function values(input: unknown): Float64Array {
  let v = cache.get(input);
  if (!v) {
    v = Array.isArray(input) ? Float64Array.from(input as number[]) : lcg(input as LcgSpec);
    cache.set(input, v);
  }
  return v;
}

function num(v: Num | Num[] | undefined): number {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (typeof v !== 'number') throw new Error(`expected a number in the fixture, got ${JSON.stringify(v)}`);
  return v;
}

/** Statistics: relative 1e-9 (absolute 1e-12 near zero). */
function closeStat(actual: number, expected: number, what: string): void {
  if (Number.isNaN(expected) || !Number.isFinite(expected)) {
    assert.ok(Object.is(actual, expected), `${what}: expected ${expected}, got ${actual}`);
    return;
  }
  const err = Math.abs(actual - expected);
  assert.ok(err <= 1e-9 * Math.abs(expected) || err <= 1e-12, `${what}: expected ${expected}, got ${actual} (error ${err.toExponential(2)})`);
}

/** p-values: absolute 1e-6, and relative 1e-6 for small p-values. */
function closeP(actual: number, expected: number, what: string): void {
  if (Number.isNaN(expected)) {
    assert.ok(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
    return;
  }
  const err = Math.abs(actual - expected);
  assert.ok(err <= 1e-6, `${what}: expected ${expected}, got ${actual} (abs error ${err.toExponential(2)})`);
  if (expected < 1e-3 && expected > 1e-300) {
    assert.ok(err <= 1e-6 * expected, `${what}: expected ${expected}, got ${actual} (rel error ${(err / expected).toExponential(2)})`);
  }
}

function closeArray(actual: ArrayLike<number>, expected: Num[], what: string, exact = false): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (exact) assert.equal(actual[i], num(expected[i]), `${what}[${i}]`);
    else closeStat(actual[i] as number, num(expected[i]), `${what}[${i}]`);
  }
}

function byFn(fn: string): Case[] {
  return fixture.cases.filter((c) => c.fn === fn);
}

describe('drift statistics match SciPy', () => {
  it('fixture records the reference versions', () => {
    assert.match(fixture.versions.scipy ?? '', /^\d+\.\d+/);
    assert.ok(fixture.cases.length > 200);
  });

  describe('ks2samp', () => {
    for (const c of byFn('ks2samp')) {
      it(c.name, () => {
        const [a, b] = c.inputs.map(values) as [Float64Array, Float64Array];
        const r = ks2samp(a, b, { method: c.options.method as 'exact' | 'asymp' | undefined });
        closeStat(r.statistic, num(c.expected.statistic), 'statistic');
        closeP(r.pValue, num(c.expected.pValue), 'pValue');
        const s = ks2samp(sortFloat64(a), sortFloat64(b), { method: c.options.method as 'exact' | undefined, sorted: true });
        assert.deepEqual(s, r, 'sorted: true gives the same result');
      });
    }
  });

  for (const [fn, impl] of [
    ['wassersteinDistance', wassersteinDistance],
    ['normedWasserstein', normedWasserstein],
    ['energyDistance', energyDistance],
  ] as const) {
    describe(fn, () => {
      for (const c of byFn(fn)) {
        it(c.name, () => {
          const [a, b] = c.inputs.map(values) as [Float64Array, Float64Array];
          closeStat(impl(a, b), num(c.expected.value), 'value');
          assert.equal(impl(sortFloat64(a), sortFloat64(b), { sorted: true }), impl(a, b));
        });
      }
    });
  }

  describe('tTest', () => {
    for (const c of byFn('tTest')) {
      it(c.name, () => {
        const [a, b] = c.inputs.map(values) as [Float64Array, Float64Array];
        const r = tTest(a, b, { equalVar: c.options.equalVar as boolean });
        closeStat(r.statistic, num(c.expected.statistic), 'statistic');
        closeStat(r.df, num(c.expected.df), 'df');
        closeP(r.pValue, num(c.expected.pValue), 'pValue');
      });
    }
  });

  describe('mannWhitneyU', () => {
    for (const c of byFn('mannWhitneyU')) {
      it(c.name, () => {
        const [a, b] = c.inputs.map(values) as [Float64Array, Float64Array];
        const r = mannWhitneyU(a, b, {
          method: c.options.method as 'exact' | undefined,
          alternative: c.options.alternative as 'less' | undefined,
          useContinuity: c.options.useContinuity as boolean | undefined,
        });
        closeStat(r.statistic, num(c.expected.statistic), 'statistic');
        closeP(r.pValue, num(c.expected.pValue), 'pValue');
      });
    }
  });

  describe('cramerVonMises2samp', () => {
    for (const c of byFn('cramerVonMises2samp')) {
      it(c.name, () => {
        const [a, b] = c.inputs.map(values) as [Float64Array, Float64Array];
        const r = cramerVonMises2samp(a, b, { method: c.options.method as 'asymptotic' | undefined });
        closeStat(r.statistic, num(c.expected.statistic), 'statistic');
        closeP(r.pValue, num(c.expected.pValue), 'pValue');
      });
    }
  });

  describe('andersonKSamp', () => {
    for (const c of byFn('andersonKSamp')) {
      it(c.name, () => {
        const r = andersonKSamp(c.inputs.map(values));
        closeStat(r.statistic, num(c.expected.statistic), 'statistic');
        closeArray(r.criticalValues, c.expected.criticalValues as Num[], 'criticalValues');
        closeP(r.pValue, num(c.expected.pValue), 'pValue');
      });
    }
  });

  describe('chiSquareTest', () => {
    for (const c of byFn('chiSquareTest')) {
      it(c.name, () => {
        const [ref, cur] = c.inputs as [number[], number[]];
        const r = chiSquareTest(ref, cur);
        closeStat(r.statistic, num(c.expected.statistic), 'statistic');
        assert.equal(r.df, num(c.expected.df));
        closeP(r.pValue, num(c.expected.pValue), 'pValue');
      });
    }
  });

  describe('zTwoProportions', () => {
    for (const c of byFn('zTwoProportions')) {
      it(c.name, () => {
        const [h1, n1, h2, n2] = c.inputs as [number, number, number, number];
        const r = zTwoProportions(h1, n1, h2, n2);
        closeStat(r.statistic, num(c.expected.statistic), 'statistic');
        closeP(r.pValue, num(c.expected.pValue), 'pValue');
      });
    }
  });

  describe('binned distances on numeric columns (Evidently binning)', () => {
    for (const c of byFn('binned')) {
      it(c.name, () => {
        const [a, b] = c.inputs.map(values) as [Float64Array, Float64Array];
        const pooled = new Float64Array(a.length + b.length);
        pooled.set(a);
        pooled.set(b, a.length);
        const edges = histogramBinEdges(pooled, 'sturges');
        closeArray(edges, c.expected.edges as Num[], 'edges', true);
        let min = Infinity;
        let max = -Infinity;
        for (const v of pooled) {
          min = Math.min(min, v);
          max = Math.max(max, v);
        }
        closeArray(binEdgesFromSummary({ min, max, count: pooled.length }, 'sturges'), c.expected.edges as Num[], 'summary edges', true);
        const rc = histogram(a, edges);
        const cc = histogram(b, edges);
        closeArray(rc, c.expected.refCounts as Num[], 'refCounts', true);
        closeArray(cc, c.expected.curCounts as Num[], 'curCounts', true);
        closeArray(histogram(sortFloat64(a), edges, { sorted: true }), c.expected.refCounts as Num[], 'sorted refCounts', true);
        const rp = rc.map((v) => v / a.length);
        const cp = cc.map((v) => v / b.length);
        closeStat(psi(rp, cp), num(c.expected.psi), 'psi');
        closeStat(klDivergence(rp, cp), num(c.expected.kl), 'kl');
        closeStat(jensenShannonDistance(rp, cp), num(c.expected.js), 'js');
        const keys = sortFloat64(pooled).filter((v, i, arr) => i === 0 || v !== arr[i - 1]);
        const hEdges = histogramBinEdges(keys, 'sturges');
        closeArray(hEdges, c.expected.hellingerEdges as Num[], 'hellinger edges', true);
        const hr = histogram(a, hEdges);
        const hc = histogram(b, hEdges);
        closeArray(hr, c.expected.hellingerRefCounts as Num[], 'hellinger refCounts', true);
        closeStat(hellingerDistance(hr, hc), num(c.expected.hellinger), 'hellinger');
      });
    }
  });

  describe('distances on category shares', () => {
    for (const c of byFn('shares')) {
      it(c.name, () => {
        const [p, q] = c.inputs as [number[], number[]];
        closeStat(psi(p, q), num(c.expected.psi), 'psi');
        closeStat(klDivergence(p, q), num(c.expected.kl), 'kl');
        closeStat(jensenShannonDistance(p, q), num(c.expected.js), 'js');
        closeStat(hellingerDistance(p, q), num(c.expected.hellinger), 'hellinger');
      });
    }
  });

  describe('histogram helpers (numpy)', () => {
    for (const c of byFn('histogram')) {
      it(c.name, () => {
        const v = values(c.inputs[0]);
        const range = c.options.range as [number, number] | undefined;
        const edges = histogramBinEdges(v, c.options.bins as Bins, range);
        closeArray(edges, c.expected.edges as Num[], 'edges', true);
        closeArray(histogram(v, edges), c.expected.counts as Num[], 'counts', true);
      });
    }
  });

  describe('special functions', () => {
    for (const c of byFn('special')) {
      it(c.name, () => {
        const f = (special as unknown as Record<string, (...args: number[]) => number>)[c.options.function as string];
        assert.ok(f, `special.${String(c.options.function)} exists`);
        const got = f(...(c.inputs as number[]));
        const exp = num(c.expected.value);
        const err = Math.abs(got - exp);
        assert.ok(err <= 1e-9 * Math.abs(exp) || err <= 1e-300, `expected ${exp}, got ${got} (rel ${(err / Math.abs(exp)).toExponential(2)})`);
      });
    }
  });
});

describe('tolerance checks reject wrong answers', () => {
  it('a p-value off by 1e-5 fails, a tiny p-value off by 1e-5 relative fails', () => {
    assert.throws(() => closeP(0.5 + 1e-5, 0.5, 'p'));
    assert.throws(() => closeP(1e-10 * (1 + 1e-5), 1e-10, 'p'));
    assert.throws(() => closeStat(1 + 1e-8, 1, 's'));
    assert.doesNotThrow(() => closeStat(1 + 1e-12, 1, 's'));
  });
});

describe('input validation', () => {
  it('empty or non-finite samples are rejected with RangeError', () => {
    assert.throws(() => ks2samp([], [1, 2]), RangeError);
    assert.throws(() => wassersteinDistance([1, 2], []), RangeError);
    assert.throws(() => tTest([1, NaN], [1, 2]), RangeError);
    assert.throws(() => mannWhitneyU([1, Infinity], [1, 2]), RangeError);
    assert.throws(() => andersonKSamp([[1, 2, 3]]), RangeError);
    assert.throws(() => andersonKSamp([[1, 1], [1, 1]]), /distinct/);
    assert.throws(() => cramerVonMises2samp([1], [1, 2, 3]), RangeError);
    assert.throws(() => energyDistance([], []), RangeError);
  });
  it('binned inputs must match in length and be non-negative', () => {
    assert.throws(() => psi([0.5, 0.5], [1]), RangeError);
    assert.throws(() => jensenShannonDistance([0.5, -0.5], [0.5, 0.5]), RangeError);
    assert.throws(() => hellingerDistance([0, 0], [1, 0]), RangeError);
    assert.throws(() => chiSquareTest([1, 2], [1, 2, 3]), RangeError);
    assert.throws(() => zTwoProportions(5, 4, 1, 2), RangeError);
    assert.throws(() => fillZeroes([0, 0]), RangeError);
  });
  it('a sample declared sorted must be sorted', () => {
    assert.throws(() => ks2samp([3, 1, 2], [1, 2, 3], { sorted: true }), /ascending/);
  });
  it('bin helpers reject bad bins', () => {
    assert.throws(() => histogramBinEdges([1, 2, 3], 0), RangeError);
    assert.throws(() => histogramBinEdges([1, 2, 3], 'nope' as Bins), RangeError);
    assert.throws(() => histogram([1, 2], [2, 1]), RangeError);
  });
  it('exact methods refuse sizes they cannot finish quickly', () => {
    const big = Array.from({ length: 200 }, (_, i) => i);
    assert.throws(() => mannWhitneyU(big, big, { method: 'exact' }), /exact/);
    assert.throws(() => cramerVonMises2samp(big, big, { method: 'exact' }), /exact/);
  });
});

describe('behaviour', () => {
  it('fillZeroes uses 0.0001, or min/1e6 when the smallest share is tiny', () => {
    assert.deepEqual([...fillZeroes([0, 0.5, 0.5])], [0.0001, 0.5, 0.5]);
    assert.deepEqual([...fillZeroes([0, 0.00005, 0.99995])], [0.00005 / 1e6, 0.00005, 0.99995]);
  });
  it('identical distributions give zero distances and p = 1', () => {
    const p = [0.2, 0.3, 0.5];
    assert.equal(psi(p, p), 0);
    assert.equal(jensenShannonDistance(p, p), 0);
    assert.ok(hellingerDistance(p, p) < 1e-7);
    assert.deepEqual(zTwoProportions(0, 10, 0, 20), { statistic: 0, pValue: 1 });
  });
  it('sortFloat64 orders like TypedArray sort, including -0, subnormals and extremes', () => {
    let s = 7;
    const rnd = (): number => {
      s = (1664525 * s + 1013904223) % 4294967296;
      return s / 4294967296;
    };
    const v = new Float64Array(5000);
    for (let i = 0; i < v.length; i++) v[i] = (rnd() - 0.5) * 10 ** Math.floor(rnd() * 12 - 6);
    v.set([-0, 0, 5e-324, -5e-324, Number.MAX_VALUE, -Number.MAX_VALUE, 1, 1, 1], 100);
    const copy = v.slice();
    const got = sortFloat64(v);
    const want = v.slice().sort();
    assert.deepEqual(v, copy, 'input untouched');
    for (let i = 0; i < v.length; i++) assert.ok(Object.is(got[i], want[i]), `index ${i}`);
  });
  it('sortFloat64 orders skewed, clustered, tied and signed-zero data like TypedArray sort', () => {
    let s = 11;
    const rnd = (): number => {
      s = (1664525 * s + 1013904223) % 4294967296;
      return s / 4294967296;
    };
    const n = 60_000;
    const shapes: Record<string, (i: number) => number> = {
      lognormal: () => Math.exp(6 * (rnd() + rnd() + rnd() - 1.5)),
      counts: () => Math.floor(-Math.log(1 - rnd()) * 3),
      clusters: (i) => (i % 3 === 0 ? 1e9 : 0) + rnd() * 1e-3,
      exponentSpread: () => (rnd() < 0.5 ? -1 : 1) * 2 ** Math.floor(rnd() * 200 - 100),
      zeros: (i) => (i % 4 === 0 ? -0 : i % 4 === 1 ? 0 : rnd() - 0.5),
      constant: () => 42,
      sortedDescending: (i) => n - i,
    };
    for (const [name, f] of Object.entries(shapes)) {
      const v = Float64Array.from({ length: n }, (_, i) => f(i));
      const got = sortFloat64(v);
      const want = v.slice().sort();
      for (let i = 0; i < n; i++) assert.ok(Object.is(got[i], want[i]), `${name}: index ${i}`);
    }
  });
  it('binEdgesFromSummary handles a constant column like numpy', () => {
    assert.deepEqual([...binEdgesFromSummary({ min: 2, max: 2, count: 5 }, 'sturges')], [1.5, 2.5]);
  });
});
