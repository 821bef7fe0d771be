// Special functions behind the drift p-values: normal, gamma, beta, Student t,
// chi-square, Kolmogorov/Smirnov distributions and the Bessel K used by the
// Cramér–von Mises limit law. Pure TypeScript, double precision; accuracy is
// ~1e-13 relative or better in the ranges the drift tests use, so the p-values
// agree with SciPy far below the 1e-6 acceptance tolerance.

export const LN_SQRT_2PI = 0.9189385332046728; // log(sqrt(2*pi))
const SQRT_PI = 1.7724538509055159;
const TWO_OVER_SQRT_PI = 1.1283791670955126;
const SQRT_2PI = 2.5066282746310002;
const EPS = 2.220446049250313e-16;

// ---------------------------------------------------------------------------
// Error function and the normal distribution

/** exp(-x*x) without the rounding error of squaring a large x. */
function expMinusSquare(x: number): number {
  // Split x = hi + lo with hi on a 1/16 grid: hi*hi is then exact.
  const hi = Math.round(x * 16) / 16;
  const lo = x - hi;
  return Math.exp(-hi * hi) * Math.exp(-lo * (2 * hi + lo));
}

/** erf(x) by its everywhere-convergent positive series (used for |x| < 2). */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 500; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) <= Math.abs(sum) * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * expMinusSquare(x) * sum;
}

/** erfc(x) for x >= 2 by the Laplace continued fraction (modified Lentz). */
function erfcContinuedFraction(x: number): number {
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 5000; k++) {
    const a = k / 2;
    d = x + a * d;
    if (d === 0) d = tiny;
    c = x + a / c;
    if (c === 0) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return expMinusSquare(x) / (SQRT_PI * f);
}

export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (Math.abs(x) < 2) return erfSeries(x);
  const c = x > 27 ? 0 : erfcContinuedFraction(Math.abs(x));
  return x > 0 ? 1 - c : c - 1;
}

export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 2) return x > 27.3 ? 0 : erfcContinuedFraction(x);
  if (x <= -2) return x < -6 ? 2 : 2 - erfcContinuedFraction(-x);
  return 1 - erfSeries(x);
}

/** Standard normal CDF, Φ(x) (scipy.special.ndtr). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Standard normal survival function, 1 − Φ(x), accurate in the far tail. */
export function normalSf(x: number): number {
  return 0.5 * erfc(x / Math.SQRT2);
}

// ---------------------------------------------------------------------------
// Gamma and beta functions

// Stirling series coefficients B_2k / (2k (2k-1)), k = 1..8.
const STIRLING = [
  1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400,
];

/** lgamma(x) − Stirling's main term, for x >= 10 (the "stirlerr" correction). */
function stirlingCorrection(x: number): number {
  const r = 1 / x;
  const r2 = r * r;
  let s = 0;
  for (let k = STIRLING.length - 1; k >= 0; k--) s = s * r2 + (STIRLING[k] ?? 0);
  return s * r;
}

/** log Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0)) {
    if (x === 0) return Infinity;
    return NaN;
  }
  if (x >= 10) return (x - 0.5) * Math.log(x) - x + LN_SQRT_2PI + stirlingCorrection(x);
  // Shift the argument up to 10 and divide the rising product out.
  let prod = 1;
  let y = x;
  while (y < 10) {
    prod *= y;
    y += 1;
  }
  return (y - 0.5) * Math.log(y) - y + LN_SQRT_2PI + stirlingCorrection(y) - Math.log(prod);
}

/** log Γ(a) − log Γ(a + b), without cancellation when a is large. */
function logGammaRatio(a: number, b: number): number {
  if (a >= 10 && a + b >= 10) {
    return -(a - 0.5) * Math.log1p(b / a) - b * Math.log(a + b) + b + stirlingCorrection(a) - stirlingCorrection(a + b);
  }
  return logGamma(a) - logGamma(a + b);
}

