// Admission of gateway calls against rate limits and token budgets, per API key and per tenant:
// requests and tokens per minute, tokens per UTC day. Defaults come from the configuration
// (GATEWAY_*); a tenant's admins may override them, stored in gateway_limits and cached here for
// GATEWAY_LIMITS_CACHE_TTL_MS. Every rule that applies is checked, and the call's estimated tokens
// reserved in all of them, in one atomic step of the limiter store; afterwards the reservation is
// settled with the real usage (released on failure).
import { z } from 'zod';
import type { Audit } from '../auth/index.js';
import type { Config } from '../config/index.js';
import type { Database, Tx } from '../db/index.js';
import { PlinthError } from '../errors.js';
import type { LimiterStore, LimitRule, RuleState } from '../limits/index.js';
import type { Logger } from '../telemetry/logger.js';
import * as store from './store.js';
import { LIMIT_FIELDS, type LimitOverrides } from './store.js';

export interface BudgetCaller {
  tenantId: string;
  keyId: string;
}

/** Records an audit entry in the caller's transaction (the auth service's recordAudit). */
export type RecordAudit = (tx: Tx, tenantId: string, audit: Audit, action: string, target?: string, details?: Record<string, unknown>) => Promise<void>;

const limitValue = z.number().int().min(0).max(1_000_000_000_000);

/** PUT body: every field optional; null or absent means "back to the configured default". */
export const limitsInputSchema = z
  .object(Object.fromEntries(LIMIT_FIELDS.map((f) => [f, limitValue.nullable().optional()])) as Record<(typeof LIMIT_FIELDS)[number], z.ZodOptional<z.ZodNullable<typeof limitValue>>>)
  .strict();
export type LimitsInput = z.infer<typeof limitsInputSchema>;

const limitsShape = z.object(Object.fromEntries(LIMIT_FIELDS.map((f) => [f, z.number()])) as Record<(typeof LIMIT_FIELDS)[number], z.ZodNumber>);
const overridesShape = z.object(Object.fromEntries(LIMIT_FIELDS.map((f) => [f, z.number().nullable()])) as Record<(typeof LIMIT_FIELDS)[number], z.ZodNullable<z.ZodNumber>>);

export const limitsOutputSchema = z.object({
  tenant_id: z.uuid(),
  /** What applies now (0 = unlimited). */
  effective: limitsShape,
  /** The tenant's own settings (null = the default). */
  overrides: overridesShape,
  /** The configured defaults. */
  defaults: limitsShape,
  updated_at: z.string().nullable(),
  updated_by: z.string().nullable(),
});
export type LimitsOutput = z.infer<typeof limitsOutputSchema>;

type Limits = Record<(typeof LIMIT_FIELDS)[number], number>;

export interface BudgetsDeps {
  config: Config;
  db: Database;
  limiter: LimiterStore;
  logger: Logger;
  now: () => number;
  audit?: RecordAudit;
}

export type Settle = (actualTokens: number) => Promise<void>;

const noop: Settle = () => Promise.resolve();

export type Budgets = ReturnType<typeof createBudgets>;

