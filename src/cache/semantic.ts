// The SemanticCacheStore port: bounded sets of (question embedding, answer) entries per
// partition, searched by cosine similarity, plus the generation counters that make
// invalidation by tenant, model or tag O(1) and race-free.
//
// Invalidation never deletes: it bumps a counter. The counters of the tenant and of the
// (tenant, model) pair are part of every cache key, so entries written before the bump are
// simply never looked up again (and age out by TTL and the per-partition bound). Tags are
// recorded with their counter on each entry; an entry whose tag counter moved is ignored. A
// completion that was in flight during an invalidation is written under the generation it read
// before the call, so it cannot bring stale content back.
import { createHash } from 'node:crypto';
import { z } from 'zod';

export interface CacheScope {
  tenantId: string;
  model: string;
}

/** What a cache key must carry to respect invalidations. */
export interface Generation {
  /** Tenant and (tenant, model) counters, e.g. "g0.3". */
  base: string;
  /** The counter of every tag of the request. */
  tags: Record<string, number>;
}

export interface SemanticEntry {
  /** The last user message the answer was given to (for the guard). */
  text: string;
  /** The cached completion, serialised. */
  value: string;
  /** Tags with their generation at write time. */
  tags: Record<string, number>;
}

export interface SemanticCandidate extends SemanticEntry {
  /** Cosine similarity to the query vector. */
  score: number;
}

export interface SemanticSearchOptions {
  /** Only entries at least this similar are returned. */
  minScore: number;
  /** At most this many, best first. */
  limit: number;
}

export interface SemanticStoreOptions {
  /** Entries kept per partition; the least recently used is evicted first. */
  maxPerPartition: number;
  ttlMs: number;
  now?: () => number;
}

export interface SemanticCacheStore {
  readonly kind: 'memory' | 'redis';
  generation(scope: CacheScope, tags: readonly string[]): Promise<Generation>;
  /** True when every tag still has the recorded generation. */
  tagsCurrent(tenantId: string, tags: Record<string, number>): Promise<boolean>;
  /** Live entries of `partition` similar to `vector` (unit length), tag-invalidated ones left out. */
  search(tenantId: string, partition: string, vector: Float32Array, options: SemanticSearchOptions): Promise<SemanticCandidate[]>;
  /** Stores an entry; the same text in the same partition replaces the earlier entry. */
  insert(partition: string, vector: Float32Array, entry: SemanticEntry): Promise<void>;
  /** Invalidates a whole tenant, one model of it, or one tag of it. */
  invalidate(tenantId: string, target?: { model?: string; tag?: string }): Promise<void>;
  close(): Promise<void>;
}

/** Stable id of an entry within its partition: identical texts share one slot. */
export function entryId(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 16);
}

export function generationBase(tenantGen: number, modelGen: number): string {
  return `g${tenantGen}.${modelGen}`;
}

/** Dot product; both unit length, so the cosine. */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export const TAG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$/;
export const MAX_TAGS = 16;

/** Keeps the best `limit` candidates at or above `minScore`, best first. */
export function topCandidates<T extends { score: number }>(items: T[], options: SemanticSearchOptions): T[] {
  return items
    .filter((c) => c.score >= options.minScore)
    .sort((a, b) => b.score - a.score)
    .slice(0, options.limit);
}

/** What POST /v1/cache/invalidate accepts: nothing (the whole tenant), a model, or a tag. */
export const cacheInvalidationSchema = z
  .object({
    model: z.string().min(1).max(256).optional(),
    tag: z.string().regex(TAG_PATTERN, 'a tag is 1–64 letters, digits, _ . : / or -, starting with a letter or digit').optional(),
  })
  .strict()
  .refine((v) => v.model === undefined || v.tag === undefined, { message: 'give a model or a tag, not both' });
export type CacheInvalidation = z.infer<typeof cacheInvalidationSchema>;