/** log B(a, b). */
export function logBeta(a: number, b: number): number {
  if (a < b) [a, b] = [b, a];
  // now a >= b
  if (b >= 10) {
    const s = a + b;
    return (
      (a - 0.5) * -Math.log1p(b / a) +
      (b - 0.5) * Math.log(b / s) -
      0.5 * Math.log(s) +
      LN_SQRT_2PI +
      stirlingCorrection(a) +
      stirlingCorrection(b) -
      stirlingCorrection(s)
    );
  }
  return logGamma(b) + logGammaRatio(a, b);
}

/** log(1 + t) − t, accurate for small t. */
export function log1pmx(t: number): number {
  if (Math.abs(t) < 0.25) {
    // −t²/2 + t³/3 − t⁴/4 + …
    let term = t;
    let sum = 0;
    for (let k = 2; k < 200; k++) {
      term *= -t;
      const add = term / k;
      sum += add;
      if (Math.abs(add) <= Math.abs(sum) * 1e-17) break;
    }
    return sum;
  }
  return Math.log1p(t) - t;
}

/** log(x^a e^-x / Γ(a)), the common prefactor of the incomplete gamma functions. */
function logGammaPrefactor(a: number, x: number): number {
  if (a >= 10) {
    const t = (x - a) / a;
    return a * log1pmx(t) + 0.5 * Math.log(a) - LN_SQRT_2PI - stirlingCorrection(a);
  }
  return a * Math.log(x) - x - logGamma(a);
}

/** Series for P(a, x) (converges well for x < a + 1). */
function gammaPSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < 100000; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPS * 0.5) break;
  }
  return sum * Math.exp(logGammaPrefactor(a, x));
}

/** Continued fraction for Q(a, x) (x >= a + 1), modified Lentz. */
function gammaQContinuedFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(logGammaPrefactor(a, x)) * h;
}

/** Regularized lower incomplete gamma P(a, x) (scipy.special.gammainc). */
export function gammaincP(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return NaN;
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  return x < a + 1 ? gammaPSeries(a, x) : 1 - gammaQContinuedFraction(a, x);
}

/** Regularized upper incomplete gamma Q(a, x) (scipy.special.gammaincc). */
export function gammaincQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  return x < a + 1 ? 1 - gammaPSeries(a, x) : gammaQContinuedFraction(a, x);
}

/** Chi-square survival function with df degrees of freedom. */
export function chiSquareSf(x: number, df: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= 0) return 1;
  return gammaincQ(df / 2, x / 2);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < 200000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return h;
}

/**
 * Regularized incomplete beta I_x(a, b). `y` = 1 − x may be passed when the
 * caller knows it more accurately than 1 − x would give.
 */
export function betainc(a: number, b: number, x: number, y: number = 1 - x): number {
  if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1)) return NaN;
  if (x === 0) return 0;
  if (y === 0) return 1;
  const logFront = a * Math.log(x) + b * Math.log(y) - logBeta(a, b);
  if (x < (a + 1) / (a + b + 2)) {
    return (Math.exp(logFront) * betaContinuedFraction(a, b, x)) / a;
  }
  return 1 - (Math.exp(logFront) * betaContinuedFraction(b, a, y)) / b;
}

/** Student t survival function P(T > t) with df degrees of freedom. */
export function studentTSf(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  if (t === Infinity) return 0;
  if (t === -Infinity) return 1;
  const t2 = t * t;
  // tail = P(|T| > |t|) / 2 = I_{df/(df+t²)}(df/2, 1/2) / 2
  const x = df / (df + t2);
  const y = t2 / (df + t2);
  const tail = 0.5 * betainc(df / 2, 0.5, x, y);
  return t >= 0 ? tail : 1 - tail;
}

// ---------------------------------------------------------------------------
// Binomial coefficients

/** C(n, k) as a double (scipy.special.binom for integer arguments). */
export function binom(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  if (k > n - k) k = n - k;
  if (k < 60) {
    let r = 1;
    for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
    return r;
  }
  return Math.exp(logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1));
}

// ---------------------------------------------------------------------------
// Kolmogorov distribution (limit law of sqrt(n) D_n): scipy.special.kolmogorov

