// The state of every dependency Plinth knows about: what is configured (real) and what is
// embedded, and whether it answers. Used by /readyz and `plinth doctor`.
import type { Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import { maskUrl } from '../config/index.js';
import { createRedisConnection, redisConfigured, redisLocation } from '../limits/index.js';
import type { Database } from '../db/index.js';
import { migrationStatus } from '../db/index.js';

export interface DependencyState {
  name: string;
  /** `embedded` runs inside Plinth; `external` is a configured service. */
  mode: 'embedded' | 'external';
  /** Readiness fails when a required dependency is down. */
  required: boolean;
  ok: boolean;
  location?: string;
  latency_ms?: number;
  detail?: string;
  fix?: string;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t = performance.now();
  const value = await fn();
  return { value, ms: round(performance.now() - t) };
}

export async function checkDatabase(db: Database): Promise<DependencyState> {
  try {
    const { ms } = await timed(() => db.ping());
    return { name: 'database', mode: db.mode === 'embedded' ? 'embedded' : 'external', required: true, ok: true, location: db.location, latency_ms: ms };
  } catch (err) {
    return {
      name: 'database',
      mode: db.mode === 'embedded' ? 'embedded' : 'external',
      required: true,
      ok: false,
      location: db.location,
      detail: (err as Error).message,
      fix: db.mode === 'embedded' ? 'Check PLINTH_DATA_DIR is writable and not used by another process.' : 'Check DATABASE_URL, network access and credentials.',
    };
  }
}

export async function checkMigrations(db: Database): Promise<DependencyState> {
  try {
    const s = await migrationStatus(db);
    return {
      name: 'migrations',
      mode: db.mode === 'embedded' ? 'embedded' : 'external',
      required: true,
      ok: s.upToDate,
      detail: `schema version ${s.current} of ${s.latest}`,
      ...(s.upToDate ? {} : { fix: 'Run `plinth migrate`.' }),
    };
  } catch (err) {
    return { name: 'migrations', mode: 'external', required: true, ok: false, detail: (err as Error).message, fix: 'Run `plinth migrate`.' };
  }
}

async function httpCheck(name: string, url: string, pathname: string, fix: string): Promise<DependencyState> {
  const target = new URL(pathname, url);
  try {
    const { value: res, ms } = await timed(() => fetch(target, { signal: AbortSignal.timeout(2_000) }));
    await res.body?.cancel();
    return {
      name,
      mode: 'external',
      required: false,
      ok: res.ok,
      location: maskUrl(url),
      latency_ms: ms,
      ...(res.ok ? {} : { detail: `HTTP ${res.status}`, fix }),
    };
  } catch (err) {
    return { name, mode: 'external', required: false, ok: false, location: maskUrl(url), detail: (err as Error).message, fix };
  }
}

/** Probes Redis as the gateway reaches it: REDIS_URL or the Sentinels' master, with the configured password. */
async function redisCheck(config: Config): Promise<DependencyState> {
  const location = redisLocation(config);
  const fix = 'Check REDIS_URL (or REDIS_SENTINELS and REDIS_SENTINEL_NAME), the Redis password, and that Redis is reachable.';
  let client: Redis | undefined;
  try {
    const { ms } = await timed(async () => {
      client = createRedisConnection(config, { connectTimeoutMs: 2_000 });
      await ready(client, 2_500);
      await client.ping();
    });
    return { name: 'redis', mode: 'external', required: false, ok: true, ...(location ? { location } : {}), latency_ms: ms };
  } catch (err) {
    return { name: 'redis', mode: 'external', required: false, ok: false, ...(location ? { location } : {}), detail: (err as Error).message, fix };
  } finally {
    client?.disconnect();
  }
}

/** Resolves when the client is ready; rejects with its first error, or after `ms`. */
function ready(client: Redis, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done();
    const onError = (err: Error) => done(err);
    const timer = setTimeout(() => done(new Error(`no connection within ${ms} ms`)), ms);
    client.once('ready', onReady);
    client.once('error', onError);
  });
}

/** Optional services: configured ones are probed, the rest are reported as embedded. */
export async function checkOptional(config: Config): Promise<DependencyState[]> {
  const embedded = (name: string, detail: string): DependencyState => ({ name, mode: 'embedded', required: false, ok: true, detail });
  return Promise.all([
    redisConfigured(config) ? redisCheck(config) : Promise.resolve(embedded('redis', 'in-process cache and limits (single replica only); set REDIS_URL or REDIS_SENTINELS for shared state')),
    config.ollama.url
      ? httpCheck('ollama', config.ollama.url, '/api/version', 'Check OLLAMA_URL and that Ollama is running.')
      : Promise.resolve(embedded('llm', 'no LLM provider configured; set OLLAMA_URL')),
    config.mlflow.trackingUri
      ? httpCheck('mlflow', config.mlflow.trackingUri, '/health', 'Check MLFLOW_TRACKING_URI and that the MLflow server is running.')
      : Promise.resolve(embedded('registry', 'built-in model registry tables; set MLFLOW_TRACKING_URI for MLflow')),
  ]);
}
