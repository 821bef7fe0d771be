// Drift benchmark: the default preset (Evidently's DataDriftPreset choice of tests) on 1,000,000
// rows × 20 numerical + 5 categorical columns, reference and current generated from a seed with
// drift injected in known columns. Measures the check from in-memory columns, the same check from
// a stored-style reference profile, reading CSV and Parquet files, and memory; and runs the same
// statistics with NumPy/SciPy (bench/drift-scipy.py, in a venv created on first use) as the
// baseline of the same run.
//
//   npm run bench -- drift            # 1,000,000 rows
//   npm run bench -- drift --quick    # 100,000 rows
//   npm run bench -- drift --help     # every flag (each also reads BENCH_<FLAG> from the env)
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { createReferenceProfile, readDataFile, runCheck, runCheckParallel, type CheckResult, type Dataset, type RawColumn } from '../src/drift/index.js';
import { loadAverageNow, machineLine, median, parseFlags, saveResults, timed, timedAsync } from './lib/harness.js';
import { BENCH_DIR, fmt, machine, table } from './lib/report.js';
import { createRng } from './lib/rng.js';

export const description = 'drift: default preset on 1M rows × 25 columns (in memory, from a profile, from CSV/Parquet), memory, vs NumPy/SciPy';

const TARGET_S = 5;

const FLAGS = {
  quick: { type: 'boolean', doc: 'fast check: 100,000 rows' },
  rows: { type: 'string', full: '1000000', quick: '100000', doc: 'rows in the reference and in the current data' },
  'num-cols': { type: 'string', full: '20', quick: '20', doc: 'numerical columns' },
  'cat-cols': { type: 'string', full: '5', quick: '5', doc: 'categorical columns' },
  rounds: { type: 'string', full: '3', quick: '3', doc: 'timed repetitions of each in-memory measurement (the median is reported)' },
  formats: { type: 'string', full: 'parquet,csv', quick: 'parquet,csv', doc: 'file formats to time reading: parquet, csv (empty for none)' },
  scipy: { type: 'string', full: 'on', quick: 'on', doc: 'on | off: run the NumPy/SciPy baseline' },
  seed: { type: 'string', full: '7', quick: '7', doc: 'random seed' },
  help: { type: 'boolean', doc: 'show this help' },
} as const;

interface Options {
  quick: boolean;
  rows: number;
  numCols: number;
  catCols: number;
  rounds: number;
  formats: string[];
  scipy: boolean;
  seed: number;
}

function parseOptions(args: string[]): Options | undefined {
  const flags = parseFlags('drift', args, FLAGS, 10);
  if (!flags) return undefined;
  const { quick, str, int: num } = flags;
  const formats = str('formats').split(',').map((s) => s.trim()).filter(Boolean);
  for (const f of formats) if (f !== 'csv' && f !== 'parquet') throw new Error(`--formats: csv and/or parquet, not "${f}"`);
  return {
    quick,
    rows: num('rows', 2000, 20_000_000),
    numCols: num('num-cols', 1, 200),
    catCols: num('cat-cols', 0, 50),
    rounds: num('rounds', 1, 20),
    formats,
    scipy: str('scipy') !== 'off',
    seed: num('seed', 0, 2 ** 31),
  };
}

// ---------- data ----------

const CAT_LEVELS = [3, 8, 20, 50, 200];

/** Which columns get drift, and how: the check must find exactly these. */
function driftOf(name: string): string | undefined {
  return (
    {
      num_00: 'mean +0.25σ',
      num_01: 'scale ×1.3',
      num_04: 'log-mean +0.2',
      num_08: 'range shifted by 20%',
      cat_00: 'first level 30% → 50%',
    } as Record<string, string>
  )[name];
}