/** Survival function of the Kolmogorov limit distribution, P(K > x). */
export function kolmogorovSf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= 0) return 1;
  if (x <= Math.PI / Math.sqrt(746 * 8)) return 1;
  if (x <= 0.82) {
    // P(K <= x) = sqrt(2π)/x Σ exp(-(2k-1)²π²/(8x²))
    const w = SQRT_2PI / x;
    const logu8 = (-Math.PI * Math.PI) / (x * x);
    const u = Math.exp(logu8 / 8);
    let cdf: number;
    if (u === 0) {
      cdf = Math.exp(logu8 / 8 + Math.log(w));
    } else {
      const u8 = Math.exp(logu8);
      const u8cub = u8 * u8 * u8;
      let p = 1;
      p = 1 + u8cub * p;
      p = 1 + u8 * u8 * p;
      p = 1 + u8 * p;
      cdf = w * u * p;
    }
    return clamp01(1 - cdf);
  }
  // P(K > x) = 2 Σ (-1)^(k-1) exp(-2k²x²)
  const v = Math.exp(-2 * x * x);
  const v3 = v * v * v;
  let p = 1;
  p = 1 - v3 * v3 * v * p;
  p = 1 - v3 * v * v * p;
  p = 1 - v3 * p;
  return clamp01(2 * v * p);
}

function clamp01(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

// ---------------------------------------------------------------------------
// One-sided Smirnov distribution: scipy.special.smirnov(n, x) = P(D_n^+ >= x)

/** Survival function of the one-sided one-sample KS statistic D_n^+. */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0) || !(x >= 0) || !(x <= 1)) return NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const nx = n * x;
  const nxfl = Math.floor(nx);
  const alpha = nx - nxfl;
  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) {
    // x <= 1/n: cdf = x (1+x)^(n-1)
    return 1 - x * Math.exp((n - 1) * Math.log1p(x));
  }
  if (-2 * n * x * x < -708.3964185322641) return 0;
  if (nxfl >= n - 1) return Math.exp(n * Math.log1p(-x));
  if (n > 1000000) {
    // SciPy's large-n approximation: p ~ exp(-(6nx+1)^2 / (18n))
    const logp = -Math.pow(6 * n * x + 1, 2) / 18 / n;
    if (logp < -Math.LN2) return Math.exp(logp);
    return 1 - -Math.expm1(logp);
  }
  // Birnbaum-Tingey: P = x * sum_{v=0}^{vmax} C(n,v) (1-x-v/n)^(n-v) (x+v/n)^(v-1).
  // All terms are positive, so a log-space sum with a running scale loses nothing.
  let vmax = n - nxfl - (alpha === 0 ? 0 : 1);
  if (alpha === 0) vmax -= 1;
  // log C(n, v) is updated incrementally with a compensated sum: it grows to
  // thousands, and plain accumulation would cost ~1e-9 relative accuracy.
  let logC = 0;
  let logCComp = 0;
  let scale = -Infinity;
  let sum = 0;
  let prevLog = -Infinity;
  for (let v = 0; v <= vmax; v++) {
    if (v > 0) {
      const inc = Math.log((n - v + 1) / v) - logCComp;
      const t = logC + inc;
      logCComp = t - logC - inc;
      logC = t;
    }
    const p1 = x + v / n;
    const lt = logC + (n - v) * Math.log1p(-p1) + (v - 1) * Math.log(p1);
    if (lt > scale) {
      sum = sum * Math.exp(scale - lt) + 1;
      scale = lt;
    } else {
      const term = Math.exp(lt - scale);
      sum += term;
      // Past the peak the terms only shrink: stop once the rest cannot matter.
      if (lt < prevLog && (vmax - v) * term < 1e-17 * sum) break;
    }
    prevLog = lt;
  }
  return clamp01(x * sum * Math.exp(scale));
}

// ---------------------------------------------------------------------------
// Two-sided one-sample KS distribution for finite n: scipy.stats.kstwo
// (Simard & L'Ecuyer's choice between Durbin/MTW, Pomeranz, Pelz–Good and the
// Smirnov formula, exactly as scipy.stats._ksstats.kolmogn picks them).

