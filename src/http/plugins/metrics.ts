// Per-route request counts, errors and latency. Routes are labelled by their template
// (`/v1/keys/:id`), never by the raw URL, so label cardinality stays bounded.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../telemetry/metrics.js';

declare module 'fastify' {
  interface FastifyRequest {
    plinthStartedAt?: number;
  }
}

export const metricsPlugin = fp(
  (app: FastifyInstance, opts: { metrics: Metrics }) => {
    const { httpRequests, httpDuration, httpInFlight } = opts.metrics;
    app.addHook('onRequest', (request, _reply, done) => {
      request.plinthStartedAt = performance.now();
      httpInFlight.inc();
      done();
    });
    app.addHook('onResponse', (request, reply, done) => {
      httpInFlight.dec();
      const route = request.routeOptions.url ?? 'unmatched';
      const labels = { method: request.method, route, status_code: String(reply.statusCode) };
      httpRequests.inc(labels);
      if (request.plinthStartedAt !== undefined) httpDuration.observe(labels, (performance.now() - request.plinthStartedAt) / 1000);
      done();
    });
  },
  { name: 'plinth-metrics' },
);
