// What the benchmarks share around their measurements: flags read from the command line or from
// BENCH_* environment variables with full and --quick defaults, a progress log on stderr, the
// machine description with its load average, timing, a platform on a fresh database for the
// length of one measurement, and the JSON results file announced on stdout.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Platform } from '../../src/platform.js';
import { benchPlatform, freshDatabase, type DbKind, type FreshDatabase, type RealPostgres } from './databases.js';
import { writeResults, type Cell, type Machine } from './report.js';

/** One flag: boolean, or a string with its default at full size and under --quick. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  doc: string;
  full?: string;
  quick?: string;
}

/** The environment variable that stands in for a flag: --max-seconds is BENCH_MAX_SECONDS. */
export const envName = (flag: string): string => `BENCH_${flag.toUpperCase().replace(/-/g, '_')}`;

/** Flag values, each from the command line, else its environment variable, else its default. */
export interface Flags<F extends string> {
  /** --quick or BENCH_QUICK=1|true: the smaller defaults apply. */
  quick: boolean;
  bool: (flag: F) => boolean;
  str: (flag: F) => string;
  /** A finite number in [min, max]; throws naming the flag otherwise. */
  num: (flag: F, min: number, max?: number) => number;
  /** An integer in [min, max]; throws naming the flag otherwise. */
  int: (flag: F, min: number, max: number) => number;
}

/**
 * Parses `args` against `flags` (unknown flags are errors). With --help, prints each flag with
 * its defaults and environment variable (names padded to `width`) and returns undefined.
 */
export function parseFlags<T extends Readonly<Record<string, FlagSpec>>>(bench: string, args: string[], flags: T, width: number): Flags<keyof T & string> | undefined {
  type F = keyof T & string;
  const values = parseArgs({
    args,
    options: Object.fromEntries(Object.entries(flags).map(([k, v]) => [k, { type: v.type }])),
    strict: true,
  }).values as Record<string, string | boolean | undefined>;
  if (values.help) {
    process.stdout.write(`npm run bench -- ${bench} [flags]\n\n`);
    for (const [k, v] of Object.entries(flags)) {
      const dflt = v.full !== undefined ? ` (default ${v.full}; --quick ${v.quick})` : '';
      process.stdout.write(`  --${k.padEnd(width)} ${v.doc}${dflt}   env ${envName(k)}\n`);
    }
    return undefined;
  }
  const bool = (f: F) => values[f] === true || process.env[envName(f)] === '1' || process.env[envName(f)] === 'true';
  const quick = 'quick' in flags && bool('quick');
  const str = (f: F): string => {
    const spec = flags[f]!;
    return String(values[f] ?? process.env[envName(f)] ?? (spec.full !== undefined ? (quick ? spec.quick : spec.full) : ''));
  };
  return {
    quick,
    bool,
    str,
    num: (f, min, max = Number.MAX_SAFE_INTEGER) => {
      const n = Number(str(f));
      if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${f}: expected a number in [${min}, ${max}], got "${str(f)}"`);
      return n;
    },
    int: (f, min, max) => {
      const n = Number(str(f));
      if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${f}: expected an integer in [${min}, ${max}], got "${str(f)}"`);
      return n;
    },
  };
}

/** The command line that reproduces a run, as shown in the report. */
export function benchCommand(bench: string, args: readonly string[]): string {
  return `npm run bench -- ${bench}${args.length ? ` ${args.join(' ')}` : ''}`;
}

/** A progress log on stderr, each line stamped with the seconds since it was created. */
export function progressLog(bench: string): (line: string) => void {
  const t0 = performance.now();
  return (line) => process.stderr.write(`[bench ${bench} +${((performance.now() - t0) / 1000).toFixed(0)}s] ${line}\n`);
}

/** The 1, 5 and 15 minute load averages now, to two decimals. */
export function loadAverageNow(): number[] {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}

/** The machine on one line, with the load average when the run started. */
export function machineLine(m: Machine): string {
  return `machine: ${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB, ${m.platform}, node ${m.node}, load average ${m.load_average_at_start.join(' / ')}`;
}

/** Rows of the "Machine" table; `extra` rows come before the load average at start and now. */
export function machineRows(m: Machine, extra: ReadonlyArray<[string, Cell]> = []): Array<[string, Cell]> {
  return [
    ['CPU', m.cpu],
    ['cores', String(m.cores)],
    ['memory', `${m.memory_gib} GiB`],
    ['Node.js', m.node],
    ['OS', m.platform],
    ...extra,
    ['load average at start / end', `${m.load_average_at_start.join(' ')} / ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`],
  ];
}

/** Writes bench/results/<name>-<timestamp>.json and prints `<label>: <path>` after a blank line. */
export function saveResults(name: string, startedAt: Date, data: unknown, label = 'JSON'): string {
  const file = writeResults(name, startedAt, data);
  process.stdout.write(`\n${label}: ${path.relative(process.cwd(), file)}\n`);
  return file;
}

/** The value of `fn` and the seconds it took. */
export function timed<T>(fn: () => T): { value: T; s: number } {
  const started = performance.now();
  const value = fn();
  return { value, s: (performance.now() - started) / 1000 };
}

/** The value of `fn` and the seconds it took to settle. */
export async function timedAsync<T>(fn: () => Promise<T>): Promise<{ value: T; s: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, s: (performance.now() - started) / 1000 };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/**
 * Runs `fn` with a platform configured by `env` on a fresh database of `kind` (with `defaults`
 * as its settings), then closes the platform and drops the database, whatever `fn` did.
 */
export async function onFreshPlatform<T>(
  kind: DbKind,
  real: RealPostgres | undefined,
  env: Record<string, string>,
  fn: (platform: Platform, db: FreshDatabase) => Promise<T>,
  defaults: Readonly<Record<string, number>> = {},
): Promise<T> {
  const db = await freshDatabase(kind, real, defaults);
  let platform: Platform | undefined;
  try {
    platform = await benchPlatform(db, env);
    return await fn(platform, db);
  } finally {
    await platform?.close();
    await db.cleanup();
  }
}
