// One drift check, pure and synchronous: reference (raw data or a stored profile) and current data
// in, a per-column and dataset verdict out. No database and no I/O, so the CLI runs it offline
// and the service runs the same code before storing the result.
import { PlinthError } from '../errors.js';
import { sideOf, type Side } from './columns.js';
import type { Dataset, RawColumn } from './dataset.js';
import { buildProfile, resolveTypes, sideFromProfile, type CalibratedThreshold, type ReferenceProfile } from './profile.js';
import { checkOptions, type CheckOptions, type CheckOptionsInput, type CheckResult, type ColumnResult, type ColumnType, type Correction, type SummaryBins, type TestName } from './schema.js';
import { binEdgesFromSummary, histogram } from './stats/index.js';
import { defaultTest, frozenCounts, TESTS, testFor, type DriftTest } from './tests.js';

export type Reference = { kind: 'data'; data: Dataset } | { kind: 'profile'; profile: ReferenceProfile; id: string | null };

const SUMMARY_BINS = 30;
const SUMMARY_CATEGORIES = 20;

/** Adjusted p-values (Bonferroni, or Benjamini–Hochberg step-up), in the order given. */
export function adjustPValues(p: readonly number[], method: Correction): number[] {
  const m = p.length;
  if (method === 'none' || m === 0) return [...p];
  if (method === 'bonferroni') return p.map((x) => Math.min(1, x * m));
  const order = p.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(m);
  let running = 1;
  for (let rank = m; rank >= 1; rank--) {
    const [x, i] = order[rank - 1]!;
    running = Math.min(running, (x * m) / rank);
    out[i] = Math.min(1, running);
  }
  return out;
}

function sliceColumn(col: RawColumn, from: number, to: number): RawColumn {
  return col.kind === 'number' ? { kind: 'number', values: col.values.subarray(from, to) } : { kind: 'string', values: col.values.slice(from, to) };
}

function withoutRange(col: RawColumn, from: number, to: number): RawColumn {
  if (col.kind === 'number') {
    const out = new Float64Array(col.values.length - (to - from));
    out.set(col.values.subarray(0, from));
    out.set(col.values.subarray(to), from);
    return { kind: 'number', values: out };
  }
  return { kind: 'string', values: [...col.values.slice(0, from), ...col.values.slice(to)] };
}

/**
 * A threshold from the reference alone: split it (in row order) into k chunks, score each chunk
 * against the other k−1 with the column's test, and take mean + σ·sd of the scores. Distances are
 * used as they are. P-values are taken as −log10(p) first (on [0, 1] their mean − 3σ is almost
 * always below 0), so the threshold is p = 10^−(mean + σ·sd) of those.
 */
export function calibrateColumn(name: string, col: RawColumn, type: ColumnType, test: DriftTest, chunks: number, sigmas: number): CalibratedThreshold {
  const n = col.values.length;
  if (n < chunks * 2) throw new PlinthError('DRIFT_INVALID_DATA', `Column "${name}" has too few rows (${n}) to calibrate on ${chunks} chunks.`, { column: name });
  const scores: number[] = [];
  for (let i = 0; i < chunks; i++) {
    const from = Math.floor((i * n) / chunks);
    const to = Math.floor(((i + 1) * n) / chunks);
    const part = sideOf(name, sliceColumn(col, from, to), type);
    const rest = sideOf(name, withoutRange(col, from, to), type);
    if (part.count === 0 || rest.count === 0) continue;
    const raw = test.run(rest, part).score;
    const s = test.kind === 'p_value' ? -Math.log10(Math.max(raw, Number.MIN_VALUE)) : raw;
    if (Number.isFinite(s)) scores.push(s);
  }
  if (scores.length < 2) throw new PlinthError('DRIFT_INVALID_DATA', `Column "${name}" has too few values to calibrate a threshold.`, { column: name });
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  const sd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / (scores.length - 1));
  const threshold = test.kind === 'distance' ? mean + sigmas * sd : 10 ** -(mean + sigmas * sd);
  return { test: test.name, threshold, chunks, sigmas, mean, sd };
}

