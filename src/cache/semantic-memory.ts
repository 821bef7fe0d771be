// In-process SemanticCacheStore: one LRU Map of entries per partition (bounded by
// maxPerPartition), partitions themselves in LRU order, and a bound on entries over all
// partitions (the least recently used partition gives up its oldest entry first).
import {
  dot,
  entryId,
  generationBase,
  topCandidates,
  type CacheScope,
  type Generation,
  type SemanticCacheStore,
  type SemanticCandidate,
  type SemanticEntry,
  type SemanticStoreOptions,
} from './semantic.js';

interface Stored extends SemanticEntry {
  vector: Float32Array;
  until: number;
}

export interface MemorySemanticOptions extends SemanticStoreOptions {
  /** Entries over all partitions. */
  maxEntries: number;
}

export function createMemorySemanticStore(options: MemorySemanticOptions): SemanticCacheStore {
  const now = options.now ?? Date.now;
  const partitions = new Map<string, Map<string, Stored>>();
  const counters = new Map<string, number>();
  let size = 0;
  const counter = (k: string) => counters.get(k) ?? 0;

  function touch(partition: string): Map<string, Stored> | undefined {
    const p = partitions.get(partition);
    if (p) {
      partitions.delete(partition);
      partitions.set(partition, p);
    }
    return p;
  }

  function evictOne(p: Map<string, Stored>, key: string): void {
    const oldest = p.keys().next();
    if (oldest.done) return;
    p.delete(oldest.value);
    size--;
    if (p.size === 0) partitions.delete(key);
  }

  return {
    kind: 'memory',
    generation(scope: CacheScope, tags: readonly string[]): Promise<Generation> {
      const t = counter(`t\0${scope.tenantId}`);
      const m = counter(`m\0${scope.tenantId}\0${scope.model}`);
      return Promise.resolve({ base: generationBase(t, m), tags: Object.fromEntries(tags.map((tag) => [tag, counter(`g\0${scope.tenantId}\0${tag}`)])) });
    },
    tagsCurrent(tenantId, tags) {
      return Promise.resolve(Object.entries(tags).every(([tag, gen]) => counter(`g\0${tenantId}\0${tag}`) === gen));
    },
    search(tenantId, partition, vector, search) {
      const p = touch(partition);
      if (!p) return Promise.resolve([]);
      const t = now();
      const found: Array<SemanticCandidate & { id: string }> = [];
      for (const [id, e] of p) {
        if (e.until <= t) {
          p.delete(id);
          size--;
          continue;
        }
        if (e.vector.length !== vector.length) continue;
        const score = dot(e.vector, vector);
        if (score < search.minScore) continue;
        if (!Object.entries(e.tags).every(([tag, gen]) => counter(`g\0${tenantId}\0${tag}`) === gen)) continue;
        found.push({ id, text: e.text, value: e.value, tags: e.tags, score });
      }
      if (p.size === 0) partitions.delete(partition);
      const best = topCandidates(found, search);
      for (const c of best) {
        // Recently served entries are the last to be evicted.
        const e = p.get(c.id);
        if (e) {
          p.delete(c.id);
          p.set(c.id, e);
        }
      }
      return Promise.resolve(best.map(({ id: _id, ...c }) => c));
    },
    insert(partition, vector, entry) {
      let p = touch(partition);
      if (!p) {
        p = new Map();
        partitions.set(partition, p);
      }
      const id = entryId(entry.text);
      if (p.delete(id)) size--;
      p.set(id, { ...entry, vector: Float32Array.from(vector), until: now() + options.ttlMs });
      size++;
      while (p.size > options.maxPerPartition) evictOne(p, partition);
      while (size > options.maxEntries) {
        const lru = partitions.entries().next();
        if (lru.done) break;
        evictOne(lru.value[1], lru.value[0]);
      }
      return Promise.resolve();
    },
    invalidate(tenantId, target = {}) {
      const k = target.tag !== undefined ? `g\0${tenantId}\0${target.tag}` : target.model !== undefined ? `m\0${tenantId}\0${target.model}` : `t\0${tenantId}`;
      counters.set(k, counter(k) + 1);
      return Promise.resolve();
    },
    close() {
      partitions.clear();
      size = 0;
      return Promise.resolve();
    },
  };
}
