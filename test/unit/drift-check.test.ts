// Drift checks without a database: the Evidently preset, missing values, overrides, corrections,
// calibration and reference profiles.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '../../bench/lib/rng.js';
import { adjustPValues, createReferenceProfile, datasetFromColumns, runCheck, SKETCH_SIZE, type Dataset, type ReferenceProfile } from '../../src/drift/index.js';
import { decodeFloat64 } from '../../src/drift/profile.js';
import { PlinthError } from '../../src/errors.js';

function normals(seed: number, n: number, shift = 0, scale = 1): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => rng.gauss() * scale + shift);
}

function cats(seed: number, n: number, levels: string[], bias = 0): string[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => (rng.next() < bias ? levels[0]! : rng.pick(levels)));
}

const ref = (d: Dataset) => ({ kind: 'data' as const, data: d });
const col = (r: ReturnType<typeof runCheck>, name: string) => r.columns.find((c) => c.column === name)!;

function expectCode(fn: () => unknown, code: string) {
  assert.throws(fn, (err: unknown) => err instanceof PlinthError && err.code === code);
}

describe('drift preset (Evidently DataDriftPreset defaults)', () => {
  it('picks KS, chi-square and z for a reference of at most 1000 rows', () => {
    const n = 800;
    const a = datasetFromColumns({ x: normals(1, n), few: normals(2, n).map((v) => (v > 0.5 ? 2 : v > -0.5 ? 1 : 0)), c3: cats(3, n, ['a', 'b', 'c']), bin: cats(4, n, ['y', 'n']) });
    const b = datasetFromColumns({ x: normals(5, n), few: normals(6, n).map((v) => (v > 0.5 ? 2 : v > -0.5 ? 1 : 0)), c3: cats(7, n, ['a', 'b', 'c']), bin: cats(8, n, ['y', 'n']) });
    const r = runCheck(ref(a), b);
    assert.equal(col(r, 'x').test, 'ks');
    assert.equal(col(r, 'x').type, 'num');
    // Numbers with few distinct values stay numerical (Evidently) but get a categorical test.
    assert.equal(col(r, 'few').type, 'num');
    assert.equal(col(r, 'few').test, 'chisquare');
    assert.equal(col(r, 'c3').test, 'chisquare');
    assert.equal(col(r, 'bin').test, 'z');
    assert.equal(col(r, 'x').threshold, 0.05);
    assert.equal(r.dataset_drift, false);
  });

  it('picks normed Wasserstein and Jensen–Shannon above 1000 rows, thresholds 0.1', () => {
    const n = 3000;
    const a = datasetFromColumns({ x: normals(1, n), few: normals(2, n).map((v) => Math.round(v)), c: cats(3, n, ['a', 'b', 'c', 'd']) });
    const b = datasetFromColumns({ x: normals(5, n), few: normals(6, n).map((v) => Math.max(-2, Math.min(2, Math.round(v)))), c: cats(7, n, ['a', 'b', 'c', 'd']) });
    const r = runCheck(ref(a), b);
    assert.equal(col(r, 'x').test, 'wasserstein');
    assert.equal(col(r, 'c').test, 'jensenshannon');
    assert.equal(col(r, 'x').threshold, 0.1);
    assert.equal(col(r, 'x').kind, 'distance');
    assert.equal(r.columns.every((c) => !c.drifted), true);
  });

  it('detects a shifted column and a re-weighted category, and dataset drift at a share of 0.5', () => {
    const n = 2000;
    const a = datasetFromColumns({ x: normals(1, n), y: normals(2, n), c: cats(3, n, ['a', 'b', 'c']), z: normals(4, n) });
    const b = datasetFromColumns({ x: normals(5, n, 0.5), y: normals(6, n), c: cats(7, n, ['a', 'b', 'c'], 0.5), z: normals(8, n) });
    const r = runCheck(ref(a), b);
    assert.equal(col(r, 'x').drifted, true);
    assert.ok(col(r, 'x').distance! > 0.4 && col(r, 'x').distance! < 0.6, String(col(r, 'x').distance));
    assert.equal(col(r, 'c').drifted, true);
    assert.equal(col(r, 'y').drifted, false);
    assert.equal(r.drifted_columns, 2);
    assert.equal(r.share_drifted, 0.5);
    assert.equal(r.dataset_drift, true, 'share 0.5 ≥ drift_share 0.5');
    assert.equal(runCheck(ref(a), b, { drift_share: 0.75 }).dataset_drift, false);
  });

  it('treats text columns as their lengths', () => {
    const rng = createRng(9);
    const words = (k: number) => Array.from({ length: k }, () => 'word').join(' ');
    const a = datasetFromColumns({ t: Array.from({ length: 500 }, () => words(2 + rng.int(5))) });
    const b = datasetFromColumns({ t: Array.from({ length: 500 }, () => words(8 + rng.int(5))) });
    const r = runCheck(ref(a), b, { columns: { t: 'text' } });
    assert.equal(col(r, 't').type, 'text');
    assert.equal(col(r, 't').test, 'ks');
    assert.equal(col(r, 't').drifted, true);
    // Inferred, the same strings are categories.
    assert.equal(col(runCheck(ref(a), b), 't').type, 'cat');
  });
});

