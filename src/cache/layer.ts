// The gateway's cache in front of the upstreams: the exact cache first, then the semantic cache.
// One lookup per chat call decides the outcome (exact, semantic, miss, or bypass when the request
// is not cacheable) and returns how to store the completion of a miss. Cache failures never fail
// a call: a store that is down turns lookups into misses (or bypasses) and writes into no-ops.
// A lookup starts with two reads issued together (`begin`): the invalidation counters and the
// exact entry. The exact entry's key is the request's hash alone; the entry records the
// generation it was written under and is served only while that is still the current one, so
// the entry can be read without waiting for the counters, and an invalidation still hides it.
import { createHash } from 'node:crypto';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Embedder } from '../embeddings/index.js';
import { PlinthError } from '../errors.js';
import type { ChatCompletion, ChatRequest } from '../gateway/schema.js';
import type { Logger } from '../telemetry/logger.js';
import { guard, type GuardReason } from './guard.js';
import { exactCacheKey, lastUserText, semanticPartitionKey } from './key.js';
import type { CacheStore } from './port.js';
import { MAX_TAGS, TAG_PATTERN, type Generation, type SemanticCacheStore } from './semantic.js';

export interface CacheSettings {
  /** Exact cache on/off, and the highest temperature it serves. */
  cache: boolean;
  cacheTtlMs: number;
  cacheMaxTemperature: number;
  semanticCache: boolean;
  /** Cosine similarity a cached question needs to answer a new one. */
  semanticThreshold: number;
  semanticMaxTemperature: number;
}

export interface LookupOptions {
  /** Tags recorded with what this call writes (invalidation by tag). */
  tags?: readonly string[];
  /** Per request: false turns the semantic cache off, true allows it above its temperature bound. */
  semantic?: boolean;
  signal?: AbortSignal;
}

export type CacheOutcome = 'exact' | 'semantic' | 'miss' | 'bypass';

export interface CacheLookup {
  outcome: CacheOutcome;
  hit?: ChatCompletion;
  /** Cosine similarity of a semantic hit. */
  similarity?: number;
  /** Stores the completion of a miss, in the background; a no-op unless the outcome is miss. */
  store: (completion: ChatCompletion) => void;
}

export interface CacheLayerDeps {
  settings: CacheSettings;
  exact: CacheStore;
  semantic: SemanticCacheStore;
  embedder: Embedder;
  logger: Logger;
  registry: Registry;
}

/** Candidates above the threshold the guard may look at, best first. */
const GUARD_CANDIDATES = 4;

interface SemanticMetrics {
  lookups: Counter<'outcome'>;
  refusals: Counter<'reason'>;
  similarity: Histogram;
}

function semanticMetrics(registry: Registry): SemanticMetrics {
  const existing = registry.getSingleMetric('plinth_llm_semantic_cache_lookups_total');
  if (existing) {
    return {
      lookups: existing as Counter<'outcome'>,
      refusals: registry.getSingleMetric('plinth_llm_semantic_cache_refusals_total') as Counter<'reason'>,
      similarity: registry.getSingleMetric('plinth_llm_semantic_cache_best_similarity') as Histogram,
    };
  }
  return {
    lookups: new Counter({
      name: 'plinth_llm_semantic_cache_lookups_total',
      help: 'Semantic cache lookups by outcome: hit, miss, refused (similar enough but stopped by the guard), error.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'plinth_llm_semantic_cache_refusals_total',
      help: 'Similar cached questions the guard refused, by reason: negation, number, entity, antonym.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    similarity: new Histogram({
      name: 'plinth_llm_semantic_cache_best_similarity',
      help: 'Cosine similarity of the best cached question of each semantic lookup that found one above 0.5.',
      buckets: [0.5, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 1],
      registers: [registry],
    }),
  };
}

/** Parses the `x-plinth-cache-tags` header: comma-separated tags. */
/**
 * The cache tag of completions cached for an end user (the OpenAI `user` request field), so that
 * erasing the user drops them. A hash: the tag names the user without holding the identifier.
 */
