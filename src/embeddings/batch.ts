// The part every remote embedding API shares once its own request is written: asking the model for
// its vector size when it is not configured, and embedding a list of texts in fixed-size batches,
// each vector checked and normalised in input order.
import { PlinthError } from '../errors.js';
import type { Embedder, EmbeddingProvider, EmbedOptions, InputLimits } from './port.js';
import { batches, checkInputs, toUnitVector } from './vectors.js';

/** One upstream call: raw vectors for `input`, in input order, one per text. */
export type BatchRequest = (input: readonly string[], signal: AbortSignal | undefined) => Promise<unknown[]>;

export interface BatchedEmbedderOptions {
  provider: EmbeddingProvider;
  model: string;
  /** Known vector size; when unset, one probe request asks the model. */
  dimensions?: number;
  batchSize: number;
  limits: InputLimits;
  request: BatchRequest;
  /** Names the model in the error raised when the probe yields no usable vector. */
  describeModel: string;
}

/** Vector size reported by one probe request; fails when the answer is not a usable vector. */
export async function probeDimensions(request: BatchRequest, provider: EmbeddingProvider, describeModel: string): Promise<number> {
  const [probe] = await request(['dimension probe'], undefined);
  const dimensions = Array.isArray(probe) ? probe.length : 0;
  if (dimensions < 2) {
    throw new PlinthError('EMBEDDING_FAILED', `${describeModel} returned no usable vector to the dimension probe.`, { provider });
  }
  return dimensions;
}

/** An Embedder over `request`, sending at most `batchSize` texts per call. */
export async function createBatchedEmbedder(options: BatchedEmbedderOptions): Promise<Embedder> {
  const { provider, model, batchSize, limits, request } = options;
  const dims = options.dimensions ?? (await probeDimensions(request, provider, options.describeModel));
  return {
    provider,
    model,
    dimensions: dims,
    quality: 'high',
    async embed(texts: readonly string[], embedOptions?: EmbedOptions): Promise<Float32Array[]> {
      checkInputs(texts, limits);
      const out: Float32Array[] = [];
      for (const batch of batches(texts, batchSize)) {
        const vectors = await request(batch, embedOptions?.signal);
        for (const v of vectors) out.push(toUnitVector(v, dims, provider, out.length));
      }
      return out;
    },
    close: () => Promise.resolve(),
  };
}