function summaryBins(ref: Side, cur: Side): SummaryBins | null {
  if (ref.count === 0 && cur.count === 0) return null;
  if (ref.type === 'cat' || cur.type === 'cat') {
    const rc = ref.type === 'cat' ? ref.counts : new Map<string, number>();
    const cc = cur.type === 'cat' ? cur.counts : new Map<string, number>();
    const share = (k: string) => (rc.get(k) ?? 0) / Math.max(1, ref.count) + (cc.get(k) ?? 0) / Math.max(1, cur.count);
    const keys = [...new Set([...rc.keys(), ...cc.keys()])].sort((a, b) => share(b) - share(a) || (a < b ? -1 : 1));
    const top = keys.slice(0, SUMMARY_CATEGORIES);
    const r = top.map((k) => rc.get(k) ?? 0);
    const c = top.map((k) => cc.get(k) ?? 0);
    return {
      kind: 'cat',
      categories: top,
      reference: r,
      current: c,
      other_reference: ref.count - r.reduce((a, b) => a + b, 0),
      other_current: cur.count - c.reduce((a, b) => a + b, 0),
    };
  }
  if (!ref.exact && ref.frozen && ref.frozen.edges.length > 1) {
    const f = frozenCounts(cur, ref.frozen.edges);
    return { kind: 'hist', edges: ref.frozen.edges, reference: ref.frozen.counts, current: f.inside, current_below: f.below, current_above: f.above };
  }
  const lo = Math.min(ref.count ? ref.min : Infinity, cur.count ? cur.min : Infinity);
  const hi = Math.max(ref.count ? ref.max : -Infinity, cur.count ? cur.max : -Infinity);
  const edges = binEdgesFromSummary({ min: lo, max: hi, count: ref.count + cur.count }, SUMMARY_BINS);
  return {
    kind: 'hist',
    edges: Array.from(edges),
    reference: Array.from(histogram(ref.sorted, edges, { sorted: true })),
    current: Array.from(histogram(cur.sorted, edges, { sorted: true })),
  };
}

function emptyResult(column: string, type: ColumnType, ref: Side, cur: Side, reason: string): ColumnResult {
  return {
    column,
    type,
    status: 'skipped',
    reason,
    test: null,
    test_title: null,
    kind: null,
    statistic: null,
    p_value: null,
    p_value_adjusted: null,
    distance: null,
    threshold: null,
    threshold_source: null,
    drifted: false,
    approximate: false,
    reference: { count: ref.count, missing: ref.missing },
    current: { count: cur.count, missing: cur.missing },
    bins: summaryBins(ref, cur),
  };
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** Sides computed ahead of the check (e.g. in worker threads), by column name. */
export interface PreparedSides {
  reference: ReadonlyMap<string, Side>;
  current: ReadonlyMap<string, Side>;
}

/**
 * The columns a check compares and their types (declared, from the profile, or inferred), after
 * checking that the current data has each of them.
 */
export function checkedColumns(reference: Reference, current: Dataset, options: CheckOptions): { types: Map<string, ColumnType>; referenceRows: number } {
  if (current.rows === 0) throw new PlinthError('DRIFT_INVALID_DATA', 'The current data has no rows.');
  let types: Map<string, ColumnType>;
  let referenceRows: number;
  if (reference.kind === 'data') {
    if (reference.data.rows === 0) throw new PlinthError('DRIFT_INVALID_DATA', 'The reference data has no rows.');
    types = resolveTypes(reference.data, options.columns, options.exclude);
    referenceRows = reference.data.rows;
  } else {
    const skip = new Set(options.exclude ?? []);
    types = new Map();
    for (const [name, col] of Object.entries(reference.profile.columns)) if (!skip.has(name)) types.set(name, col.type);
    for (const [name, type] of Object.entries(options.columns ?? {})) {
      const have = types.get(name);
      if (have === undefined && !skip.has(name)) throw new PlinthError('DRIFT_COLUMN_MISSING', `Declared column "${name}" is not in the reference profile.`, { column: name });
      if (have !== undefined && have !== type) {
        throw new PlinthError('DRIFT_INVALID_DATA', `The profile holds column "${name}" as ${have}; it cannot be checked as ${type}.`, { column: name });
      }
    }
    referenceRows = reference.profile.rows;
  }
  for (const name of types.keys()) {
    if (!current.columns.has(name)) throw new PlinthError('DRIFT_COLUMN_MISSING', `Column "${name}" is in the reference but not in the current data.`, { column: name });
  }
  if (types.size === 0) throw new PlinthError('DRIFT_INVALID_DATA', 'No columns are left to check.');
  return { types, referenceRows };
}

/**
 * The statistics throw RangeError on inputs they cannot handle (as NumPy and SciPy raise
 * ValueError), e.g. finite values whose range overflows a double when binned: a client error.
 */
function dataErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RangeError) throw new PlinthError('DRIFT_INVALID_DATA', `The data cannot be tested: ${err.message}.`);
    throw err;
  }
}

export function runCheck(reference: Reference, current: Dataset, rawOptions: CheckOptionsInput | CheckOptions = {}, prepared?: PreparedSides): CheckResult {
  return dataErrors(() => check(reference, current, rawOptions, prepared));
}

