// Document ingestion and combined retrieval over memories and document chunks.
// Parsing, chunking and embedding happen before the transaction; the write is one transaction
// that upserts the document and replaces all of its chunks, so readers never see a mix.
import { createHash } from 'node:crypto';
import type { Audit } from '../auth/index.js';
import type { Database, Tx } from '../db/index.js';
import type { Embedder } from '../embeddings/index.js';
import { PlinthError } from '../errors.js';
import { chunkDocument, detectMediaType } from './chunking/index.js';
import type { CombinedResult, CombinedSearchInput, Document, DocumentChunk, IngestInput } from './documents-schema.js';
import { combinedSearchInput } from './documents-schema.js';
import * as docs from './documents-store.js';
import { searchDepth, searchSettings } from './hybrid.js';
import * as store from './store.js';

export interface DocumentServiceDeps {
  db: Database;
  embedder: Embedder;
  space: store.EmbeddingSpace;
  audit: (tx: Tx, tenantId: string, audit: Audit, action: string, target?: string, details?: Record<string, unknown>) => Promise<void>;
  /** Largest accepted document, in bytes. */
  maxBytes?: number;
}

export type DocumentService = ReturnType<typeof createDocumentService>;

export function createDocumentService(deps: DocumentServiceDeps) {
  const { db, embedder, space } = deps;
  const maxBytes = deps.maxBytes ?? 20 * 1024 * 1024;

  return {
    async ingest(tenantId: string, input: IngestInput, audit: Audit): Promise<{ document: Document; status: 'created' | 'replaced' | 'unchanged' }> {
      const mediaType = detectMediaType(input.name, input.media_type);
      if (!mediaType) {
        throw new PlinthError('UNSUPPORTED_DOCUMENT_TYPE', `Cannot tell the type of "${input.name}"; give media_type as one of text/plain, text/markdown, text/html, application/pdf.`);
      }
      const content = input.content_base64 !== undefined ? Buffer.from(input.content_base64, 'base64') : Buffer.from(input.content ?? '', 'utf8');
      if (content.length === 0) throw new PlinthError('VALIDATION_FAILED', 'The document is empty.');
      if (content.length > maxBytes) throw new PlinthError('PAYLOAD_TOO_LARGE', `The document is larger than ${maxBytes} bytes.`);
      const hash = createHash('sha256').update(content).digest();
      const scope = { agent_id: input.agent_id ?? null, user_id: input.user_id ?? null, session_id: input.session_id ?? null };
      const key = input.key ?? input.name;

      const existing = await db.withTenant(tenantId, (tx) => docs.findByKey(tx, tenantId, scope, key), { readOnly: true });
      if (existing && existing.content_hash === hash.toString('hex')) return { document: existing, status: 'unchanged' };

      const parsed = await chunkDocument(mediaType === 'application/pdf' ? content : content.toString('utf8'), mediaType, {
        maxBytes,
        ...(input.max_tokens !== undefined ? { maxTokens: input.max_tokens } : {}),
        ...(input.overlap_tokens !== undefined ? { overlapTokens: input.overlap_tokens } : {}),
      });
      const vectors = parsed.chunks.length > 0 ? await embedder.embed(parsed.chunks.map((c) => c.text)) : [];

      return db.withTenant(tenantId, async (tx) => {
        const before = await docs.findByKey(tx, tenantId, scope, key, true);
        const document = await docs.upsertDocument(tx, tenantId, {
          ...scope,
          key,
          name: input.name,
          title: parsed.title ?? null,
          mediaType,
          source: input.source ?? null,
          metadata: input.metadata ?? {},
          tags: [...new Set(input.tags ?? [])],
          contentHash: hash,
          sizeBytes: content.length,
          chunkCount: parsed.chunks.length,
        });
        await docs.replaceChunks(
          tx,
          tenantId,
          document.id,
          space.id,
          parsed.chunks.map((c, i) => ({
            position: i,
            text: c.text,
            headingPath: c.headingPath,
            kind: c.kind,
            page: c.page ?? null,
            start: c.start,
            end: c.end,
            tokens: c.tokens,
            embedding: store.vectorLiteral(vectors[i]!),
          })),
        );
        const status = before ? 'replaced' : 'created';
        await deps.audit(tx, tenantId, audit, `document.${status}`, document.id, { name: document.name, chunks: document.chunk_count });
        return { document, status };
      });
    },

    async get(tenantId: string, id: string, withChunks: boolean): Promise<{ document: Document; chunks?: DocumentChunk[] }> {
      return db.withTenant(
        tenantId,
        async (tx) => {
          const document = await docs.getDocument(tx, tenantId, id);
          if (!document) throw new PlinthError('NOT_FOUND', `No document ${id}.`);
          return withChunks ? { document, chunks: await docs.listChunks(tx, tenantId, id) } : { document };
        },
        { readOnly: true },
      );
    },

    async list(tenantId: string, limit: number): Promise<Document[]> {
      return db.withTenant(tenantId, (tx) => docs.listDocuments(tx, tenantId, limit), { readOnly: true });
    },

    async delete(tenantId: string, id: string, audit: Audit): Promise<void> {
      await db.withTenant(tenantId, async (tx) => {
        if (!(await docs.deleteDocument(tx, tenantId, id))) throw new PlinthError('NOT_FOUND', `No document ${id}.`);
        await deps.audit(tx, tenantId, audit, 'document.deleted', id);
      });
    },

    /** Memories and document chunks together, each fused by reciprocal rank, merged by score. */
    async search(tenantId: string, raw: CombinedSearchInput): Promise<CombinedResult[]> {
      const q = combinedSearchInput.parse(raw);
      const queryVector = q.mode !== 'fulltext' ? store.vectorLiteral((await embedder.embed([q.query]))[0]!) : null;
      const candidates = searchDepth(q.k, false);
      const common = { tenantId, space, queryVector, queryText: q.query, mode: q.mode, candidates, limit: q.k, scope: q, filters: q.filters };
      const [memories, chunks] = await db.withTenant(
        tenantId,
        async (tx) => [
          q.sources.includes('memories')
            ? await store.search(tx, { ...common, asOf: q.as_of, recencyHalfLifeDays: undefined, withEmbeddings: false })
            : [],
          q.sources.includes('documents') ? await docs.searchChunks(tx, common) : [],
        ] as const,
        { readOnly: true, settings: searchSettings(candidates) },
      );
      const results: CombinedResult[] = [
        ...memories.map((r): CombinedResult => {
          const memory = store.toMemory(r);
          return { type: 'memory', id: memory.id, text: memory.text, score: r.score, scores: scoresOf(r), memory };
        }),
        ...chunks.map(
          (r): CombinedResult => ({
            type: 'chunk',
            id: r.id,
            text: r.text,
            score: r.score,
            scores: scoresOf(r),
            chunk: {
              id: r.id,
              document_id: r.document_id,
              position: r.position,
              text: r.text,
              heading_path: r.heading_path,
              kind: r.kind,
              page: r.page,
              start_offset: r.start_offset,
              end_offset: r.end_offset,
              tokens: r.tokens,
            },
            document: { id: r.document_id, name: r.doc_name, title: r.doc_title, key: r.doc_key },
          }),
        ),
      ];
      return results.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id)).slice(0, q.k);
    },
  };
}

function scoresOf(r: { vector_score: number | null; fulltext_score: number | null; vector_rank: number | null; fulltext_rank: number | null }) {
  return { vector: r.vector_score, fulltext: r.fulltext_score, vector_rank: r.vector_rank, fulltext_rank: r.fulltext_rank };
}
