// Columnar data as every reader hands it over: numbers in a Float64Array (NaN marks a missing
// value), everything else in a string array (null marks a missing value). One million rows of a
// numeric column cost 8 MB and no per-value objects.
import { PlinthError } from '../errors.js';

export type RawColumn = { kind: 'number'; values: Float64Array } | { kind: 'string'; values: Array<string | null> };

export interface Dataset {
  rows: number;
  columns: Map<string, RawColumn>;
}

/** Cell texts read as "no value" in text formats (CSV) and in string columns of JSON input. */
const MISSING_TEXT = new Set(['', 'null', 'NULL', 'Null', 'NaN', 'nan', 'NA', 'N/A']);

export function isMissingText(s: string): boolean {
  return MISSING_TEXT.has(s);
}

/** A number from a text cell, or undefined when the cell is not numeric (missing cells give NaN). */
export function parseNumberCell(s: string): number | undefined {
  if (isMissingText(s)) return Number.NaN;
  // Number('') and Number(' ') are 0, and Number('0x1f') is 31: only plain decimal notation counts.
  if (!/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(s)) {
    if (/^\s*[-+]?(inf|infinity)\s*$/i.test(s)) return Number.NaN; // infinities are missing values, as in the tests' inputs
    return undefined;
  }
  return Number(s);
}

/**
 * Accumulates one column cell by cell: numeric until the first non-numeric cell, then text.
 * Cells that were numbers before the switch keep their canonical number text.
 */
export class ColumnBuilder {
  private num: Float64Array;
  private str: Array<string | null> | undefined;
  private length = 0;

  constructor(capacity = 1024) {
    this.num = new Float64Array(Math.max(16, capacity));
  }

  pushText(s: string): void {
    if (this.str) {
      this.str.push(isMissingText(s) ? null : s);
      return;
    }
    const n = parseNumberCell(s);
    if (n === undefined) {
      this.toText();
      this.str!.push(s);
      return;
    }
    this.pushNumber(n);
  }

  pushValue(v: unknown): void {
    if (v === null || v === undefined) {
      if (this.str) this.str.push(null);
      else this.pushNumber(Number.NaN);
    } else if (typeof v === 'number') {
      if (this.str) this.str.push(Number.isFinite(v) ? String(v) : null);
      else this.pushNumber(Number.isFinite(v) ? v : Number.NaN);
    } else if (typeof v === 'bigint') {
      this.pushValue(Number(v));
    } else if (typeof v === 'string') {
      if (!this.str) this.toText();
      this.str!.push(isMissingText(v) ? null : v);
    } else if (typeof v === 'boolean') {
      if (!this.str) this.toText();
      this.str!.push(String(v));
    } else if (v instanceof Date) {
      if (!this.str) this.toText();
      this.str!.push(v.toISOString());
    } else {
      if (!this.str) this.toText();
      this.str!.push(JSON.stringify(v));
    }
  }

  /** Many numbers at once (a decoded Parquet page): one copy while the column is numeric. */
  pushNumbers(values: ArrayLike<number>): void {
    if (this.str) {
      for (let i = 0; i < values.length; i++) this.pushValue(values[i]);
      return;
    }
    if (this.length + values.length > this.num.length) {
      const grown = new Float64Array(Math.max(this.num.length * 2, this.length + values.length));
      grown.set(this.num.subarray(0, this.length));
      this.num = grown;
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      this.num[this.length++] = Number.isFinite(v) ? v : Number.NaN;
    }
  }

  private pushNumber(n: number): void {
    if (this.length === this.num.length) {
      const grown = new Float64Array(this.num.length * 2);
      grown.set(this.num);
      this.num = grown;
    }
    this.num[this.length++] = n;
  }

  private toText(): void {
    const str = new Array<string | null>(this.length);
    for (let i = 0; i < this.length; i++) {
      const n = this.num[i]!;
      str[i] = Number.isNaN(n) ? null : String(n);
    }
    this.str = str;
  }

  get size(): number {
    return this.str ? this.str.length : this.length;
  }

  build(): RawColumn {
    if (this.str) return { kind: 'string', values: this.str };
    return { kind: 'number', values: this.num.slice(0, this.length) };
  }
}

/** A dataset from `{ name: values[] }`: every column must have the same length. */
export function datasetFromColumns(columns: Readonly<Record<string, readonly unknown[]>>): Dataset {
  const names = Object.keys(columns);
  if (names.length === 0) throw new PlinthError('DRIFT_INVALID_DATA', 'The data has no columns.');
  let rows = -1;
  const out = new Map<string, RawColumn>();
  for (const name of names) {
    const values = columns[name]!;
    if (rows >= 0 && values.length !== rows) {
      throw new PlinthError('DRIFT_INVALID_DATA', `Column "${name}" has ${values.length} values, the others ${rows}.`, { column: name });
    }
    rows = values.length;
    const b = new ColumnBuilder(values.length);
    for (const v of values) b.pushValue(v);
    out.set(name, b.build());
  }
  return { rows, columns: out };
}

/** A dataset from row objects; a key absent from a row is a missing value there. */
export function datasetFromRows(rows: readonly Readonly<Record<string, unknown>>[]): Dataset {
  const builders = new Map<string, ColumnBuilder>();
  rows.forEach((row, i) => {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new PlinthError('DRIFT_INVALID_DATA', `Row ${i + 1} is not an object.`);
    }
    for (const key of Object.keys(row)) {
      if (!builders.has(key)) {
        const b = new ColumnBuilder(rows.length);
        for (let k = 0; k < i; k++) b.pushValue(null); // the rows before this key first appeared
        builders.set(key, b);
      }
    }
    for (const [key, b] of builders) b.pushValue(row[key]);
  });
  if (builders.size === 0) throw new PlinthError('DRIFT_INVALID_DATA', 'The data has no columns.');
  return { rows: rows.length, columns: new Map([...builders].map(([k, b]) => [k, b.build()])) };
}
