// Checks shared by every adapter: what may be embedded, and what counts as a valid vector.
// Upstream answers are never trusted: a NaN or a short vector stored in pgvector would poison
// every later search in its space, so it is refused here instead.
import { PlinthError } from '../errors.js';
import type { EmbeddingProvider, InputLimits } from './port.js';

/** Rejects an empty list, blank texts and texts over the length limit, naming the first offender. */
export function checkInputs(texts: readonly string[], limits: InputLimits): void {
  if (texts.length === 0) {
    throw new PlinthError('EMBEDDING_INPUT_INVALID', 'Nothing to embed: the list of texts is empty.');
  }
  for (let i = 0; i < texts.length; i++) {
    const text: unknown = texts[i];
    if (typeof text !== 'string' || text.trim() === '') {
      throw new PlinthError('EMBEDDING_INPUT_INVALID', `Text ${i} is empty.`, { index: i });
    }
    if (text.length > limits.maxInputChars) {
      throw new PlinthError('EMBEDDING_INPUT_INVALID', `Text ${i} has ${text.length} characters; the limit is ${limits.maxInputChars}.`, {
        index: i,
        length: text.length,
        limit: limits.maxInputChars,
      });
    }
  }
}

/**
 * Validates one vector from a provider and returns it L2-normalised as a Float32Array.
 * Providers that already normalise (Ollama, OpenAI) pass through unchanged up to rounding.
 */
export function toUnitVector(raw: unknown, dimensions: number, provider: EmbeddingProvider, index: number): Float32Array {
  if (!Array.isArray(raw) && !(raw instanceof Float32Array) && !(raw instanceof Float64Array)) {
    throw new PlinthError('EMBEDDING_FAILED', `The ${provider} provider returned no vector for text ${index}.`, { provider, index });
  }
  const values = raw as ArrayLike<unknown>;
  if (values.length !== dimensions) {
    throw new PlinthError(
      'EMBEDDING_FAILED',
      `The ${provider} provider returned a vector of ${values.length} dimensions for text ${index}; expected ${dimensions}.`,
      { provider, index, expected: dimensions, got: values.length },
    );
  }
  const out = new Float32Array(dimensions);
  let sum = 0;
  for (let i = 0; i < dimensions; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new PlinthError('EMBEDDING_FAILED', `The ${provider} provider returned a non-finite value in the vector for text ${index}.`, {
        provider,
        index,
      });
    }
    out[i] = v;
    sum += v * v;
  }
  const norm = Math.sqrt(sum);
  if (!(norm > 0) || !Number.isFinite(norm)) {
    throw new PlinthError('EMBEDDING_FAILED', `The ${provider} provider returned a zero vector for text ${index}.`, { provider, index });
  }
  for (let i = 0; i < dimensions; i++) out[i] = out[i]! / norm;
  return out;
}

/** Cosine similarity; for unit vectors this is the dot product. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`vectors differ in length: ${a.length} and ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Consecutive slices of at most `size` items, in order. */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
