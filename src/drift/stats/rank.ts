// Rank-based two-sample tests: Mann–Whitney U (scipy.stats.mannwhitneyu) and
// the two-sample Cramér–von Mises test (scipy.stats.cramervonmises_2samp).
// Both use mid-ranks of the pooled sample, obtained by one merge of the two
// ascending samples instead of a pooled sort.

import { besselKScaled, binom, logGamma, normalCdf } from './special.js';
import { sortedSample, type Sample } from './sort.js';
import type { TestResult } from './ks.js';

/**
 * Walks the tie groups of two ascending samples in pooled order. For each
 * group of equal values it reports how many come from each sample and the
 * pooled (1-based) mid-rank of the group.
 */
function forEachTieGroup(
  a: Float64Array,
  b: Float64Array,
  fn: (countA: number, countB: number, midrank: number, startA: number, startB: number) => void,
): void {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  while (i < n1 || j < n2) {
    const va = i < n1 ? (a[i] as number) : Infinity;
    const vb = j < n2 ? (b[j] as number) : Infinity;
    const v = va <= vb ? va : vb;
    const i0 = i;
    const j0 = j;
    while (i < n1 && a[i] === v) i++;
    while (j < n2 && b[j] === v) j++;
    const ca = i - i0;
    const cb = j - j0;
    const before = i0 + j0;
    fn(ca, cb, before + (ca + cb + 1) / 2, i0, j0);
  }
}

// ---------------------------------------------------------------------------
// Mann–Whitney U

export interface MannWhitneyOptions {
  method?: 'auto' | 'exact' | 'asymptotic';
  useContinuity?: boolean;
  /** 'two-sided' (default); 'less' / 'greater' as in SciPy (Evidently's mannw uses 'less'). */
  alternative?: 'two-sided' | 'less' | 'greater';
  /** Both samples are already ascending (skips the sort). */
  sorted?: boolean;
}

/** Exact-distribution limit: the recursion costs O((n1·n2)²). */
const MWU_EXACT_MAX_PRODUCT = 10000;

/** Null distribution of U (no ties): counts by the recursion SciPy's _MWU uses. */
function mwuCdfCounts(n1: number, n2: number, maxu: number): Float64Array {
  const s = new Float64Array(maxu + 1);
  for (let d = 1; d <= n1; d++) for (let i = d; i <= maxu; i += d) s[i] = (s[i] as number) + d;
  for (let d = n2 + 1; d <= n1 + n2; d++) for (let i = d; i <= maxu; i += d) s[i] = (s[i] as number) - d;
  const conf = new Float64Array(maxu + 1);
  conf[0] = 1;
  for (let u = 1; u <= maxu; u++) {
    let dot = 0;
    for (let i = 0; i < u; i++) dot += (conf[i] as number) * (s[u - i] as number);
    conf[u] = Math.trunc(dot / u);
  }
  return conf;
}

/** P(U >= k) under H0 for the exact distribution (SciPy's _MWU.sf). */
function mwuExactSf(k: number, n1in: number, n2in: number): number {
  const n1 = Math.min(n1in, n2in);
  const n2 = Math.max(n1in, n2in);
  const total = binom(n1 + n2, n1);
  const kc = n1 * n2 - k;
  if (k < kc) {
    const conf = mwuCdfCounts(n1, n2, k);
    let cdf = 0;
    for (let i = 0; i <= k; i++) cdf += (conf[i] as number) / total;
    return 1 - cdf + (conf[k] as number) / total;
  }
  const conf = mwuCdfCounts(n1, n2, kc);
  let cdf = 0;
  for (let i = 0; i <= kc; i++) cdf += (conf[i] as number) / total;
  return cdf;
}

/**
 * Mann–Whitney U test. statistic = U1, the U of the first sample; the p-value
 * is exact for small samples without ties (auto: both ≤ 8, or either ≤ 8 with
 * no ties), else normal with tie correction and optional continuity correction.
 */
export function mannWhitneyU(a: Sample, b: Sample, opts: MannWhitneyOptions = {}): TestResult {
  const alternative = opts.alternative ?? 'two-sided';
  const useContinuity = opts.useContinuity ?? true;
  let method = opts.method ?? 'auto';
  if (!['auto', 'exact', 'asymptotic'].includes(method)) throw new RangeError(`unknown mannWhitneyU method '${String(method)}'`);
  if (!['two-sided', 'less', 'greater'].includes(alternative)) throw new RangeError(`unknown alternative '${String(alternative)}'`);
  const x = sortedSample(a, opts.sorted, 'first sample');
  const y = sortedSample(b, opts.sorted, 'second sample');
  const n1 = x.length;
  const n2 = y.length;
  let r1 = 0;
  let tieTerm = 0;
  let ties = false;
  forEachTieGroup(x, y, (ca, cb, midrank) => {
    r1 += ca * midrank;
    const t = ca + cb;
    if (t > 1) {
      ties = true;
      tieTerm += t * t * t - t;
    }
  });
  const u1 = r1 - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  let u: number;
  let f = 1;
  if (alternative === 'greater') u = u1;
  else if (alternative === 'less') u = u2;
  else {
    u = Math.max(u1, u2);
    f = 2;
  }
  if (method === 'auto') method = (n1 > 8 && n2 > 8) || ties ? 'asymptotic' : 'exact';
  let p: number;
  if (method === 'exact') {
    if (n1 * n2 > MWU_EXACT_MAX_PRODUCT) {
      throw new RangeError(`mannWhitneyU: exact method is limited to n1*n2 <= ${MWU_EXACT_MAX_PRODUCT}; use 'asymptotic'`);
    }
    p = mwuExactSf(Math.trunc(u), n1, n2);
  } else {
    const mu = (n1 * n2) / 2;
    const n = n1 + n2;
    const s = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
    let num = u - mu;
    if (useContinuity) num -= 0.5;
    const z = num / s;
    p = normalCdf(-z);
  }
  p *= f;
  return { statistic: u1, pValue: Math.min(1, Math.max(0, p)) };
}

