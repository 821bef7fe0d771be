// Parquet into columns with hyparquet: column chunks are decoded straight into the column
// builders (numeric pages are copied in one go), never assembled into row objects.
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, type AsyncBuffer } from 'hyparquet';
import { PlinthError } from '../../errors.js';
import { ColumnBuilder, type Dataset } from '../dataset.js';

interface Chunk {
  rowStart: number;
  data: ArrayLike<unknown>;
}

function isNumberArray(a: ArrayLike<unknown>): a is ArrayLike<number> {
  return a instanceof Float64Array || a instanceof Float32Array || a instanceof Int32Array || a instanceof Uint32Array || a instanceof Int16Array || a instanceof Uint8Array || a instanceof Int8Array || a instanceof Uint16Array;
}

export async function readParquet(file: AsyncBuffer): Promise<Dataset> {
  let metadata;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (err) {
    throw new PlinthError('DRIFT_INVALID_DATA', `The Parquet file cannot be read: ${(err as Error).message}`, {}, { cause: err });
  }
  const rows = Number(metadata.num_rows);
  const chunks = new Map<string, Chunk[]>();
  try {
    await parquetRead({
      file,
      metadata,
      onChunk: (c) => {
        const list = chunks.get(c.columnName) ?? [];
        list.push({ rowStart: c.rowStart, data: c.columnData as ArrayLike<unknown> });
        chunks.set(c.columnName, list);
      },
    });
  } catch (err) {
    throw new PlinthError('DRIFT_INVALID_DATA', `The Parquet file cannot be read: ${(err as Error).message}`, {}, { cause: err });
  }
  const columns = new Map<string, ReturnType<ColumnBuilder['build']>>();
  for (const [name, list] of chunks) {
    list.sort((a, b) => a.rowStart - b.rowStart);
    const b = new ColumnBuilder(rows);
    let next = 0;
    for (const { rowStart, data } of list) {
      // Chunks may overlap what was read already; keep each row once, in order.
      const skip = Math.max(0, next - rowStart);
      if (skip >= data.length) continue;
      const part = skip > 0 ? Array.prototype.slice.call(data, skip) as unknown[] : data;
      if (isNumberArray(part)) b.pushNumbers(part);
      else for (let i = 0; i < part.length; i++) b.pushValue(part[i]);
      next = rowStart + data.length;
    }
    if (b.size !== rows) throw new PlinthError('DRIFT_INVALID_DATA', `Parquet column "${name}" has ${b.size} values for ${rows} rows (nested columns are not supported).`, { column: name });
    columns.set(name, b.build());
  }
  if (columns.size === 0) throw new PlinthError('DRIFT_INVALID_DATA', 'The Parquet file has no columns.');
  return { rows, columns };
}

export async function readParquetFile(path: string): Promise<Dataset> {
  return readParquet(await asyncBufferFromFile(path));
}

/** An in-memory Parquet file (an upload) as hyparquet's AsyncBuffer. */
export function parquetBuffer(buf: Uint8Array): AsyncBuffer {
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  return { byteLength: ab.byteLength, slice: (start: number, end?: number) => ab.slice(start, end) };
}
