// Seeded randomness for benchmarks: the same seed gives the same data on every machine, so two
// runs differ only in the code and the machine, never in the inputs.

/** mulberry32: small, fast, good enough for synthetic data (not for anything secret). */
export function createRng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | undefined;
  return {
    /** Uniform in [0, 1). */
    next,
    /** Uniform integer in [0, n). */
    int(n: number): number {
      return Math.floor(next() * n);
    },
    /** Standard normal (Box–Muller, one spare kept). */
    gauss(): number {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    pick<T>(items: readonly T[]): T {
      return items[Math.floor(next() * items.length)]!;
    },
  };
}
export type Rng = ReturnType<typeof createRng>;

/** Sampling from a fixed discrete distribution by binary search over the cumulative weights. */
export function createSampler(weights: readonly number[]) {
  const cumulative = new Float64Array(weights.length);
  let total = 0;
  weights.forEach((w, i) => (cumulative[i] = total += w));
  return (rng: Rng): number => {
    const x = rng.next() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/** Scale a vector to unit length in place. */
export function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  const inv = 1 / Math.sqrt(n || 1);
  for (let i = 0; i < v.length; i++) v[i]! *= inv;
  return v;
}
