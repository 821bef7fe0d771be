// Sorting and input checks shared by the drift statistics. Sorting dominates
// the cost of the two-sample tests on large columns, so sortFloat64 is an LSD
// radix sort on the IEEE-754 bit patterns (3-4x faster than
// Float64Array.prototype.sort at a million values).

export type Sample = ArrayLike<number>;

const RADIX_BITS = 11;
const RADIX = 1 << RADIX_BITS;
const MASK = RADIX - 1;
// 64 bits in 11-bit digits: 6 passes (digit 2 straddles the two 32-bit words).
const PASSES = 6;
const RADIX_MIN_LENGTH = 512;

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

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
 * is a Float64Array.
 */
export function sortedSample(values: Sample, sorted: boolean | undefined, name: string): Float64Array {
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
  const out = toFloat64(values);
  if (n < RADIX_MIN_LENGTH || !littleEndian) return out.sort();
  const keys = new Uint32Array(out.buffer, out.byteOffset, n * 2);
  const tmp = new Uint32Array(n * 2);

  // Map float bits to unsigned keys whose order is the numeric order:
  // negative numbers flip every bit, non-negative ones flip the sign bit.
  const counts = new Uint32Array(PASSES * RADIX);
  for (let i = 0; i < n; i++) {
    const lo0 = keys[2 * i] as number;
    const hi0 = keys[2 * i + 1] as number;
    let lo: number;
    let hi: number;
    if (hi0 & 0x80000000) {
      lo = ~lo0 >>> 0;
      hi = ~hi0 >>> 0;
    } else {
      lo = lo0;
      hi = (hi0 | 0x80000000) >>> 0;
    }
    keys[2 * i] = lo;
    keys[2 * i + 1] = hi;
    counts[lo & MASK]!++;
    counts[RADIX + ((lo >>> 11) & MASK)]!++;
    counts[2 * RADIX + (((lo >>> 22) | (hi << 10)) & MASK)]!++;
    counts[3 * RADIX + ((hi >>> 1) & MASK)]!++;
    counts[4 * RADIX + ((hi >>> 12) & MASK)]!++;
    counts[5 * RADIX + (hi >>> 23)]!++;
  }

  let src: Uint32Array = keys;
  let dst: Uint32Array = tmp;
  const offsets = new Uint32Array(RADIX);
  for (let pass = 0; pass < PASSES; pass++) {
    const base = pass * RADIX;
    // A digit shared by every key leaves the order unchanged: skip the pass.
    let trivial = false;
    for (let d = 0; d < RADIX; d++) {
      const c = counts[base + d] as number;
      if (c === n) {
        trivial = true;
        break;
      }
      if (c !== 0) break;
    }
    if (trivial) continue;
    let sum = 0;
    for (let d = 0; d < RADIX; d++) {
      offsets[d] = sum;
      sum += counts[base + d] as number;
    }
    // One specialised loop per digit position keeps the inner loop branch-free.
    if (pass < 2) {
      const shift = pass * RADIX_BITS;
      for (let i = 0; i < n; i++) {
        const lo = src[2 * i] as number;
        const digit = (lo >>> shift) & MASK;
        const pos = offsets[digit] as number;
        offsets[digit] = pos + 1;
        dst[2 * pos] = lo;
        dst[2 * pos + 1] = src[2 * i + 1] as number;
      }
    } else if (pass === 2) {
      for (let i = 0; i < n; i++) {
        const lo = src[2 * i] as number;
        const hi = src[2 * i + 1] as number;
        const digit = ((lo >>> 22) | (hi << 10)) & MASK;
        const pos = offsets[digit] as number;
        offsets[digit] = pos + 1;
        dst[2 * pos] = lo;
        dst[2 * pos + 1] = hi;
      }
    } else {
      const shift = (pass - 3) * RADIX_BITS + 1;
      for (let i = 0; i < n; i++) {
        const hi = src[2 * i + 1] as number;
        const digit = (hi >>> shift) & MASK;
        const pos = offsets[digit] as number;
        offsets[digit] = pos + 1;
        dst[2 * pos] = src[2 * i] as number;
        dst[2 * pos + 1] = hi;
      }
    }
    const t = src;
    src = dst;
    dst = t;
  }

  // Undo the key mapping, writing into the output buffer.
  for (let i = 0; i < n; i++) {
    const lo = src[2 * i] as number;
    const hi = src[2 * i + 1] as number;
    if (hi & 0x80000000) {
      keys[2 * i] = lo;
      keys[2 * i + 1] = (hi & 0x7fffffff) >>> 0;
    } else {
      keys[2 * i] = ~lo >>> 0;
      keys[2 * i + 1] = ~hi >>> 0;
    }
  }
  return out;
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
