// SQL for memories. Every function runs inside the caller's transaction; tenant-scoped calls run
// under row-level security, so the explicit tenant_id predicates are for the planner, not for safety.
import { queryPrepared, type Tx } from '../db/index.js';
import { PlinthError } from '../errors.js';
import { compileFilters, hasExtraFilters, SqlParams } from './filters.js';
import { FUSED_CTE, retrieverCtes, sqlInt } from './hybrid.js';
import type { Filters, ListInput, Memory, MemoryVersion } from './schema.js';

export interface EmbeddingSpace {
  id: number;
  provider: string;
  model: string;
  dimensions: number;
}

interface MemoryRow {
  id: string;
  agent_id: string | null;
  user_id: string | null;
  session_id: string | null;
  text: string;
  metadata: Record<string, unknown>;
  tags: string[];
  source: string | null;
  content_hash: Buffer;
  idempotency_key: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
  valid_from: Date;
  valid_to: Date | null;
  expires_at: Date | null;
  embedding_model: string | null;
}

const COLUMNS = `m.id, m.agent_id, m.user_id, m.session_id, m.text, m.metadata, m.tags, m.source, m.content_hash,
  m.idempotency_key, m.version, m.created_at, m.updated_at, m.valid_from, m.valid_to, m.expires_at,
  (SELECT s.model FROM embedding_spaces s WHERE s.id = m.space_id) AS embedding_model`;

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toMemory(r: MemoryRow): Memory {
  return {
    id: r.id,
    text: r.text,
    agent_id: r.agent_id,
    user_id: r.user_id,
    session_id: r.session_id,
    metadata: r.metadata,
    tags: r.tags,
    source: r.source,
    content_hash: r.content_hash.toString('hex'),
    version: r.version,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
    valid_from: r.valid_from.toISOString(),
    valid_to: iso(r.valid_to),
    expires_at: iso(r.expires_at),
    embedding_model: r.embedding_model,
    idempotency_key: r.idempotency_key,
  };
}

/** pgvector's text form. Dimensions and finiteness are checked by the embedder port. */
/**
 * The pgvector text form of a vector. pgvector stores float4: nine significant digits of each
 * component's float32 value always read back as that same float4, so the literal is exact while
 * a third shorter and 2–3x faster to build than the shortest double form (17 digits), and PostgreSQL
 * parses fewer digits.
 */
export function vectorLiteral(v: Float32Array | readonly number[]): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) {
    if (i > 0) s += ',';
    const x = Math.fround(v[i]!);
    s += x === 0 ? '0' : x.toPrecision(9);
  }
  return `${s}]`;
}

export async function ensureSpace(tx: Tx, provider: string, model: string, dimensions: number): Promise<EmbeddingSpace> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [0x73706163]); // "spac": one replica creates the index
  const found = await tx.query<EmbeddingSpace>(
    `INSERT INTO embedding_spaces (provider, model, dimensions) VALUES ($1, $2, $3)
     ON CONFLICT (provider, model, dimensions) DO UPDATE SET provider = EXCLUDED.provider
     RETURNING id, provider, model, dimensions`,
    [provider, model, dimensions],
  );
  const space = found.rows[0]!;
  if (!Number.isInteger(space.id) || !Number.isInteger(space.dimensions)) throw new PlinthError('INTERNAL');
  // pgvector indexes need a fixed dimension: one partial expression index per space.
  for (const table of ['memories', 'document_chunks']) {
    await tx.query(
      `CREATE INDEX IF NOT EXISTS ${table}_hnsw_s${space.id} ON ${table}
         USING hnsw ((embedding::vector(${space.dimensions})) vector_cosine_ops) WHERE space_id = ${space.id}`,
    );
  }
  return space;
}

export interface InsertMemory {
  text: string;
  agent_id: string | null;
  user_id: string | null;
  session_id: string | null;
  metadata: Record<string, unknown>;
  tags: string[];
  source: string | null;
  contentHash: Buffer;
  idempotencyKey: string | null;
  validFrom: string | null;
  validTo: string | null;
  expiresAt: string | null;
  embedding: string | null;
}