function check(reference: Reference, current: Dataset, rawOptions: CheckOptionsInput | CheckOptions, prepared: PreparedSides | undefined): CheckResult {
  const started = performance.now();
  const options = checkOptions.parse(rawOptions);
  const { types, referenceRows } = checkedColumns(reference, current, options);

  interface Pending {
    result: ColumnResult;
    test: DriftTest;
  }
  const results: ColumnResult[] = [];
  const pending: Pending[] = [];
  for (const [name, type] of types) {
    const ref: Side =
      prepared?.reference.get(name) ?? (reference.kind === 'data' ? sideOf(name, reference.data.columns.get(name)!, type) : sideFromProfile(reference.profile.columns[name]!));
    const cur: Side = prepared?.current.get(name) ?? sideOf(name, current.columns.get(name)!, type);
    if (ref.count === 0 || cur.count === 0) {
      results.push(emptyResult(name, type, ref, cur, ref.count === 0 ? 'the reference has no values in this column' : 'the current data has no values in this column'));
      continue;
    }
    const testName: TestName = options.tests?.[name] ?? options.test ?? defaultTest(ref, cur);
    const test = testFor(testName, type);

    let threshold = test.defaultThreshold;
    let source: ColumnResult['threshold_source'] = 'default';
    const calibrated = calibrationFor(reference, name, type, test, options);
    if (options.thresholds?.[name] !== undefined) {
      threshold = options.thresholds[name];
      source = 'option';
    } else if (options.threshold !== undefined) {
      threshold = options.threshold;
      source = 'option';
    } else if (calibrated) {
      threshold = calibrated.threshold;
      source = 'calibrated';
    }

    const outcome = test.run(ref, cur);
    const result: ColumnResult = {
      column: name,
      type,
      status: 'checked',
      test: test.name,
      test_title: test.title,
      kind: test.kind,
      statistic: finite(outcome.statistic),
      p_value: test.kind === 'p_value' ? finite(outcome.score) : null,
      p_value_adjusted: test.kind === 'p_value' ? finite(outcome.score) : null,
      distance: test.kind === 'distance' ? finite(outcome.score) : null,
      threshold,
      threshold_source: source,
      drifted: Number.isFinite(outcome.score) && test.drifted(outcome.score, threshold),
      approximate: outcome.approximate,
      reference: { count: ref.count, missing: ref.missing },
      current: { count: cur.count, missing: cur.missing },
      bins: summaryBins(ref, cur),
    };
    results.push(result);
    pending.push({ result, test });
  }

  // Multiple-testing correction over the columns scored by a p-value.
  const pv = pending.filter((p) => p.test.kind === 'p_value' && p.result.p_value !== null);
  if (options.correction !== 'none' && pv.length > 0) {
    const adjusted = adjustPValues(
      pv.map((p) => p.result.p_value!),
      options.correction,
    );
    pv.forEach((p, i) => {
      p.result.p_value_adjusted = adjusted[i]!;
      p.result.drifted = p.test.drifted(adjusted[i]!, p.result.threshold!);
    });
  }

  const checked = results.filter((r) => r.status === 'checked');
  const drifted = checked.filter((r) => r.drifted).length;
  const share = checked.length ? drifted / checked.length : 0;
  return {
    reference_profile_id: reference.kind === 'profile' ? reference.id : null,
    dataset_drift: checked.length > 0 && share >= options.drift_share,
    drift_share: options.drift_share,
    drifted_columns: drifted,
    checked_columns: checked.length,
    share_drifted: share,
    correction: options.correction,
    reference_rows: referenceRows,
    current_rows: current.rows,
    ignored_columns: [...current.columns.keys()].filter((c) => !types.has(c)),
    columns: results,
    duration_ms: Math.round((performance.now() - started) * 100) / 100,
  };
}

function calibrationFor(reference: Reference, name: string, type: ColumnType, test: DriftTest, options: CheckOptions): CalibratedThreshold | undefined {
  if (reference.kind === 'profile') {
    const stored = reference.profile.columns[name]?.calibrated;
    if (stored?.test === test.name) return stored;
    if (options.calibrate) {
      throw new PlinthError('DRIFT_INVALID_DATA', `The profile has no calibrated threshold for column "${name}" and test ${test.name}; calibrate when creating the profile, or pass raw reference data.`, { column: name });
    }
    return undefined;
  }
  if (!options.calibrate) return undefined;
  return calibrateColumn(name, reference.data.columns.get(name)!, type, test, options.calibrate.chunks, options.calibrate.sigmas);
}

export interface ProfileOptions {
  columns?: Readonly<Record<string, ColumnType>> | undefined;
  exclude?: readonly string[] | undefined;
  calibrate?: { chunks: number; sigmas: number } | undefined;
}

/**
 * A reference profile from raw data. With `calibrate`, each column also stores a threshold
 * calibrated for the test the preset would pick against data like the reference itself.
 */
export function createReferenceProfile(data: Dataset, options: ProfileOptions = {}): ReferenceProfile {
  return dataErrors(() => profileOf(data, options));
}

function profileOf(data: Dataset, options: ProfileOptions): ReferenceProfile {
  const types = resolveTypes(data, options.columns, options.exclude);
  if (types.size === 0) throw new PlinthError('DRIFT_INVALID_DATA', 'No columns are left to profile.');
  const sides = new Map<string, Side>();
  for (const [name, type] of types) sides.set(name, sideOf(name, data.columns.get(name)!, type));
  const profile = buildProfile(data, types, sides);
  if (options.calibrate) {
    for (const [name, type] of types) {
      const side = sides.get(name)!;
      if (side.count === 0) continue;
      const test = TESTS[defaultTest(side, side)];
      profile.columns[name]!.calibrated = calibrateColumn(name, data.columns.get(name)!, type, test, options.calibrate.chunks, options.calibrate.sigmas);
    }
  }
  return profile;
}
