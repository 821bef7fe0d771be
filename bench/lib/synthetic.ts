// Synthetic memories at scale: clustered unit vectors and word-bearing texts, from a fixed seed.
//
// Vectors: a Gaussian mixture of `clusters` random unit centres. Each point is its centre plus
// noise that lies mostly in a low-dimensional subspace of its own cluster (plus a little
// isotropic noise), then normalised. Real sentence embeddings behave like this — their intrinsic
// dimension is tens, not hundreds — whereas isotropic 384-d noise would be a pathological worst
// case for any approximate index. Cluster sizes vary (log-normal weights).
//
// Texts: 4 of the cluster's 10 topic words, 10 general words drawn from a Zipf–Mandelbrot law
// over a 20,000-word vocabulary (the most common general word is in ~2% of texts, as common
// content words are in English), and one unique code, so full-text search has rare and common
// terms to match. Words are pronounceable pseudo-words, so no real-language corpus is needed.
// Queries are drawn near a stored memory: its vector plus noise, and some of its words.
import { createRng, createSampler, normalise, type Rng } from './rng.js';

export interface CorpusOptions {
  rows: number;
  dims: number;
  clusters: number;
  /** Dimension of each cluster's noise subspace. */
  subspaceDims: number;
  /** Length of the in-subspace noise relative to the unit centre. */
  noise: number;
  /** Length of the isotropic noise relative to the unit centre. */
  isotropicNoise: number;
  seed: number;
}

export interface Corpus {
  options: CorpusOptions;
  /** Row-major, `rows * dims` floats; `vector(i)` is a view. */
  data: Float32Array;
  vector(i: number): Float32Array;
  texts: string[];
  topicWords: string[][];
  cluster: Int32Array;
}

const CONSONANTS = 'bdfgklmnprstvz';
const VOWELS = 'aeiou';

function makeWords(rng: Rng, count: number, taken: Set<string>): string[] {
  const words: string[] = [];
  while (words.length < count) {
    const syllables = 2 + rng.int(3);
    let w = '';
    for (let s = 0; s < syllables; s++) w += CONSONANTS[rng.int(CONSONANTS.length)]! + VOWELS[rng.int(VOWELS.length)]!;
    if (rng.next() < 0.4) w += CONSONANTS[rng.int(CONSONANTS.length)]!;
    if (!taken.has(w)) {
      taken.add(w);
      words.push(w);
    }
  }
  return words;
}

/** A code no other row shares: an odd multiplier is a bijection modulo 2^32. */
export function uniqueCode(i: number): string {
  return `q${(Math.imul(i + 1, 0x9e3779b1) >>> 0).toString(36)}`;
}

function gaussianVector(rng: Rng, dims: number, scale = 1): Float32Array {
  const v = new Float32Array(dims);
  for (let i = 0; i < dims; i++) v[i] = rng.gauss() * scale;
  return v;
}

export function generateCorpus(options: CorpusOptions): Corpus {
  const { rows, dims, clusters, subspaceDims, seed } = options;
  const rng = createRng(seed);
  const taken = new Set<string>();
  const general = makeWords(rng, 20_000, taken);
  const topicWords = Array.from({ length: clusters }, () => makeWords(rng, 10, taken));
  const generalSampler = createSampler(general.map((_, r) => 1 / (r + 100)));

  const centres = Array.from({ length: clusters }, () => normalise(gaussianVector(rng, dims)));
  // Each cluster's noise basis: subspaceDims random directions, scaled so the noise has the
  // requested expected length.
  const basisScale = options.noise / Math.sqrt(subspaceDims);
  const bases = Array.from({ length: clusters }, () => Array.from({ length: subspaceDims }, () => normalise(gaussianVector(rng, dims))));
  const clusterSampler = createSampler(Array.from({ length: clusters }, () => Math.exp(0.5 * rng.gauss())));
  const isoScale = options.isotropicNoise / Math.sqrt(dims);

  const data = new Float32Array(rows * dims);
  const cluster = new Int32Array(rows);
  const texts: string[] = new Array<string>(rows);
  for (let i = 0; i < rows; i++) {
    const c = clusterSampler(rng);
    cluster[i] = c;
    const v = data.subarray(i * dims, (i + 1) * dims);
    v.set(centres[c]!);
    for (const b of bases[c]!) {
      const z = rng.gauss() * basisScale;
      for (let d = 0; d < dims; d++) v[d]! += z * b[d]!;
    }
    for (let d = 0; d < dims; d++) v[d]! += rng.gauss() * isoScale;
    normalise(v);

    const topic = topicWords[c]!;
    const words: string[] = [];
    const start = rng.int(topic.length);
    for (let k = 0; k < 4; k++) words.push(topic[(start + k * 3) % topic.length]!);
    for (let k = 0; k < 10; k++) words.splice(rng.int(words.length + 1), 0, general[generalSampler(rng)]!);
    texts[i] = `${capitalise(words.join(' '))}, ref ${uniqueCode(i)}.`;
  }
  return { options, data, vector: (i) => data.subarray(i * dims, (i + 1) * dims), texts, topicWords, cluster };
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export interface Query {
  source: number;
  vector: Float32Array;
  text: string;
}

/**
 * Queries near the first `rows` memories: a memory's vector plus isotropic noise of length
 * `noise`, and a text of two to four of its words, plus its unique code in `codeShare` of them.
 */
export function generateQueries(corpus: Corpus, rows: number, count: number, options: { seed: number; noise: number; codeShare: number }): Query[] {
  const rng = createRng(options.seed);
  const dims = corpus.options.dims;
  const scale = options.noise / Math.sqrt(dims);
  return Array.from({ length: count }, () => {
    const source = rng.int(rows);
    const vector = new Float32Array(corpus.vector(source));
    for (let d = 0; d < dims; d++) vector[d]! += rng.gauss() * scale;
    normalise(vector);
    const words = corpus.texts[source]!.replace(/[,.]/g, '').toLowerCase().split(' ').filter((w) => w !== 'ref' && !w.startsWith('q'));
    const picked = new Set<string>();
    const want = 2 + rng.int(3);
    while (picked.size < Math.min(want, words.length)) picked.add(rng.pick(words));
    if (rng.next() < options.codeShare) picked.add(uniqueCode(source));
    return { source, vector, text: [...picked].join(' ') };
  });
}

/** Exact top-k by cosine similarity over the first `rows` vectors (brute force). */
export function exactTopK(corpus: Corpus, rows: number, query: Float32Array, k: number): number[] {
  const dims = corpus.options.dims;
  const data = corpus.data;
  let qn = 0;
  for (let d = 0; d < dims; d++) qn += query[d]! * query[d]!;
  qn = Math.sqrt(qn);
  const best: Array<{ i: number; s: number }> = [];
  let floor = -Infinity;
  for (let i = 0; i < rows; i++) {
    const off = i * dims;
    let dot = 0;
    let n = 0;
    for (let d = 0; d < dims; d++) {
      const x = data[off + d]!;
      dot += x * query[d]!;
      n += x * x;
    }
    const s = dot / (Math.sqrt(n) * qn);
    if (best.length < k || s > floor) {
      best.push({ i, s });
      best.sort((a, b) => b.s - a.s);
      if (best.length > k) best.pop();
      floor = best[best.length - 1]!.s;
    }
  }
  return best.map((b) => b.i);
}
