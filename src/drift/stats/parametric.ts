// Student's / Welch's t-test (scipy.stats.ttest_ind) and the k-sample
// Anderson–Darling test (scipy.stats.anderson_ksamp, midrank variant).

import { studentTSf } from './special.js';
import { checkSample, mean, sortFloat64, variance, type Sample } from './sort.js';
import type { TestResult } from './ks.js';

export interface TTestResult extends TestResult {
  df: number;
}

/**
 * Two-sided two-sample t-test. Pooled variance by default (equal_var=True, as
 * Evidently's t_test calls it); `equalVar: false` gives Welch's test. When both
 * samples are constant the statistic is undefined and NaN is returned, as SciPy does.
 */
export function tTest(a: Sample, b: Sample, opts: { equalVar?: boolean } = {}): TTestResult {
  checkSample(a, 'first sample');
  checkSample(b, 'second sample');
  const n1 = a.length;
  const n2 = b.length;
  const m1 = mean(a);
  const m2 = mean(b);
  // A single value has no sample variance: NaN propagates as in SciPy.
  const v1 = variance(a, 1, m1);
  const v2 = variance(b, 1, m2);
  let df: number;
  let denom: number;
  if (opts.equalVar ?? true) {
    df = n1 + n2 - 2;
    const sv = ((n1 - 1) * v1 + (n2 - 1) * v2) / df;
    denom = Math.sqrt(sv * (1 / n1 + 1 / n2));
  } else {
    const vn1 = v1 / n1;
    const vn2 = v2 / n2;
    df = (vn1 + vn2) ** 2 / (vn1 ** 2 / (n1 - 1) + vn2 ** 2 / (n2 - 1));
    denom = Math.sqrt(vn1 + vn2);
  }
  const t = (m1 - m2) / denom;
  if (Number.isNaN(t) || !(df > 0)) return { statistic: t, pValue: NaN, df };
  if (!Number.isFinite(t)) return { statistic: t, pValue: 0, df };
  return { statistic: t, pValue: Math.min(1, 2 * studentTSf(Math.abs(t), df)), df };
}

export interface AndersonKSampResult extends TestResult {
  /** Critical values at significance 25%, 10%, 5%, 2.5%, 1%, 0.5%, 0.1%. */
  criticalValues: number[];
}

const SIG = [0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001];
const B0 = [0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085];
const B1 = [-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615];
const B2 = [-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154];

/** Least-squares quadratic through (x, y) by Householder QR (numpy.polyfit, deg 2). */
function quadraticFit(x: number[], y: number[]): [number, number, number] {
  const m = x.length;
  // Columns x², x, 1 (numpy's order), scaled to unit norm as polyfit does.
  const cols = [x.map((v) => v * v), x.slice(), x.map(() => 1)];
  const scale = cols.map((c) => Math.sqrt(c.reduce((s, v) => s + v * v, 0)));
  const A = cols.map((c, j) => c.map((v) => v / (scale[j] as number)));
  const r = y.slice();
  for (let j = 0; j < 3; j++) {
    const col = A[j] as number[];
    let norm = 0;
    for (let i = j; i < m; i++) norm += (col[i] as number) ** 2;
    norm = Math.sqrt(norm);
    const alpha = (col[j] as number) > 0 ? -norm : norm;
    const v = new Array<number>(m).fill(0);
    for (let i = j; i < m; i++) v[i] = col[i] as number;
    v[j] = (v[j] as number) - alpha;
    const vv = v.reduce((s, t) => s + t * t, 0);
    if (vv === 0) continue;
    const reflect = (w: number[]): void => {
      let dot = 0;
      for (let i = j; i < m; i++) dot += (v[i] as number) * (w[i] as number);
      const f = (2 * dot) / vv;
      for (let i = j; i < m; i++) w[i] = (w[i] as number) - f * (v[i] as number);
    };
    for (let k = j; k < 3; k++) reflect(A[k] as number[]);
    reflect(r);
  }
  const c = [0, 0, 0];
  for (let j = 2; j >= 0; j--) {
    let s = r[j] as number;
    for (let k = j + 1; k < 3; k++) s -= ((A[k] as number[])[j] as number) * (c[k] as number);
    c[j] = s / ((A[j] as number[])[j] as number);
  }
  return [(c[0] as number) / (scale[0] as number), (c[1] as number) / (scale[1] as number), (c[2] as number) / (scale[2] as number)];
}

