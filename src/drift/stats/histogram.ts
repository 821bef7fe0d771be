// Histogram helpers with numpy semantics (numpy.histogram_bin_edges and
// numpy.histogram with explicit edges), so binned drift tests put every value
// in the same bin as the Python reference implementations do.

import { checkSample, isSorted, type Sample } from './sort.js';

export type BinRule = 'sturges' | 'auto' | 'fd' | 'sqrt' | 'rice' | 'scott';
export type Bins = number | BinRule;

const RULES = new Set<string>(['sturges', 'auto', 'fd', 'sqrt', 'rice', 'scott']);

/** numpy.linspace(start, stop, num) with endpoint=True. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  if (num === 0) return out;
  const div = num - 1;
  const delta = stop - start;
  if (div > 0) {
    const step = delta / div;
    for (let i = 0; i < num; i++) out[i] = step === 0 ? (i / div) * delta + start : i * step + start;
    out[num - 1] = stop;
  } else {
    out[0] = start;
  }
  return out;
}

function minMax(values: Sample): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** numpy percentile, method 'linear', on an ascending array. */
export function percentileSorted(sorted: Sample, q: number): number {
  const n = sorted.length;
  const quantile = q / 100;
  const virtual = n * quantile - quantile; // numpy's (alpha=1, beta=1) virtual index
  const prev = Math.max(0, Math.min(n - 1, Math.floor(virtual)));
  const next = Math.min(n - 1, prev + 1);
  const gamma = virtual - Math.floor(virtual);
  const a = sorted[prev] as number;
  const b = sorted[next] as number;
  const diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

function std(values: Sample): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] as number;
  const m = s / values.length;
  let ss = 0;
  for (let i = 0; i < values.length; i++) {
    const d = (values[i] as number) - m;
    ss += d * d;
  }
  return Math.sqrt(ss / values.length);
}

function ruleWidth(rule: BinRule, data: Sample, ptp: number): number {
  const n = data.length;
  const sturges = ptp / (Math.log2(n) + 1);
  const sqrtW = ptp / Math.sqrt(n);
  const fd = (): number => {
    const sorted = isSorted(data) ? data : Float64Array.from(data).sort();
    const iqr = percentileSorted(sorted, 75) - percentileSorted(sorted, 25);
    return 2 * iqr * Math.pow(n, -1 / 3);
  };
  switch (rule) {
    case 'sturges':
      return sturges;
    case 'sqrt':
      return sqrtW;
    case 'rice':
      return ptp / (2 * Math.pow(n, 1 / 3));
    case 'scott':
      return Math.pow((24 * Math.sqrt(Math.PI)) / n, 1 / 3) * std(data);
    case 'fd':
      return fd();
    case 'auto':
      return Math.min(Math.max(fd(), sqrtW / 2), sturges);
  }
}

function equalBins(first: number, last: number, count: number): Float64Array {
  const edges = linspace(first, last, count + 1);
  for (let i = 1; i < edges.length; i++) {
    if (!((edges[i - 1] as number) < (edges[i] as number))) {
      throw new RangeError(`too many bins for data range: cannot create ${count} finite-sized bins`);
    }
  }
  return edges;
}

function outerEdges(values: Sample, range: readonly [number, number] | undefined): [number, number] {
  let first: number;
  let last: number;
  if (range) {
    [first, last] = range;
    if (!(Number.isFinite(first) && Number.isFinite(last))) throw new RangeError('histogram range must be finite');
    if (first > last) throw new RangeError('histogram range: max must be larger than min');
  } else if (values.length === 0) {
    [first, last] = [0, 1];
  } else {
    [first, last] = minMax(values);
  }
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  return [first, last];
}

/**
 * numpy.histogram_bin_edges(values, bins, range) for float data: a bin count
 * or one of numpy's width estimators ('sturges', 'auto', 'fd', 'sqrt', 'rice',
 * 'scott').
 */