describe('drift: missing values and bad input', () => {
  it('counts null, NaN, empty and infinite values per column and leaves them out', () => {
    const a = datasetFromColumns({ x: [1, 2, null, 3, Number.NaN, 4, 5, 6, 7, 8], c: ['a', '', 'b', null, 'a', 'b', 'a', 'b', 'a', 'b'] });
    const b = datasetFromColumns({ x: [1, 2, 3, 4, 5, 6, 7, 8, Number.POSITIVE_INFINITY, null], c: ['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'NaN'] });
    const r = runCheck(ref(a), b);
    assert.deepEqual(col(r, 'x').reference, { count: 8, missing: 2 });
    assert.deepEqual(col(r, 'x').current, { count: 8, missing: 2 });
    assert.deepEqual(col(r, 'c').reference, { count: 8, missing: 2 });
    assert.deepEqual(col(r, 'c').current, { count: 9, missing: 1 });
    assert.equal(col(r, 'x').status, 'checked');
  });

  it('skips a column without values instead of failing, and leaves it out of the share', () => {
    const a = datasetFromColumns({ x: normals(1, 50), empty: Array.from({ length: 50 }, () => null) });
    const b = datasetFromColumns({ x: normals(2, 50), empty: Array.from({ length: 50 }, () => null) });
    const r = runCheck(ref(a), b);
    assert.equal(col(r, 'empty').status, 'skipped');
    assert.equal(r.checked_columns, 1);
  });

  it('refuses a reference column missing from the current data, an unknown test and a test of the wrong type', () => {
    const a = datasetFromColumns({ x: normals(1, 50), c: cats(1, 50, ['a', 'b']) });
    const b = datasetFromColumns({ x: normals(2, 50) });
    expectCode(() => runCheck(ref(a), b), 'PLINTH_DRIFT_COLUMN_MISSING');
    const b2 = datasetFromColumns({ x: normals(2, 50), c: cats(2, 50, ['a', 'b']), extra: normals(3, 50) });
    assert.deepEqual(runCheck(ref(a), b2).ignored_columns, ['extra']);
    assert.throws(() => runCheck(ref(a), b2, { test: 'nope' }));
    expectCode(() => runCheck(ref(a), b2, { tests: { c: 'ks' } }), 'PLINTH_DRIFT_TEST_NOT_APPLICABLE');
    expectCode(() => runCheck(ref(a), b2, { columns: { c: 'num' } }), 'PLINTH_DRIFT_INVALID_DATA');
    expectCode(() => datasetFromColumns({ x: [1, 2], y: [1] }), 'PLINTH_DRIFT_INVALID_DATA');
  });
});

describe('drift options', () => {
  const n = 1500;
  const a = datasetFromColumns({ x: normals(1, n), y: normals(2, n), c: cats(3, n, ['a', 'b', 'c']) });
  const b = datasetFromColumns({ x: normals(4, n, 0.15), y: normals(5, n, 0.1), c: cats(6, n, ['a', 'b', 'c'], 0.05) });

  it('runs every test by name (and alias), per column or globally', () => {
    for (const t of ['ks', 'wasserstein', 'psi', 'kl', 'kl_div', 'hellinger', 'jensenshannon', 'anderson', 'cvm', 'energy', 't_test', 'mannw']) {
      const r = runCheck(ref(a), b, { test: t, exclude: ['c'] });
      for (const c of r.columns) {
        assert.equal(c.status, 'checked', t);
        const score = c.p_value ?? c.distance;
        assert.ok(score !== null && Number.isFinite(score), `${t} gives a finite score`);
      }
    }
    const r = runCheck(ref(a), b, { tests: { x: 'psi', c: 'chisquare' } });
    assert.equal(col(r, 'x').test, 'psi');
    assert.equal(col(r, 'y').test, 'wasserstein');
    assert.equal(col(r, 'c').test, 'chisquare');
  });

  it('applies global and per-column thresholds', () => {
    const r = runCheck(ref(a), b, { threshold: 0.05, thresholds: { y: 0.5 } });
    assert.equal(col(r, 'x').threshold, 0.05);
    assert.equal(col(r, 'x').threshold_source, 'option');
    assert.equal(col(r, 'y').threshold, 0.5);
    assert.equal(col(r, 'y').drifted, false);
  });

  it('adjusts p-values with Bonferroni and Benjamini–Hochberg', () => {
    assert.deepEqual(adjustPValues([0.01, 0.04, 0.03, 0.2], 'bonferroni'), [0.04, 0.16, 0.12, 0.8]);
    const bh = adjustPValues([0.01, 0.04, 0.03, 0.2], 'benjamini-hochberg');
    const expected = [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2];
    bh.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-12, `${v} vs ${expected[i]}`));
    assert.deepEqual(adjustPValues([0.5, 0.9], 'bonferroni'), [1, 1]);

    const r = runCheck(ref(a), b, { test: 'ks', exclude: ['c'], correction: 'bonferroni' });
    for (const c of r.columns) assert.equal(c.p_value_adjusted, Math.min(1, c.p_value! * 2));
  });

  it('calibrates thresholds on reference chunks: mean + 3σ of chunk-vs-rest scores', () => {
    const r = runCheck(ref(a), b, { calibrate: { chunks: 5, sigmas: 3 } });
    const x = col(r, 'x');
    assert.equal(x.threshold_source, 'calibrated');
    // Recompute from the definition: each fifth of the reference (in row order) against the rest.
    const xs = (a.columns.get('x')!.values as Float64Array);
    const scores: number[] = [];
    for (let i = 0; i < 5; i++) {
      const from = (i * n) / 5;
      const to = ((i + 1) * n) / 5;
      const part = datasetFromColumns({ x: Array.from(xs.subarray(from, to)) });
      const rest = datasetFromColumns({ x: [...xs.subarray(0, from), ...xs.subarray(to)] });
      scores.push(runCheck(ref(rest), part, { test: 'wasserstein' }).columns[0]!.distance!);
    }
    const mean = scores.reduce((s, v) => s + v, 0) / 5;
    const sd = Math.sqrt(scores.reduce((s, v) => s + (v - mean) ** 2, 0) / 4);
    assert.ok(Math.abs(x.threshold! - (mean + 3 * sd)) < 1e-12, `${x.threshold} vs ${mean + 3 * sd}`);
    // P-values are calibrated as −log10(p): the threshold is a probability below the typical chunk p-value.
    const p = runCheck(ref(a), b, { test: 'ks', exclude: ['c'], calibrate: { chunks: 5 } });
    assert.ok(col(p, 'x').threshold! > 0 && col(p, 'x').threshold! < 0.5);
    // A strong shift still drifts against the calibrated threshold.
    const far = datasetFromColumns({ x: normals(9, n, 1), y: normals(10, n), c: cats(11, n, ['a', 'b', 'c']) });
    assert.equal(col(runCheck(ref(a), far, { calibrate: { chunks: 5 } }), 'x').drifted, true);
  });
});

describe('reference profiles', () => {
  it('are exact for references of at most the sketch size', () => {
    const n = 2000;
    const a = datasetFromColumns({ x: normals(1, n), c: cats(2, n, ['a', 'b', 'c']), k: normals(3, n).map((v) => Math.round(v)) });
    const b = datasetFromColumns({ x: normals(4, n, 0.2), c: cats(5, n, ['a', 'b', 'c'], 0.1), k: normals(6, n).map((v) => Math.round(v)) });
    const profile: ReferenceProfile = JSON.parse(JSON.stringify(createReferenceProfile(a))) as ReferenceProfile;
    for (const t of [undefined, 'ks', 'psi', 'energy', 'hellinger']) {
      const raw = runCheck(ref(a), b, t ? { test: t, exclude: ['c'] } : {});
      const viaProfile = runCheck({ kind: 'profile', profile, id: null }, b, t ? { test: t, exclude: ['c'] } : {});
      raw.columns.forEach((c, i) => {
        const p = viaProfile.columns[i]!;
        assert.equal(p.approximate, false);
        assert.ok(Math.abs((c.p_value ?? c.distance)! - (p.p_value ?? p.distance)!) < 1e-12, `${t ?? 'preset'} ${c.column}`);
      });
    }
  });

  it('keep no raw rows for large references and approximate sample tests closely', () => {
    const n = 60_000;
    const values = normals(1, n);
    const a = datasetFromColumns({ x: values, c: cats(2, n, ['a', 'b', 'c', 'd']) });
    const b = datasetFromColumns({ x: normals(3, n, 0.3), c: cats(4, n, ['a', 'b', 'c', 'd'], 0.1) });
    const profile = createReferenceProfile(a);
    const x = profile.columns.x!;
    if (x.type === 'cat') assert.fail('x is numerical');
    else {
      assert.equal(decodeFloat64(x.sketch).length, SKETCH_SIZE);
      assert.equal(x.exact, false);
      assert.equal(x.count, n);
      assert.equal(x.counts.reduce((s, v) => s + v, 0), n, 'frozen histogram holds every reference value');
    }
    assert.ok(JSON.stringify(profile).length < 400_000, 'a profile is small');
    const raw = runCheck(ref(a), b);
    const viaProfile = runCheck({ kind: 'profile', profile, id: 'p' }, b);
    assert.equal(viaProfile.reference_profile_id, 'p');
    assert.equal(col(viaProfile, 'x').approximate, true);
    assert.ok(Math.abs(col(raw, 'x').distance! - col(viaProfile, 'x').distance!) < 0.001);
    assert.equal(col(viaProfile, 'c').approximate, false);
    assert.ok(Math.abs(col(raw, 'c').distance! - col(viaProfile, 'c').distance!) < 1e-12);
    assert.equal(viaProfile.dataset_drift, raw.dataset_drift);
    // KS on the sketch uses the sketch as the reference sample: close to the exact statistic.
    const ks = runCheck({ kind: 'profile', profile, id: null }, b, { test: 'ks', exclude: ['c'] });
    const ksRaw = runCheck(ref(a), b, { test: 'ks', exclude: ['c'] });
    assert.ok(Math.abs(col(ks, 'x').statistic! - col(ksRaw, 'x').statistic!) < 0.005);
  });

  it('store calibrated thresholds and use them in later checks', () => {
    const n = 5000;
    const a = datasetFromColumns({ x: normals(1, n) });
    const profile = createReferenceProfile(a, { calibrate: { chunks: 5, sigmas: 3 } });
    assert.equal(profile.columns.x!.calibrated?.test, 'wasserstein');
    const r = runCheck({ kind: 'profile', profile, id: null }, datasetFromColumns({ x: normals(2, n, 0.1) }));
    assert.equal(col(r, 'x').threshold_source, 'calibrated');
    assert.equal(col(r, 'x').threshold, profile.columns.x!.calibrated.threshold);
  });
});

describe('drift data the statistics cannot handle', () => {
  it('answers DRIFT_INVALID_DATA, not an internal error, for finite values whose range overflows', () => {
    const d = datasetFromColumns({ x: [-1e308, 1e308, 0, 5] });
    assert.throws(() => createReferenceProfile(d), { code: 'PLINTH_DRIFT_INVALID_DATA' });
    assert.throws(() => runCheck({ kind: 'data', data: d }, d), { code: 'PLINTH_DRIFT_INVALID_DATA' });
  });
});
