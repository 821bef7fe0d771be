// The drift tests: each maps a reference side and a current side to a score (a p-value or a
// distance) through the statistics in ./stats, with Evidently's default threshold and its
// comparison (p-values drift below the threshold, distances at or above it). The choice of the
// default test per column follows Evidently's DataDriftPreset.
import { PlinthError } from '../errors.js';
import { numAsCategories, unionDistinct, type CatSide, type NumSide, type Side } from './columns.js';
import type { ColumnType, TestName } from './schema.js';
import {
  andersonKSamp,
  chiSquareTest,
  cramerVonMises2samp,
  energyDistance,
  hellingerDistance,
  binEdgesFromSummary,
  histogram,
  jensenShannonDistance,
  klDivergence,
  ks2samp,
  mannWhitneyU,
  normedWasserstein,
  psi,
  tTest,
  wassersteinDistance,
  zTwoProportions,
} from './stats/index.js';

export type ScoreKind = 'p_value' | 'distance';

export interface TestOutcome {
  statistic: number;
  /** The p-value or the distance compared with the threshold. */
  score: number;
  /** The reference is a profile sketch (or frozen bins) and the test is an approximation on it. */
  approximate: boolean;
}

export interface DriftTest {
  name: TestName;
  title: string;
  kind: ScoreKind;
  defaultThreshold: number;
  types: readonly ColumnType[];
  /** Drift for this score at this threshold (Evidently's comparison for the test). */
  drifted(score: number, threshold: number): boolean;
  run(ref: Side, cur: Side): TestOutcome;
}

const below = (s: number, t: number) => s < t;
const atOrBelow = (s: number, t: number) => s <= t;
const atOrAbove = (s: number, t: number) => s >= t;
const above = (s: number, t: number) => s > t;

function num(name: TestName, side: Side): NumSide {
  if (side.type === 'cat') throw new PlinthError('DRIFT_TEST_NOT_APPLICABLE', `The ${name} test needs a numerical or text column.`);
  return side;
}

/** Category counts of either kind of side, numbers keyed by their text. */
function categories(name: TestName, side: Side): Map<string, number> {
  if (side.type === 'cat') return side.counts;
  const c = numAsCategories(side);
  if (!c) throw new PlinthError('DRIFT_TEST_NOT_APPLICABLE', `The ${name} test treats values as categories, but the profile keeps no value counts for a column with ${side.distinct} distinct values.`);
  return c;
}

function sortKeys(keys: Iterable<string>, numeric: boolean): string[] {
  const out = [...keys];
  return numeric ? out.sort((a, b) => Number(a) - Number(b)) : out.sort();
}

/** Aligned counts over the union of categories; unseen current categories join the profile's pooled rest. */
function alignedCounts(ref: Map<string, number>, cur: Map<string, number>, refOther: number): { keys: string[]; r: number[]; c: number[] } {
  const keys = new Set([...ref.keys(), ...cur.keys()]);
  const r: number[] = [];
  const c: number[] = [];
  const out: string[] = [];
  let pooled = 0;
  for (const k of keys) {
    if (refOther > 0 && !ref.has(k)) {
      pooled += cur.get(k) ?? 0;
      continue;
    }
    out.push(k);
    r.push(ref.get(k) ?? 0);
    c.push(cur.get(k) ?? 0);
  }
  if (refOther > 0) {
    out.push('\u0000other');
    r.push(refOther);
    c.push(pooled);
  }
  return { keys: out, r, c };
}

function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Current counts on frozen reference edges, with the values outside them as two extra bins. */
export function frozenCounts(cur: NumSide, edges: readonly number[]): { inside: number[]; below: number; above: number } {
  const inside = Array.from(histogram(cur.sorted, edges, { sorted: true }));
  const lo = lowerBound(cur.sorted, edges[0]!);
  const hi = cur.sorted.length - upperBound(cur.sorted, edges[edges.length - 1]!);
  return { inside, below: lo, above: hi };
}

/**
 * Evidently's binning for JS, PSI and KL: numerical columns with more than 20 distinct reference
 * values on Sturges edges over reference ∪ current, anything else by value. A profile sketch uses
 * the edges frozen from the reference, with out-of-range current values as two extra bins.
 */
function binnedShares(name: TestName, ref: Side, cur: Side): { r: number[]; c: number[]; approximate: boolean } {
  let r: number[];
  let c: number[];
  let approximate = false;
  if (ref.type !== 'cat' && cur.type !== 'cat' && ref.distinct > 20) {
    if (ref.exact) {
      // Sturges edges of the pooled column from its summary: the pooled values are never materialised.
      const edges = binEdgesFromSummary({ min: Math.min(ref.min, cur.min), max: Math.max(ref.max, cur.max), count: ref.count + cur.count }, 'sturges');
      r = Array.from(histogram(ref.sorted, edges, { sorted: true }), (x) => x / ref.count);
      c = Array.from(histogram(cur.sorted, edges, { sorted: true }), (x) => x / cur.count);
    } else {
      const edges = ref.frozen!.edges;
      const f = frozenCounts(cur, edges);
      r = [0, ...ref.frozen!.counts, 0].map((x) => x / ref.count);
      c = [f.below, ...f.inside, f.above].map((x) => x / cur.count);
      approximate = true;
    }
  } else {
    const a = alignedCounts(categories(name, ref), categories(name, cur), ref.type === 'cat' ? ref.other : 0);
    r = a.r.map((x) => x / ref.count);
    c = a.c.map((x) => x / cur.count);
  }
  return { r, c, approximate };
}