export function histogramBinEdges(values: Sample, bins: Bins, range?: readonly [number, number]): Float64Array {
  if (range === undefined) checkSample(values, 'values');
  const [first, last] = outerEdges(values, range);
  if (typeof bins === 'number') {
    if (!Number.isInteger(bins) || bins < 1) throw new RangeError('bins must be a positive integer');
    return equalBins(first, last, bins);
  }
  if (!RULES.has(bins)) throw new RangeError(`unknown bin rule '${String(bins)}'`);
  let data: Sample = values;
  if (range) {
    const kept: number[] = [];
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (v >= first && v <= last) kept.push(v);
    }
    if (kept.length !== values.length) data = kept;
  }
  if (data.length === 0) return equalBins(first, last, 1);
  const [lo, hi] = minMax(data);
  const width = ruleWidth(bins, data, hi - lo);
  const count = width ? Math.ceil((last - first) / width) : 1;
  return equalBins(first, last, count);
}

/**
 * Bin edges from a summary (minimum, maximum, count) for the estimators that
 * only need those: equals histogramBinEdges(values, bins) for values with that
 * summary, without materialising them (e.g. the pooled reference+current column).
 */
export function binEdgesFromSummary(
  summary: { min: number; max: number; count: number },
  bins: number | 'sturges' | 'sqrt' | 'rice',
): Float64Array {
  const { min, max, count } = summary;
  if (!(Number.isFinite(min) && Number.isFinite(max)) || min > max) throw new RangeError('summary needs finite min <= max');
  if (!Number.isInteger(count) || count < 1) throw new RangeError('summary count must be a positive integer');
  const [first, last] = min === max ? [min - 0.5, max + 0.5] : [min, max];
  if (typeof bins === 'number') {
    if (!Number.isInteger(bins) || bins < 1) throw new RangeError('bins must be a positive integer');
    return equalBins(first, last, bins);
  }
  const ptp = max - min;
  let width: number;
  if (bins === 'sturges') width = ptp / (Math.log2(count) + 1);
  else if (bins === 'sqrt') width = ptp / Math.sqrt(count);
  else if (bins === 'rice') width = ptp / (2 * Math.pow(count, 1 / 3));
  else throw new RangeError(`unknown bin rule '${String(bins)}'`);
  return equalBins(first, last, width ? Math.ceil((last - first) / width) : 1);
}

/** First index i with sorted[i] > x (side='right') or >= x (side='left'). */
function searchSorted(sorted: Sample, x: number, right: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid] as number;
    if (right ? v <= x : v < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * numpy.histogram(values, edges)[0]: bin i holds edges[i] <= v < edges[i+1],
 * the last bin also holds v == edges[last]; values outside are not counted.
 * With `sorted: true` the counts come from binary searches (O(bins log n)).
 */
export function histogram(values: Sample, edges: Sample, opts: { sorted?: boolean } = {}): Float64Array {
  const nb = edges.length - 1;
  if (nb < 1) throw new RangeError('histogram needs at least two bin edges');
  for (let i = 0; i < edges.length; i++) {
    if (!Number.isFinite(edges[i])) throw new RangeError('bin edges must be finite');
    if (i > 0 && (edges[i - 1] as number) > (edges[i] as number)) throw new RangeError('bin edges must increase monotonically');
  }
  const counts = new Float64Array(nb);
  if (opts.sorted) {
    let prev = searchSorted(values, edges[0] as number, false);
    for (let i = 0; i < nb; i++) {
      const next = searchSorted(values, edges[i + 1] as number, i === nb - 1);
      counts[i] = next - prev;
      prev = next;
    }
    return counts;
  }
  const first = edges[0] as number;
  const last = edges[nb] as number;
  // Guess the bin arithmetically (exact for equal-width edges up to rounding),
  // then correct it against the real edges, as numpy does.
  const norm = nb / (last - first);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!(v >= first && v <= last)) continue;
    let b = Math.floor((v - first) * norm);
    if (!(b >= 0)) b = 0;
    else if (b > nb - 1) b = nb - 1;
    // bin b holds edges[b] <= v < edges[b+1]; the last bin is closed.
    if (v < (edges[b] as number) || (b < nb - 1 && v >= (edges[b + 1] as number))) {
      b = searchSorted(edges, v, true) - 1;
      if (b >= nb) b = nb - 1;
    }
    counts[b] = (counts[b] as number) + 1;
  }
  return counts;
}
