// Tests on category counts: Pearson's chi-square goodness of fit of the current
// counts against the reference proportions, and the pooled two-proportion
// z-test — as Evidently's chisquare and z stat tests compute them.

import { chiSquareSf, normalSf } from './special.js';
import type { TestResult } from './ks.js';

export interface ChiSquareResult extends TestResult {
  df: number;
}

function checkCounts(counts: ArrayLike<number>, name: string): number {
  let s = 0;
  for (let i = 0; i < counts.length; i++) {
    const v = counts[i] as number;
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} count ${i} must be a finite non-negative number (got ${v})`);
    s += v;
  }
  if (!(s > 0)) throw new RangeError(`${name} counts must not be empty or all zero`);
  return s;
}

/**
 * expected_i = refCounts_i × (current total / reference total), then
 * scipy.stats.chisquare(curCounts, expected): statistic Σ (o − e)²/e,
 * p-value from χ² with (categories − 1) degrees of freedom. Categories empty
 * in both samples carry no information and are left out (SciPy would give NaN);
 * a category seen only in the current sample makes the statistic infinite and
 * the p-value 0.
 */
export function chiSquareTest(refCounts: ArrayLike<number>, curCounts: ArrayLike<number>): ChiSquareResult {
  if (refCounts.length !== curCounts.length) {
    throw new RangeError(`chiSquareTest: reference and current need the same categories (${refCounts.length} vs ${curCounts.length})`);
  }
  const refTotal = checkCounts(refCounts, 'reference');
  const curTotal = checkCounts(curCounts, 'current');
  const kNorm = curTotal / refTotal;
  let stat = 0;
  let k = 0;
  for (let i = 0; i < refCounts.length; i++) {
    const expected = (refCounts[i] as number) * kNorm;
    const observed = curCounts[i] as number;
    if (expected === 0 && observed === 0) continue;
    k++;
    const d = observed - expected;
    stat += expected === 0 ? Infinity : (d * d) / expected;
  }
  const df = k - 1;
  if (df < 1) return { statistic: stat, pValue: df === 0 && stat === 0 ? 1 : NaN, df };
  return { statistic: stat, pValue: stat === Infinity ? 0 : chiSquareSf(stat, df), df };
}

/**
 * Pooled two-proportion z-test, two-sided (Evidently's proportions_diff_z_test):
 * z = (p1 − p2) / sqrt(P(1 − P)(1/n1 + 1/n2)) with P the pooled share, and
 * p = 2·(1 − Φ(|z|)) evaluated in the tail. When both samples are all hits or
 * all misses there is no difference to test: z = 0, p = 1.
 */
export function zTwoProportions(refHits: number, refN: number, curHits: number, curN: number): TestResult {
  for (const [v, name] of [
    [refN, 'refN'],
    [curN, 'curN'],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`zTwoProportions: ${name} must be a positive integer (got ${v})`);
  }
  for (const [hits, n, name] of [
    [refHits, refN, 'refHits'],
    [curHits, curN, 'curHits'],
  ] as const) {
    if (!Number.isInteger(hits) || hits < 0 || hits > n) {
      throw new RangeError(`zTwoProportions: ${name} must be an integer between 0 and its sample size (got ${hits})`);
    }
  }
  const p1 = refHits / refN;
  const p2 = curHits / curN;
  const P = (p1 * refN + p2 * curN) / (refN + curN);
  const v = P * (1 - P) * (1 / refN + 1 / curN);
  if (!(v > 0)) return { statistic: 0, pValue: 1 };
  const z = (p1 - p2) / Math.sqrt(v);
  return { statistic: z, pValue: Math.min(1, 2 * normalSf(Math.abs(z))) };
}