function pTest(name: TestName, title: string, threshold: number, types: readonly ColumnType[], cmp: (s: number, t: number) => boolean, run: DriftTest['run']): DriftTest {
  return { name, title, kind: 'p_value', defaultThreshold: threshold, types, drifted: cmp, run };
}

function dTest(name: TestName, title: string, threshold: number, types: readonly ColumnType[], cmp: (s: number, t: number) => boolean, run: DriftTest['run']): DriftTest {
  return { name, title, kind: 'distance', defaultThreshold: threshold, types, drifted: cmp, run };
}

const NUM: readonly ColumnType[] = ['num', 'text'];
const ALL: readonly ColumnType[] = ['num', 'text', 'cat'];

function samples(name: TestName, ref: Side, cur: Side): { a: Float64Array; b: Float64Array; approximate: boolean; prepared: boolean } {
  const r = num(name, ref);
  const c = num(name, cur);
  // Sides prepared from data here were sorted with missing values dropped; a side decoded from a
  // stored profile carries `frozen` and is verified like any other input.
  return { a: r.sorted, b: c.sorted, approximate: !r.exact, prepared: r.frozen === undefined && c.frozen === undefined };
}

export const TESTS: Readonly<Record<TestName, DriftTest>> = {
  ks: pTest('ks', 'Kolmogorov–Smirnov p-value', 0.05, NUM, atOrBelow, (ref, cur) => {
    const { a, b, approximate } = samples('ks', ref, cur);
    const r = ks2samp(a, b, { sorted: true });
    return { statistic: r.statistic, score: r.pValue, approximate };
  }),
  chisquare: pTest('chisquare', 'chi-square p-value', 0.05, ALL, below, (ref, cur) => {
    const a = alignedCounts(categories('chisquare', ref), categories('chisquare', cur), ref.type === 'cat' ? ref.other : 0);
    const r = chiSquareTest(a.r, a.c);
    return { statistic: r.statistic, score: r.pValue, approximate: false };
  }),
  z: pTest('z', 'Z-test p-value (two proportions)', 0.05, ALL, below, (ref, cur) => {
    const rc = categories('z', ref);
    const cc = categories('z', cur);
    const keys = sortKeys(new Set([...rc.keys(), ...cc.keys()]), ref.type !== 'cat');
    if (keys.length <= 1) return { statistic: 0, score: 1, approximate: false }; // one value on both sides
    // Evidently's encoding: the first value in sort order is 0, every other value 1.
    const first = keys[0]!;
    const r = zTwoProportions(ref.count - (rc.get(first) ?? 0), ref.count, cur.count - (cc.get(first) ?? 0), cur.count);
    return { statistic: r.statistic, score: r.pValue, approximate: false };
  }),
  wasserstein: dTest('wasserstein', 'Wasserstein distance (normed)', 0.1, NUM, atOrAbove, (ref, cur) => {
    const { a, b, approximate, prepared } = samples('wasserstein', ref, cur);
    const sorted = prepared ? 'trusted' : true;
    // On a sketch, norm by the standard deviation of the real reference values, kept in the profile.
    const d = approximate ? wassersteinDistance(a, b, { sorted }) / Math.max((ref as NumSide).std, 0.001) : normedWasserstein(a, b, { sorted });
    return { statistic: d, score: d, approximate };
  }),
  jensenshannon: dTest('jensenshannon', 'Jensen–Shannon distance', 0.1, ALL, atOrAbove, (ref, cur) => {
    const { r, c, approximate } = binnedShares('jensenshannon', ref, cur);
    const d = jensenShannonDistance(r, c);
    return { statistic: d, score: d, approximate };
  }),
  psi: dTest('psi', 'Population stability index', 0.1, ALL, atOrAbove, (ref, cur) => {
    const { r, c, approximate } = binnedShares('psi', ref, cur);
    const d = psi(r, c); // empty bins filled as Evidently does (inside psi)
    return { statistic: d, score: d, approximate };
  }),
  kl_div: dTest('kl_div', 'Kullback–Leibler divergence', 0.1, ALL, atOrAbove, (ref, cur) => {
    const { r, c, approximate } = binnedShares('kl_div', ref, cur);
    const d = klDivergence(r, c);
    return { statistic: d, score: d, approximate };
  }),
  hellinger: dTest('hellinger', 'Hellinger distance', 0.1, ALL, atOrAbove, (ref, cur) => {
    let r: number[];
    let c: number[];
    let approximate = false;
    if (ref.type === 'cat' || cur.type === 'cat') {
      const a = alignedCounts(categories('hellinger', ref), categories('hellinger', cur), ref.type === 'cat' ? ref.other : 0);
      r = a.r.map((x) => x / ref.count);
      c = a.c.map((x) => x / cur.count);
    } else if (ref.exact) {
      // Evidently bins numerical values on Sturges edges over the distinct values of both sides.
      const edges = binEdgesFromSummary({ min: Math.min(ref.min, cur.min), max: Math.max(ref.max, cur.max), count: unionDistinct(ref.sorted, cur.sorted) }, 'sturges');
      r = Array.from(histogram(ref.sorted, edges, { sorted: true }), (x) => x / ref.count);
      c = Array.from(histogram(cur.sorted, edges, { sorted: true }), (x) => x / cur.count);
    } else {
      const f = frozenCounts(cur, ref.frozen!.edges);
      r = [0, ...ref.frozen!.counts, 0].map((x) => x / ref.count);
      c = [f.below, ...f.inside, f.above].map((x) => x / cur.count);
      approximate = true;
    }
    const d = hellingerDistance(r, c);
    return { statistic: d, score: d, approximate };
  }),
  anderson: pTest('anderson', 'Anderson–Darling k-sample p-value', 0.1, NUM, below, (ref, cur) => {
    const { a, b, approximate } = samples('anderson', ref, cur);
    const r = andersonKSamp([a, b]);
    return { statistic: r.statistic, score: r.pValue, approximate };
  }),
  cvm: pTest('cvm', 'Cramér–von Mises p-value', 0.1, NUM, atOrBelow, (ref, cur) => {
    const { a, b, approximate } = samples('cvm', ref, cur);
    const r = cramerVonMises2samp(a, b, { sorted: true });
    return { statistic: r.statistic, score: r.pValue, approximate };
  }),
  energy: dTest('energy', 'Energy distance', 0.1, NUM, above, (ref, cur) => {
    const { a, b, approximate } = samples('energy', ref, cur);
    const d = energyDistance(a, b, { sorted: true });
    return { statistic: d, score: d, approximate };
  }),
  t_test: pTest('t_test', "Student's t-test p-value", 0.05, NUM, below, (ref, cur) => {
    const { a, b, approximate } = samples('t_test', ref, cur);
    const r = tTest(a, b, { equalVar: true });
    return { statistic: r.statistic, score: r.pValue, approximate };
  }),
  mannw: pTest('mannw', 'Mann–Whitney U p-value', 0.05, NUM, below, (ref, cur) => {
    const { a, b, approximate } = samples('mannw', ref, cur);
    const r = mannWhitneyU(a, b, { sorted: true });
    return { statistic: r.statistic, score: r.pValue, approximate };
  }),
};

