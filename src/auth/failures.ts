// Brute-force protection for credentials: counts failed authentications per source (the client
// address) in a fixed window and, past a threshold, refuses every authentication from that source
// for a block period with PLINTH_RATE_LIMITED (429 + Retry-After). In-process and bounded in
// memory: each replica protects itself; the oldest sources are forgotten first when full.
import { z } from 'zod';
import { PlinthError } from '../errors.js';

export const authFailureLimitSchema = z.object({
  /** Failed authentications from one source within a window after which it is blocked; 0 disables. */
  maxFailures: z.number().int().min(0).max(1_000_000).default(20),
  /** Length of the counting window (ms). */
  windowMs: z.number().int().min(1_000).max(86_400_000).default(60_000),
  /** How long a source stays blocked once over the limit (ms). */
  blockMs: z.number().int().min(1_000).max(86_400_000).default(300_000),
  /** Most sources tracked at once; beyond it, the least recently seen is dropped. */
  maxSources: z.number().int().min(100).max(10_000_000).default(100_000),
});

export type AuthFailureLimitOptions = z.input<typeof authFailureLimitSchema>;

interface SourceState {
  windowStart: number;
  failures: number;
  blockedUntil: number;
}

export interface FailureOutcome {
  /** Failures counted in the current window, this one included. */
  failures: number;
  /** True when this failure crossed the threshold and the source is now blocked. */
  blockedNow: boolean;
  /** Seconds the block lasts (when blockedNow). */
  blockSeconds: number;
}

export type AuthFailureLimiter = ReturnType<typeof createAuthFailureLimiter>;

export function createAuthFailureLimiter(options: AuthFailureLimitOptions = {}, now: () => number = Date.now) {
  const o = authFailureLimitSchema.parse(options);
  // Map iteration order is insertion order: re-inserting on every touch keeps the oldest first.
  const sources = new Map<string, SourceState>();

  function touch(source: string, state: SourceState): void {
    sources.delete(source);
    sources.set(source, state);
    while (sources.size > o.maxSources) {
      const oldest = sources.keys().next().value;
      if (oldest === undefined) break;
      sources.delete(oldest);
    }
  }

  return {
    options: o,

    /** Throw PLINTH_RATE_LIMITED when the source is blocked. */
    check(source: string | undefined): void {
      if (!source || o.maxFailures === 0) return;
      const state = sources.get(source);
      if (!state) return;
      const t = now();
      if (state.blockedUntil > t) {
        const retryAfter = Math.max(1, Math.ceil((state.blockedUntil - t) / 1000));
        throw new PlinthError('RATE_LIMITED', `Too many failed authentications from this address; retry in ${retryAfter} s.`, {
          retry_after_s: retryAfter,
          reason: 'authentication_failures',
        });
      }
    },

    /** Count one failed authentication from the source. */
    fail(source: string | undefined): FailureOutcome {
      const none = { failures: 0, blockedNow: false, blockSeconds: 0 };
      if (!source || o.maxFailures === 0) return none;
      const t = now();
      let state = sources.get(source);
      if (!state || t - state.windowStart >= o.windowMs) state = { windowStart: t, failures: 0, blockedUntil: state?.blockedUntil ?? 0 };
      state.failures += 1;
      let blockedNow = false;
      if (state.failures >= o.maxFailures && state.blockedUntil <= t) {
        state.blockedUntil = t + o.blockMs;
        blockedNow = true;
      }
      touch(source, state);
      return { failures: state.failures, blockedNow, blockSeconds: Math.ceil(o.blockMs / 1000) };
    },

    /** Forget every source (tests, or an operator lifting blocks). */
    reset(): void {
      sources.clear();
    },

    /** Sources currently tracked (for metrics and tests). */
    size(): number {
      return sources.size;
    },
  };
}
