// Rate limits and token budgets per API key and per tenant: the LimiterStore port, its two
// adapters, and the Redis connection (single server or Sentinel) the shared stores use, kept
// connecting until it is closed (revive.ts).
export { createMemoryLimiterStore } from './memory.js';
export { createRedisLimiterStore } from './redis.js';
export { createRedisConnection, redisConfigured, redisLocation, type RedisConnectionOptions } from './connection.js';
export { keepConnected, type KeepConnectedOptions } from './revive.js';
export { PERIOD_MS, WINDOW_MS, bucketKey, windowOf } from './port.js';
export type { Check, Decision, LimiterStore, LimitRule, LimitSpec, Period, Reservation, RuleState } from './port.js';

