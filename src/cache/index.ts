// The exact LLM cache: the CacheStore port, its two adapters and the canonical request key.
export { createMemoryCacheStore } from './memory.js';
export { createRedisCacheStore } from './redis.js';
export { canonicalJson, exactCacheKey } from './key.js';
export type { CacheStore } from './port.js';
