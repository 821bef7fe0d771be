// Metrics of the gateway's admission control (rate limits and daily token budgets), measured
// around the admit function so the budget code stays unaware of Prometheus:
//  - plinth_llm_limit_refusals_total{limit, code}: calls refused, by the rule that refused them
//    (key_per_minute, key_tokens_per_day, tenant_per_minute, tenant_tokens_per_day);
//  - plinth_llm_day_budget_used_ratio: for each admitted call under a daily token budget, the share
//    of the tightest day budget (key or tenant) used once the call's tokens are reserved. Read from
//    the x-ratelimit-*-tokens-day headers the admission sets, so it is exactly what callers see.
// No tenant or key label: which caller is near its budget is in the usage table and the limits API.
import { Counter, Histogram, type Registry } from 'prom-client';
import { isPlinthError } from '../errors.js';

/** The rule names budgets.ts reports in a refusal's `limit`; anything else is counted as `other`. */
const LIMITS = new Set(['key_per_minute', 'key_tokens_per_day', 'tenant_per_minute', 'tenant_tokens_per_day']);
const CODES = new Set(['PLINTH_RATE_LIMITED', 'PLINTH_BUDGET_EXCEEDED', 'PLINTH_LIMITS_UNAVAILABLE']);

/** 0.9 is the threshold of the PlinthLlmTokenBudgetNearlyExhausted alert: keep it. */
export const BUDGET_RATIO_BUCKETS = [0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1];

export interface AdmissionMetrics {
  refusals: Counter<'limit' | 'code'>;
  dayBudgetUsed: Histogram;
}

export function createAdmissionMetrics(registry: Registry): AdmissionMetrics {
  const existing = registry.getSingleMetric('plinth_llm_limit_refusals_total');
  if (existing) {
    // A registry shared by two platforms in one process (tests): reuse what is there.
    return { refusals: existing as Counter<'limit' | 'code'>, dayBudgetUsed: registry.getSingleMetric('plinth_llm_day_budget_used_ratio') as Histogram };
  }
  return {
    refusals: new Counter({
      name: 'plinth_llm_limit_refusals_total',
      help: 'Gateway calls refused by a rate limit or token budget, by rule (key_per_minute, key_tokens_per_day, tenant_per_minute, tenant_tokens_per_day; other when the limit store is unreachable) and error code.',
      labelNames: ['limit', 'code'],
      registers: [registry],
    }),
    dayBudgetUsed: new Histogram({
      name: 'plinth_llm_day_budget_used_ratio',
      help: 'Share of the tightest daily token budget used after admitting a call, observed once per admitted call that has a day budget.',
      buckets: BUDGET_RATIO_BUCKETS,
      registers: [registry],
    }),
  };
}

type Admit<C, S> = (caller: C, tokens: number, setHeader: (name: string, value: string) => void) => Promise<S>;

/** Wraps the gateway's admit: same signature and behaviour, plus the two metrics above. */
export function instrumentAdmission<C, S>(registry: Registry, admit: Admit<C, S>): Admit<C, S> {
  const m = createAdmissionMetrics(registry);
  return async (caller, tokens, setHeader) => {
    let limit: number | undefined;
    let remaining: number | undefined;
    const watch = (name: string, value: string) => {
      if (name === 'x-ratelimit-limit-tokens-day') limit = Number(value);
      else if (name === 'x-ratelimit-remaining-tokens-day') remaining = Number(value);
      setHeader(name, value);
    };
    try {
      const settle = await admit(caller, tokens, watch);
      if (limit !== undefined && remaining !== undefined && limit > 0 && Number.isFinite(remaining)) {
        m.dayBudgetUsed.observe(Math.min(1, Math.max(0, 1 - remaining / limit)));
      }
      return settle;
    } catch (err) {
      if (isPlinthError(err) && CODES.has(err.code)) {
        const rule = err.extra.limit;
        m.refusals.inc({ limit: typeof rule === 'string' && LIMITS.has(rule) ? rule : 'other', code: err.code });
      }
      throw err;
    }
  };
}