export function userCacheTag(userId: string): string {
  return `user:${createHash('sha256').update(userId).digest('hex').slice(0, 32)}`;
}

export function parseCacheTags(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const raw = (Array.isArray(header) ? header.join(',') : header)
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  const tags = [...new Set(raw)];
  const bad = tags.find((t) => !TAG_PATTERN.test(t));
  if (bad !== undefined) {
    throw new PlinthError('VALIDATION_FAILED', `Cache tag "${bad.slice(0, 80)}" is invalid: 1–64 letters, digits, _ . : / or -, starting with a letter or digit.`, { param: 'x-plinth-cache-tags' });
  }
  if (tags.length > MAX_TAGS) throw new PlinthError('VALIDATION_FAILED', `At most ${MAX_TAGS} cache tags per request.`, { param: 'x-plinth-cache-tags' });
  return tags.sort();
}

/** Parses the `x-plinth-semantic-cache` header: on | off (absent: configuration decides). */
export function parseSemanticHeader(header: string | string[] | undefined): boolean | undefined {
  if (header === undefined) return undefined;
  const v = (Array.isArray(header) ? header[0] : header)?.trim().toLowerCase();
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw new PlinthError('VALIDATION_FAILED', 'x-plinth-semantic-cache must be "on" or "off".', { param: 'x-plinth-semantic-cache' });
}

interface ExactValue {
  /** The tenant and model generations the entry was written under (Generation.base). */
  gen: string;
  tags: Record<string, number>;
  completion: ChatCompletion;
}

/** A lookup whose reads are in flight; finish() decides it (call it at most once). */
export type PendingLookup = () => Promise<CacheLookup>;

const bypass: CacheLookup = { outcome: 'bypass', store: () => undefined };

export type CacheLayer = ReturnType<typeof createCacheLayer>;

