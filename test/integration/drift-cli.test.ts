// `plinth drift`, run as a separate process on fixture files: offline (no server, no database),
// exit code 0 without dataset drift and 4 with it, JSON and HTML output, profiles.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

const MAIN = path.resolve('src/cli/main.ts');
const FIX = path.resolve('test/fixtures/drift-data');

interface Result {
  dataset_drift: boolean;
  drifted_columns: number;
  columns: Array<{ column: string; type: string; test: string; drifted: boolean; reference: { missing: number }; approximate: boolean }>;
}

describe('plinth drift (offline CLI)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-drift-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function plinth(args: string[]) {
    // No database settings at all: the command must not need one.
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('PLINTH_') && k !== 'DATABASE_URL') env[k] = v;
    const res = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      env: { ...env, PLINTH_DATA_DIR: path.join(dir, 'no-data-here'), LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { code: res.status, stdout: res.stdout, stderr: res.stderr };
  }

  it('exits 0 when the dataset did not drift and prints a table', () => {
    const r = plinth(['drift', 'check', '--reference', `${FIX}/reference.csv`, '--current', `${FIX}/current-same.csv`, '--columns', 'review=text']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^COLUMN\s+TYPE\s+TEST/m);
    assert.match(r.stdout, /no dataset drift/);
  });

  it('exits 4 on dataset drift, prints JSON and writes the HTML report', () => {
    const html = path.join(dir, 'report.html');
    const r = plinth(['drift', 'check', '--reference', `${FIX}/reference.csv`, '--current', `${FIX}/current-drifted.csv`, '--columns', 'review=text', '--json', '--html', html]);
    assert.equal(r.code, 4, r.stderr);
    const out = JSON.parse(r.stdout) as Result;
    assert.equal(out.dataset_drift, true);
    const byName = Object.fromEntries(out.columns.map((c) => [c.column, c]));
    assert.equal(byName.review!.type, 'text');
    assert.equal(byName.city!.test, 'chisquare');
    assert.equal(byName.churned!.test, 'z');
    assert.ok(byName.income!.reference.missing > 0, 'empty income cells are counted as missing');
    const page = readFileSync(html, 'utf8');
    assert.match(page, /Dataset drift detected/);
    assert.equal(/<script/i.test(page), false);
  });

  it('writes a profile and checks against it', () => {
    const profile = path.join(dir, 'ref.profile.json');
    const p = plinth(['drift', 'profile', '--reference', `${FIX}/reference.csv`, '--out', profile, '--columns', 'review=text', '--json']);
    assert.equal(p.code, 0, p.stderr);
    assert.equal((JSON.parse(p.stdout) as { rows: number }).rows, 400);
    const stored = readFileSync(profile, 'utf8');
    assert.equal(stored.includes('Paris,'), false);
    const r = plinth(['drift', 'check', '--profile', profile, '--current', `${FIX}/current-drifted.csv`, '--json']);
    assert.equal(r.code, 4, r.stderr);
    assert.equal((JSON.parse(r.stdout) as Result).columns.find((c) => c.column === 'review')?.type, 'text');
  });

  it('applies options: one test for every column and a drift share', () => {
    const r = plinth(['drift', 'check', '--reference', `${FIX}/reference.csv`, '--current', `${FIX}/current-drifted.csv`, '--exclude', 'city,review', '--test', 'psi', '--drift-share', '1', '--json']);
    assert.ok(r.code === 0 || r.code === 4, r.stderr);
    const out = JSON.parse(r.stdout) as Result;
    assert.deepEqual(out.columns.map((c) => c.test), ['psi', 'psi', 'psi']);
    assert.equal(out.dataset_drift, out.columns.every((c) => c.drifted));
  });

  it('fails with a code and exit 1 on a missing file, an unknown format or a bad option', () => {
    const missing = plinth(['drift', 'check', '--reference', `${FIX}/nope.csv`, '--current', `${FIX}/current-same.csv`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /PLINTH_NOT_FOUND/);
    const odd = path.join(dir, 'data.xls');
    writeFileSync(odd, 'x');
    const format = plinth(['drift', 'check', '--reference', odd, '--current', `${FIX}/current-same.csv`]);
    assert.match(format.stderr, /PLINTH_DRIFT_UNSUPPORTED_FORMAT/);
    const test = plinth(['drift', 'check', '--reference', `${FIX}/reference.csv`, '--current', `${FIX}/current-same.csv`, '--test', 'magic']);
    assert.equal(test.code, 1);
    assert.match(test.stderr, /unknown test "magic"/);
    const both = plinth(['drift', 'check', '--current', `${FIX}/current-same.csv`]);
    assert.match(both.stderr, /exactly one of --reference and --profile/);
  });
});
