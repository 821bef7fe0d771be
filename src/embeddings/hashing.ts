// The last-resort embedder: deterministic feature hashing, pure TypeScript, no model, no network.
// It captures lexical overlap (shared words, word pairs and word pieces), not meaning, so it is
// labelled low quality everywhere it shows. It is also what most tests embed with: fast and
// identical on every machine.
import type { Embedder, EmbedOptions, InputLimits } from './port.js';
import { DEFAULT_MAX_INPUT_CHARS } from './port.js';
import { checkInputs, toUnitVector } from './vectors.js';

export const HASHING_MODEL = 'plinth-hashing-v1';
export const HASHING_DEFAULT_DIMENSIONS = 384;

export interface HashingEmbedderOptions extends Partial<InputLimits> {
  dimensions?: number;
}

// Feature weights: whole words carry most of the signal; word pairs add a little word order;
// character trigrams let "embedding" and "embeddings" share most of their mass.
const WORD_WEIGHT = 1;
const BIGRAM_WEIGHT = 0.5;
const TRIGRAM_WEIGHT = 0.25;

const WORD = /[\p{L}\p{M}\p{N}]+/gu;

export function createHashingEmbedder(options: HashingEmbedderOptions = {}): Embedder {
  const dimensions = options.dimensions ?? HASHING_DEFAULT_DIMENSIONS;
  if (!Number.isInteger(dimensions) || dimensions < 2) throw new RangeError(`dimensions must be an integer >= 2, got ${dimensions}`);
  const limits: InputLimits = { maxInputChars: options.maxInputChars ?? DEFAULT_MAX_INPUT_CHARS };
  return {
    provider: 'hashing',
    model: HASHING_MODEL,
    dimensions,
    quality: 'low',
    embed(texts: readonly string[], embedOptions?: EmbedOptions): Promise<Float32Array[]> {
      // A throw inside the executor becomes the rejection, as in the asynchronous adapters.
      return new Promise((resolve) => {
        embedOptions?.signal?.throwIfAborted();
        checkInputs(texts, limits);
        resolve(texts.map((t, i) => toUnitVector(hashText(t, dimensions), dimensions, 'hashing', i)));
      });
    },
    close: () => Promise.resolve(),
  };
}

/** The raw (unnormalised) hashed feature vector of one text. */
export function hashText(text: string, dimensions: number): Float64Array {
  const counts = new Map<string, number>();
  const add = (feature: string) => counts.set(feature, (counts.get(feature) ?? 0) + 1);
  const words = text.normalize('NFKC').toLowerCase().match(WORD) ?? [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    add(`w\u0001${w}`);
    if (i > 0) add(`b\u0001${words[i - 1]!}\u0001${w}`);
    if (w.length > 2) {
      const padded = `\u0002${w}\u0002`;
      for (let j = 0; j + 3 <= padded.length; j++) add(`t\u0001${padded.slice(j, j + 3)}`);
    }
  }
  if (words.length === 0) {
    // Punctuation or symbols only: hash the visible characters so the vector is never zero.
    for (const ch of text.replace(/\s+/gu, '')) add(`c\u0001${ch}`);
  }
  const vector = new Float64Array(dimensions);
  for (const [feature, count] of counts) {
    const kind = feature.charCodeAt(0);
    const weight = kind === 0x77 /* w */ || kind === 0x63 /* c */ ? WORD_WEIGHT : kind === 0x62 /* b */ ? BIGRAM_WEIGHT : TRIGRAM_WEIGHT;
    const h = hash32(feature);
    // Signed hashing: collisions cancel out on average instead of piling up.
    const sign = h & 1 ? -1 : 1;
    vector[(h >>> 1) % dimensions]! += sign * weight * (1 + Math.log(count));
  }
  // Features can cancel exactly (same slot, opposite signs); a unit vector still needs a direction.
  if (vector.every((v) => v === 0)) vector[hash32(text) % dimensions] = 1;
  return vector;
}

/** FNV-1a over UTF-16 code units, then murmur3's finaliser so low bits mix well for the modulus. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
