// JSON Lines into columns, streamed: one object per line; a key absent from a line is a missing value.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { PlinthError } from '../../errors.js';
import { ColumnBuilder, type Dataset } from '../dataset.js';

export async function readJsonLines(input: Readable | string | Buffer): Promise<Dataset> {
  const source = typeof input === 'string' || Buffer.isBuffer(input) ? Readable.from([input]) : input;
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  const builders = new Map<string, ColumnBuilder>();
  let rows = 0;
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (!line.trim()) continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      throw new PlinthError('DRIFT_INVALID_DATA', `Line ${lineNo} is not valid JSON.`, { line: lineNo });
    }
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new PlinthError('DRIFT_INVALID_DATA', `Line ${lineNo} is not a JSON object.`, { line: lineNo });
    }
    const obj = row as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (!builders.has(key)) {
        const b = new ColumnBuilder(1024);
        for (let k = 0; k < rows; k++) b.pushValue(null);
        builders.set(key, b);
      }
    }
    for (const [key, b] of builders) b.pushValue(obj[key]);
    rows++;
  }
  if (rows === 0) throw new PlinthError('DRIFT_INVALID_DATA', 'The JSON Lines input has no rows.');
  return { rows, columns: new Map([...builders].map(([k, b]) => [k, b.build()])) };
}

export function readJsonLinesFile(file: string): Promise<Dataset> {
  return readJsonLines(createReadStream(file, { highWaterMark: 1 << 20 }));
}
