// Agent memory use cases: add (batched, deduplicated, idempotent), get, list, update (versioned),
// delete, history and hybrid search. Embeddings are computed before a transaction opens, so no
// transaction waits on a model; every write is one transaction.
import { createHash } from 'node:crypto';
import type { Audit } from '../auth/index.js';
import type { Database, Tx } from '../db/index.js';
import type { Embedder } from '../embeddings/index.js';
import { PlinthError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { AddMemoriesInput, ListInput, Memory, MemoryVersion, SearchInput, SearchResult, UpdateMemoryInput } from './schema.js';
import { searchInput } from './schema.js';
import { searchDepth, searchSettings } from './hybrid.js';
import * as store from './store.js';

export interface MemoryServiceDeps {
  db: Database;
  embedder: Embedder;
  /** Appends to the audit log inside the caller's transaction. */
  audit: (tx: Tx, tenantId: string, audit: Audit, action: string, target?: string, details?: Record<string, unknown>) => Promise<void>;
  logger?: Logger;
  /** Search latency is observed here when given. */
  metrics?: Pick<Metrics, 'memorySearchDuration'>;
}

export type MemoryService = Awaited<ReturnType<typeof createMemoryService>>;

/** Content identity: Unicode-normalised text with whitespace runs collapsed. */
export function contentHash(text: string): Buffer {
  return createHash('sha256').update(text.normalize('NFC').replace(/\s+/g, ' ').trim(), 'utf8').digest();
}

export async function createMemoryService(deps: MemoryServiceDeps) {
  const { db, embedder } = deps;
  const space = await db.withSystem((tx) => store.ensureSpace(tx, embedder.provider, embedder.model, embedder.dimensions));

  async function embedOne(text: string): Promise<string> {
    const [v] = await embedder.embed([text]);
    if (!v) throw new PlinthError('INTERNAL', 'The embedder returned no vector.');
    return store.vectorLiteral(v);
  }

  return {
    space,
    embedder,

    /** Vectors stored in another embedding space: invisible to vector search until re-embedded. */
    async staleVectors(): Promise<number> {
      const res = await db.withSystem(
        (tx) =>
          tx.query<{ n: number }>(
            `SELECT ((SELECT count(*) FROM memories WHERE space_id IS DISTINCT FROM $1) +
                     (SELECT count(*) FROM document_chunks WHERE space_id IS DISTINCT FROM $1))::int AS n`,
            [space.id],
          ),
        { readOnly: true },
      );
      return res.rows[0]?.n ?? 0;
    },

    /**
     * Move every memory and chunk into the current embedding space, batch by batch. Each batch is
     * its own transaction, so the command can be interrupted and run again: it resumes where it stopped.
     */
    async reembed(options: { batchSize?: number; onBatch?: (done: number) => void } = {}): Promise<{ memories: number; chunks: number }> {
      const batchSize = Math.max(1, Math.min(4096, options.batchSize ?? 256));
      const counts = { memories: 0, chunks: 0 };
      for (const [table, key] of [['memories', 'memories'], ['document_chunks', 'chunks']] as const) {
        for (;;) {
          const batch = await db.withSystem((tx) =>
            tx.query<{ id: string; text: string }>(`SELECT id, text FROM ${table} WHERE space_id IS DISTINCT FROM $1 ORDER BY id LIMIT $2`, [space.id, batchSize]),
          );
          if (batch.rows.length === 0) break;
          const vectors = await embedder.embed(batch.rows.map((r) => r.text));
          await db.withSystem((tx) =>
            tx.query(
              `UPDATE ${table} t SET embedding = u.e::vector, space_id = $1 FROM unnest($2::uuid[], $3::text[]) AS u(id, e) WHERE t.id = u.id`,
              [space.id, batch.rows.map((r) => r.id), vectors.map((v) => store.vectorLiteral(v))],
            ),
          );
          counts[key] += batch.rows.length;
          options.onBatch?.(counts.memories + counts.chunks);
        }
      }
      return counts;
    },

    /**
     * `vectors` lets a caller that already holds embeddings from this embedder (bulk imports,
     * benchmarks) skip the embedding call; they are checked like any embedder output.
     */
    async add(tenantId: string, input: AddMemoriesInput, audit: Audit, options: { vectors?: readonly Float32Array[] } = {}): Promise<Array<Memory & { deduplicated: boolean }>> {
      for (const m of input.memories) {
        const from = m.valid_from ? Date.parse(m.valid_from) : Date.now();
        if (m.valid_to && Date.parse(m.valid_to) <= from) throw new PlinthError('VALIDATION_FAILED', 'valid_to must be after valid_from.');
      }
      const vectors = options.vectors ? checkVectors(options.vectors, input.memories.length, embedder.dimensions) : await embedder.embed(input.memories.map((m) => m.text));
      const rows: store.InsertMemory[] = input.memories.map((m, i) => ({
        text: m.text,
        agent_id: m.agent_id ?? null,
        user_id: m.user_id ?? null,
        session_id: m.session_id ?? null,
        metadata: m.metadata ?? {},
        tags: [...new Set(m.tags ?? [])],
        source: m.source ?? null,
        contentHash: contentHash(m.text),
        idempotencyKey: m.idempotency_key ?? null,
        validFrom: m.valid_from ?? null,
        validTo: m.valid_to ?? null,
        expiresAt: m.expires_at ?? null,
        embedding: store.vectorLiteral(vectors[i]!),
      }));
      return db.withTenant(tenantId, async (tx) => {
        const inserted = await store.insertMemories(tx, tenantId, space.id, rows, audit.actor);
        // When every input was inserted there is nothing to resolve; otherwise resolve every input,
        // inserted or deduplicated, in one more query within the same transaction.
        const all = inserted.length === rows.length ? inserted : await store.findExisting(tx, tenantId, rows);
        const insertedIds = new Set(inserted.map((m) => m.id));
        const scopeKey = (r: { agent_id: string | null; user_id: string | null; session_id: string | null }, hash: string) =>
          JSON.stringify([r.agent_id ?? '', r.user_id ?? '', r.session_id ?? '', hash]);
        const byScope = new Map(all.map((m) => [scopeKey(m, m.content_hash), m]));
        const byIdem = new Map<string, Memory>();
        for (const m of all) if (m.idempotency_key) byIdem.set(m.idempotency_key, m);
        const claimed = new Set<string>();
        return rows.map((r) => {
          const m = (r.idempotencyKey ? byIdem.get(r.idempotencyKey) : undefined) ?? byScope.get(scopeKey(r, r.contentHash.toString('hex')));
          if (!m) throw new PlinthError('CONFLICT', 'A concurrent write changed this memory; retry the request.');
          const created = insertedIds.has(m.id) && !claimed.has(m.id);
          claimed.add(m.id);
          return { ...m, deduplicated: !created };
        });
      });
    },

    async get(tenantId: string, id: string): Promise<Memory> {
      const m = await db.withTenant(tenantId, (tx) => store.getMemory(tx, tenantId, id), { readOnly: true });
      if (!m) throw new PlinthError('NOT_FOUND', `No memory ${id}.`);
      return m;
    },

    async list(tenantId: string, input: ListInput) {
      return db.withTenant(tenantId, (tx) => store.listMemories(tx, tenantId, input), { readOnly: true });
    },

    async update(tenantId: string, id: string, input: UpdateMemoryInput, audit: Audit): Promise<Memory> {
      const embedding = input.text !== undefined ? await embedOne(input.text) : undefined;
      return db.withTenant(tenantId, async (tx) => {
        const current = await store.lockMemory(tx, tenantId, id);
        if (!current) throw new PlinthError('NOT_FOUND', `No memory ${id}.`);
        if (input.expected_version !== undefined && current.version !== input.expected_version) {
          throw new PlinthError('CONFLICT', `The memory is at version ${current.version}, not ${input.expected_version}.`, { current_version: current.version });
        }
        return store.updateMemory(
          tx,
          tenantId,
          id,
          {
            text: input.text,
            contentHash: input.text !== undefined ? contentHash(input.text) : undefined,
            embedding,
            spaceId: embedding !== undefined ? space.id : undefined,
            metadata: input.metadata,
            tags: input.tags ? [...new Set(input.tags)] : undefined,
            validTo: input.valid_to,
            expiresAt: input.expires_at,
          },
          audit.actor,
        );
      });
    },

    async delete(tenantId: string, id: string, audit: Audit): Promise<void> {
      await db.withTenant(tenantId, async (tx) => {
        if (!(await store.deleteMemory(tx, tenantId, id))) throw new PlinthError('NOT_FOUND', `No memory ${id}.`);
        await deps.audit(tx, tenantId, audit, 'memory.deleted', id);
      });
    },

    async history(tenantId: string, id: string): Promise<MemoryVersion[]> {
      const versions = await db.withTenant(tenantId, (tx) => store.history(tx, tenantId, id), { readOnly: true });
      if (versions.length === 0) throw new PlinthError('NOT_FOUND', `No memory ${id}.`);
      return versions;
    },

    async search(tenantId: string, raw: SearchInput, options: { queryVector?: Float32Array } = {}): Promise<SearchResult[]> {
      const q = searchInput.parse(raw);
      const started = performance.now();
      const needVector = q.mode !== 'fulltext';
      const queryVector = !needVector
        ? null
        : options.queryVector
          ? store.vectorLiteral(checkVectors([options.queryVector], 1, embedder.dimensions)[0]!)
          : await embedOne(q.query);
      const mmr = q.mmr_lambda !== undefined && q.mmr_lambda < 1;
      const candidates = searchDepth(q.k, mmr);
      const rows = await db.withTenant(
        tenantId,
        (tx) =>
          store.search(tx, {
            tenantId,
            space,
            queryVector,
            queryText: q.query,
            mode: q.mode,
            candidates,
            limit: mmr ? candidates : q.k,
            scope: q,
            filters: q.filters,
            asOf: q.as_of,
            recencyHalfLifeDays: q.recency_half_life_days,
            withEmbeddings: mmr,
          }),
        { readOnly: true, oneStatement: true, settings: searchSettings(candidates) },
      );
      const picked = mmr ? maximalMarginalRelevance(rows, q.k, q.mmr_lambda!) : rows;
      deps.metrics?.memorySearchDuration.observe({ mode: q.mode }, (performance.now() - started) / 1000);
      return picked.map((r) => ({
        ...store.toMemory(r),
        score: r.score,
        scores: { vector: r.vector_score, fulltext: r.fulltext_score, vector_rank: r.vector_rank, fulltext_rank: r.fulltext_rank },
      }));
    },
  };
}

function checkVectors(vectors: readonly Float32Array[], count: number, dimensions: number): readonly Float32Array[] {
  if (vectors.length !== count) throw new PlinthError('VALIDATION_FAILED', `Expected ${count} vectors, got ${vectors.length}.`);
  for (const v of vectors) {
    if (v.length !== dimensions) throw new PlinthError('VALIDATION_FAILED', `Vectors must have ${dimensions} dimensions, not ${v.length}.`);
    for (const x of v) if (!Number.isFinite(x)) throw new PlinthError('VALIDATION_FAILED', 'Vectors must hold finite numbers.');
  }
  return vectors;
}

/** Greedy MMR over fused candidates: relevance is the fused score, redundancy the cosine to picks. */
export function maximalMarginalRelevance<T extends { score: number; embedding_text?: string | null }>(rows: T[], k: number, lambda: number): T[] {
  if (rows.length <= 1) return rows.slice(0, k);
  const vecs = rows.map((r) => (r.embedding_text ? (JSON.parse(r.embedding_text) as number[]) : null));
  const maxScore = Math.max(...rows.map((r) => r.score)) || 1;
  const picked: number[] = [];
  const left = new Set(rows.map((_, i) => i));
  while (picked.length < k && left.size > 0) {
    let best = -1;
    let bestValue = -Infinity;
    for (const i of left) {
      let redundancy = 0;
      const vi = vecs[i];
      if (vi) for (const j of picked) redundancy = Math.max(redundancy, cosine(vi, vecs[j] ?? vi));
      const value = lambda * (rows[i]!.score / maxScore) - (1 - lambda) * redundancy;
      if (value > bestValue) {
        bestValue = value;
        best = i;
      }
    }
    picked.push(best);
    left.delete(best);
  }
  return picked.map((i) => rows[i]!);
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}