/**
 * Insert a batch in one statement (and its first versions in the same statement). Rows that
 * collide with an existing memory (same scope and content, or same idempotency key) are skipped
 * and absent from the result; `findExisting` resolves them.
 */
export async function insertMemories(tx: Tx, tenantId: string, spaceId: number | null, rows: InsertMemory[], actor: string): Promise<Memory[]> {
  const col = <K extends keyof InsertMemory>(k: K) => rows.map((r) => r[k]);
  const res = await tx.query<MemoryRow>(
    `WITH input AS (
       SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[], $8::text[], $9::bytea[],
                            $10::text[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[], $14::text[])
         WITH ORDINALITY AS t(text, agent_id, user_id, session_id, metadata, tags, source, content_hash,
                              idempotency_key, valid_from, valid_to, expires_at, embedding, ord)
     ),
     ins AS (
       INSERT INTO memories (tenant_id, text, agent_id, user_id, session_id, metadata, tags, source, content_hash,
                             idempotency_key, valid_from, valid_to, expires_at, space_id, embedding)
       SELECT $1, text, agent_id, user_id, session_id, metadata, ARRAY(SELECT jsonb_array_elements_text(tags)), source, content_hash,
              idempotency_key, coalesce(valid_from, now()), valid_to, expires_at,
              CASE WHEN embedding IS NULL THEN NULL ELSE $15::int END, embedding::vector
         FROM input ORDER BY ord
       ON CONFLICT DO NOTHING
       RETURNING *
     ),
     ver AS (
       INSERT INTO memory_versions (memory_id, tenant_id, version, text, metadata, tags, valid_from, valid_to, expires_at, change, actor)
       SELECT id, tenant_id, 1, text, metadata, tags, valid_from, valid_to, expires_at, 'created', $16 FROM ins
     )
     SELECT ${COLUMNS.replaceAll('m.', 'ins.')} FROM ins`,
    [
      tenantId,
      col('text'),
      col('agent_id'),
      col('user_id'),
      col('session_id'),
      rows.map((r) => JSON.stringify(r.metadata)),
      rows.map((r) => JSON.stringify(r.tags)),
      col('source'),
      col('contentHash'),
      col('idempotencyKey'),
      col('validFrom'),
      col('validTo'),
      col('expiresAt'),
      col('embedding'),
      spaceId,
      actor,
    ],
  );
  return res.rows.map(toMemory);
}

/** Existing memories matching (scope, content hash) or idempotency key, for deduplicated inputs. */
export async function findExisting(tx: Tx, tenantId: string, rows: InsertMemory[]): Promise<Memory[]> {
  const res = await tx.query<MemoryRow>(
    `SELECT ${COLUMNS} FROM memories m
      JOIN unnest($2::text[], $3::text[], $4::text[], $5::bytea[], $6::text[]) AS k(agent_id, user_id, session_id, content_hash, idempotency_key)
        ON (k.idempotency_key IS NOT NULL AND m.idempotency_key = k.idempotency_key)
        OR (coalesce(m.agent_id, '') = coalesce(k.agent_id, '') AND coalesce(m.user_id, '') = coalesce(k.user_id, '')
            AND coalesce(m.session_id, '') = coalesce(k.session_id, '') AND m.content_hash = k.content_hash)
      WHERE m.tenant_id = $1`,
    [tenantId, rows.map((r) => r.agent_id), rows.map((r) => r.user_id), rows.map((r) => r.session_id), rows.map((r) => r.contentHash), rows.map((r) => r.idempotencyKey)],
  );
  return res.rows.map(toMemory);
}

export async function getMemory(tx: Tx, tenantId: string, id: string): Promise<Memory | undefined> {
  const res = await tx.query<MemoryRow>(`SELECT ${COLUMNS} FROM memories m WHERE m.tenant_id = $1 AND m.id = $2`, [tenantId, id]);
  return res.rows[0] ? toMemory(res.rows[0]) : undefined;
}

