// The LimiterStore port: per-key requests-per-minute and tokens-per-minute in fixed one-minute
// windows. A call is checked and its estimated tokens reserved in one atomic step; afterwards the
// reservation is settled with the real token count (or released on failure), so concurrent calls
// cannot overspend the budget between check and use.

export interface LimitSpec {
  /** Requests per window; 0 = unlimited. */
  requests: number;
  /** Tokens per window; 0 = unlimited. */
  tokens: number;
}

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
  /** Atomically: admit one request reserving `tokens`, or refuse without changing anything. */
  reserve(key: string, tokens: number, limits: LimitSpec, now: number): Promise<Decision>;
  /** Replace a reservation by the real usage (`actual` 0 releases it). */
  settle(key: string, window: number, reserved: number, actual: number): Promise<void>;
  /** Tokens currently reserved and not yet settled, across live windows (for checks and tests). */
  reserved(key: string, now: number): Promise<number>;
  close(): Promise<void>;
}

export const WINDOW_MS = 60_000;

export function windowOf(now: number): number {
  return Math.floor(now / WINDOW_MS);
}
