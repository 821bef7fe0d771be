// The Redis connection the shared limiter and cache use: one server (REDIS_URL), or the current
// master as named by Redis Sentinel (REDIS_SENTINELS + REDIS_SENTINEL_NAME), which ioredis
// re-resolves after a failover. Commands fail fast while disconnected (no offline queue), so the
// gateway's fail-open / fail-closed choice applies promptly; ioredis keeps reconnecting meanwhile.
// Only right after a lost connection do commands wait (REDIS_RECONNECT_GRACE_MS) for the next one.
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/index.js';
import { maskUrl } from '../config/index.js';
import type { Logger } from '../telemetry/logger.js';
import { keepConnected } from './revive.js';
import { rideThrough } from './ride-through.js';

export interface RedisConnectionOptions {
  logger?: Logger;
  /** Connection name shown by CLIENT LIST (which replica holds which connection). */
  name?: string;
  connectTimeoutMs?: number;
  /** Overrides REDIS_RECONNECT_GRACE_MS. */
  reconnectGraceMs?: number;
}

/** Whether Redis is configured at all (else the in-process stores are used). */
export function redisConfigured(config: Config): boolean {
  return Boolean(config.redis.url) || (config.redis.sentinels?.length ?? 0) > 0;
}

/** Where Redis is, safe to print. */
export function redisLocation(config: Config): string | undefined {
  const r = config.redis;
  if (r.url) return maskUrl(r.url.reveal());
  if (r.sentinels?.length) return `sentinel://${r.sentinels.join(',')}/${r.sentinelName ?? ''}`;
  return undefined;
}

function hostPort(entry: string): { host: string; port: number } {
  const i = entry.lastIndexOf(':');
  return { host: entry.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(entry.slice(i + 1)) };
}

export function createRedisConnection(config: Config, options: RedisConnectionOptions = {}): Redis {
  const r = config.redis;
  const common: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 2_000,
    lazyConnect: false,
    ...(options.name ? { connectionName: options.name } : {}),
  };
  let redis: Redis;
  if (r.url) {
    redis = new Redis(r.url.reveal(), { ...common, ...(r.password ? { password: r.password.reveal() } : {}) });
  } else if (r.sentinels?.length && r.sentinelName) {
    redis = new Redis({
      ...common,
      sentinels: r.sentinels.map(hostPort),
      name: r.sentinelName,
      role: 'master',
      ...(r.password ? { password: r.password.reveal() } : {}),
      ...(r.sentinelPassword ? { sentinelPassword: r.sentinelPassword.reveal() } : {}),
      ...(r.tls ? { tls: {}, enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
      // Hear of a failover from the Sentinels (+switch-master) instead of waiting for an error.
      failoverDetector: true,
      // Ask the Sentinels again soon after losing the master (a failover takes seconds).
      sentinelRetryStrategy: (times: number) => Math.min(times * 200, 2_000),
      // A READONLY reply means we still talk to a demoted master: reconnect to find the new one.
      reconnectOnError: (err: Error) => (/READONLY/.test(err.message) ? 2 : false),
    });
  } else {
    throw new Error('Redis is not configured: set REDIS_URL, or REDIS_SENTINELS and REDIS_SENTINEL_NAME');
  }
  const logger = options.logger;
  let lastError = '';
  redis.on('error', (err: Error) => {
    // One line per distinct failure, not one per reconnect attempt.
    if (err.message === lastError) return;
    lastError = err.message;
    logger?.warn({ err: { message: err.message }, redis: redisLocation(config) }, 'redis connection error');
  });
  redis.on('ready', () => {
    lastError = '';
    logger?.debug({ redis: redisLocation(config) }, 'redis connection ready');
  });
  // ioredis can give a client up for good in a Sentinel failover; keep it connecting (revive.ts),
  // and let commands wait out a reconnect that follows a lost connection closely (ride-through.ts).
  return rideThrough(keepConnected(redis, logger ? { logger } : {}), { graceMs: options.reconnectGraceMs ?? r.reconnectGraceMs });
}