function generate(opts: Options, seed: number, current: boolean): Dataset {
  const rng = createRng(seed);
  const n = opts.rows;
  const columns = new Map<string, RawColumn>();
  for (let c = 0; c < opts.numCols; c++) {
    const name = `num_${String(c).padStart(2, '0')}`;
    const drift = current && driftOf(name) !== undefined;
    const v = new Float64Array(n);
    const family = Math.floor(c / 4) % 5;
    for (let i = 0; i < n; i++) {
      let x: number;
      switch (family) {
        case 0: // normal
          x = drift ? (c === 1 ? rng.gauss() * 1.3 : rng.gauss() + 0.25) : rng.gauss();
          break;
        case 1: // log-normal
          x = Math.exp(0.5 * rng.gauss() + (drift ? 0.2 : 0));
          break;
        case 2: // uniform
          x = rng.next() * 10 + (drift ? 2 : 0);
          break;
        case 3: // counts with many distinct values
          x = Math.floor(Math.exp(rng.gauss() + 3));
          break;
        default: // two-component mixture with 1% missing values
          x = rng.next() < 0.01 ? Number.NaN : rng.next() < 0.3 ? rng.gauss() * 0.5 - 2 : rng.gauss() + 1;
      }
      v[i] = x;
    }
    columns.set(name, { kind: 'number', values: v });
  }
  for (let c = 0; c < opts.catCols; c++) {
    const name = `cat_${String(c).padStart(2, '0')}`;
    const levels = Array.from({ length: CAT_LEVELS[c % CAT_LEVELS.length]! }, (_, k) => `level_${c}_${k}`);
    const drift = current && driftOf(name) !== undefined;
    const v = new Array<string | null>(n);
    const first = drift ? 0.5 : 0.3;
    for (let i = 0; i < n; i++) v[i] = rng.next() < 0.005 ? null : rng.next() < first ? levels[0]! : levels[1 + rng.int(levels.length - 1)]!;
    columns.set(name, { kind: 'string', values: v });
  }
  return { rows: n, columns };
}

// ---------- files ----------

