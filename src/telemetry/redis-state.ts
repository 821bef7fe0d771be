// Redis connection state as a gauge read at scrape time: plinth_redis_up{role} is 1 while the
// connection serving that role (limits: the shared rate limiter; cache: the exact and semantic
// response caches) is ready for commands, 0 while it is connecting, reconnecting or closed.
// Absent when Redis is not configured (the in-process stores are used then).
import { Gauge, type Registry } from 'prom-client';

export type RedisRole = 'limits' | 'cache';

/** The part of an ioredis client this reads. */
export interface RedisStatus {
  readonly status: string;
}

/** The clients watched per registry (a registry per running app). */
const watched = new WeakMap<Registry, Map<RedisRole, RedisStatus>>();

function connectionsOf(registry: Registry): Map<RedisRole, RedisStatus> {
  let connections = watched.get(registry);
  if (connections) return connections;
  connections = new Map();
  watched.set(registry, connections);
  const roles = connections;
  if (!registry.getSingleMetric('plinth_redis_up')) {
    new Gauge({
      name: 'plinth_redis_up',
      help: 'Whether the Redis connection serving a role (limits, cache) is ready: 1 ready, 0 not.',
      labelNames: ['role'],
      registers: [registry],
      collect() {
        for (const [role, client] of roles) this.set({ role }, client.status === 'ready' ? 1 : 0);
      },
    });
  }
  return connections;
}

/** Report `client`'s state under each role at every scrape of `registry` (a later client takes the role over). */
export function watchRedis(registry: Registry, client: RedisStatus, roles: RedisRole[]): void {
  const connections = connectionsOf(registry);
  for (const role of roles) connections.set(role, client);
}
