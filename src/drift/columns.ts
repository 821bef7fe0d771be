// One column made ready for the tests: its type (declared or inferred), the missing values counted
// and dropped, numbers sorted once, categories counted once. A side comes either from raw data
// (exact) or from a stored reference profile (a quantile sketch standing in for the values).
import { PlinthError } from '../errors.js';
import type { RawColumn } from './dataset.js';
import type { ColumnType } from './schema.js';
import { sortFloat64 } from './stats/index.js';

/** Numbers that take at most this many distinct values keep their value counts (exact chi-square, z-test, binning). */
export const SMALL_DISTINCT = 64;

export interface NumSide {
  type: 'num' | 'text';
  /** Values present (missing ones excluded). */
  count: number;
  missing: number;
  /** Every value, sorted, when `exact`; otherwise evenly spaced quantiles of the values. */
  sorted: Float64Array;
  exact: boolean;
  mean: number;
  std: number;
  min: number;
  max: number;
  distinct: number;
  /** value → count, when there are at most SMALL_DISTINCT distinct values. */
  small: Map<number, number> | null;
  /** Histogram frozen at profile time (reference edges), for profile sides only. */
  frozen?: { edges: number[]; counts: number[] };
}

export interface CatSide {
  type: 'cat';
  count: number;
  missing: number;
  counts: Map<string, number>;
  /** Count of categories not kept individually (a profile with very many categories). */
  other: number;
}

export type Side = NumSide | CatSide;

/** Evidently's inference: numbers are numerical however few distinct values they take; the rest categorical. */
export function inferType(column: RawColumn): ColumnType {
  return column.kind === 'number' ? 'num' : 'cat';
}

/** Finite values of a numeric column, parsed from text when the column was declared numerical. */
function finiteValues(name: string, column: RawColumn): { values: Float64Array; missing: number } {
  if (column.kind === 'number') {
    const src = column.values;
    let present = 0;
    for (let i = 0; i < src.length; i++) if (Number.isFinite(src[i])) present++;
    if (present === src.length) return { values: src, missing: 0 }; // sortFloat64 copies; no copy needed here
    const out = new Float64Array(present);
    let j = 0;
    for (let i = 0; i < src.length; i++) {
      const v = src[i]!;
      if (Number.isFinite(v)) out[j++] = v;
    }
    return { values: out, missing: src.length - present };
  }
  const out = new Float64Array(column.values.length);
  let j = 0;
  for (const s of column.values) {
    if (s === null) continue;
    const v = Number(s);
    if (s.trim() === '' || Number.isNaN(v)) {
      throw new PlinthError('DRIFT_INVALID_DATA', `Column "${name}" is declared numerical but holds "${s.slice(0, 40)}".`, { column: name });
    }
    if (Number.isFinite(v)) out[j++] = v;
  }
  return { values: out.slice(0, j), missing: column.values.length - j };
}

function textLengths(column: RawColumn): { values: Float64Array; missing: number } {
  if (column.kind === 'number') {
    const out: number[] = [];
    for (const v of column.values) if (!Number.isNaN(v)) out.push(String(v).length);
    return { values: Float64Array.from(out), missing: column.values.length - out.length };
  }
  const out = new Float64Array(column.values.length);
  let j = 0;
  for (const s of column.values) if (s !== null) out[j++] = [...s].length; // code points, not UTF-16 units
  return { values: out.slice(0, j), missing: column.values.length - j };
}

/** Moments, distinct count and small value counts of sorted values, in one pass. */
export function describeSorted(sorted: Float64Array): Pick<NumSide, 'mean' | 'std' | 'min' | 'max' | 'distinct' | 'small'> {
  const n = sorted.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, min: Number.NaN, max: Number.NaN, distinct: 0, small: null };
  let sum = 0;
  let distinct = 0;
  let small: Map<number, number> | null = new Map();
  let prev = Number.NaN;
  for (let i = 0; i < n; i++) {
    const v = sorted[i]!;
    sum += v;
    if (v !== prev) {
      distinct++;
      if (small && distinct > SMALL_DISTINCT) small = null;
      small?.set(v, 1);
      prev = v;
    } else if (small) {
      small.set(v, small.get(v)! + 1);
    }
  }
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = sorted[i]! - mean;
    ss += d * d;
  }
  // Population standard deviation (numpy's default), as Evidently uses to norm the Wasserstein distance.
  return { mean, std: Math.sqrt(ss / n), min: sorted[0]!, max: sorted[n - 1]!, distinct, small };
}

export function numSide(name: string, column: RawColumn, type: 'num' | 'text'): NumSide {
  const { values, missing } = type === 'text' ? textLengths(column) : finiteValues(name, column);
  const sorted = sortFloat64(values);
  return { type, count: sorted.length, missing, sorted, exact: true, ...describeSorted(sorted) };
}

export function catSide(column: RawColumn): CatSide {
  const counts = new Map<string, number>();
  let missing = 0;
  if (column.kind === 'number') {
    for (const v of column.values) {
      if (!Number.isFinite(v)) {
        missing++;
        continue;
      }
      const k = String(v);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  } else {
    for (const s of column.values) {
      if (s === null) {
        missing++;
        continue;
      }
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
  }
  return { type: 'cat', count: column.values.length - missing, missing, counts, other: 0 };
}

export function sideOf(name: string, column: RawColumn, type: ColumnType): Side {
  return type === 'cat' ? catSide(column) : numSide(name, column, type);
}

/** Category counts of a numeric side: from its small value table, or by walking exact sorted values. */
export function numAsCategories(side: NumSide): Map<string, number> | undefined {
  if (side.small) return new Map([...side.small].map(([v, c]) => [String(v), c]));
  if (!side.exact) return undefined;
  const out = new Map<string, number>();
  const s = side.sorted;
  let i = 0;
  while (i < s.length) {
    let j = i;
    while (j < s.length && s[j] === s[i]) j++;
    out.set(String(s[i]), j - i);
    i = j;
  }
  return out;
}

/**
 * Evenly spaced quantiles of sorted values: the value at probability (i + 0.5) / m for each of m
 * points, linearly interpolated. With no more values than points the values themselves are kept.
 */
export function quantileSketch(sorted: Float64Array, m: number): Float64Array {
  const n = sorted.length;
  if (n <= m) return sorted.slice();
  const out = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const pos = ((i + 0.5) / m) * (n - 1);
    const lo = Math.floor(pos);
    const frac = pos - lo;
    const a = sorted[lo]!;
    out[i] = frac === 0 ? a : a + (sorted[Math.min(lo + 1, n - 1)]! - a) * frac;
  }
  return out;
}

/** Distinct values of the union of two sorted arrays, counted by a merge walk. */
export function unionDistinct(a: Float64Array, b: Float64Array): number {
  let i = 0;
  let j = 0;
  let count = 0;
  let prev = Number.NaN;
  while (i < a.length || j < b.length) {
    const v = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i++]! : b[j++]!;
    if (v !== prev) {
      count++;
      prev = v;
    }
  }
  return count;
}
