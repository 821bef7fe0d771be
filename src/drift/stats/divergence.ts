// Distances and divergences between two binned distributions (the reference
// and current shares per bin or category), defined as Evidently's stat tests
// define them, with SciPy's formulas underneath.

function checkPair(p: ArrayLike<number>, q: ArrayLike<number>, what: string): void {
  if (p.length === 0 || q.length === 0) throw new RangeError(`${what}: distributions must not be empty`);
  if (p.length !== q.length) throw new RangeError(`${what}: distributions must have the same number of bins (${p.length} vs ${q.length})`);
  for (const [arr, name] of [
    [p, 'reference'],
    [q, 'current'],
  ] as const) {
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i] as number;
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`${what}: ${name} bin ${i} must be a finite non-negative number (got ${v})`);
    }
  }
}

function total(p: ArrayLike<number>, what: string): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += p[i] as number;
  if (!(s > 0)) throw new RangeError(`${what}: a distribution sums to zero`);
  return s;
}

/** x·log(x/y) with SciPy's rel_entr conventions (0 at x = 0, ∞ when only y = 0). */
function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}

/**
 * Evidently's feel_zeroes: every empty bin gets a small share so logarithms
 * stay finite — 0.0001, or the smallest non-zero share / 10^6 when that share
 * is itself <= 0.0001. Returns a new array.
 */
export function fillZeroes(percents: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(percents);
  let minNonZero = Infinity;
  for (const v of out) if (v !== 0 && v < minNonZero) minNonZero = v;
  if (minNonZero === Infinity) throw new RangeError('fillZeroes: every bin is empty');
  const fill = minNonZero <= 0.0001 ? minNonZero / 1e6 : 0.0001;
  for (let i = 0; i < out.length; i++) if (out[i] === 0) out[i] = fill;
  return out;
}

export interface ZeroFillOptions {
  /** Apply Evidently's feel_zeroes to both inputs first (default true). */
  fillZeroes?: boolean;
}

/**
 * Jensen–Shannon distance, base 2 (scipy.spatial.distance.jensenshannon(p, q, 2)):
 * sqrt((KL(p‖m) + KL(q‖m)) / 2) with m = (p + q)/2, inputs normalised to sum 1.
 * In [0, 1]; empty bins need no special handling.
 */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  checkPair(p, q, 'jensenShannonDistance');
  const sp = total(p, 'jensenShannonDistance');
  const sq = total(q, 'jensenShannonDistance');
  let left = 0;
  let right = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = (p[i] as number) / sp;
    const qi = (q[i] as number) / sq;
    const m = (pi + qi) / 2;
    left += relEntr(pi, m);
    right += relEntr(qi, m);
  }
  const js = (left + right) / Math.LN2;
  return Math.sqrt(Math.max(0, js) / 2);
}

/**
 * Kullback–Leibler divergence KL(p‖q) in nats (scipy.stats.entropy(p, q)),
 * inputs normalised to sum 1. As Evidently's kl_div, empty bins are filled first
 * unless `fillZeroes: false` (then an empty current bin gives Infinity).
 */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>, opts: ZeroFillOptions = {}): number {
  checkPair(p, q, 'klDivergence');
  const pf = opts.fillZeroes === false ? p : fillZeroes(p);
  const qf = opts.fillZeroes === false ? q : fillZeroes(q);
  const sp = total(pf, 'klDivergence');
  const sq = total(qf, 'klDivergence');
  let s = 0;
  for (let i = 0; i < pf.length; i++) s += relEntr((pf[i] as number) / sp, (qf[i] as number) / sq);
  return s;
}

/**
 * Population Stability Index, Σ (ref − cur) · ln(ref / cur) over bin shares
 * (Evidently's psi; the shares are used as given, not renormalised). Empty bins
 * are filled first unless `fillZeroes: false`.
 */
export function psi(refPct: ArrayLike<number>, curPct: ArrayLike<number>, opts: ZeroFillOptions = {}): number {
  checkPair(refPct, curPct, 'psi');
  const r = opts.fillZeroes === false ? refPct : fillZeroes(refPct);
  const c = opts.fillZeroes === false ? curPct : fillZeroes(curPct);
  let s = 0;
  for (let i = 0; i < r.length; i++) {
    const ri = r[i] as number;
    const ci = c[i] as number;
    if (ri === ci) continue; // also covers 0/0 when filling is off
    s += (ri - ci) * Math.log(ri / ci);
  }
  return s;
}

/**
 * Hellinger distance sqrt(1 − Σ sqrt(p_i q_i)) with the Bhattacharyya sum
 * clipped to [0, 1] (Evidently's hellinger); inputs normalised to sum 1, so
 * counts or shares both work. In [0, 1].
 */
export function hellingerDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  checkPair(p, q, 'hellingerDistance');
  const sp = total(p, 'hellingerDistance');
  const sq = total(q, 'hellingerDistance');
  let bc = 0;
  for (let i = 0; i < p.length; i++) bc += Math.sqrt(((p[i] as number) / sp) * ((q[i] as number) / sq));
  bc = Math.min(1, Math.max(0, bc));
  return Math.sqrt(1 - bc);
}
