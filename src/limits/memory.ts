// In-process LimiterStore for one replica (embedded mode, no REDIS_URL).
import { WINDOW_MS, windowOf, type Decision, type LimiterStore, type LimitSpec } from './port.js';

interface Counters {
  requests: number;
  used: number;
  reserved: number;
}

export function createMemoryLimiterStore(): LimiterStore {
  const windows = new Map<string, Counters>();
  const id = (key: string, window: number) => `${key}\u0000${window}`;
  const counters = (key: string, window: number): Counters => {
    let c = windows.get(id(key, window));
    if (!c) {
      c = { requests: 0, used: 0, reserved: 0 };
      windows.set(id(key, window), c);
    }
    return c;
  };
  const sweep = (now: number) => {
    const oldest = windowOf(now) - 1;
    for (const k of windows.keys()) if (Number(k.slice(k.lastIndexOf('\u0000') + 1)) < oldest) windows.delete(k);
  };
  return {
    kind: 'memory',
    reserve(key: string, tokens: number, limits: LimitSpec, now: number): Promise<Decision> {
      sweep(now);
      const window = windowOf(now);
      const c = counters(key, window);
      const okRequests = limits.requests === 0 || c.requests + 1 <= limits.requests;
      const okTokens = limits.tokens === 0 || c.used + c.reserved + tokens <= limits.tokens;
      const allowed = okRequests && okTokens;
      if (allowed) {
        c.requests += 1;
        c.reserved += tokens;
      }
      return Promise.resolve({
        allowed,
        window,
        limitRequests: limits.requests,
        remainingRequests: Math.max(0, limits.requests - c.requests),
        limitTokens: limits.tokens,
        remainingTokens: Math.max(0, limits.tokens - c.used - c.reserved),
        resetMs: (window + 1) * WINDOW_MS - now,
      });
    },
    settle(key, window, reserved, actual) {
      const c = windows.get(id(key, window));
      if (c) {
        c.reserved = Math.max(0, c.reserved - reserved);
        c.used += actual;
      }
      return Promise.resolve();
    },
    reserved(key, now) {
      const w = windowOf(now);
      return Promise.resolve((windows.get(id(key, w))?.reserved ?? 0) + (windows.get(id(key, w - 1))?.reserved ?? 0));
    },
    close() {
      windows.clear();
      return Promise.resolve();
    },
  };
}
