// The HTML drift report: structure, escaping, size, and rendering in a real headless Chromium
// (Debian's `chromium`; installed by .ci/run). A missing browser fails the test.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRng } from '../../bench/lib/rng.js';
import { renderReport, runCheck, type Dataset, type RawColumn } from '../../src/drift/index.js';

const EVIL = '<script>alert("x")</script>&\'';

function sample(seed: number, n: number, shift: number): Dataset {
  const rng = createRng(seed);
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.gauss() + shift;
  const c = new Array<string | null>(n);
  for (let i = 0; i < n; i++) c[i] = rng.next() < 0.01 ? null : rng.next() < 0.3 + shift / 3 ? EVIL : `city ${rng.int(30)}`;
  const columns = new Map<string, RawColumn>([
    ['x', { kind: 'number', values: x }],
    [EVIL, { kind: 'string', values: c }],
  ]);
  return { rows: n, columns };
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

describe('drift HTML report', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-drift-report-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const result = runCheck({ kind: 'data', data: sample(1, 5000, 0) }, sample(2, 5000, 0.6));
  const html = renderReport(result, { title: `Report ${EVIL}`, id: '00000000-0000-4000-8000-000000000001' });

  it('is self-contained: no script, no external asset, one chart per column, a summary row per column', () => {
    assert.ok(html.startsWith('<!doctype html>'));
    assert.equal(/<script/i.test(html), false);
    assert.equal(/\b(src|href)=["']?(https?:)?\/\//i.test(html), false, 'no external URL');
    assert.equal(/<link\b/i.test(html), false);
    assert.equal(count(html, '<svg '), 2);
    assert.equal(count(html, '<tr><td>'), 2);
    assert.match(html, /Dataset drift detected/);
    assert.match(html, /normed/);
  });

  it('escapes column names, categories and titles', () => {
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;'));
    assert.equal(html.includes(EVIL), false);
    assert.match(html, /<title>Report &lt;script&gt;/);
  });

  it('stays small for a million rows: built from bins, never rows', () => {
    const big = runCheck({ kind: 'data', data: sample(3, 1_000_000, 0) }, sample(4, 1_000_000, 0.1));
    const out = renderReport(big);
    assert.ok(out.length < 60_000, `${out.length} bytes`);
    assert.equal(big.columns[0]!.bins?.kind, 'hist');
  });

  it('renders in headless Chromium: the DOM has the summary table and the charts', () => {
    const file = path.join(dir, 'report.html');
    writeFileSync(file, html);
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', `--user-data-dir=${path.join(dir, 'profile')}`];
    const dom = spawnSync('chromium', [...args, '--dump-dom', `file://${file}`], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(dom.error, undefined, `chromium must be installed (apt-get install chromium): ${String(dom.error)}`);
    assert.equal(dom.status, 0, dom.stderr);
    assert.match(dom.stdout, /<table id="summary">/);
    assert.equal(count(dom.stdout, '<svg '), 2, 'both charts are in the parsed DOM');
    assert.match(dom.stdout, /<rect [^>]*fill="#3b6fb6"/);
    assert.equal(/<script/i.test(dom.stdout), false, 'the escaped name did not turn into an element');

    const png = path.join(dir, 'report.png');
    const shot = spawnSync('chromium', [...args, '--hide-scrollbars', '--window-size=1000,1200', `--screenshot=${png}`, `file://${file}`], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(shot.status, 0, shot.stderr);
    assert.ok(statSync(png).size > 10_000, 'a non-trivial screenshot');
    assert.deepEqual([...readFileSync(png).subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG file');
  });
});
