// SQL building blocks shared by memory and document-chunk retrieval: the candidate CTEs of each
// retriever and their reciprocal rank fusion. Values travel as bind parameters; only validated
// integers (dimensions, space ids, list depths and limits) and fixed identifiers are written into
// the SQL text.
import { PlinthError } from '../errors.js';
import type { SqlParams } from './filters.js';

/** Reciprocal rank fusion constant (Cormack et al.): dampens the weight of top ranks. */
export const RRF_K = 60;

/**
 * Candidates fused from each retriever. Fusing only the top max(k, 10) of each list keeps a
 * full-text hit that is weak for the vector side from outranking the vector list's own top hits
 * (with 40-deep lists, recall@5 fell below vector-only search); MMR needs a wider pool to diversify.
 */
export function searchDepth(k: number, mmr: boolean): number {
  return mmr ? Math.min(1000, Math.max(40, k * 4)) : Math.max(10, k);
}

/** HNSW search breadth: at least 100 (recall@10 >= 0.95 at 100k memories; 40 gave 0.935). */
export function efSearch(candidates: number): number {
  return Math.min(1000, Math.max(100, candidates));
}

/**
 * Settings of a search transaction: the HNSW breadth, and the generic plan of the prepared search
 * statement from its first call (left to itself PostgreSQL plans the first five calls on each
 * connection, about 1 ms each, and may return to custom plans). The generic plan takes the same
 * index paths for any values (test/integration/memory-search-isolation.test.ts).
 */
export function searchSettings(candidates: number): Readonly<Record<string, number | string>> {
  return { 'hnsw.ef_search': efSearch(candidates), plan_cache_mode: 'force_generic_plan' };
}

/**
 * A list depth or limit written into the statement text rather than bound: the planner then knows
 * it, also in the generic plan of the prepared statement (a bound LIMIT is estimated at a tenth of
 * the table, which can make an index scan look dearer than reading everything).
 */
export function sqlInt(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new PlinthError('INTERNAL', `invalid limit ${n}`);
  return String(n);
}

export interface RetrieverCtes {
  /** `vec(id, rank, score)`: nearest neighbours by cosine, or an empty CTE. */
  vec: string;
  /** `tsq` + `fts(id, rank, score)`: full-text matches, or an empty CTE. */
  fts: string;
}

export interface VectorCandidates {
  /** FROM clause (with joins) naming the table alias `c` holding `embedding` and `space_id`. */
  from: string;
  where: string;
  dimensions: number;
  spaceId: number;
  queryVector: string;
}

export interface TextCandidates {
  /** The SECURITY DEFINER function of migration 0007 that returns `(id, score)` full-text matches. */
  fn: 'plinth_memory_fulltext' | 'plinth_chunk_fulltext';
  /** Its arguments after the tsquery and the limit (scope, and `as_of` for memories), as SQL. */
  args: string;
  /**
   * Filters the function cannot apply (tags, metadata, source, dates): when set, the function
   * returns every match and these predicates run on `from` (one table, or a parenthesised join)
   * joined by primary key, before the limit.
   */
  extra: { from: string; where: string } | null;
  query: string;
}

export function retrieverCtes(p: SqlParams, candidates: string, vector: VectorCandidates | null, text: TextCandidates | null): RetrieverCtes {
  let vec = `vec AS (SELECT NULL::uuid AS id, NULL::bigint AS rank, NULL::float8 AS score WHERE false)`;
  if (vector) {
    const dims = vector.dimensions;
    const v = p.add(vector.queryVector);
    // The ORDER BY expression matches the partial HNSW index of the space, so the index serves it
    // (the distance operator need not be leakproof: it only orders, the policy still filters).
    vec = `vec AS (
      SELECT id, row_number() OVER (ORDER BY dist) AS rank, 1 - dist AS score FROM (
        SELECT c.id, c.embedding::vector(${dims}) <=> ${v}::vector(${dims}) AS dist
          FROM ${vector.from}
         WHERE c.space_id = ${vector.spaceId} AND ${vector.where}
         ORDER BY c.embedding::vector(${dims}) <=> ${v}::vector(${dims})
         LIMIT ${candidates}) x)`;
  }
  let fts = `fts AS (SELECT NULL::uuid AS id, NULL::bigint AS rank, NULL::float4 AS score WHERE false)`;
  if (text) {
    const q = p.add(text.query);
    // Full text goes through a SECURITY DEFINER function: under row-level security the `@@`
    // operator (not leakproof) could not use the GIN index and every row would be read.
    const extra = text.extra;
    const source = extra
      ? `tsq, ${text.fn}(tsq.q, NULL, ${text.args}) f JOIN ${extra.from} ON c.id = f.id WHERE ${extra.where}`
      : `tsq, ${text.fn}(tsq.q, ${candidates}::int, ${text.args}) f`;
    // OR the query's lexemes: questions rarely contain every word of the answer.
    fts = `tsq AS (SELECT CASE WHEN numnode(plainto_tsquery('english', ${q})) = 0 THEN NULL
                     ELSE replace(plainto_tsquery('english', ${q})::text, ' & ', ' | ')::tsquery END AS q),
      fts AS (
      SELECT id, row_number() OVER (ORDER BY score DESC, id) AS rank, score FROM (
        SELECT f.id, f.score FROM ${source}
         ORDER BY f.score DESC, f.id
         LIMIT ${candidates}) x)`;
  }
  return { vec, fts };
}

/**
 * `fused(id, vector_score, fulltext_score, vector_rank, fulltext_rank, rrf)` over `vec` and `fts`.
 * Materialised so that its `id` is a plain column for the join back to the table: a join on
 * `coalesce(…)` is not leakproof and, under row-level security, turned into a full table scan.
 */
export const FUSED_CTE = `fused AS MATERIALIZED (
  SELECT coalesce(vec.id, fts.id) AS id, vec.score AS vector_score, fts.score::float8 AS fulltext_score,
         vec.rank AS vector_rank, fts.rank AS fulltext_rank,
         coalesce(1.0 / (${RRF_K} + vec.rank), 0) + coalesce(1.0 / (${RRF_K} + fts.rank), 0) AS rrf
    FROM vec FULL OUTER JOIN fts ON vec.id = fts.id
)`;
