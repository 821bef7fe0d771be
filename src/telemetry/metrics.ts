// Prometheus metrics. One registry per running app (never the global one), so several
// apps can live in one process (tests) and nothing leaks between them.
import { Registry, collectDefaultMetrics, Counter, Histogram, Gauge } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status_code'>;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  httpInFlight: Gauge;
  authFailures: Counter<'reason'>;
  dbPool: Gauge<'state'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'plinth_' });
  return {
    registry,
    httpRequests: new Counter({
      name: 'plinth_http_requests_total',
      help: 'HTTP requests by route template and status code.',
      labelNames: ['method', 'route', 'status_code'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'plinth_http_request_duration_seconds',
      help: 'HTTP request latency by route template and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    httpInFlight: new Gauge({
      name: 'plinth_http_requests_in_flight',
      help: 'HTTP requests being served right now.',
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'plinth_auth_failures_total',
      help: 'Rejected credentials by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    dbPool: new Gauge({
      name: 'plinth_db_pool_connections',
      help: 'Database pool connections by state (total, idle, waiting).',
      labelNames: ['state'],
      registers: [registry],
    }),
  };
}
