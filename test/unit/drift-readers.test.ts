// Drift readers: CSV, JSON Lines, Parquet and inline data all become the same columnar dataset.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parquetWriteFile } from 'hyparquet-writer';
import { datasetFromRows, readCsv, readDataFile, readInline, readJsonLines, type Dataset } from '../../src/drift/index.js';
import { PlinthError } from '../../src/errors.js';

const FIXTURES = path.resolve('test/fixtures/drift-data');

function numbers(d: Dataset, name: string): number[] {
  const c = d.columns.get(name);
  assert.equal(c?.kind, 'number', `${name} is numeric`);
  return Array.from(c.values);
}

function strings(d: Dataset, name: string): Array<string | null> {
  const c = d.columns.get(name);
  assert.equal(c?.kind, 'string', `${name} is text`);
  return c.values;
}

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (err: unknown) => err instanceof PlinthError && err.code === code);
}

describe('drift readers', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-drift-readers-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads CSV into typed columns: quotes, BOM, missing cells, a column turning to text', async () => {
    const csv = '\uFEFFid,score,city,note\n1,0.5,"Paris, FR",\n2,,Lyon,"say ""hi"""\n3,NaN,,x\n4,1e3,Lille,NULL\n5,-2,Nantes,7\n';
    const d = await readCsv(csv);
    assert.equal(d.rows, 5);
    assert.deepEqual([...d.columns.keys()], ['id', 'score', 'city', 'note']);
    assert.deepEqual(numbers(d, 'id'), [1, 2, 3, 4, 5]);
    const score = numbers(d, 'score');
    assert.deepEqual([score[0], score[3], score[4]], [0.5, 1000, -2]);
    assert.ok(Number.isNaN(score[1]) && Number.isNaN(score[2]), 'empty and NaN cells are missing');
    assert.deepEqual(strings(d, 'city'), ['Paris, FR', 'Lyon', null, 'Lille', 'Nantes']);
    assert.deepEqual(strings(d, 'note'), [null, 'say "hi"', 'x', null, '7']);
  });

  it('keeps zip-code-like and hex-like cells as text', async () => {
    const d = await readCsv('code,hex\n00123,0x1f\n00456,0x20\n');
    // Plain decimal text is numeric (Evidently would read it as a number too); 0x… is not.
    assert.deepEqual(numbers(d, 'code'), [123, 456]);
    assert.deepEqual(strings(d, 'hex'), ['0x1f', '0x20']);
  });

  it('refuses a CSV with duplicate or empty header names, or ragged rows', async () => {
    await rejects(readCsv('a,a\n1,2\n'), 'PLINTH_DRIFT_INVALID_DATA');
    await rejects(readCsv('a,\n1,2\n'), 'PLINTH_DRIFT_INVALID_DATA');
    await rejects(readCsv('a,b\n1,2,3\n'), 'PLINTH_DRIFT_INVALID_DATA');
    await rejects(readCsv(''), 'PLINTH_DRIFT_INVALID_DATA');
  });

  it('reads JSON Lines with keys appearing late, booleans and nulls', async () => {
    const d = await readJsonLines('{"a":1,"b":"x"}\n\n{"a":2.5,"b":null,"flag":true}\n{"a":null,"flag":false}\n');
    assert.equal(d.rows, 3);
    const a = numbers(d, 'a');
    assert.deepEqual(a.slice(0, 2), [1, 2.5]);
    assert.ok(Number.isNaN(a[2]));
    assert.deepEqual(strings(d, 'b'), ['x', null, null]);
    assert.deepEqual(strings(d, 'flag'), [null, 'true', 'false']);
    await rejects(readJsonLines('{"a":1}\nnot json\n'), 'PLINTH_DRIFT_INVALID_DATA');
    await rejects(readJsonLines('[1,2]\n'), 'PLINTH_DRIFT_INVALID_DATA');
  });

  it('reads Parquet column chunks straight into columns, nulls included', async () => {
    const file = path.join(dir, 'data.parquet');
    const n = 30_000;
    const x = Float64Array.from({ length: n }, (_, i) => i / 10);
    const k = Array.from({ length: n }, (_, i) => (i % 1000 === 0 ? null : i % 7));
    const c = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 'a' : i % 3 === 1 ? 'b' : null));
    parquetWriteFile({
      filename: file,
      columnData: [
        { name: 'x', data: x, type: 'DOUBLE' },
        { name: 'k', data: k, type: 'INT32' },
        { name: 'c', data: c, type: 'STRING' },
      ],
      rowGroupSize: 10_000,
    });
    const d = await readDataFile(file);
    assert.equal(d.rows, n);
    assert.deepEqual(numbers(d, 'x'), Array.from(x));
    const kk = numbers(d, 'k');
    assert.ok(Number.isNaN(kk[0]!));
    assert.equal(kk[1], 1);
    assert.equal(kk[n - 1], (n - 1) % 7);
    assert.deepEqual(strings(d, 'c').slice(0, 4), ['a', 'b', null, 'a']);
    await rejects(readDataFile(path.join(FIXTURES, 'reference.csv').replace('.csv', '.parquet')), 'PLINTH_NOT_FOUND');
  });

  it('picks the reader by extension and refuses unknown ones', async () => {
    const jsonl = path.join(dir, 'd.jsonl');
    writeFileSync(jsonl, '{"v":1}\n{"v":2}\n');
    assert.deepEqual(numbers(await readDataFile(jsonl), 'v'), [1, 2]);
    const tsv = path.join(dir, 'd.tsv');
    writeFileSync(tsv, 'a\tb\n1\tx\n');
    assert.deepEqual(strings(await readDataFile(tsv), 'b'), ['x']);
    const csv = await readDataFile(path.join(FIXTURES, 'reference.csv'));
    assert.equal(csv.rows, 400);
    assert.equal(csv.columns.get('income')?.kind, 'number');
    const xlsx = path.join(dir, 'd.xlsx');
    writeFileSync(xlsx, 'x');
    await rejects(readDataFile(xlsx), 'PLINTH_DRIFT_UNSUPPORTED_FORMAT');
  });

  it('reads inline columns and rows alike', () => {
    const cols = readInline({ columns: { a: [1, null, 3], b: ['x', 'y', null] } });
    const rows = readInline({ rows: [{ a: 1, b: 'x' }, { b: 'y' }, { a: 3, b: null }] });
    for (const d of [cols, rows]) {
      assert.equal(d.rows, 3);
      const a = numbers(d, 'a');
      assert.equal(a[0], 1);
      assert.ok(Number.isNaN(a[1]!));
      assert.deepEqual(strings(d, 'b'), ['x', 'y', null]);
    }
    assert.throws(() => datasetFromRows([]), PlinthError);
  });

  it('reads a large CSV into Float64Arrays without per-row objects', async () => {
    const n = 100_000;
    let text = 'a,b\n';
    for (let i = 0; i < n; i++) text += `${i},${(i % 13) / 7}\n`;
    const file = path.join(dir, 'big.csv');
    writeFileSync(file, text);
    const d = await readDataFile(file);
    assert.equal(d.rows, n);
    const a = d.columns.get('a')!;
    assert.ok(a.values instanceof Float64Array);
    assert.equal(a.values.length, n);
    assert.equal(a.values[n - 1], n - 1);
  });
});
