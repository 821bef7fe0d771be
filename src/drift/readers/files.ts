// A data file by its extension: .csv, .tsv, .jsonl / .ndjson, .parquet.
import path from 'node:path';
import { stat } from 'node:fs/promises';
import { PlinthError } from '../../errors.js';
import type { Dataset } from '../dataset.js';
import { readCsvFile } from './csv.js';
import { readJsonLinesFile } from './jsonl.js';
import { readParquetFile } from './parquet.js';

export const FILE_FORMATS = ['csv', 'tsv', 'jsonl', 'parquet'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export function formatOf(file: string): FileFormat {
  const ext = path.extname(file).toLowerCase();
  switch (ext) {
    case '.csv':
      return 'csv';
    case '.tsv':
      return 'tsv';
    case '.jsonl':
    case '.ndjson':
      return 'jsonl';
    case '.parquet':
    case '.pq':
      return 'parquet';
    default:
      throw new PlinthError('DRIFT_UNSUPPORTED_FORMAT', `Cannot tell the format of "${path.basename(file)}": use .csv, .tsv, .jsonl, .ndjson or .parquet.`);
  }
}

export async function readDataFile(file: string, format: FileFormat = formatOf(file)): Promise<Dataset> {
  const st = await stat(file).catch(() => undefined);
  if (!st?.isFile()) throw new PlinthError('NOT_FOUND', `No such file: ${file}`);
  switch (format) {
    case 'csv':
      return readCsvFile(file);
    case 'tsv':
      return readCsvFile(file, { delimiter: '\t' });
    case 'jsonl':
      return readJsonLinesFile(file);
    case 'parquet':
      return readParquetFile(file);
  }
}
