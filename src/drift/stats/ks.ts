// Two-sample Kolmogorov–Smirnov test, two-sided, as scipy.stats.ks_2samp:
// the exact null distribution (Hodges' lattice-path counts) when both samples
// have at most 10,000 values, else the finite-n Kolmogorov distribution at
// n = round(n1*n2/(n1+n2)).

import { kolmogornSf } from './special.js';
import { sortedSample, type Sample } from './sort.js';

export interface TestResult {
  statistic: number;
  pValue: number;
}

export interface Ks2SampOptions {
  method?: 'auto' | 'exact' | 'asymp';
  /** Both samples are already ascending (skips the sort). */
  sorted?: boolean;
}

const MAX_AUTO_N = 10000;
const INT32_MAX = 2147483647;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** P(D_{n,n} >= h/n) for equal sample sizes. */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
    k -= 1;
  }
  return 2 * P;
}

/**
 * Proportion of lattice paths from (0,0) to (m,n) leaving the band
 * |x/m − y/n| < h/lcm(m,n), by Viehmann's stable recursion for 1 − p.
 */
function outerProbInside(m0: number, n0: number, g: number, h: number): number {
  let m = m0;
  let n = n0;
  if (m < n) [m, n] = [n, m];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  for (let j = minj; j < maxj; j++) A[j] = 0;
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.max(Math.floor((ng * i - h) / mg) + 1, 0);
    minj = Math.min(minj, n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = ((A[jj + minj - lastminj] as number) * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1] as number;
}

/** Two-sided D = sup |F1 − F2| over the pooled values of two ascending samples. */
export function ksStatisticSorted(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  // Compare i/n1 − j/n2 through the exact integer i·n2 − j·n1 (< 2^53 for any
  // realistic size) and divide only at the extremes, as SciPy's cdf1 − cdf2.
  let maxKey = 0;
  let maxI = 0;
  let maxJ = 0;
  let minKey = 0;
  let minI = 0;
  let minJ = 0;
  while (i < n1 || j < n2) {
    const va = i < n1 ? (a[i] as number) : Infinity;
    const vb = j < n2 ? (b[j] as number) : Infinity;
    const v = va <= vb ? va : vb;
    if (va === v) {
      i++;
      while (i < n1 && a[i] === v) i++;
    }
    if (vb === v) {
      j++;
      while (j < n2 && b[j] === v) j++;
    }
    const key = i * n2 - j * n1;
    if (key > maxKey) {
      maxKey = key;
      maxI = i;
      maxJ = j;
    } else if (key < minKey) {
      minKey = key;
      minI = i;
      minJ = j;
    }
  }
  const maxS = maxI / n1 - maxJ / n2;
  const minS = Math.min(-(minI / n1 - minJ / n2), 1);
  return Math.max(maxS, minS);
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** scipy.stats.ks_2samp(a, b, alternative='two-sided', method=…). */
export function ks2samp(a: Sample, b: Sample, opts: Ks2SampOptions = {}): TestResult {
  const method = opts.method ?? 'auto';
  if (method !== 'auto' && method !== 'exact' && method !== 'asymp') throw new RangeError(`unknown ks2samp method '${String(method)}'`);
  const x = sortedSample(a, opts.sorted, 'reference sample');
  const y = sortedSample(b, opts.sorted, 'current sample');
  const n1 = x.length;
  const n2 = y.length;
  let d = ksStatisticSorted(x, y);
  const g = gcd(n1, n2);
  const n1g = n1 / g;
  const n2g = n2 / g;
  let mode: 'exact' | 'asymp' = method === 'auto' ? (Math.max(n1, n2) <= MAX_AUTO_N ? 'exact' : 'asymp') : method;
  if (mode === 'exact' && n1g >= INT32_MAX / n2g) mode = 'asymp';
  let prob = NaN;
  if (mode === 'exact') {
    const lcm = n1g * n2;
    const h = roundHalfEven(d * lcm);
    d = h / lcm;
    if (h === 0) prob = 1;
    else prob = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInside(n1, n2, g, h);
    // SciPy falls back to the asymptotic distribution when the exact count fails.
    if (!(prob >= 0 && prob <= 1)) mode = 'asymp';
  }
  if (mode === 'asymp') {
    const m = Math.max(n1, n2);
    const n = Math.min(n1, n2);
    const en = (m * n) / (m + n);
    prob = kolmogornSf(roundHalfEven(en), d);
  }
  return { statistic: d, pValue: Math.min(1, Math.max(0, prob)) };
}
