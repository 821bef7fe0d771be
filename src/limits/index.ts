// Rate limits and token budgets per API key: the LimiterStore port and its two adapters.
export { createMemoryLimiterStore } from './memory.js';
export { createRedisLimiterStore } from './redis.js';
export { WINDOW_MS, windowOf } from './port.js';
export type { Decision, LimiterStore, LimitSpec } from './port.js';
