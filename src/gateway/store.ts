// SQL for usage records and per-tenant limit overrides. Runs inside tenant-scoped transactions
// (row-level security applies).
import type { Tx } from '../db/index.js';
import type { UsageQuery, UsageRow } from './schema.js';

export interface UsageRecord {
  tenantId: string;
  keyPrefix: string | null;
  endpoint: 'chat' | 'embeddings';
  model: string;
  upstream: string | null;
  outcome: 'ok' | 'error' | 'cancelled';
  errorCode: string | null;
  cache: 'miss' | 'exact' | 'semantic' | 'bypass';
  tokensIn: number;
  tokensOut: number;
  latencyMs: number;
  ttftMs: number | null;
  /** From the price table; null when the model has no price. */
  cost?: number | null;
  /** The end user the call was made for (the OpenAI `user` field), for export and erasure. */
  userId?: string | null;
}

/** Many records of one tenant in one statement (arrays unnested); created_at is when each call ended. */
export async function insertUsageBatch(tx: Tx, records: ReadonlyArray<UsageRecord & { createdAt: Date }>): Promise<void> {
  if (records.length === 0) return;
  const col = <T>(f: (r: UsageRecord & { createdAt: Date }) => T): T[] => records.map(f);
  await tx.query(
    `INSERT INTO llm_usage (tenant_id, key_prefix, endpoint, model, upstream, outcome, error_code, cache, tokens_in, tokens_out, latency_ms, ttft_ms, cost, created_at, user_id)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                          $9::integer[], $10::integer[], $11::integer[], $12::integer[], $13::numeric[], $14::timestamptz[], $15::text[])`,
    [
      col((r) => r.tenantId),
      col((r) => r.keyPrefix),
      col((r) => r.endpoint),
      col((r) => r.model),
      col((r) => r.upstream),
      col((r) => r.outcome),
      col((r) => r.errorCode),
      col((r) => r.cache),
      col((r) => r.tokensIn),
      col((r) => r.tokensOut),
      col((r) => Math.round(r.latencyMs)),
      col((r) => (r.ttftMs === null ? null : Math.round(r.ttftMs))),
      col((r) => r.cost ?? null),
      col((r) => r.createdAt.toISOString()),
      col((r) => r.userId ?? null),
    ],
  );
}

/** Grouping columns of GET /v1/usage, from a fixed list: never user text in the SQL. */
const GROUP_COLUMNS = {
  day: `to_char(date_trunc('day', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')`,
  model: 'model',
  key: 'key_prefix',
} as const;

export async function aggregateUsage(tx: Tx, tenantId: string, q: UsageQuery): Promise<UsageRow[]> {
  const groups = (q.group_by ?? ['day', 'model']).filter((g, i, all) => all.indexOf(g) === i);
  const select = (['day', 'model', 'key'] as const).map((g) => `${groups.includes(g) ? GROUP_COLUMNS[g] : 'NULL'} AS ${g === 'key' ? 'key_prefix' : g}`);
  const groupBy = groups.length > 0 ? `GROUP BY ${groups.map((g) => GROUP_COLUMNS[g]).join(', ')} ORDER BY ${groups.map((g) => GROUP_COLUMNS[g]).join(', ')}` : '';
  const res = await tx.query<{
    day: string | null;
    model: string | null;
    key_prefix: string | null;
    requests: string;
    errors: string;
    cache_hits: string;
    tokens_in: string;
    tokens_out: string;
    cost: string | null;
    avg_latency_ms: string | null;
    avg_ttft_ms: string | null;
  }>(
    `SELECT ${select.join(', ')},
            count(*) AS requests,
            count(*) FILTER (WHERE outcome = 'error') AS errors,
            count(*) FILTER (WHERE cache IN ('exact', 'semantic')) AS cache_hits,
            coalesce(sum(tokens_in), 0) AS tokens_in,
            coalesce(sum(tokens_out), 0) AS tokens_out,
            sum(cost) AS cost,
            round(avg(latency_ms)) AS avg_latency_ms,
            round(avg(ttft_ms)) AS avg_ttft_ms
       FROM llm_usage
      WHERE tenant_id = $1
        AND ($2::timestamptz IS NULL OR created_at >= $2)
        AND ($3::timestamptz IS NULL OR created_at < $3)
        AND ($4::text IS NULL OR model = $4)
        AND ($5::text IS NULL OR key_prefix = $5)
      ${groupBy}`,
    [tenantId, q.from ?? null, q.to ?? null, q.model ?? null, q.key_prefix ?? null],
  );
  return res.rows
    .filter((r) => groups.length > 0 || Number(r.requests) > 0)
    .map((r) => ({
      day: r.day,
      model: r.model,
      key_prefix: r.key_prefix,
      requests: Number(r.requests),
      errors: Number(r.errors),
      cache_hits: Number(r.cache_hits),
      tokens_in: Number(r.tokens_in),
      tokens_out: Number(r.tokens_out),
      cost: r.cost === null ? null : Number(r.cost),
      avg_latency_ms: r.avg_latency_ms === null ? null : Number(r.avg_latency_ms),
      avg_ttft_ms: r.avg_ttft_ms === null ? null : Number(r.avg_ttft_ms),
    }));
}

