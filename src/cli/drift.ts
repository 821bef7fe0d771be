// CLI door for drift detection. `plinth drift check` and `plinth drift profile` work offline on
// files (CSV, TSV, JSON Lines, Parquet): no server and no database. Exit codes of `check`:
// 0 no dataset drift, 4 dataset drift, 1 an error (2 bad configuration, as every command).
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { PlinthError } from '../errors.js';
import {
  CORRECTIONS,
  COLUMN_TYPES,
  createReferenceProfile,
  readDataFile,
  renderReport,
  runCheckParallel,
  testName,
  type CheckOptionsInput,
  type CheckResult,
  type ColumnType,
  type Reference,
  type ReferenceProfile,
} from '../drift/index.js';

type Print = (json: boolean, value: unknown, human: () => string) => void;

/** Exit code of `plinth drift check` when the dataset drifted. */
export const DRIFT_EXIT_CODE = 4;

function parseColumns(raw: string | undefined): Record<string, ColumnType> | undefined {
  if (!raw) return undefined;
  const out: Record<string, ColumnType> = {};
  for (const part of raw.split(',')) {
    const [name, type] = part.split('=').map((s) => s.trim());
    if (!name || !type || !(COLUMN_TYPES as readonly string[]).includes(type)) {
      throw new PlinthError('VALIDATION_FAILED', `--columns takes name=type pairs with type ${COLUMN_TYPES.join('|')}, e.g. age=num,city=cat,review=text; got "${part}".`);
    }
    out[name] = type as ColumnType;
  }
  return out;
}

function parseList(raw: string | undefined): string[] | undefined {
  return raw ? raw.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
}

function parseNumber(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new PlinthError('VALIDATION_FAILED', `${flag} takes a number, not "${raw}".`);
  return n;
}

function parseTests(raw: string | undefined): Record<string, string> | undefined {
  if (!raw) return undefined;
  const out: Record<string, string> = {};
  for (const part of raw.split(',')) {
    const [name, test] = part.split('=').map((s) => s.trim());
    if (!name || !test) throw new PlinthError('VALIDATION_FAILED', `--tests takes column=test pairs, e.g. age=psi,city=chisquare; got "${part}".`);
    out[name] = test;
  }
  return out;
}

function fmt(x: number | null): string {
  if (x === null) return '-';
  if (x !== 0 && (Math.abs(x) < 1e-4 || Math.abs(x) >= 1e6)) return x.toExponential(2);
  return Number(x.toPrecision(4)).toString();
}

export function humanSummary(r: CheckResult): string {
  const rows = r.columns.map((c) => [
    c.column,
    c.type,
    c.test ?? '-',
    c.kind === 'p_value' ? `p=${fmt(c.p_value_adjusted ?? c.p_value)}` : c.kind === 'distance' ? fmt(c.distance) : '-',
    fmt(c.threshold),
    c.status === 'skipped' ? 'skipped' : c.drifted ? 'DRIFT' : 'ok',
    `${c.reference.missing}/${c.current.missing}`,
  ]);
  const header = ['COLUMN', 'TYPE', 'TEST', 'SCORE', 'THRESHOLD', 'VERDICT', 'MISSING'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [
    line(header),
    ...rows.map(line),
    '',
    `${r.dataset_drift ? 'DATASET DRIFT' : 'no dataset drift'}: ${r.drifted_columns} of ${r.checked_columns} columns drifted (share ${fmt(r.share_drifted)}, threshold ${fmt(r.drift_share)}); reference ${r.reference_rows} rows, current ${r.current_rows} rows`,
  ].join('\n');
}

async function loadProfileFile(file: string): Promise<ReferenceProfile> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new PlinthError('DRIFT_INVALID_DATA', `${file} is not a profile written by \`plinth drift profile\`: ${(err as Error).message}`);
  }
  const p = parsed as Partial<ReferenceProfile>;
  if (typeof p !== 'object' || p === null || typeof p.columns !== 'object' || typeof p.rows !== 'number') {
    throw new PlinthError('DRIFT_INVALID_DATA', `${file} is not a profile written by \`plinth drift profile\`.`);
  }
  return p as ReferenceProfile;
}

interface CheckFlags {
  reference?: string;
  profile?: string;
  current: string;
  html?: string;
  json?: boolean;
  columns?: string;
  exclude?: string;
  test?: string;
  tests?: string;
  threshold?: string;
  correction?: string;
  driftShare?: string;
  calibrate?: string;
}

