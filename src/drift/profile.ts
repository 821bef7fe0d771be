// Reference profiles: the reference data summarised once, so later checks need no raw rows. Per
// column: type, counts, missing values, a histogram whose edges are frozen from the reference,
// category frequencies, and for the tests that work on samples a sorted quantile sketch.
import { PlinthError } from '../errors.js';
import { describeSorted, numSide, catSide, quantileSketch, inferType, type CatSide, type NumSide, type Side } from './columns.js';
import type { Dataset } from './dataset.js';
import type { ColumnType, TestName } from './schema.js';
import { binEdgesFromSummary, histogram } from './stats/index.js';

export const PROFILE_VERSION = 1;
/** Quantiles kept per numerical column: the sketch stands in for the values in sample-based tests. */
export const SKETCH_SIZE = 10_000;
/** Categories kept per categorical column; rarer ones are pooled into `other`. */
export const MAX_CATEGORIES = 10_000;

export interface NumProfileColumn {
  type: 'num' | 'text';
  count: number;
  missing: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  distinct: number;
  /** [value, count] pairs when the column has few distinct values. */
  values: Array<[number, number]> | null;
  /** Sturges histogram of the reference, edges frozen. */
  edges: number[];
  counts: number[];
  /** Sorted quantiles as little-endian float64, base64; every value when count ≤ SKETCH_SIZE. */
  sketch: string;
  exact: boolean;
  calibrated?: CalibratedThreshold;
}

export interface CatProfileColumn {
  type: 'cat';
  count: number;
  missing: number;
  categories: Array<[string, number]>;
  other: number;
  calibrated?: CalibratedThreshold;
}

export interface CalibratedThreshold {
  test: TestName;
  threshold: number;
  chunks: number;
  sigmas: number;
  mean: number;
  sd: number;
}

export type ProfileColumn = NumProfileColumn | CatProfileColumn;

export interface ReferenceProfile {
  version: number;
  rows: number;
  sketch_size: number;
  columns: Record<string, ProfileColumn>;
}

export function encodeFloat64(values: Float64Array): string {
  const le = new Float64Array(values); // copy: the buffer is read as bytes below
  return Buffer.from(le.buffer, le.byteOffset, le.byteLength).toString('base64');
}

export function decodeFloat64(b64: string): Float64Array {
  const buf = Buffer.from(b64, 'base64');
  if (buf.length % 8 !== 0) throw new PlinthError('DRIFT_INVALID_DATA', 'A profile sketch is corrupt.');
  const out = new Float64Array(buf.length / 8);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

export function resolveTypes(data: Dataset, declared: Readonly<Record<string, ColumnType>> = {}, exclude: readonly string[] = []): Map<string, ColumnType> {
  for (const name of Object.keys(declared)) {
    if (!data.columns.has(name)) throw new PlinthError('DRIFT_COLUMN_MISSING', `Declared column "${name}" is not in the data.`, { column: name });
  }
  const skip = new Set(exclude);
  const out = new Map<string, ColumnType>();
  for (const [name, col] of data.columns) if (!skip.has(name)) out.set(name, declared[name] ?? inferType(col));
  return out;
}

export function profileNumColumn(side: NumSide): NumProfileColumn {
  let edges: number[] = [];
  let counts: number[] = [];
  if (side.count > 0) {
    const e = binEdgesFromSummary({ min: side.min, max: side.max, count: side.count }, 'sturges');
    edges = Array.from(e);
    counts = Array.from(histogram(side.sorted, e, { sorted: true }));
  }
  return {
    type: side.type,
    count: side.count,
    missing: side.missing,
    mean: side.mean,
    std: side.std,
    min: side.min,
    max: side.max,
    distinct: side.distinct,
    values: side.small ? [...side.small] : null,
    edges,
    counts,
    sketch: encodeFloat64(quantileSketch(side.sorted, SKETCH_SIZE)),
    exact: side.count <= SKETCH_SIZE,
  };
}

export function profileCatColumn(side: CatSide): CatProfileColumn {
  const sorted = [...side.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const kept = sorted.slice(0, MAX_CATEGORIES);
  let other = side.other;
  for (const [, c] of sorted.slice(MAX_CATEGORIES)) other += c;
  return { type: 'cat', count: side.count, missing: side.missing, categories: kept, other };
}

export function buildProfile(data: Dataset, types: Map<string, ColumnType>, sides?: Map<string, Side>): ReferenceProfile {
  if (data.rows === 0) throw new PlinthError('DRIFT_INVALID_DATA', 'The reference data has no rows.');
  const columns: Record<string, ProfileColumn> = {};
  for (const [name, type] of types) {
    const side = sides?.get(name) ?? (type === 'cat' ? catSide(data.columns.get(name)!) : numSide(name, data.columns.get(name)!, type));
    columns[name] = side.type === 'cat' ? profileCatColumn(side) : profileNumColumn(side);
  }
  return { version: PROFILE_VERSION, rows: data.rows, sketch_size: SKETCH_SIZE, columns };
}

/** A test side from a stored profile column. */
export function sideFromProfile(col: ProfileColumn): Side {
  if (col.type === 'cat') return { type: 'cat', count: col.count, missing: col.missing, counts: new Map(col.categories), other: col.other };
  const sorted = decodeFloat64(col.sketch);
  const described = describeSorted(sorted);
  return {
    type: col.type,
    count: col.count,
    missing: col.missing,
    sorted,
    exact: col.exact,
    // Moments and distinct values of the real data, not of the sketch.
    mean: col.mean,
    std: col.std,
    min: col.min,
    max: col.max,
    distinct: col.distinct,
    small: col.values ? new Map(col.values) : col.exact ? described.small : null,
    frozen: { edges: col.edges, counts: col.counts },
  };
}

/** Columns, types and sizes of a profile without its sketches (what listings and the API show by default). */
export function profileSummary(p: ReferenceProfile): Record<string, unknown> {
  return {
    version: p.version,
    rows: p.rows,
    sketch_size: p.sketch_size,
    columns: Object.fromEntries(
      Object.entries(p.columns).map(([name, c]) => [
        name,
        c.type === 'cat'
          ? { type: c.type, count: c.count, missing: c.missing, categories: c.categories.length, other: c.other, ...(c.calibrated ? { calibrated: c.calibrated } : {}) }
          : { type: c.type, count: c.count, missing: c.missing, mean: c.mean, std: c.std, min: c.min, max: c.max, distinct: c.distinct, exact: c.exact, bins: c.counts.length, ...(c.calibrated ? { calibrated: c.calibrated } : {}) },
      ]),
    ),
  };
}