export async function lockMemory(tx: Tx, tenantId: string, id: string): Promise<{ version: number; text: string } | undefined> {
  const res = await tx.query<{ version: number; text: string }>(`SELECT version, text FROM memories WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [tenantId, id]);
  return res.rows[0];
}

export interface MemoryPatch {
  text?: string | undefined;
  contentHash?: Buffer | undefined;
  embedding?: string | undefined;
  spaceId?: number | undefined;
  metadata?: Record<string, unknown> | undefined;
  tags?: string[] | undefined;
  validTo?: string | null | undefined;
  expiresAt?: string | null | undefined;
}

/** Write a new version: the row moves to version+1, the previous version is closed, the new one appended. */
export async function updateMemory(tx: Tx, tenantId: string, id: string, patch: MemoryPatch, actor: string): Promise<Memory> {
  const res = await tx.query<MemoryRow>(
    `WITH upd AS (
       UPDATE memories SET
         text = coalesce($3, text),
         content_hash = coalesce($4, content_hash),
         embedding = CASE WHEN $5::text IS NULL THEN embedding ELSE $5::vector END,
         space_id = CASE WHEN $5::text IS NULL THEN space_id ELSE $6::int END,
         metadata = coalesce($7::jsonb, metadata),
         tags = coalesce($8::text[], tags),
         valid_to = CASE WHEN $9::boolean THEN $10::timestamptz ELSE valid_to END,
         expires_at = CASE WHEN $11::boolean THEN $12::timestamptz ELSE expires_at END,
         version = version + 1,
         updated_at = now()
       WHERE tenant_id = $1 AND id = $2
       RETURNING *
     ),
     closed AS (
       UPDATE memory_versions v SET superseded_at = now()
         FROM upd WHERE v.memory_id = upd.id AND v.version = upd.version - 1
     ),
     ver AS (
       INSERT INTO memory_versions (memory_id, tenant_id, version, text, metadata, tags, valid_from, valid_to, expires_at, change, actor)
       SELECT id, tenant_id, version, text, metadata, tags, valid_from, valid_to, expires_at, 'updated', $13 FROM upd
     )
     SELECT ${COLUMNS.replaceAll('m.', 'upd.')} FROM upd`,
    [
      tenantId,
      id,
      patch.text ?? null,
      patch.contentHash ?? null,
      patch.embedding ?? null,
      patch.spaceId ?? null,
      patch.metadata === undefined ? null : JSON.stringify(patch.metadata),
      patch.tags ?? null,
      patch.validTo !== undefined,
      patch.validTo ?? null,
      patch.expiresAt !== undefined,
      patch.expiresAt ?? null,
      actor,
    ],
  );
  const row = res.rows[0];
  if (!row) throw new PlinthError('NOT_FOUND', `No memory ${id}.`);
  return toMemory(row);
}

export async function deleteMemory(tx: Tx, tenantId: string, id: string): Promise<boolean> {
  const res = await tx.query(`DELETE FROM memories WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return (res.rowCount ?? 0) > 0;
}

export async function history(tx: Tx, tenantId: string, id: string): Promise<MemoryVersion[]> {
  const res = await tx.query<{
    version: number;
    text: string;
    metadata: Record<string, unknown>;
    tags: string[];
    valid_from: Date;
    valid_to: Date | null;
    change: 'created' | 'updated';
    actor: string | null;
    recorded_at: Date;
    superseded_at: Date | null;
  }>(
    `SELECT version, text, metadata, tags, valid_from, valid_to, change, actor, recorded_at, superseded_at
       FROM memory_versions WHERE tenant_id = $1 AND memory_id = $2 ORDER BY version`,
    [tenantId, id],
  );
  return res.rows.map((r) => ({
    ...r,
    valid_from: r.valid_from.toISOString(),
    valid_to: iso(r.valid_to),
    recorded_at: r.recorded_at.toISOString(),
    superseded_at: iso(r.superseded_at),
  }));
}

export async function listMemories(tx: Tx, tenantId: string, input: ListInput): Promise<{ memories: Memory[]; next_cursor: string | null }> {
  const p = new SqlParams();
  const where = [`m.tenant_id = ${p.add(tenantId)}`, ...compileFilters('m', p, input, input.tag ? { tags_all: [input.tag] } : undefined, undefined)];
  if (input.cursor) {
    const c = decodeCursor(input.cursor);
    where.push(`(m.created_at, m.id) < (${p.add(c.at)}::timestamptz, ${p.add(c.id)}::uuid)`);
  }
  // The cursor keeps PostgreSQL's microsecond precision (a JavaScript Date would cut it to
  // milliseconds and skip rows written in the same transaction).
  const res = await tx.query<MemoryRow & { cursor_at: string }>(
    `SELECT ${COLUMNS}, to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
       FROM memories m WHERE ${where.join(' AND ')} ORDER BY m.created_at DESC, m.id DESC LIMIT ${p.add(input.limit + 1)}`,
    p.values,
  );
  const rows = res.rows.slice(0, input.limit);
  const last = rows.at(-1);
  return {
    memories: rows.map(toMemory),
    next_cursor: res.rows.length > input.limit && last ? encodeCursor(last.cursor_at, last.id) : null,
  };
}

function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

function decodeCursor(cursor: string): { at: string; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof at === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(at)) && /^[0-9a-f-]{36}$/.test(id)) return { at, id };
  } catch {
    // fall through
  }
  throw new PlinthError('VALIDATION_FAILED', 'The cursor is not valid.');
}

