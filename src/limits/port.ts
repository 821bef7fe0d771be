// The LimiterStore port: counters of requests and tokens in fixed windows (one minute, one UTC
// day), kept per "scope" (an API key, a tenant). One call is checked against every rule that
// applies to it (key per minute, key per day, tenant per minute, tenant per day …) and, only if
// every rule admits it, counted and its estimated tokens reserved in all of them — one atomic
// step, so concurrent calls on any number of replicas cannot overspend between check and use.
// Afterwards the reservation is settled with the real token count (0 releases it on failure).

export type Period = 'minute' | 'day';

export const PERIOD_MS: Readonly<Record<Period, number>> = { minute: 60_000, day: 86_400_000 };

/** Kept for callers that reason in one-minute windows. */
export const WINDOW_MS = PERIOD_MS.minute;

export function windowOf(now: number, period: Period = 'minute'): number {
  return Math.floor(now / PERIOD_MS[period]);
}

/** One limit: at most `requests` calls and `tokens` tokens per `period` for `scope`; 0 = unlimited. */
export interface LimitRule {
  /** What is limited, e.g. `key:<id>` or `tenant:<id>`. */
  scope: string;
  period: Period;
  requests: number;
  tokens: number;
  /** A stable name for headers and errors, e.g. `key_tokens_per_day`. */
  name?: string;
}

/** The plain per-key, per-minute pair the first version of the port took. */
export interface LimitSpec {
  requests: number;
  tokens: number;
}

export interface RuleState {
  rule: LimitRule;
  /** Requests counted in the current window (the admitted call included). */
  requests: number;
  /** Tokens used plus reserved in the current window (this call's reservation included). */
  tokens: number;
  remainingRequests: number;
  remainingTokens: number;
  /** Milliseconds until this rule's window resets. */
  resetMs: number;
}

export interface Reservation {
  /** Store keys of the counted windows, with the tokens reserved in each. */
  readonly buckets: readonly string[];
  readonly tokens: number;
}

export interface Check {
  allowed: boolean;
  /** One state per rule, in the order given. */
  states: RuleState[];
  /** The first rule that refused the call (when not allowed). */
  refusedBy?: RuleState;
  /** What settle() needs (when allowed). */
  reservation?: Reservation;
}

/** The single-rule answer of `reserve` (kept for per-key, per-minute callers). */
export interface Decision {
  allowed: boolean;
  /** Window the reservation was made in (settle/release need it). */
  window: number;
  limitRequests: number;
  remainingRequests: number;
  limitTokens: number;
  remainingTokens: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

export interface LimiterStore {
  readonly kind: 'memory' | 'redis';
  /**
   * Atomically: admit one call under every rule, reserving `tokens` in each, or refuse without
   * changing anything. `group` keeps related scopes together (the tenant: one Redis Cluster slot).
   */
  check(group: string, rules: readonly LimitRule[], tokens: number, now: number): Promise<Check>;
  /** Replace a reservation by the real usage (`actual` 0 releases it). Idempotence is the caller's. */
  release(reservation: Reservation, actual: number): Promise<void>;
  /** Tokens reserved and not yet settled for `scope`, in the live windows of both periods. */
  reservedIn(group: string, scope: string, now: number): Promise<number>;

  /** One per-minute rule for `key` (group = key). */
  reserve(key: string, tokens: number, limits: LimitSpec, now: number): Promise<Decision>;
  /** Settles a `reserve` made in `window`. */
  settle(key: string, window: number, reserved: number, actual: number): Promise<void>;
  /** Tokens reserved for `key` by `reserve`, across live windows. */
  reserved(key: string, now: number): Promise<number>;
  close(): Promise<void>;
}

/** The store key of one window: the group in braces (a Redis Cluster hash tag), scope, period, window. */
export function bucketKey(prefix: string, group: string, scope: string, period: Period, window: number): string {
  return `${prefix}{${group}}:${scope}:${period === 'minute' ? 'm' : 'd'}:${window}`;
}

export function stateOf(rule: LimitRule, requests: number, tokens: number, now: number): RuleState {
  const size = PERIOD_MS[rule.period];
  return {
    rule,
    requests,
    tokens,
    remainingRequests: rule.requests === 0 ? Number.POSITIVE_INFINITY : Math.max(0, rule.requests - requests),
    remainingTokens: rule.tokens === 0 ? Number.POSITIVE_INFINITY : Math.max(0, rule.tokens - tokens),
    resetMs: (Math.floor(now / size) + 1) * size - now,
  };
}

/** The single-rule API on top of `check`, shared by both adapters. */
export function singleRule(store: Pick<LimiterStore, 'check' | 'release' | 'reservedIn'>, prefix: string) {
  const scope = 'key';
  return {
    async reserve(key: string, tokens: number, limits: LimitSpec, now: number): Promise<Decision> {
      const c = await store.check(key, [{ scope, period: 'minute', requests: limits.requests, tokens: limits.tokens }], tokens, now);
      const s = c.states[0]!;
      return {
        allowed: c.allowed,
        window: windowOf(now),
        limitRequests: limits.requests,
        remainingRequests: limits.requests === 0 ? 0 : s.remainingRequests,
        limitTokens: limits.tokens,
        remainingTokens: limits.tokens === 0 ? 0 : s.remainingTokens,
        resetMs: s.resetMs,
      };
    },
    settle(key: string, window: number, reserved: number, actual: number): Promise<void> {
      return store.release({ buckets: [bucketKey(prefix, key, scope, 'minute', window)], tokens: reserved }, actual);
    },
    reserved(key: string, now: number): Promise<number> {
      return store.reservedIn(key, scope, now);
    },
  };
}