/** A tenant's overrides; a null field means "the configured default". */
export interface LimitOverrides {
  key_requests_per_minute: number | null;
  key_tokens_per_minute: number | null;
  key_tokens_per_day: number | null;
  tenant_requests_per_minute: number | null;
  tenant_tokens_per_minute: number | null;
  tenant_tokens_per_day: number | null;
}

export const LIMIT_FIELDS = [
  'key_requests_per_minute',
  'key_tokens_per_minute',
  'key_tokens_per_day',
  'tenant_requests_per_minute',
  'tenant_tokens_per_minute',
  'tenant_tokens_per_day',
] as const satisfies ReadonlyArray<keyof LimitOverrides>;

export interface StoredOverrides extends LimitOverrides {
  updated_at: string | null;
  updated_by: string | null;
}

type OverrideRow = Record<(typeof LIMIT_FIELDS)[number], string | null> & { updated_at: Date; updated_by: string | null };

function fromRow(row: OverrideRow | undefined): StoredOverrides {
  const out = { updated_at: row ? row.updated_at.toISOString() : null, updated_by: row?.updated_by ?? null } as StoredOverrides;
  for (const f of LIMIT_FIELDS) out[f] = row?.[f] == null ? null : Number(row[f]);
  return out;
}

export async function getOverrides(tx: Tx, tenantId: string): Promise<StoredOverrides> {
  const res = await tx.query<OverrideRow>(`SELECT ${LIMIT_FIELDS.join(', ')}, updated_at, updated_by FROM gateway_limits WHERE tenant_id = $1`, [tenantId]);
  return fromRow(res.rows[0]);
}

/** Replaces the tenant's overrides (one upsert: concurrent writers cannot interleave fields). */
export async function putOverrides(tx: Tx, tenantId: string, o: LimitOverrides, actor: string): Promise<StoredOverrides> {
  const values = LIMIT_FIELDS.map((f) => o[f]);
  const res = await tx.query<OverrideRow>(
    `INSERT INTO gateway_limits (tenant_id, ${LIMIT_FIELDS.join(', ')}, updated_at, updated_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now(), $8)
     ON CONFLICT (tenant_id) DO UPDATE SET ${LIMIT_FIELDS.map((f) => `${f} = EXCLUDED.${f}`).join(', ')}, updated_at = now(), updated_by = EXCLUDED.updated_by
     RETURNING ${LIMIT_FIELDS.join(', ')}, updated_at, updated_by`,
    [tenantId, ...values, actor],
  );
  return fromRow(res.rows[0]);
}
