// SQL building blocks shared by memory and document-chunk retrieval: the candidate CTEs of each
// retriever and their reciprocal rank fusion. Values travel as bind parameters; only validated
// integers (dimensions, space ids) and fixed identifiers are written into the SQL text.
import type { SqlParams } from './filters.js';

/** Reciprocal rank fusion constant (Cormack et al.): dampens the weight of top ranks. */
export const RRF_K = 60;

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
  /** FROM clause naming the alias `c` holding `fts`. */
  from: string;
  where: string;
  query: string;
}

export function retrieverCtes(p: SqlParams, candidates: string, vector: VectorCandidates | null, text: TextCandidates | null): RetrieverCtes {
  let vec = `vec AS (SELECT NULL::uuid AS id, NULL::bigint AS rank, NULL::float8 AS score WHERE false)`;
  if (vector) {
    const dims = vector.dimensions;
    const v = p.add(vector.queryVector);
    // The ORDER BY expression matches the partial HNSW index of the space, so the index serves it.
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
    // OR the query's lexemes: questions rarely contain every word of the answer.
    fts = `tsq AS (SELECT CASE WHEN numnode(plainto_tsquery('english', ${q})) = 0 THEN NULL
                     ELSE replace(plainto_tsquery('english', ${q})::text, ' & ', ' | ')::tsquery END AS q),
      fts AS (
      SELECT id, row_number() OVER (ORDER BY score DESC, id) AS rank, score FROM (
        SELECT c.id, ts_rank_cd(c.fts, tsq.q) AS score
          FROM ${text.from}, tsq
         WHERE tsq.q IS NOT NULL AND c.fts @@ tsq.q AND ${text.where}
         ORDER BY score DESC, c.id
         LIMIT ${candidates}) x)`;
  }
  return { vec, fts };
}

/** `fused(id, vector_score, fulltext_score, vector_rank, fulltext_rank, rrf)` over `vec` and `fts`. */
export const FUSED_CTE = `fused AS (
  SELECT coalesce(vec.id, fts.id) AS id, vec.score AS vector_score, fts.score::float8 AS fulltext_score,
         vec.rank AS vector_rank, fts.rank AS fulltext_rank,
         coalesce(1.0 / (${RRF_K} + vec.rank), 0) + coalesce(1.0 / (${RRF_K} + fts.rank), 0) AS rrf
    FROM vec FULL OUTER JOIN fts ON vec.id = fts.id
)`;
