// Public surface of the drift statistics: pure functions on numeric samples or
// binned distributions, numerically matching SciPy/NumPy (and Evidently where
// it defines the test). Inputs must be finite; callers drop missing values.

export type { Sample } from './sort.js';
export { sortFloat64, isSorted, checkSample } from './sort.js';
export type { TestResult, Ks2SampOptions } from './ks.js';
export { ks2samp } from './ks.js';
export type { ChiSquareResult } from './categorical.js';
export { chiSquareTest, zTwoProportions } from './categorical.js';
export type { ZeroFillOptions } from './divergence.js';
export { jensenShannonDistance, klDivergence, psi, hellingerDistance, fillZeroes } from './divergence.js';
export type { SortedOption } from './distance.js';
export { wassersteinDistance, normedWasserstein, energyDistance } from './distance.js';
export type { AndersonKSampResult, TTestResult } from './parametric.js';
export { andersonKSamp, tTest } from './parametric.js';
export type { MannWhitneyOptions, CramerVonMisesOptions } from './rank.js';
export { mannWhitneyU, cramerVonMises2samp } from './rank.js';
export type { Bins, BinRule } from './histogram.js';
export { histogramBinEdges, binEdgesFromSummary, histogram, linspace, percentileSorted } from './histogram.js';
export * as special from './special.js';