/**
 * k-sample Anderson–Darling test (Scholz & Stephens 1987, A²akN with mid-ranks).
 * statistic is the standardised A²; the p-value interpolates Scholz & Stephens'
 * table and, exactly as SciPy, is capped to [0.001, 0.25] outside it.
 */
export function andersonKSamp(samples: ArrayLike<number>[]): AndersonKSampResult {
  const k = samples.length;
  if (k < 2) throw new RangeError('andersonKSamp needs at least two samples');
  const sorted = samples.map((s, i) => {
    checkSample(s, `sample ${i}`);
    return sortFloat64(s);
  });
  const n = sorted.map((s) => s.length);
  const N = n.reduce((s, v) => s + v, 0);
  const all = new Float64Array(N);
  let off = 0;
  for (const s of sorted) {
    all.set(s, off);
    off += s.length;
  }
  const Z = sortFloat64(all);
  let distinct = 1;
  for (let i = 1; i < N; i++) if (Z[i] !== Z[i - 1]) distinct++;
  if (distinct < 2) throw new RangeError('andersonKSamp needs more than one distinct observation');
  if (N < 4) throw new RangeError('andersonKSamp needs at least four observations in total');

  // One pass over the distinct pooled values, one pointer per sample.
  const ptr = new Array<number>(k).fill(0);
  const acc = new Array<number>(k).fill(0);
  let zi = 0;
  while (zi < N) {
    const z = Z[zi] as number;
    let zj = zi;
    while (zj < N && Z[zj] === z) zj++;
    const lj = zj - zi;
    const bj = zi + lj / 2;
    const denom = bj * (N - bj) - (N * lj) / 4;
    for (let s = 0; s < k; s++) {
      const arr = sorted[s] as Float64Array;
      let p = ptr[s] as number;
      const start = p;
      while (p < arr.length && arr[p] === z) p++;
      ptr[s] = p;
      const fij = p - start;
      const mij = p - fij / 2;
      const diff = N * mij - bj * (n[s] as number);
      acc[s] = (acc[s] as number) + ((lj / N) * diff * diff) / denom;
    }
    zi = zj;
  }
  let a2kn = 0;
  for (let s = 0; s < k; s++) a2kn += (acc[s] as number) / (n[s] as number);
  a2kn *= (N - 1) / N;

  let H = 0;
  for (const ni of n) H += 1 / ni;
  // hs_cs = cumsum(1/(N-1), 1/(N-2), …, 1/2); h = Σ_{i=1}^{N-1} 1/i; g = Σ hs_cs[i]/(i+2)
  let cs = 0;
  let g = 0;
  for (let idx = 0, d = N - 1; d > 1; idx++, d--) {
    cs += 1 / d;
    g += cs / (idx + 2);
  }
  const h = cs + 1;
  const a = (4 * g - 6) * (k - 1) + (10 - 6 * g) * H;
  const b = (2 * g - 4) * k * k + 8 * h * k + (2 * g - 14 * h - 4) * H - 8 * h + 4 * g - 6;
  const c = (6 * h + 2 * g - 2) * k * k + (4 * h - 4 * g + 6) * k + (2 * h - 6) * H + 4 * h;
  const d = (2 * h + 6) * k * k - 4 * h * k;
  const sigmasq = (a * N ** 3 + b * N ** 2 + c * N + d) / ((N - 1) * (N - 2) * (N - 3));
  const m = k - 1;
  const A2 = (a2kn - m) / Math.sqrt(sigmasq);
  const critical = B0.map((b0, i) => b0 + (B1[i] as number) / Math.sqrt(m) + (B2[i] as number) / m);
  let p: number;
  if (A2 < Math.min(...critical)) p = 0.25;
  else if (A2 > Math.max(...critical)) p = 0.001;
  else {
    const [c2, c1, c0] = quadraticFit(critical, SIG.map(Math.log));
    p = Math.exp((c2 * A2 + c1) * A2 + c0);
  }
  return { statistic: A2, criticalValues: critical, pValue: p };
}
