// The LLM cache: the exact CacheStore and the SemanticCacheStore ports, their in-process and
// Redis adapters, the cache keys, the guard against look-alike questions, and the layer the
// gateway calls.
export { createMemoryCacheStore } from './memory.js';
export { createRedisCacheStore } from './redis.js';
export { canonicalJson, exactCacheKey, lastUserText, semanticPartitionKey } from './key.js';
export type { CacheStore } from './port.js';
export { createMemorySemanticStore, type MemorySemanticOptions } from './semantic-memory.js';
export { createRedisSemanticStore, encodeVector, scoreEncoded, type RedisSemanticOptions } from './semantic-redis.js';
export { cacheInvalidationSchema, entryId, MAX_TAGS, TAG_PATTERN, type CacheInvalidation } from './semantic.js';
export type { CacheScope, Generation, SemanticCacheStore, SemanticCandidate, SemanticEntry, SemanticSearchOptions, SemanticStoreOptions } from './semantic.js';
export { guard, features, type GuardReason, type GuardVerdict } from './guard.js';
export { createCacheLayer, parseCacheTags, parseSemanticHeader, userCacheTag } from './layer.js';
export type { CacheLayer, CacheLayerDeps, CacheLookup, CacheOutcome, CacheSettings, LookupOptions, PendingLookup } from './layer.js';