export function registerDriftCommands(program: Command, print: Print): void {
  const drift = program.command('drift').description('data drift: check current data against reference data or a profile (offline, on files)');

  drift
    .command('check')
    .description(`compare two data files column by column; exit code 0 = no dataset drift, ${DRIFT_EXIT_CODE} = dataset drift`)
    .option('--reference <file>', 'reference data: .csv, .tsv, .jsonl, .ndjson or .parquet')
    .option('--profile <file>', 'a reference profile written by `plinth drift profile` (instead of --reference)')
    .requiredOption('--current <file>', 'current data, same formats')
    .option('--html <file>', 'also write the HTML report here')
    .option('--json', 'print the result as JSON')
    .option('--columns <list>', 'declared column types: name=num|cat|text,...')
    .option('--exclude <list>', 'columns not to check: a,b,...')
    .option('--test <name>', 'one test for every column instead of the preset')
    .option('--tests <list>', 'per-column tests: column=test,...')
    .option('--threshold <x>', 'one threshold for every column')
    .option('--correction <method>', `multiple-testing correction: ${CORRECTIONS.join(' | ')}`)
    .option('--drift-share <x>', 'share of drifted columns that means dataset drift (default 0.5)')
    .option('--calibrate <chunks>', 'calibrate thresholds on this many reference chunks (mean ± 3σ)')
    .action(async (opts: CheckFlags) => {
      if (!opts.reference === !opts.profile) throw new PlinthError('VALIDATION_FAILED', 'Give exactly one of --reference and --profile.');
      const calibrateChunks = parseNumber('--calibrate', opts.calibrate);
      const options: CheckOptionsInput = {
        ...(opts.columns ? { columns: parseColumns(opts.columns) } : {}),
        ...(opts.exclude ? { exclude: parseList(opts.exclude) } : {}),
        ...(opts.test ? { test: opts.test } : {}),
        ...(opts.tests ? { tests: parseTests(opts.tests) } : {}),
        ...(opts.threshold !== undefined ? { threshold: parseNumber('--threshold', opts.threshold) } : {}),
        ...(opts.correction ? { correction: opts.correction as CheckOptionsInput['correction'] } : {}),
        ...(opts.driftShare !== undefined ? { drift_share: parseNumber('--drift-share', opts.driftShare) } : {}),
        ...(calibrateChunks !== undefined ? { calibrate: { chunks: calibrateChunks } } : {}),
      };
      if (opts.test && !testName.safeParse(opts.test).success) throw new PlinthError('VALIDATION_FAILED', testName.safeParse(opts.test).error!.issues[0]!.message);
      const reference: Reference = opts.profile
        ? { kind: 'profile', profile: await loadProfileFile(opts.profile), id: null }
        : { kind: 'data', data: await readDataFile(opts.reference!) };
      const current = await readDataFile(opts.current);
      let result: CheckResult;
      try {
        result = await runCheckParallel(reference, current, options);
      } catch (err) {
        // Bad option values surface as zod errors from the shared schema: report them as such.
        if ((err as { name?: string }).name === 'ZodError') {
          const issue = (err as { issues: Array<{ path: PropertyKey[]; message: string }> }).issues[0];
          throw new PlinthError('VALIDATION_FAILED', `${issue?.path.join('.') ?? 'option'}: ${issue?.message ?? 'invalid'}`);
        }
        throw err;
      }
      if (opts.html) await writeFile(opts.html, renderReport(result, { title: `Drift: ${opts.current}` }));
      print(Boolean(opts.json), result, () => humanSummary(result) + (opts.html ? `\nreport written to ${opts.html}` : ''));
      if (result.dataset_drift) process.exitCode = DRIFT_EXIT_CODE;
    });

  drift
    .command('profile')
    .description('summarise reference data into a profile file (no raw rows) for later checks with --profile')
    .requiredOption('--reference <file>', 'reference data: .csv, .tsv, .jsonl, .ndjson or .parquet')
    .requiredOption('--out <file>', 'where to write the profile (JSON)')
    .option('--columns <list>', 'declared column types: name=num|cat|text,...')
    .option('--exclude <list>', 'columns to leave out: a,b,...')
    .option('--calibrate <chunks>', 'store thresholds calibrated on this many reference chunks (mean ± 3σ)')
    .option('--json', 'print JSON')
    .action(async (opts: { reference: string; out: string; columns?: string; exclude?: string; calibrate?: string; json?: boolean }) => {
      const data = await readDataFile(opts.reference);
      const chunks = parseNumber('--calibrate', opts.calibrate);
      if (chunks !== undefined && (!Number.isInteger(chunks) || chunks < 3 || chunks > 50)) throw new PlinthError('VALIDATION_FAILED', '--calibrate takes a whole number of chunks from 3 to 50.');
      const profile = createReferenceProfile(data, {
        columns: parseColumns(opts.columns),
        exclude: parseList(opts.exclude),
        calibrate: chunks !== undefined ? { chunks, sigmas: 3 } : undefined,
      });
      const text = JSON.stringify(profile);
      await writeFile(opts.out, text);
      const summary = { file: opts.out, rows: profile.rows, columns: Object.keys(profile.columns).length, bytes: Buffer.byteLength(text) };
      print(Boolean(opts.json), summary, () => `profile of ${summary.rows} rows, ${summary.columns} columns written to ${opts.out} (${summary.bytes} bytes)`);
    });
}
