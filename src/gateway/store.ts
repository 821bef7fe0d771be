// SQL for usage records. Runs inside tenant-scoped transactions (row-level security applies).
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
  cache: 'miss' | 'exact' | 'bypass';
  tokensIn: number;
  tokensOut: number;
  latencyMs: number;
  ttftMs: number | null;
}

export async function insertUsage(tx: Tx, r: UsageRecord): Promise<void> {
  await tx.query(
    `INSERT INTO llm_usage (tenant_id, key_prefix, endpoint, model, upstream, outcome, error_code, cache, tokens_in, tokens_out, latency_ms, ttft_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [r.tenantId, r.keyPrefix, r.endpoint, r.model, r.upstream, r.outcome, r.errorCode, r.cache, r.tokensIn, r.tokensOut, Math.round(r.latencyMs), r.ttftMs === null ? null : Math.round(r.ttftMs)],
  );
}

export async function aggregateUsage(tx: Tx, tenantId: string, q: UsageQuery): Promise<UsageRow[]> {
  const res = await tx.query<{
    day: string;
    model: string;
    requests: string;
    errors: string;
    cache_hits: string;
    tokens_in: string;
    tokens_out: string;
    avg_latency_ms: string | null;
    avg_ttft_ms: string | null;
  }>(
    `SELECT to_char(date_trunc('day', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, model,
            count(*) AS requests,
            count(*) FILTER (WHERE outcome = 'error') AS errors,
            count(*) FILTER (WHERE cache = 'exact') AS cache_hits,
            coalesce(sum(tokens_in), 0) AS tokens_in,
            coalesce(sum(tokens_out), 0) AS tokens_out,
            round(avg(latency_ms)) AS avg_latency_ms,
            round(avg(ttft_ms)) AS avg_ttft_ms
       FROM llm_usage
      WHERE tenant_id = $1
        AND ($2::timestamptz IS NULL OR created_at >= $2)
        AND ($3::timestamptz IS NULL OR created_at < $3)
        AND ($4::text IS NULL OR model = $4)
        AND ($5::text IS NULL OR key_prefix = $5)
      GROUP BY 1, 2
      ORDER BY 1, 2`,
    [tenantId, q.from ?? null, q.to ?? null, q.model ?? null, q.key_prefix ?? null],
  );
  return res.rows.map((r) => ({
    day: r.day,
    model: r.model,
    requests: Number(r.requests),
    errors: Number(r.errors),
    cache_hits: Number(r.cache_hits),
    tokens_in: Number(r.tokens_in),
    tokens_out: Number(r.tokens_out),
    avg_latency_ms: r.avg_latency_ms === null ? null : Number(r.avg_latency_ms),
    avg_ttft_ms: r.avg_ttft_ms === null ? null : Number(r.avg_ttft_ms),
  }));
}
