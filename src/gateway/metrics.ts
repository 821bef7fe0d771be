// The gateway's Prometheus metrics, registered on the platform's registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CircuitState } from './breaker.js';

export interface GatewayMetrics {
  tokens: Counter<'model' | 'direction'>;
  upstreamDuration: Histogram<'upstream' | 'model' | 'outcome'>;
  ttft: Histogram<'upstream' | 'model'>;
  circuit: Gauge<'upstream'>;
  requests: Counter<'endpoint' | 'outcome' | 'cache'>;
}

export const CIRCUIT_VALUE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const existing = registry.getSingleMetric('plinth_llm_tokens_total');
  if (existing) {
    // A registry shared by two platforms in one process (tests): reuse what is there.
    return {
      tokens: existing as Counter<'model' | 'direction'>,
      upstreamDuration: registry.getSingleMetric('plinth_llm_upstream_duration_seconds') as Histogram<'upstream' | 'model' | 'outcome'>,
      ttft: registry.getSingleMetric('plinth_llm_time_to_first_token_seconds') as Histogram<'upstream' | 'model'>,
      circuit: registry.getSingleMetric('plinth_llm_circuit_state') as Gauge<'upstream'>,
      requests: registry.getSingleMetric('plinth_llm_requests_total') as Counter<'endpoint' | 'outcome' | 'cache'>,
    };
  }
  return {
    tokens: new Counter({ name: 'plinth_llm_tokens_total', help: 'LLM tokens by model and direction (in, out).', labelNames: ['model', 'direction'], registers: [registry] }),
    upstreamDuration: new Histogram({
      name: 'plinth_llm_upstream_duration_seconds',
      help: 'Duration of LLM upstream calls, streaming included, by upstream, model and outcome.',
      labelNames: ['upstream', 'model', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    }),
    ttft: new Histogram({
      name: 'plinth_llm_time_to_first_token_seconds',
      help: 'Time from sending a chat request upstream to its first token.',
      labelNames: ['upstream', 'model'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    circuit: new Gauge({ name: 'plinth_llm_circuit_state', help: 'Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open.', labelNames: ['upstream'], registers: [registry] }),
    requests: new Counter({ name: 'plinth_llm_requests_total', help: 'Gateway calls by endpoint, outcome and cache result.', labelNames: ['endpoint', 'outcome', 'cache'], registers: [registry] }),
  };
}