/** Distinct values of reference ∪ current, exactly while it is at most 5 (all the preset needs). */
function unionDistinctUpTo5(ref: Side, cur: Side): number {
  if (ref.type === 'cat' || cur.type === 'cat') {
    const keys = new Set(ref.type === 'cat' ? ref.counts.keys() : []);
    if (cur.type === 'cat') for (const k of cur.counts.keys()) keys.add(k);
    return keys.size + (ref.type === 'cat' && ref.other > 0 ? 6 : 0);
  }
  if (ref.distinct > 5 || cur.distinct > 5) return 6;
  const keys = new Set<number>([...(ref.small?.keys() ?? []), ...(cur.small?.keys() ?? [])]);
  return keys.size;
}

/**
 * Evidently's DataDriftPreset choice. Reference of at most 1000 values: KS for numerical columns
 * with more than 5 distinct values (reference ∪ current), otherwise chi-square with more than 2
 * distinct values and the z-test with 2. Larger references: normed Wasserstein for numerical
 * columns with more than 5 distinct values, Jensen–Shannon otherwise. Text columns are tested
 * as numerical columns of their lengths.
 */
export function defaultTest(ref: Side, cur: Side): TestName {
  const n = unionDistinctUpTo5(ref, cur);
  const numeric = ref.type !== 'cat';
  if (ref.count <= 1000) {
    if (numeric && n > 5) return 'ks';
    return n > 2 ? 'chisquare' : 'z';
  }
  return numeric && n > 5 ? 'wasserstein' : 'jensenshannon';
}

export function testFor(name: TestName, type: ColumnType): DriftTest {
  const t = TESTS[name];
  if (!t.types.includes(type)) {
    throw new PlinthError('DRIFT_TEST_NOT_APPLICABLE', `The ${name} test does not apply to ${type === 'cat' ? 'categorical' : type === 'text' ? 'text' : 'numerical'} columns.`, { test: name, type });
  }
  return t;
}

export type { CatSide, NumSide };
