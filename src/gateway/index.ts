// The LLM gateway: public surface, and the factory that builds it from configuration.
// Upstreams: every `gateway.upstreams` entry of the config file, then OLLAMA_URL and
// OPENAI_BASE_URL (+ OPENAI_API_KEY) as one upstream each, so a single upstream needs no file.
// Limits and cache live in Redis when REDIS_URL is set, in process otherwise.
import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { createMemoryCacheStore, createRedisCacheStore } from '../cache/index.js';
import type { Config } from '../config/index.js';
import type { Database } from '../db/index.js';
import type { Embedder } from '../embeddings/index.js';
import { createMemoryLimiterStore, createRedisLimiterStore } from '../limits/index.js';
import type { Logger } from '../telemetry/logger.js';
import { createOllamaUpstream } from './ollama.js';
import { createOpenAIUpstream } from './openai.js';
import { createGatewayService, type GatewayService } from './service.js';
import type { Upstream } from './upstream.js';

export { createGatewayService } from './service.js';
export type { CallOptions, Caller, ChatCall, GatewayService } from './service.js';
export { createOllamaUpstream } from './ollama.js';
export { createOpenAIUpstream } from './openai.js';
export { CircuitBreaker, type CircuitState } from './breaker.js';
export { UpstreamError, type Upstream } from './upstream.js';
export * from './schema.js';

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
}

export function createGateway(options: CreateGatewayOptions): GatewayService {
  const { config, logger } = options;
  const upstreams = upstreamsFromConfig(config);
  if (upstreams.length === 0) logger.info('gateway: no LLM upstream configured; chat endpoints answer PLINTH_LLM_NOT_CONFIGURED');
  else logger.info({ upstreams: upstreams.map((u) => ({ name: u.name, kind: u.kind, url: u.location })) }, `gateway: ${upstreams.length} LLM upstream(s)`);
  const redisUrl = config.redis.url?.reveal();
  if (!redisUrl) {
    return createGatewayService({
      ...options,
      upstreams,
      limiter: createMemoryLimiterStore(),
      cache: createMemoryCacheStore({ maxEntries: config.gateway.cacheMaxEntries }),
    });
  }
  // Fail fast while disconnected (no offline queue), so fail-open/fail-closed decides promptly;
  // ioredis keeps reconnecting in the background.
  const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, lazyConnect: false });
  redis.on('error', (err: Error) => logger.warn({ err: { message: err.message } }, 'gateway: redis connection error'));
  return createGatewayService({
    ...options,
    upstreams,
    limiter: createRedisLimiterStore(redis),
    cache: createRedisCacheStore(redis),
    onClose: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  });
}
