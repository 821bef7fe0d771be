// The inference log as a data source: a tenant-owned table of (model, features, prediction,
// created_at). Callers pick a model and a time window, never SQL; the read runs in a read-only
// tenant transaction, so row-level security scopes it to the caller's rows.
import type { Tx } from '../../db/index.js';
import { PlinthError } from '../../errors.js';
import { ColumnBuilder, type Dataset } from '../dataset.js';
import type { InferenceLogSource } from '../schema.js';

export const DEFAULT_LOG_LIMIT = 200_000;
/** The prediction, when it is a scalar, becomes this column; an object's keys become `prediction.<key>`. */
export const PREDICTION_COLUMN = 'prediction';

export interface InferenceRecord {
  features: Record<string, unknown>;
  prediction?: unknown;
  created_at?: string;
}

interface LogRow {
  features: Record<string, unknown> | null;
  prediction: unknown;
}

function flatten(row: LogRow): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(row.features ?? {}) };
  const p = row.prediction;
  if (p !== null && typeof p === 'object' && !Array.isArray(p)) {
    for (const [k, v] of Object.entries(p as Record<string, unknown>)) out[`${PREDICTION_COLUMN}.${k}`] = v;
  } else if (p !== null && p !== undefined) {
    out[PREDICTION_COLUMN] = p;
  }
  return out;
}

export async function readInferenceLog(tx: Tx, source: InferenceLogSource): Promise<Dataset> {
  const from = new Date(source.from);
  const to = new Date(source.to);
  if (!(from < to)) throw new PlinthError('VALIDATION_FAILED', '`from` must be before `to`.');
  const limit = source.limit ?? DEFAULT_LOG_LIMIT;
  // The most recent rows of the window when it holds more than `limit`.
  const res = await tx.query<LogRow>(
    `SELECT features, prediction FROM (
       SELECT features, prediction, created_at, id FROM inference_log
        WHERE model = $1 AND created_at >= $2 AND created_at < $3
        ORDER BY created_at DESC, id DESC LIMIT $4
     ) recent ORDER BY created_at, id`,
    [source.model, from.toISOString(), to.toISOString(), limit],
  );
  if (res.rows.length === 0) {
    throw new PlinthError('DRIFT_INVALID_DATA', `The inference log has no rows for model "${source.model}" between ${from.toISOString()} and ${to.toISOString()}.`);
  }
  const builders = new Map<string, ColumnBuilder>();
  res.rows.forEach((row, i) => {
    const flat = flatten(row);
    for (const key of Object.keys(flat)) {
      if (!builders.has(key)) {
        const b = new ColumnBuilder(res.rows.length);
        for (let k = 0; k < i; k++) b.pushValue(null);
        builders.set(key, b);
      }
    }
    for (const [key, b] of builders) {
      const v = flat[key];
      // Nested feature values are compared as their JSON text.
      b.pushValue(v !== null && typeof v === 'object' ? JSON.stringify(v) : v);
    }
  });
  return { rows: res.rows.length, columns: new Map([...builders].map(([k, b]) => [k, b.build()])) };
}

export async function insertInferences(tx: Tx, tenantId: string, model: string, records: readonly InferenceRecord[]): Promise<number> {
  if (records.length === 0) return 0;
  // One statement for the batch: arrays unnested server-side.
  const res = await tx.query(
    `INSERT INTO inference_log (tenant_id, model, features, prediction, created_at)
     SELECT $1, $2, f, p, coalesce(t, now())
       FROM unnest($3::jsonb[], $4::jsonb[], $5::timestamptz[]) AS u(f, p, t)`,
    [
      tenantId,
      model,
      records.map((r) => JSON.stringify(r.features)),
      records.map((r) => (r.prediction === undefined ? null : JSON.stringify(r.prediction))),
      records.map((r) => r.created_at ?? null),
    ],
  );
  return res.rowCount ?? records.length;
}
