// In-process LimiterStore for one replica (embedded mode, no Redis): the same windows and the same
// all-or-nothing check as the Redis script, on a Map. Node runs this synchronously between awaits,
// which is what makes it atomic here.
import { bucketKey, PERIOD_MS, singleRule, stateOf, windowOf, type Check, type LimiterStore, type LimitRule, type Period, type Reservation } from './port.js';

interface Counters {
  requests: number;
  used: number;
  reserved: number;
  /** Expiry time (ms): one window after the window ends, as the Redis keys expire. */
  until: number;
}

const PREFIX = '';
const SWEEP_EVERY_MS = 10_000;

export function createMemoryLimiterStore(): LimiterStore {
  const buckets = new Map<string, Counters>();
  let nextSweep = 0;
  const sweep = (now: number) => {
    if (now < nextSweep) return;
    nextSweep = now + SWEEP_EVERY_MS;
    for (const [k, c] of buckets) if (c.until <= now) buckets.delete(k);
  };
  const live = (k: string, now: number): Counters | undefined => {
    const c = buckets.get(k);
    return c && c.until > now ? c : undefined;
  };

  const core = {
    check(group: string, rules: readonly LimitRule[], tokens: number, now: number): Promise<Check> {
      sweep(now);
      const keys = rules.map((r) => bucketKey(PREFIX, group, r.scope, r.period, windowOf(now, r.period)));
      const current = keys.map((k) => live(k, now) ?? { requests: 0, used: 0, reserved: 0, until: 0 });
      const refused = rules.findIndex((r, i) => {
        const c = current[i]!;
        return (r.requests > 0 && c.requests + 1 > r.requests) || (r.tokens > 0 && c.used + c.reserved + tokens > r.tokens);
      });
      if (refused >= 0) {
        const states = rules.map((r, i) => stateOf(r, current[i]!.requests, current[i]!.used + current[i]!.reserved, now));
        return Promise.resolve({ allowed: false, states, refusedBy: states[refused]! });
      }
      const states = rules.map((r, i) => {
        const size = PERIOD_MS[r.period];
        const c = current[i]!;
        c.requests += 1;
        c.reserved += tokens;
        c.until = (windowOf(now, r.period) + 2) * size;
        buckets.set(keys[i]!, c);
        return stateOf(r, c.requests, c.used + c.reserved, now);
      });
      const reservation: Reservation = { buckets: keys, tokens };
      return Promise.resolve({ allowed: true, states, reservation });
    },
    release(reservation: Reservation, actual: number): Promise<void> {
      for (const k of reservation.buckets) {
        const c = buckets.get(k);
        if (!c) continue;
        c.reserved = Math.max(0, c.reserved - reservation.tokens);
        c.used += actual;
      }
      return Promise.resolve();
    },
    reservedIn(group: string, scope: string, now: number): Promise<number> {
      const sum = (period: Period) => {
        const w = windowOf(now, period);
        return (live(bucketKey(PREFIX, group, scope, period, w), now)?.reserved ?? 0) + (live(bucketKey(PREFIX, group, scope, period, w - 1), now)?.reserved ?? 0);
      };
      // A reservation sits in the windows of every period its scope is limited by: count it once.
      return Promise.resolve(Math.max(sum('minute'), sum('day')));
    },
  };
  return {
    kind: 'memory',
    ...core,
    ...singleRule(core, PREFIX),
    close() {
      buckets.clear();
      return Promise.resolve();
    },
  };
}