// ---------------------------------------------------------------------------
// Cramér–von Mises, two samples

export interface CramerVonMisesOptions {
  method?: 'auto' | 'exact' | 'asymptotic';
  /** Both samples are already ascending (skips the sort). */
  sorted?: boolean;
}

/** Exact-distribution limit: the frequency tables grow with C(m+n, m). */
const CVM_EXACT_MAX_TOTAL = 60;

/** CDF of the limiting one-sample Cramér–von Mises distribution (Csörgő & Faraway). */
export function cvmLimitCdf(x: number): number {
  let total = 0;
  for (let k = 0; ; k++) {
    const u = Math.exp(logGamma(k + 0.5) - logGamma(k + 1)) / (Math.pow(Math.PI, 1.5) * Math.sqrt(x));
    const y = 4 * k + 1;
    const q = (y * y) / (16 * x);
    // exp(-q) K_{1/4}(q) = exp(-2q) · (exp(q) K_{1/4}(q))
    const z = u * Math.sqrt(y) * Math.exp(-2 * q) * besselKScaled(0.25, q);
    total += z;
    if (!(Math.abs(z) >= 1e-7)) break;
  }
  return total;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Exact p-value of U (Xiao, Gordon & Yakovlev's frequency tables). */
function cvmExactPValue(u: number, m: number, n: number): number {
  const lcm = (m / gcd(m, n)) * n;
  const a = lcm / m;
  const b = lcm / n;
  const mn = m * n;
  // zeta = floor(lcm²(m+n)(6u − mn(4mn − 1)) / (6 mn²)), exactly: 4u is an integer.
  const u4 = BigInt(Math.round(4 * u));
  const num = BigInt(lcm) ** 2n * BigInt(m + n) * (6n * u4 - 4n * BigInt(mn) * (4n * BigInt(mn) - 1n));
  const den = 4n * 6n * BigInt(mn) ** 2n;
  let zq = num / den;
  if (num % den !== 0n && num < 0n) zq -= 1n;
  const zeta = Number(zq);

  // gs[v]: map from partial statistic value to the number of paths reaching it.
  let gs: Map<number, number>[] = [new Map([[0, 1]])];
  for (let v = 0; v < m; v++) gs.push(new Map());
  for (let uu = 0; uu <= n; uu++) {
    const next: Map<number, number>[] = [];
    let tmp = new Map<number, number>();
    for (let v = 0; v < gs.length; v++) {
      const g = gs[v] as Map<number, number>;
      const res = (a * v - b * uu) ** 2;
      const merged = new Map<number, number>();
      for (const [val, freq] of tmp) merged.set(val + res, freq);
      for (const [val, freq] of g) merged.set(val + res, (merged.get(val + res) ?? 0) + freq);
      tmp = merged;
      next.push(tmp);
    }
    gs = next;
  }
  const last = gs[m] as Map<number, number>;
  let hits = 0;
  let all = 0;
  for (const [val, freq] of last) {
    all += freq;
    if (val >= zeta) hits += freq;
  }
  return hits / all;
}

/**
 * Two-sample Cramér–von Mises test. statistic T (Anderson 1962, eq. 9); p-value
 * exact for samples of at most 20 values each (auto), otherwise Anderson's
 * normalisation into the limiting distribution.
 */
export function cramerVonMises2samp(a: Sample, b: Sample, opts: CramerVonMisesOptions = {}): TestResult {
  let method = opts.method ?? 'auto';
  if (!['auto', 'exact', 'asymptotic'].includes(method)) throw new RangeError(`unknown cramerVonMises2samp method '${String(method)}'`);
  const x = sortedSample(a, opts.sorted, 'first sample');
  const y = sortedSample(b, opts.sorted, 'second sample');
  const nx = x.length;
  const ny = y.length;
  if (nx < 2 || ny < 2) throw new RangeError('cramerVonMises2samp needs at least two values in each sample');
  if (method === 'auto') method = Math.max(nx, ny) > 20 ? 'asymptotic' : 'exact';
  let sx = 0;
  let sy = 0;
  forEachTieGroup(x, y, (ca, cb, r, ia, ib) => {
    for (let k = 1; k <= ca; k++) {
      const d = r - (ia + k);
      sx += d * d;
    }
    for (let k = 1; k <= cb; k++) {
      const d = r - (ib + k);
      sy += d * d;
    }
  });
  const u = nx * sx + ny * sy;
  const k = nx * ny;
  const N = nx + ny;
  const t = u / (k * N) - (4 * k - 1) / (6 * N);
  let p: number;
  if (method === 'exact') {
    if (N > CVM_EXACT_MAX_TOTAL) throw new RangeError(`cramerVonMises2samp: exact method is limited to ${CVM_EXACT_MAX_TOTAL} values in total; use 'asymptotic'`);
    p = cvmExactPValue(u, nx, ny);
  } else {
    const et = (1 + 1 / N) / 6;
    let vt = (N + 1) * (4 * k * N - 3 * (nx * nx + ny * ny) - 2 * k);
    vt = vt / (45 * N * N * 4 * k);
    const tn = 1 / 6 + (t - et) / Math.sqrt(45 * vt);
    p = tn >= 0.003 ? Math.max(0, 1 - cvmLimitCdf(tn)) : 1;
  }
  return { statistic: t, pValue: p };
}