const E128 = 2 ** 128;
const EM128 = 2 ** -128;

function logNFactorialDivNPowN(n: number): number {
  // Stirling coefficients, highest order first (Horner in 1/n²).
  const coeffs = [...STIRLING].reverse();
  const rn = 1 / n;
  const z = rn / n;
  let poly = 0;
  for (const c of coeffs) poly = poly * z + c;
  return Math.log(n) / 2 - n + Math.log(2 * Math.PI) / 2 + rn * poly;
}

function matMul(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k] ?? 0;
      if (aik === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j] = (out[i * m + j] ?? 0) + aik * (b[k * m + j] ?? 0);
    }
  }
  return out;
}

/** P(D_n <= d) by the Durbin matrix algorithm (Marsaglia, Tsang & Wang). */
function kolmognDurbinCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  let H: Float64Array = new Float64Array(m * m);
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    v[j - 1] = 1 - Math.pow(h, j);
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (v[j - 1] ?? 0) * fac;
  }
  const tt = Math.pow(Math.max(2 * h - 1, 0), m) - 2 * Math.pow(h, m);
  v[m - 1] = (1 + tt) * fac;
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - (i - 1)] ?? 0;
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r] ?? 0;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c] ?? 0;

  let Hpwr: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) Hpwr[i * m + i] = 1;
  let nn = n;
  let expnt = 0;
  let hExpnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      Hpwr = matMul(Hpwr, H, m);
      expnt += hExpnt;
    }
    H = matMul(H, H, m);
    hExpnt *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)] ?? 0) > E128) {
      for (let i = 0; i < H.length; i++) H[i] = (H[i] ?? 0) / E128;
      hExpnt += 128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = Hpwr[(k - 1) * m + (k - 1)] ?? 0;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= E128;
      expnt -= 128;
    }
  }
  if (expnt !== 0) p *= Math.pow(2, expnt);
  return clamp01(p);
}

function pomeranzJ1J2(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    const ip1mod2 = (i + 1) % 2;
    if (ip1mod2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** P(D_n <= x) by the Pomeranz recursion. */
function kolmognPomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1;
  twogpower[0] = 1;
  onem2gpower[0] = 1;
  let expnt = 0;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = ((gpower[m - 1] ?? 0) * gOverN) / m;
    twogpower[m] = ((twogpower[m - 1] ?? 0) * twoGOverN) / m;
    onem2gpower[m] = ((onem2gpower[m - 1] ?? 0) * oneMinusTwoGOverN) / m;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let [j1, j2] = pomeranzJ1J2(0, n, ll, ceilf, roundf);
  const conv = new Float64Array(2 * npwrs);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzJ1J2(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // full convolution of V0[k1-V0s : k1-V0s+ln2] with pwrs[:ln2]
      const off = k1 - V0s;
      const convLen = 2 * ln2 - 1;
      for (let q = 0; q < convLen; q++) conv[q] = 0;
      for (let a = 0; a < ln2; a++) {
        const va = off + a < npwrs ? (V0[off + a] ?? 0) : 0;
        if (va === 0) continue;
        for (let b = 0; b < ln2; b++) conv[a + b] = (conv[a + b] ?? 0) + va * (pwrs[b] ?? 0);
      }
      const convStart = j1 - k1;
      const cLen = j2 - j1 + 1;
      let maxV = 0;
      for (let q = 0; q < cLen; q++) {
        const val = conv[convStart + q] ?? 0;
        V1[q] = val;
        if (val > maxV) maxV = val;
      }
      if (maxV > 0 && maxV < EM128) {
        for (let q = 0; q < npwrs; q++) V1[q] = (V1[q] ?? 0) * E128;
        expnt -= 128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let ans = V1[n - V1s] ?? 0;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > E128) {
      ans *= EM128;
      expnt += 128;
    }
    ans *= m;
  }
  if (expnt !== 0) ans *= Math.pow(2, expnt);
  return clamp01(ans);
}

/** Pelz–Good approximation of P(D_n <= x). */
function kolmognPelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const PI2 = Math.PI * Math.PI;
  const PI4 = PI2 * PI2;
  const PI6 = PI4 * PI2;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z3 = z2 * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const qlog = -PI2 / 8 / z2;
  if (qlog < -708) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * Math.pow(z, 8);
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const qpower = Math.pow(q, 8 * k);
    const coeffs = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) K[i] = (K[i] ?? 0) * qpower + (coeffs[i] ?? 0);
  }
  const den = [z, 6 * z4, 72 * Math.pow(z, 7), 6480 * Math.pow(z, 10)];
  for (let i = 0; i < 4; i++) K[i] = ((K[i] ?? 0) * q * SQRT_2PI) / (den[i] ?? 1);
  q = Math.exp(-PI2 / 2 / z2);
  const sqrt3z = Math.sqrt(3) * z;
  let k2extra = 0;
  let k3extra = 0;
  for (let k = maxk; k > 0; k--) {
    const ksq = k * k;
    const qp = Math.pow(q, ksq);
    const kspi = Math.PI * k;
    k2extra += ksq * qp;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp;
  }
  K[2] = (K[2] ?? 0) + (k2extra * PI2 * SQRT_2PI) / (-36 * z3);
  K[3] = (K[3] ?? 0) + (k3extra * PI2 * SQRT_2PI) / (216 * z6);
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += (K[i] ?? 0) / Math.pow(n, i / 2);
  return sum;
}

