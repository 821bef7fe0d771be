// Distances between two samples through their empirical CDFs:
// Wasserstein-1 (scipy.stats.wasserstein_distance), Evidently's normed
// Wasserstein, and the energy distance (scipy.stats.energy_distance).
// One merge pass over the two ascending samples; no allocation besides the
// sort when the input is not declared sorted.

import { sortedSample, variance, mean, type Sample } from './sort.js';

export interface SortedOption {
  /** Both samples are already ascending (skips the sort); `'trusted'`: and known finite (skips the checks). */
  sorted?: boolean | 'trusted';
}

/**
 * ∫ |F_a − F_b|^p dx between the empirical CDFs of two ascending samples,
 * for p = 1 or p = 2 (SciPy's _cdf_distance without the final root).
 */
function cdfIntegral(a: Float64Array, b: Float64Array, p: 1 | 2): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let sum = 0;
  let prev = Math.min(a[0] as number, b[0] as number);
  // Walk the pooled values in order; between two consecutive pooled values
  // both CDFs are constant (ties give zero-width steps). Separate loops per p
  // and for the tails keep the hot loop free of mode checks and sentinels.
  if (p === 1) {
    while (i < n1 && j < n2) {
      const va = a[i] as number;
      const vb = b[j] as number;
      const v = va <= vb ? va : vb;
      if (v !== prev) {
        sum += Math.abs(i / n1 - j / n2) * (v - prev);
        prev = v;
      }
      if (va <= vb) i++;
      else j++;
    }
  } else {
    while (i < n1 && j < n2) {
      const va = a[i] as number;
      const vb = b[j] as number;
      const v = va <= vb ? va : vb;
      if (v !== prev) {
        const d = i / n1 - j / n2;
        sum += d * d * (v - prev);
        prev = v;
      }
      if (va <= vb) i++;
      else j++;
    }
  }
  // One sample is exhausted (its CDF is 1); finish the other.
  const rest = i < n1 ? a : b;
  let k = i < n1 ? i : j;
  const nr = rest.length;
  for (; k < nr; k++) {
    const v = rest[k] as number;
    if (v !== prev) {
      const d = 1 - k / nr; // the exhausted sample's CDF is 1
      sum += (p === 1 ? Math.abs(d) : d * d) * (v - prev);
      prev = v;
    }
  }
  return sum;
}

/** First Wasserstein distance between the two samples' distributions. */
export function wassersteinDistance(a: Sample, b: Sample, opts: SortedOption = {}): number {
  const x = sortedSample(a, opts.sorted, 'first sample');
  const y = sortedSample(b, opts.sorted, 'second sample');
  return cdfIntegral(x, y, 1);
}

/**
 * Evidently's wasserstein_distance_norm: W1(ref, cur) / max(std(ref), 0.001),
 * std with ddof = 0. Unit-free, so one threshold (0.1) fits every column.
 */
export function normedWasserstein(ref: Sample, cur: Sample, opts: SortedOption = {}): number {
  const x = sortedSample(ref, opts.sorted, 'reference sample');
  const y = sortedSample(cur, opts.sorted, 'current sample');
  const norm = Math.max(Math.sqrt(variance(x, 0, mean(x))), 0.001);
  return cdfIntegral(x, y, 1) / norm;
}

/** Energy distance sqrt(2 ∫ (F_a − F_b)² dx) (scipy.stats.energy_distance). */
export function energyDistance(a: Sample, b: Sample, opts: SortedOption = {}): number {
  const x = sortedSample(a, opts.sorted, 'first sample');
  const y = sortedSample(b, opts.sorted, 'second sample');
  return Math.SQRT2 * Math.sqrt(cdfIntegral(x, y, 2));
}