async function writeCsv(file: string, d: Dataset): Promise<void> {
  const out = createWriteStream(file, { highWaterMark: 1 << 22 });
  const names = [...d.columns.keys()];
  const cols = names.map((k) => d.columns.get(k)!);
  const write = (s: string) => new Promise<void>((resolve) => (out.write(s) ? resolve() : out.once('drain', resolve)));
  await write(`${names.join(',')}\n`);
  let buf = '';
  for (let i = 0; i < d.rows; i++) {
    let line = '';
    for (let c = 0; c < cols.length; c++) {
      const col = cols[c]!;
      const v = col.values[i];
      const cell = col.kind === 'number' ? (Number.isNaN(v) ? '' : String(v)) : ((v as string | null) ?? '');
      line += c === 0 ? cell : `,${cell}`;
    }
    buf += `${line}\n`;
    if (buf.length > 1 << 20) {
      await write(buf);
      buf = '';
    }
  }
  await write(buf);
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

function writeParquet(file: string, d: Dataset): void {
  parquetWriteFile({
    filename: file,
    columnData: [...d.columns].map(([name, col]) =>
      col.kind === 'number'
        ? { name, data: Array.from(col.values, (v) => (Number.isNaN(v) ? null : v)), type: 'DOUBLE' as const }
        : { name, data: col.values, type: 'STRING' as const },
    ),
    rowGroupSize: 250_000,
  });
}

/** Raw columns for the NumPy side: float64 values (NaN missing), int32 category codes (−1 missing). */
function writeRaw(dir: string, ref: Dataset, cur: Dataset): void {
  const manifest: { columns: Array<{ name: string; kind: 'num' | 'cat'; reference: string; current: string }> } = { columns: [] };
  for (const [name, rc] of ref.columns) {
    const cc = cur.columns.get(name)!;
    const files = { reference: `${name}.ref.bin`, current: `${name}.cur.bin` };
    if (rc.kind === 'number' && cc.kind === 'number') {
      writeFileSync(path.join(dir, files.reference), rc.values);
      writeFileSync(path.join(dir, files.current), cc.values);
      manifest.columns.push({ name, kind: 'num', ...files });
    } else if (rc.kind === 'string' && cc.kind === 'string') {
      const codes = new Map<string, number>();
      const encode = (values: Array<string | null>) =>
        Int32Array.from(values, (s) => {
          if (s === null) return -1;
          let k = codes.get(s);
          if (k === undefined) codes.set(s, (k = codes.size));
          return k;
        });
      writeFileSync(path.join(dir, files.reference), encode(rc.values));
      writeFileSync(path.join(dir, files.current), encode(cc.values));
      manifest.columns.push({ name, kind: 'cat', ...files });
    }
  }
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
}

// ---------- measurement ----------

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

function memory() {
  const m = process.memoryUsage();
  return { rss_mib: mib(m.rss), heap_used_mib: mib(m.heapUsed), array_buffers_mib: mib(m.arrayBuffers), peak_rss_mib: mib(process.resourceUsage().maxRSS * 1024) };
}

function venvPython(): { python: string; created: boolean } {
  const base = process.env.PLINTH_TEST_SERVICES_DIR ?? '/tmp/plinth-services';
  const venv = path.join(base, 'venv-drift-bench');
  const python = path.join(venv, 'bin', 'python');
  const ok = () => existsSync(python) && spawnSync(python, ['-c', 'import numpy, scipy'], { encoding: 'utf8' }).status === 0;
  if (ok()) return { python, created: false };
  mkdirSync(base, { recursive: true });
  process.stderr.write(`creating the NumPy/SciPy venv in ${venv} …\n`);
  const mk = spawnSync('python3', ['-m', 'venv', venv], { encoding: 'utf8' });
  if (mk.status !== 0) throw new Error(`python3 -m venv failed: ${mk.stderr}`);
  const pip = spawnSync(path.join(venv, 'bin', 'pip'), ['install', '-q', 'numpy>=2,<3', 'scipy>=1.13,<2'], { encoding: 'utf8', timeout: 900_000 });
  if (pip.status !== 0 || !ok()) throw new Error(`pip install numpy scipy failed: ${pip.stderr}`);
  return { python, created: true };
}

interface ScipyRun {
  seconds: number[];
  numpy: string;
  scipy: string;
  python: string;
  columns: Record<string, { test: string; score: number }>;
}

function drifted(r: CheckResult): string[] {
  return r.columns.filter((c) => c.drifted).map((c) => c.column).sort();
}

export async function main(args: string[]): Promise<number> {
  const opts = parseOptions(args);
  if (!opts) return 0;
  const startedAt = new Date();
  const m = machine();
  process.stdout.write(`# drift benchmark — ${startedAt.toISOString()}\n\n`);
  process.stdout.write(`${machineLine(m)}\n`);
  process.stdout.write(`inputs: ${opts.rows.toLocaleString('en-US')} rows × (${opts.numCols} numerical + ${opts.catCols} categorical) columns, reference and current, seed ${opts.seed}; drift injected in ${[...Array(opts.numCols).keys()].map((c) => `num_${String(c).padStart(2, '0')}`).concat([...Array(opts.catCols).keys()].map((c) => `cat_${String(c).padStart(2, '0')}`)).filter((c) => driftOf(c)).join(', ')}\n\n`);

  const gen = timed(() => ({ ref: generate(opts, opts.seed, false), cur: generate(opts, opts.seed + 1, true) }));
  const { ref, cur } = gen.value;
  const expected = [...ref.columns.keys()].filter((c) => driftOf(c)).sort();
  process.stderr.write(`generated in ${fmt(gen.s)} s\n`);

  // In-memory: the full default preset, summary bins included — as the service runs it (numeric
  // columns prepared on worker threads), and on the calling thread alone, interleaved.
  const runs: number[] = [];
  const serialRuns: number[] = [];
  let result: CheckResult | undefined;
  for (let i = 0; i < opts.rounds; i++) {
    const t = await timedAsync(() => runCheckParallel({ kind: 'data', data: ref }, cur));
    runs.push(t.s);
    result = t.value;
    const s = timed(() => runCheck({ kind: 'data', data: ref }, cur));
    serialRuns.push(s.s);
    if (JSON.stringify({ ...s.value, duration_ms: 0 }) !== JSON.stringify({ ...t.value, duration_ms: 0 })) throw new Error('the parallel and the single-thread check disagree');
  }
  const memAfterCheck = memory();
  const profile = timed(() => createReferenceProfile(ref));
  const profileBytes = Buffer.byteLength(JSON.stringify(profile.value));
  const profileRuns: number[] = [];
  let profileResult: CheckResult | undefined;
  for (let i = 0; i < opts.rounds; i++) {
    const t = timed(() => runCheck({ kind: 'profile', profile: profile.value, id: null }, cur));
    profileRuns.push(t.s);
    profileResult = t.value;
  }
  const memAfterProfile = memory();

  // Files: write once, then time reading both files plus the check.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-bench-drift-'));
  const fileRows: Array<{ format: string; bytes: number; read_s: number; check_s: number; total_s: number; write_s: number }> = [];
  try {
    for (const format of opts.formats) {
      const files = { ref: path.join(dir, `reference.${format}`), cur: path.join(dir, `current.${format}`) };
      const written = await timedAsync(async () => {
        if (format === 'csv') {
          await writeCsv(files.ref, ref);
          await writeCsv(files.cur, cur);
        } else {
          writeParquet(files.ref, ref);
          writeParquet(files.cur, cur);
        }
      });
      const read = await timedAsync(async () => [await readDataFile(files.ref), await readDataFile(files.cur)] as const);
      const check = await timedAsync(() => runCheckParallel({ kind: 'data', data: read.value[0] }, read.value[1]));
      if (drifted(check.value).join() !== drifted(result!).join()) throw new Error(`${format}: the check from files disagrees with the in-memory check`);
      fileRows.push({ format, bytes: statSync(files.ref).size + statSync(files.cur).size, write_s: written.s, read_s: read.s, check_s: check.s, total_s: read.s + check.s });
      rmSync(files.ref);
      rmSync(files.cur);
    }

    // Baseline: the same statistics with NumPy/SciPy, in the same run.
    let scipy: (ScipyRun & { median_s: number; max_abs_diff: number; venv_created: boolean }) | undefined;
    if (opts.scipy) {
      const { python, created } = venvPython();
      writeRaw(dir, ref, cur);
      const run = spawnSync(python, [path.join(BENCH_DIR, 'drift-scipy.py'), dir, String(opts.rounds)], { encoding: 'utf8', timeout: 1_800_000, maxBuffer: 1 << 24 });
      if (run.status !== 0) throw new Error(`drift-scipy.py failed: ${run.stderr}`);
      const parsed = JSON.parse(run.stdout) as ScipyRun;
      let maxDiff = 0;
      for (const c of result!.columns) {
        const theirs = parsed.columns[c.column];
        if (!theirs || theirs.test !== c.test) throw new Error(`${c.column}: SciPy ran ${theirs?.test}, Plinth ${c.test}`);
        maxDiff = Math.max(maxDiff, Math.abs(theirs.score - (c.distance ?? c.p_value ?? Number.NaN)));
      }
      scipy = { ...parsed, median_s: median(parsed.seconds), max_abs_diff: maxDiff, venv_created: created };
    }

    const inMemory = median(runs);
    const rows = [
      ['default preset, in-memory columns', fmt(inMemory), fmt(Math.min(...runs)), scipy ? fmt(scipy.median_s) : '—', scipy ? fmt(inMemory / scipy.median_s) : '—'],
      ['  the same on the calling thread only', fmt(median(serialRuns)), fmt(Math.min(...serialRuns)), scipy ? fmt(scipy.median_s) : '—', scipy ? fmt(median(serialRuns) / scipy.median_s) : '—'],
      ['default preset, reference profile', fmt(median(profileRuns)), fmt(Math.min(...profileRuns)), '—', '—'],
      ['building the reference profile', fmt(profile.s), fmt(profile.s), '—', '—'],
      ...fileRows.map((f) => [`read ${f.format} (both files) + check`, fmt(f.total_s), fmt(f.total_s), '—', '—']),
    ];
    process.stdout.write(`${table(['measurement', 'median s', 'best s', 'NumPy/SciPy s', 'ratio'], rows)}\n\n`);
    if (fileRows.length) {
      process.stdout.write(`${table(['format', 'files MiB', 'write s', 'read s', 'check s'], fileRows.map((f) => [f.format, mib(f.bytes), f.write_s, f.read_s, f.check_s]))}\n\n`);
    }
    process.stdout.write(
      `${table(
        ['memory', 'rss MiB', 'heap used MiB', 'array buffers MiB', 'peak rss MiB'],
        [
          ['after in-memory checks', memAfterCheck.rss_mib, memAfterCheck.heap_used_mib, memAfterCheck.array_buffers_mib, memAfterCheck.peak_rss_mib],
          ['after profile checks', memAfterProfile.rss_mib, memAfterProfile.heap_used_mib, memAfterProfile.array_buffers_mib, memAfterProfile.peak_rss_mib],
          ['end (files read)', memory().rss_mib, memory().heap_used_mib, memory().array_buffers_mib, memory().peak_rss_mib],
        ],
      )}\n\n`,
    );
    const found = drifted(result!);
    const ok = found.join() === expected.join();
    process.stdout.write(`drift found in ${found.join(', ') || 'no column'}; injected in ${expected.join(', ')} → ${ok ? 'match' : 'MISMATCH'}; dataset drift ${result!.dataset_drift}\n`);
    process.stdout.write(`profile: ${fmt(profileBytes / 1024)} KiB for ${opts.rows.toLocaleString('en-US')} rows; drift found from the profile in ${drifted(profileResult!).join(', ')}\n`);
    if (scipy) process.stdout.write(`NumPy ${scipy.numpy}, SciPy ${scipy.scipy}, Python ${scipy.python}: largest score difference ${scipy.max_abs_diff.toExponential(2)}\n`);
    process.stdout.write(`target: default preset ≤ ${TARGET_S} s from in-memory columns → ${inMemory <= TARGET_S ? 'met' : 'MISSED'} (${fmt(inMemory)} s)\n`);

    saveResults('drift', startedAt, {
      benchmark: 'drift',
      started_at: startedAt.toISOString(),
      machine: m,
      load_average_at_end: loadAverageNow(),
      options: opts,
      injected_drift: Object.fromEntries(expected.map((c) => [c, driftOf(c)])),
      generation_s: gen.s,
      in_memory: { runs_s: runs, median_s: inMemory, single_thread_runs_s: serialRuns, single_thread_median_s: median(serialRuns), drifted: found, matches_injected: ok, dataset_drift: result!.dataset_drift },
      profile: { build_s: profile.s, bytes: profileBytes, runs_s: profileRuns, median_s: median(profileRuns), drifted: drifted(profileResult!) },
      files: fileRows,
      memory: { after_in_memory: memAfterCheck, after_profile: memAfterProfile, end: memory() },
      scipy: scipy ?? null,
      target: { in_memory_s: TARGET_S, met: inMemory <= TARGET_S },
      columns: result!.columns.map((c) => ({ column: c.column, test: c.test, score: c.distance ?? c.p_value, drifted: c.drifted, scipy: scipy?.columns[c.column]?.score ?? null })),
    }, 'results');
    return ok ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