/**
 * Survival function P(D_n >= x) of the two-sided one-sample KS statistic for a
 * sample of size n (scipy.stats.kstwo.sf). ks2samp's asymptotic mode uses it
 * with n = round(n1*n2/(n1+n2)), as SciPy does.
 */
export function kolmogornSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0 || Number.isNaN(x)) return NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    const prob =
      n <= 140
        ? (() => {
            let p = 1;
            for (let i = 1; i <= n; i++) p *= i * (1 / n) * (2 * t - 1);
            return p;
          })()
        : Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    return clamp01(1 - prob);
  }
  if (t >= n - 1) return clamp01(2 * Math.pow(1 - x, n));
  if (x >= 0.5) return clamp01(2 * smirnovSf(n, x));
  const nxsq = t * x;
  if (n <= 140) {
    if (nxsq <= 0.754693) return clamp01(1 - kolmognDurbinCdf(n, x));
    if (nxsq <= 4) return clamp01(1 - kolmognPomeranzCdf(n, x));
    return clamp01(2 * smirnovSf(n, x));
  }
  if (nxsq >= 370) return 0;
  if (nxsq >= 2.2) return clamp01(2 * smirnovSf(n, x));
  let cdf: number;
  if (nxsq >= 18) cdf = 1;
  else if (n <= 100000 && n * Math.pow(x, 1.5) <= 1.4) cdf = kolmognDurbinCdf(n, x);
  else cdf = kolmognPelzGoodCdf(n, x);
  return clamp01(1 - cdf);
}

// ---------------------------------------------------------------------------
// Modified Bessel function of the second kind, K_nu(z), real nu, z > 0.

/**
 * exp(z) K_nu(z) from K_nu(z) = ∫_0^∞ exp(−z cosh t) cosh(nu t) dt. The
 * trapezoidal rule converges geometrically for this analytic, fast-decaying
 * integrand; the step follows the peak width 1/sqrt(z).
 */
export function besselKScaled(nu: number, z: number): number {
  if (!(z > 0)) return z === 0 ? Infinity : NaN;
  const h = Math.min(0.1, 0.5 / Math.sqrt(z));
  const tMax = Math.acosh(1 + 745 / z) + 1;
  let sum = 0.5; // t = 0 term: exp(0) cosh(0), weight 1/2
  for (let i = 1; ; i++) {
    const t = i * h;
    if (t > tMax) break;
    const term = Math.exp(-z * (Math.cosh(t) - 1)) * Math.cosh(nu * t);
    sum += term;
    if (term < sum * 1e-18) break;
  }
  return sum * h;
}

/** K_nu(z) (scipy.special.kv) for z > 0. */
export function besselK(nu: number, z: number): number {
  return besselKScaled(nu, z) * Math.exp(-z);
}