export function createCacheLayer(deps: CacheLayerDeps) {
  const { settings: s, exact, semantic, embedder, logger } = deps;
  const metrics = semanticMetrics(deps.registry);
  const space = `${embedder.provider}:${embedder.model}:${embedder.dimensions}`;
  const warn = (what: string) => (err: unknown) => logger.warn({ err: { message: (err as Error).message } }, `gateway: ${what}`);

  /** The completion of an exact entry still valid under `gen`; undefined for none, stale or unreadable. */
  async function exactHit(read: PromiseSettledResult<string | undefined>, gen: Generation, tenantId: string): Promise<ChatCompletion | undefined> {
    try {
      if (read.status === 'rejected') throw read.reason;
      if (read.value === undefined) return undefined;
      const v = JSON.parse(read.value) as ExactValue;
      if (v.gen !== gen.base) return undefined;
      // Tags of the request were read with the generations; others (an entry written with other
      // tags) are read now.
      let others: Record<string, number> | undefined;
      for (const tag in v.tags) {
        const current = gen.tags[tag];
        if (current === undefined) (others ??= {})[tag] = v.tags[tag]!;
        else if (current !== v.tags[tag]) return undefined;
      }
      if (others && !(await semantic.tagsCurrent(tenantId, others))) return undefined;
      return v.completion;
    } catch (err) {
      warn('cache read failed; treated as a miss')(err);
      return undefined;
    }
  }

  async function embed(text: string, signal: AbortSignal | undefined): Promise<Float32Array | undefined> {
    try {
      return (await embedder.embed([text], signal ? { signal } : {}))[0];
    } catch (err) {
      if (signal?.aborted) throw err;
      warn('cannot embed the last message for the semantic cache; skipped')(err);
      return undefined;
    }
  }

  /**
   * Issues the first reads of a lookup (invalidation counters and exact entry) at once, so that
   * they share a round trip with whatever else the caller issues now; finish() decides.
   */
  function begin(tenantId: string, req: ChatRequest, options: LookupOptions = {}): PendingLookup {
    const temperature = req.temperature ?? 1;
    const exactOn = s.cache && temperature <= s.cacheMaxTemperature;
    const text = lastUserText(req);
    const semanticOn =
      s.semanticCache && options.semantic !== false && text !== undefined && (temperature <= s.semanticMaxTemperature || options.semantic === true);
    if (!exactOn && !semanticOn) return () => Promise.resolve(bypass);
    const tags = options.tags ?? [];
    const key = exactOn ? exactCacheKey(tenantId, req) : undefined;
    // Settled, not raced: a refused call never finishes its lookup, and nothing is left unhandled.
    const reads = Promise.allSettled([semantic.generation({ tenantId, model: req.model }, tags), key === undefined ? Promise.resolve(undefined) : exact.get(key)]);
    return () => finish(tenantId, req, options, text, semanticOn, key, reads);
  }

  return {
    settings: s,

    begin,

    lookup(tenantId: string, req: ChatRequest, options: LookupOptions = {}): Promise<CacheLookup> {
      return begin(tenantId, req, options)();
    },

    /** Invalidates the tenant's cached completions: all of them, one model's, or one tag's. */
    invalidate(tenantId: string, target: { model?: string; tag?: string } = {}): Promise<void> {
      if (target.tag !== undefined && !TAG_PATTERN.test(target.tag)) throw new PlinthError('VALIDATION_FAILED', 'Invalid cache tag.', { param: 'tag' });
      return semantic.invalidate(tenantId, target);
    },

    close(): Promise<void> {
      return semantic.close();
    },
  };

  async function finish(
    tenantId: string,
    req: ChatRequest,
    options: LookupOptions,
    text: string | undefined,
    semanticOn: boolean,
    key: string | undefined,
    reads: Promise<[PromiseSettledResult<Generation>, PromiseSettledResult<string | undefined>]>,
  ): Promise<CacheLookup> {
    const [genRead, exactRead] = await reads;
    if (genRead.status === 'rejected') {
      // Without the invalidation counters nothing can be served or written safely.
      warn('cache generations unreadable; cache bypassed')(genRead.reason);
      return bypass;
    }
    const gen = genRead.value;
    if (key) {
      const hit = await exactHit(exactRead, gen, tenantId);
      if (hit) return { outcome: 'exact', hit, store: () => undefined };
    }
    let vector: Float32Array | undefined;
    let partition: string | undefined;
    if (semanticOn && text !== undefined) {
      partition = `${tenantId}:${gen.base}:${semanticPartitionKey(tenantId, req, space)}`;
      vector = await embed(text, options.signal);
      if (vector) {
        try {
          const candidates = await semantic.search(tenantId, partition, vector, { minScore: Math.min(0.5, s.semanticThreshold), limit: GUARD_CANDIDATES });
          if (candidates[0]) metrics.similarity.observe(candidates[0].score);
          let refused: GuardReason | undefined;
          for (const c of candidates) {
            if (c.score < s.semanticThreshold) break;
            const verdict = guard(c.text, text);
            if (verdict.ok) {
              metrics.lookups.inc({ outcome: 'hit' });
              return { outcome: 'semantic', hit: JSON.parse(c.value) as ChatCompletion, similarity: c.score, store: () => undefined };
            }
            refused ??= verdict.reason;
            metrics.refusals.inc({ reason: verdict.reason ?? 'unknown' });
          }
          metrics.lookups.inc({ outcome: refused ? 'refused' : 'miss' });
        } catch (err) {
          metrics.lookups.inc({ outcome: 'error' });
          warn('semantic cache read failed; treated as a miss')(err);
        }
      } else {
        metrics.lookups.inc({ outcome: 'error' });
      }
    }
    return {
      outcome: 'miss',
      store(completion) {
        if (key) exact.set(key, JSON.stringify({ gen: gen.base, tags: gen.tags, completion } satisfies ExactValue), s.cacheTtlMs).catch(warn('cache write failed'));
        if (partition && vector && text !== undefined) {
          semantic.insert(partition, vector, { text, value: JSON.stringify(completion), tags: gen.tags }).catch(warn('semantic cache write failed'));
        }
      },
    };
  }
}
