// CSV (and TSV) into columns, streamed: the file is never held as rows. The first record is the
// header; cells are typed per column (numeric until a non-numeric cell appears).
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { PlinthError } from '../../errors.js';
import { ColumnBuilder, type Dataset } from '../dataset.js';

export interface CsvOptions {
  delimiter?: string;
}

export async function readCsv(input: Readable | string | Buffer, options: CsvOptions = {}): Promise<Dataset> {
  const source = typeof input === 'string' || Buffer.isBuffer(input) ? Readable.from([input]) : input;
  const parser = source.pipe(parse({ bom: true, delimiter: options.delimiter ?? ',', skip_empty_lines: true, relax_quotes: false }));
  let header: string[] | undefined;
  let builders: ColumnBuilder[] = [];
  let rows = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (!header) {
        header = record.map((h) => h.trim());
        const seen = new Set<string>();
        for (const h of header) {
          if (!h) throw new PlinthError('DRIFT_INVALID_DATA', 'The CSV header has an empty column name.');
          if (seen.has(h)) throw new PlinthError('DRIFT_INVALID_DATA', `The CSV header names column "${h}" twice.`);
          seen.add(h);
        }
        builders = header.map(() => new ColumnBuilder(65_536));
        continue;
      }
      for (let i = 0; i < builders.length; i++) builders[i]!.pushText(record[i] ?? '');
      rows++;
    }
  } catch (err) {
    if (err instanceof PlinthError) throw err;
    const e = err as { message?: string; code?: string };
    throw new PlinthError('DRIFT_INVALID_DATA', `The CSV cannot be read: ${e.message ?? String(err)}`, {}, { cause: err });
  }
  if (!header) throw new PlinthError('DRIFT_INVALID_DATA', 'The CSV is empty.');
  return { rows, columns: new Map(header.map((h, i) => [h, builders[i]!.build()])) };
}

export function readCsvFile(file: string, options: CsvOptions = {}): Promise<Dataset> {
  return readCsv(createReadStream(file, { highWaterMark: 1 << 20 }), options);
}
