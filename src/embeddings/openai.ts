// Embeddings from any OpenAI-compatible server (OpenAI, vLLM, llama.cpp, LocalAI, Ollama's /v1):
// POST {baseUrl}/embeddings {model, input: string[], encoding_format: 'float'} answers
// {data: [{index, embedding}]}. The data array is reordered by `index`, which the API defines as
// the position in the input; servers are not required to answer in order.
import { PlinthError } from '../errors.js';
import { endpoint, postJson, type UpstreamOptions } from './http.js';
import { createBatchedEmbedder } from './batch.js';
import type { Embedder, InputLimits } from './port.js';
import { DEFAULT_MAX_INPUT_CHARS } from './port.js';

export const OPENAI_DEFAULT_MODEL = 'text-embedding-3-small';

export interface OpenAIEmbedderOptions extends Partial<InputLimits> {
  /** Base URL including the version path, e.g. https://api.openai.com/v1. */
  baseUrl: string;
  /** Sent as a bearer token; never logged and scrubbed from every error message. */
  apiKey?: string;
  model?: string;
  /**
   * Vector size. Sent as the `dimensions` request field (models with shortening support it);
   * when unset, one probe request at creation asks the model.
   */
  dimensions?: number;
  batchSize?: number;
  timeoutMs?: number;
  retries?: number;
  retryBaseMs?: number;
}

interface OpenAIEmbeddingsResponse {
  data?: unknown;
}

export async function createOpenAIEmbedder(options: OpenAIEmbedderOptions): Promise<Embedder> {
  const model = options.model ?? OPENAI_DEFAULT_MODEL;
  const batchSize = options.batchSize ?? 32;
  const limits: InputLimits = { maxInputChars: options.maxInputChars ?? DEFAULT_MAX_INPUT_CHARS };
  const url = endpoint(options.baseUrl, 'embeddings');
  const upstream: UpstreamOptions = {
    provider: 'openai',
    timeoutMs: options.timeoutMs ?? 60_000,
    retries: options.retries ?? 2,
    ...(options.retryBaseMs !== undefined ? { retryBaseMs: options.retryBaseMs } : {}),
    headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
    secrets: options.apiKey ? [options.apiKey] : [],
  };

  async function request(input: readonly string[], signal: AbortSignal | undefined): Promise<unknown[]> {
    const body: Record<string, unknown> = { model, input, encoding_format: 'float' };
    if (options.dimensions !== undefined) body.dimensions = options.dimensions;
    const answer = (await postJson(url, body, upstream, signal)) as OpenAIEmbeddingsResponse | null;
    const data = answer?.data;
    if (!Array.isArray(data) || data.length !== input.length) {
      throw new PlinthError(
        'EMBEDDING_FAILED',
        `The OpenAI-compatible API returned ${Array.isArray(data) ? data.length : 'no'} embeddings for ${input.length} inputs (model ${model}).`,
        { provider: 'openai' },
      );
    }
    const ordered = new Array<unknown>(input.length);
    for (const item of data as Array<{ index?: unknown; embedding?: unknown } | null>) {
      const index = item?.index;
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= input.length || ordered[index] !== undefined) {
        throw new PlinthError('EMBEDDING_FAILED', 'The OpenAI-compatible API returned embeddings with missing or duplicate indexes.', {
          provider: 'openai',
        });
      }
      ordered[index] = item?.embedding;
    }
    return ordered;
  }

  return createBatchedEmbedder({
    provider: 'openai',
    model,
    dimensions: options.dimensions,
    batchSize,
    limits,
    request,
    describeModel: `The OpenAI-compatible model ${model}`,
  });
}
