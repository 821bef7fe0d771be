// The LLM gateway: public surface, and the factory that builds it from configuration.
// Upstreams: every `gateway.upstreams` entry of the config file, then OLLAMA_URL and
// OPENAI_BASE_URL (+ OPENAI_API_KEY) as one upstream each, so a single upstream needs no file.
// Limits and cache live in Redis when REDIS_URL (or REDIS_SENTINELS) is set, in process otherwise.
import type { Registry } from 'prom-client';
import { createMemoryCacheStore, createMemorySemanticStore, createRedisCacheStore, createRedisSemanticStore } from '../cache/index.js';
import type { Config } from '../config/index.js';
import type { Database } from '../db/index.js';
import type { Embedder } from '../embeddings/index.js';
import { createMemoryLimiterStore, createRedisConnection, createRedisLimiterStore, redisConfigured } from '../limits/index.js';
import type { RecordAudit } from './budgets.js';
import type { Logger } from '../telemetry/logger.js';
import { watchRedis } from '../telemetry/redis-state.js';
import { createOllamaUpstream } from './ollama.js';
import { createOpenAIUpstream } from './openai.js';
import { coalesceWrites } from './redis-writes.js';
import { createGatewayService, type GatewayService } from './service.js';
import type { Upstream } from './upstream.js';

export { createGatewayService } from './service.js';
export type { CallOptions, Caller, ChatCall, GatewayService } from './service.js';
export { createOllamaUpstream } from './ollama.js';
export { createOpenAIUpstream } from './openai.js';
export { CircuitBreaker, type CircuitState } from './breaker.js';
export { UpstreamError, type Upstream } from './upstream.js';
export * from './schema.js';
export { limitsInputSchema, limitsOutputSchema, type LimitsInput, type LimitsOutput, type RecordAudit } from './budgets.js';
export { loadPrices, priceFileSchema, type Price, type Prices } from './prices.js';

export function upstreamsFromConfig(config: Config): Upstream[] {
  const g = config.gateway;
  const out: Upstream[] = g.upstreams.map((u) =>
    u.kind === 'ollama'
      ? createOllamaUpstream({ name: u.name, baseUrl: u.url, keepAlive: g.ollamaKeepAlive })
      : createOpenAIUpstream({ name: u.name, baseUrl: u.url, ...(u.apiKey ? { apiKey: u.apiKey.reveal() } : {}) }),
  );
  const taken = new Set(out.map((u) => u.name));
  if (config.ollama.url && !taken.has('ollama')) out.push(createOllamaUpstream({ name: 'ollama', baseUrl: config.ollama.url, keepAlive: g.ollamaKeepAlive }));
  if (config.openai.baseUrl && !taken.has('openai')) {
    out.push(createOpenAIUpstream({ name: 'openai', baseUrl: config.openai.baseUrl, ...(config.openai.apiKey ? { apiKey: config.openai.apiKey.reveal() } : {}) }));
  }
  return out;
}

export interface CreateGatewayOptions {
  config: Config;
  db: Database;
  logger: Logger;
  registry: Registry;
  embedder: Embedder;
  /** Audits limit changes in their transaction (the auth service's recordAudit). */
  audit?: RecordAudit;
}

export function createGateway(options: CreateGatewayOptions): GatewayService {
  const { config, logger } = options;
  const upstreams = upstreamsFromConfig(config);
  if (upstreams.length === 0) logger.info('gateway: no LLM upstream configured; chat endpoints answer PLINTH_LLM_NOT_CONFIGURED');
  else logger.info({ upstreams: upstreams.map((u) => ({ name: u.name, kind: u.kind, url: u.location })) }, `gateway: ${upstreams.length} LLM upstream(s)`);
  if (!redisConfigured(config)) {
    return createGatewayService({
      ...options,
      upstreams,
      limiter: createMemoryLimiterStore(),
      cache: createMemoryCacheStore({ maxEntries: config.gateway.cacheMaxEntries }),
      semanticCache: createMemorySemanticStore({ maxPerPartition: config.gateway.semanticMaxPerPartition, maxEntries: config.gateway.semanticMaxEntries, ttlMs: config.gateway.semanticTtlMs }),
    });
  }
  // One server (REDIS_URL) or the master named by Sentinel; fails fast while disconnected, so
  // fail-open/fail-closed decides promptly, and keeps reconnecting in the background.
  // Commands issued together (limit check and cache reads; cache write and settlement) leave in
  // one socket write (redis-writes.ts).
  const redis = coalesceWrites(createRedisConnection(config, { logger, name: 'plinth-gateway' }));
  watchRedis(options.registry, redis, ['limits', 'cache']);
  return createGatewayService({
    ...options,
    upstreams,
    limiter: createRedisLimiterStore(redis),
    cache: createRedisCacheStore(redis),
    semanticCache: createRedisSemanticStore(redis, { maxPerPartition: config.gateway.semanticMaxPerPartition, ttlMs: config.gateway.semanticTtlMs }),
    onClose: async () => {
      // QUIT drains the command connection; disconnect() also closes the Sentinel watchers.
      await redis.quit().catch(() => undefined);
      redis.disconnect();
    },
  });
}
