// A circuit breaker per upstream: after `threshold` consecutive failed calls the circuit opens and
// calls fail fast for `cooldownMs`; then one trial call is let through (half-open), and its
// outcome closes or re-opens the circuit. Per replica on purpose: each replica judges the
// upstream from its own vantage point.

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  threshold: number;
  cooldownMs: number;
  now?: () => number;
  onChange?: (state: CircuitState) => void;
}

export class CircuitBreaker {
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #trialInFlight = false;
  readonly #now: () => number;

  constructor(private readonly options: BreakerOptions) {
    this.#now = options.now ?? Date.now;
  }

  get state(): CircuitState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.options.cooldownMs) this.#set('half_open');
    return this.#state;
  }

  /** Whether a call may go out now; a half-open circuit lets exactly one trial through. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.#trialInFlight) return false;
    this.#trialInFlight = true;
    return true;
  }

  /** Milliseconds until an open circuit allows a trial call. */
  retryAfterMs(): number {
    return this.#state === 'open' ? Math.max(0, this.options.cooldownMs - (this.#now() - this.#openedAt)) : 0;
  }

  success(): void {
    this.#failures = 0;
    this.#trialInFlight = false;
    if (this.#state !== 'closed') this.#set('closed');
  }

  failure(): void {
    this.#trialInFlight = false;
    this.#failures++;
    if (this.#state === 'half_open' || this.#failures >= this.options.threshold) {
      this.#openedAt = this.#now();
      this.#set('open');
    }
  }

  /** A call that ended without telling anything about the upstream (client went away). */
  release(): void {
    this.#trialInFlight = false;
  }

  #set(state: CircuitState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.options.onChange?.(state);
  }
}
