// SQL for documents and chunks, run inside the caller's (tenant-scoped) transaction.
import { queryPrepared, type Tx } from '../db/index.js';
import type { Document, DocumentChunk } from './documents-schema.js';
import { compileFilters, hasExtraFilters, SqlParams } from './filters.js';
import { FUSED_CTE, retrieverCtes, sqlInt } from './hybrid.js';
import type { Filters } from './schema.js';
import type { EmbeddingSpace } from './store.js';

interface DocumentRow {
  id: string;
  key: string;
  name: string;
  title: string | null;
  media_type: string;
  agent_id: string | null;
  user_id: string | null;
  session_id: string | null;
  source: string | null;
  metadata: Record<string, unknown>;
  tags: string[];
  content_hash: Buffer;
  size_bytes: number;
  chunk_count: number;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const DOC_COLUMNS = `id, key, name, title, media_type, agent_id, user_id, session_id, source, metadata, tags, content_hash,
  size_bytes, chunk_count, version, created_at, updated_at`;

function toDocument(r: DocumentRow): Document {
  return { ...r, content_hash: r.content_hash.toString('hex'), created_at: r.created_at.toISOString(), updated_at: r.updated_at.toISOString() };
}

export interface DocumentScope {
  agent_id: string | null;
  user_id: string | null;
  session_id: string | null;
}

export async function findByKey(tx: Tx, tenantId: string, scope: DocumentScope, key: string, lock = false): Promise<Document | undefined> {
  const res = await tx.query<DocumentRow>(
    `SELECT ${DOC_COLUMNS} FROM documents
      WHERE tenant_id = $1 AND coalesce(agent_id, '') = coalesce($2, '') AND coalesce(user_id, '') = coalesce($3, '')
        AND coalesce(session_id, '') = coalesce($4, '') AND key = $5
      ${lock ? 'FOR UPDATE' : ''}`,
    [tenantId, scope.agent_id, scope.user_id, scope.session_id, key],
  );
  return res.rows[0] ? toDocument(res.rows[0]) : undefined;
}

export interface UpsertDocument extends DocumentScope {
  key: string;
  name: string;
  title: string | null;
  mediaType: string;
  source: string | null;
  metadata: Record<string, unknown>;
  tags: string[];
  contentHash: Buffer;
  sizeBytes: number;
  chunkCount: number;
}

export async function upsertDocument(tx: Tx, tenantId: string, d: UpsertDocument): Promise<Document> {
  const res = await tx.query<DocumentRow>(
    `INSERT INTO documents (tenant_id, agent_id, user_id, session_id, key, name, title, media_type, source, metadata, tags, content_hash, size_bytes, chunk_count)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     ON CONFLICT (tenant_id, (coalesce(agent_id, '')), (coalesce(user_id, '')), (coalesce(session_id, '')), key) DO UPDATE SET
       name = EXCLUDED.name, title = EXCLUDED.title, media_type = EXCLUDED.media_type, source = EXCLUDED.source,
       metadata = EXCLUDED.metadata, tags = EXCLUDED.tags, content_hash = EXCLUDED.content_hash,
       size_bytes = EXCLUDED.size_bytes, chunk_count = EXCLUDED.chunk_count,
       version = documents.version + 1, updated_at = now()
     RETURNING ${DOC_COLUMNS}`,
    [tenantId, d.agent_id, d.user_id, d.session_id, d.key, d.name, d.title, d.mediaType, d.source, JSON.stringify(d.metadata), d.tags, d.contentHash, d.sizeBytes, d.chunkCount],
  );
  return toDocument(res.rows[0]!);
}

export interface InsertChunk {
  position: number;
  text: string;
  headingPath: string[];
  kind: string;
  page: number | null;
  start: number;
  end: number;
  tokens: number;
  embedding: string;
}

/** Replace every chunk of a document in one statement pair (same transaction as the upsert). */
export async function replaceChunks(tx: Tx, tenantId: string, documentId: string, spaceId: number, chunks: InsertChunk[]): Promise<void> {
  await tx.query('DELETE FROM document_chunks WHERE tenant_id = $1 AND document_id = $2', [tenantId, documentId]);
  if (chunks.length === 0) return;
  const col = <K extends keyof InsertChunk>(k: K) => chunks.map((c) => c[k]);
  await tx.query(
    `INSERT INTO document_chunks (document_id, tenant_id, position, text, heading_path, kind, page, start_offset, end_offset, tokens, space_id, embedding)
     SELECT $1, $2, position, text, ARRAY(SELECT jsonb_array_elements_text(heading_path)), kind, page, start_offset, end_offset, tokens, $3, embedding::vector
       FROM unnest($4::int[], $5::text[], $6::jsonb[], $7::text[], $8::int[], $9::int[], $10::int[], $11::int[], $12::text[])
         AS t(position, text, heading_path, kind, page, start_offset, end_offset, tokens, embedding)`,
    [
      documentId,
      tenantId,
      spaceId,
      col('position'),
      col('text'),
      chunks.map((c) => JSON.stringify(c.headingPath)),
      col('kind'),
      col('page'),
      col('start'),
      col('end'),
      col('tokens'),
      col('embedding'),
    ],
  );
}

export async function getDocument(tx: Tx, tenantId: string, id: string): Promise<Document | undefined> {
  const res = await tx.query<DocumentRow>(`SELECT ${DOC_COLUMNS} FROM documents WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return res.rows[0] ? toDocument(res.rows[0]) : undefined;
}

interface ChunkRow {
  id: string;
  document_id: string;
  position: number;
  text: string;
  heading_path: string[];
  kind: string;
  page: number | null;
  start_offset: number;
  end_offset: number;
  tokens: number;
}

const CHUNK_COLUMNS = 'c.id, c.document_id, c.position, c.text, c.heading_path, c.kind, c.page, c.start_offset, c.end_offset, c.tokens';

export async function listChunks(tx: Tx, tenantId: string, documentId: string): Promise<DocumentChunk[]> {
  const res = await tx.query<ChunkRow>(`SELECT ${CHUNK_COLUMNS} FROM document_chunks c WHERE c.tenant_id = $1 AND c.document_id = $2 ORDER BY c.position`, [
    tenantId,
    documentId,
  ]);
  return res.rows;
}

export async function deleteDocument(tx: Tx, tenantId: string, id: string): Promise<boolean> {
  const res = await tx.query('DELETE FROM documents WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return (res.rowCount ?? 0) > 0;
}

export async function listDocuments(tx: Tx, tenantId: string, limit: number): Promise<Document[]> {
  const res = await tx.query<DocumentRow>(`SELECT ${DOC_COLUMNS} FROM documents WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, [tenantId, limit]);
  return res.rows.map(toDocument);
}

export interface ChunkSearchRow extends ChunkRow {
  doc_name: string;
  doc_title: string | null;
  doc_key: string;
  vector_score: number | null;
  fulltext_score: number | null;
  vector_rank: number | null;
  fulltext_rank: number | null;
  score: number;
}

export interface ChunkSearchParams {
  tenantId: string;
  space: EmbeddingSpace;
  queryVector: string | null;
  queryText: string;
  mode: 'hybrid' | 'vector' | 'fulltext';
  candidates: number;
  limit: number;
  scope: { agent_id?: string | undefined; user_id?: string | undefined; session_id?: string | undefined };
  filters: Filters | undefined;
}

/** Hybrid retrieval over chunks; scope and metadata filters apply to the owning document. */
export async function searchChunks(tx: Tx, s: ChunkSearchParams): Promise<ChunkSearchRow[]> {
  const p = new SqlParams();
  const cand = sqlInt(s.candidates);
  const useVector = s.mode !== 'fulltext' && s.queryVector !== null;
  const useText = s.mode !== 'vector';
  const extra = useText && hasExtraFilters(s.filters);
  const from = 'document_chunks c JOIN documents d ON d.id = c.document_id';
  // Parameters are only added for the parts that use them: an unused one has no type.
  const where =
    useVector || extra ? `c.tenant_id = ${p.add(s.tenantId)} AND ${compileFilters('d', p, s.scope, s.filters, undefined, { temporal: false }).join(' AND ')}` : '';
  const { vec, fts } = retrieverCtes(
    p,
    cand,
    useVector ? { from, where, dimensions: s.space.dimensions, spaceId: s.space.id, queryVector: s.queryVector! } : null,
    useText
      ? {
          fn: 'plinth_chunk_fulltext',
          args: `${p.add(s.scope.agent_id ?? null)}::text, ${p.add(s.scope.user_id ?? null)}::text, ${p.add(s.scope.session_id ?? null)}::text`,
          extra: extra ? { from: `(${from})`, where } : null,
          query: s.queryText,
        }
      : null,
  );
  const res = await queryPrepared<ChunkSearchRow>(
    tx,
    `WITH ${vec}, ${fts}, ${FUSED_CTE}
     SELECT ${CHUNK_COLUMNS}, d.name AS doc_name, d.title AS doc_title, d.key AS doc_key,
            f.vector_score, f.fulltext_score, f.vector_rank::int, f.fulltext_rank::int, f.rrf::float8 AS score
       FROM fused f JOIN document_chunks c ON c.id = f.id JOIN documents d ON d.id = c.document_id
      ORDER BY score DESC, c.id
      LIMIT ${sqlInt(s.limit)}`,
    p.values,
  );
  return res.rows;
}