export function createBudgets(deps: BudgetsDeps) {
  const { config, db, limiter, logger, now } = deps;
  const g = config.gateway;
  const defaults: Limits = {
    key_requests_per_minute: g.requestsPerMinute,
    key_tokens_per_minute: g.tokensPerMinute,
    key_tokens_per_day: g.tokensPerDay,
    tenant_requests_per_minute: g.tenantRequestsPerMinute,
    tenant_tokens_per_minute: g.tenantTokensPerMinute,
    tenant_tokens_per_day: g.tenantTokensPerDay,
  };
  const cached = new Map<string, { limits: Limits; until: number }>();
  const tenantOfKey = new Map<string, string>();

  const merge = (o: LimitOverrides): Limits => {
    const out = { ...defaults };
    for (const f of LIMIT_FIELDS) if (o[f] !== null) out[f] = o[f];
    return out;
  };

  async function limitsOf(tenantId: string): Promise<Limits> {
    const hit = cached.get(tenantId);
    if (hit && hit.until > now()) return hit.limits;
    try {
      const o = await db.withTenant(tenantId, (tx) => store.getOverrides(tx, tenantId), { readOnly: true });
      const limits = merge(o);
      cached.set(tenantId, { limits, until: now() + g.limitsCacheTtlMs });
      return limits;
    } catch (err) {
      // The database is down: keep enforcing what we knew, or the defaults.
      logger.warn({ err: { message: (err as Error).message }, tenant_id: tenantId }, 'gateway: cannot read the tenant limits; using the last known ones');
      return hit?.limits ?? defaults;
    }
  }

  function rulesOf(keyId: string, l: Limits): LimitRule[] {
    const all: LimitRule[] = [
      { scope: `key:${keyId}`, period: 'minute', requests: l.key_requests_per_minute, tokens: l.key_tokens_per_minute, name: 'key_per_minute' },
      { scope: `key:${keyId}`, period: 'day', requests: 0, tokens: l.key_tokens_per_day, name: 'key_tokens_per_day' },
      { scope: 'tenant', period: 'minute', requests: l.tenant_requests_per_minute, tokens: l.tenant_tokens_per_minute, name: 'tenant_per_minute' },
      { scope: 'tenant', period: 'day', requests: 0, tokens: l.tenant_tokens_per_day, name: 'tenant_tokens_per_day' },
    ];
    // While any limit applies, every window is counted (0 = counted, not enforced), so a budget
    // switched on mid-day already knows the day's usage.
    return all.some((r) => r.requests > 0 || r.tokens > 0) ? all : [];
  }

  /** OpenAI's x-ratelimit-* headers from the tightest rule of each kind, plus the day budget. */
  function setHeaders(states: RuleState[], setHeader: (name: string, value: string) => void): void {
    const tightest = (pick: (s: RuleState) => boolean, remaining: (s: RuleState) => number) =>
      states.filter(pick).reduce<RuleState | undefined>((best, s) => (best === undefined || remaining(s) < remaining(best) ? s : best), undefined);
    const reset = (s: RuleState) => `${Math.ceil(s.resetMs / 1000)}s`;
    const req = tightest((s) => s.rule.period === 'minute' && s.rule.requests > 0, (s) => s.remainingRequests);
    if (req) {
      setHeader('x-ratelimit-limit-requests', String(req.rule.requests));
      setHeader('x-ratelimit-remaining-requests', String(req.remainingRequests));
      setHeader('x-ratelimit-reset-requests', reset(req));
    }
    const tok = tightest((s) => s.rule.period === 'minute' && s.rule.tokens > 0, (s) => s.remainingTokens);
    if (tok) {
      setHeader('x-ratelimit-limit-tokens', String(tok.rule.tokens));
      setHeader('x-ratelimit-remaining-tokens', String(tok.remainingTokens));
      setHeader('x-ratelimit-reset-tokens', reset(tok));
    }
    const day = tightest((s) => s.rule.period === 'day' && s.rule.tokens > 0, (s) => s.remainingTokens);
    if (day) {
      setHeader('x-ratelimit-limit-tokens-day', String(day.rule.tokens));
      setHeader('x-ratelimit-remaining-tokens-day', String(day.remainingTokens));
      setHeader('x-ratelimit-reset-tokens-day', reset(day));
    }
  }

  function refusal(s: RuleState, tokens: number): PlinthError {
    const who = s.rule.scope === 'tenant' ? 'tenant' : 'key';
    const extra = { retry_after_s: Math.max(1, Math.ceil(s.resetMs / 1000)), limit: s.rule.name ?? null };
    if (s.rule.tokens > 0 && tokens > s.rule.tokens) {
      return new PlinthError(
        s.rule.period === 'day' ? 'BUDGET_EXCEEDED' : 'RATE_LIMITED',
        `This request needs about ${tokens} tokens, more than the ${s.rule.tokens} tokens per ${s.rule.period} this ${who} may use.`,
        extra,
      );
    }
    if (s.rule.period === 'day') {
      return new PlinthError('BUDGET_EXCEEDED', `The daily token budget of this ${who === 'key' ? 'API key' : 'tenant'} (${s.rule.tokens} tokens) is spent; it resets at 00:00 UTC.`, extra);
    }
    return new PlinthError('RATE_LIMITED', `Rate limit reached for this ${who === 'key' ? 'API key' : 'tenant'}; retry after the reset.`, extra);
  }

  async function effectiveRules(caller: BudgetCaller): Promise<LimitRule[]> {
    return rulesOf(caller.keyId, await limitsOf(caller.tenantId));
  }

  return {
    defaults,

    /** Admit one call reserving `tokens`, or throw RATE_LIMITED / BUDGET_EXCEEDED; returns the (idempotent) settle. */
    admit: async (caller: BudgetCaller, tokens: number, setHeader: (name: string, value: string) => void): Promise<Settle> => {
      const rules = await effectiveRules(caller);
      if (rules.length === 0) return noop;
      tenantOfKey.set(caller.keyId, caller.tenantId);
      const reserve = tokens;
      let check;
      try {
        check = await limiter.check(caller.tenantId, rules, reserve, now());
      } catch (err) {
        if (g.limitsFailOpen) {
          logger.warn({ err: { message: (err as Error).message } }, 'gateway: the limiter store is unreachable; serving without limits (GATEWAY_LIMITS_FAIL_OPEN)');
          return noop;
        }
        throw new PlinthError('LIMITS_UNAVAILABLE', 'The rate-limit store is unreachable; try again shortly.', { retry_after_s: 1 }, { cause: err });
      }
      setHeaders(check.states, setHeader);
      if (!check.allowed || !check.reservation) throw refusal(check.refusedBy ?? check.states[0]!, reserve);
      const reservation = check.reservation;
      if (reserve === 0) return noop;
      let done = false;
      return async (actual: number) => {
        if (done) return;
        done = true;
        try {
          await limiter.release(reservation, actual);
        } catch (err) {
          logger.warn({ err: { message: (err as Error).message } }, 'gateway: cannot settle a token reservation');
        }
      };
    },

    /** Tokens this key has reserved and not yet settled (0 when no call is in flight). */
    reservedTokens: async (keyId: string): Promise<number> => {
      let tenantId = tenantOfKey.get(keyId);
      if (!tenantId) {
        const res = await db.withSystem((tx) => tx.query<{ tenant_id: string }>('SELECT tenant_id FROM api_keys WHERE id = $1', [keyId]), { readOnly: true });
        tenantId = res.rows[0]?.tenant_id;
        if (!tenantId) return 0;
      }
      return limiter.reservedIn(tenantId, `key:${keyId}`, now());
    },

    get: async (tenantId: string): Promise<LimitsOutput> => {
      const o = await db.withTenant(tenantId, (tx) => store.getOverrides(tx, tenantId), { readOnly: true });
      return describe(tenantId, o);
    },

    /** Replace the tenant's overrides (absent or null fields return to the default); audited. */
    set: async (tenantId: string, input: LimitsInput, audit: Audit): Promise<LimitsOutput> => {
      const parsed = limitsInputSchema.parse(input);
      const o = Object.fromEntries(LIMIT_FIELDS.map((f) => [f, parsed[f] ?? null])) as unknown as LimitOverrides;
      const stored = await db.withTenant(tenantId, async (tx) => {
        const s = await store.putOverrides(tx, tenantId, o, audit.actor);
        await deps.audit?.(tx, tenantId, audit, 'gateway.limits_set', tenantId, { ...o });
        return s;
      });
      cached.delete(tenantId);
      return describe(tenantId, stored);
    },
  };

  function describe(tenantId: string, o: store.StoredOverrides): LimitsOutput {
    const overrides = Object.fromEntries(LIMIT_FIELDS.map((f) => [f, o[f]])) as unknown as LimitOverrides;
    return { tenant_id: tenantId, effective: merge(overrides), overrides, defaults: { ...defaults }, updated_at: o.updated_at, updated_by: o.updated_by };
  }
}