export interface SearchRow extends MemoryRow {
  vector_score: number | null;
  fulltext_score: number | null;
  vector_rank: number | null;
  fulltext_rank: number | null;
  score: number;
  embedding_text?: string | null;
}

export interface SearchParams {
  tenantId: string;
  space: EmbeddingSpace | null;
  queryVector: string | null;
  queryText: string;
  mode: 'hybrid' | 'vector' | 'fulltext';
  candidates: number;
  limit: number;
  scope: { agent_id?: string | undefined; user_id?: string | undefined; session_id?: string | undefined };
  filters: Filters | undefined;
  asOf: string | undefined;
  recencyHalfLifeDays: number | undefined;
  withEmbeddings: boolean;
}

/**
 * Hybrid retrieval in one round trip: HNSW cosine and full-text candidates fused by reciprocal
 * rank, then joined back to `memories` by primary key. `candidates` is the depth of each list.
 */
export async function search(tx: Tx, s: SearchParams): Promise<SearchRow[]> {
  const p = new SqlParams();
  const cand = sqlInt(s.candidates);
  const useVector = s.mode !== 'fulltext' && s.space !== null && s.queryVector !== null;
  const useText = s.mode !== 'vector';
  const extra = useText && hasExtraFilters(s.filters);
  const from = 'memories c';
  // Parameters are only added for the parts that use them: an unused one has no type.
  const where = useVector || extra ? `c.tenant_id = ${p.add(s.tenantId)} AND ${compileFilters('c', p, s.scope, s.filters, s.asOf).join(' AND ')}` : '';
  const { vec, fts } = retrieverCtes(
    p,
    cand,
    useVector ? { from, where, dimensions: s.space!.dimensions, spaceId: s.space!.id, queryVector: s.queryVector! } : null,
    useText
      ? {
          fn: 'plinth_memory_fulltext',
          args: `${p.add(s.scope.agent_id ?? null)}::text, ${p.add(s.scope.user_id ?? null)}::text, ${p.add(s.scope.session_id ?? null)}::text, ${p.add(s.asOf ?? null)}::timestamptz`,
          extra: extra ? { from, where } : null,
          query: s.queryText,
        }
      : null,
  );
  const decay = s.recencyHalfLifeDays ? `* power(0.5, extract(epoch FROM now() - m.created_at) / 86400.0 / ${p.add(s.recencyHalfLifeDays)}::float8)` : '';
  const res = await queryPrepared<SearchRow>(
    tx,
    `WITH ${vec}, ${fts}, ${FUSED_CTE}
     SELECT ${COLUMNS}, f.vector_score, f.fulltext_score, f.vector_rank::int, f.fulltext_rank::int, (f.rrf ${decay})::float8 AS score
            ${s.withEmbeddings ? ', m.embedding::text AS embedding_text' : ''}
       FROM fused f JOIN memories m ON m.id = f.id
      ORDER BY score DESC, m.id
      LIMIT ${sqlInt(s.limit)}`,
    p.values,
  );
  return res.rows;
}
