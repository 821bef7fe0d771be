// Embeddings from Ollama's batch API: POST /api/embed {model, input: string[], truncate: true}
// answers {embeddings: number[][]} in input order. Over-long inputs are truncated by Ollama to the
// model's context (truncate: true) rather than failing the whole batch.
import { PlinthError } from '../errors.js';
import { endpoint, postJson, type UpstreamOptions } from './http.js';
import { createBatchedEmbedder } from './batch.js';
import type { Embedder, InputLimits } from './port.js';
import { DEFAULT_MAX_INPUT_CHARS } from './port.js';

export const OLLAMA_DEFAULT_MODEL = 'nomic-embed-text';

export interface OllamaEmbedderOptions extends Partial<InputLimits> {
  baseUrl: string;
  model?: string;
  /** Known vector size; when unset, one probe request at creation asks the model. */
  dimensions?: number;
  batchSize?: number;
  timeoutMs?: number;
  retries?: number;
  retryBaseMs?: number;
  /** Ollama's keep_alive (e.g. "5m", "-1"): how long the model stays loaded after a request. */
  keepAlive?: string;
}

interface OllamaEmbedResponse {
  embeddings?: unknown;
}

/** Creates the adapter; probes the model once when `dimensions` is not given. */
export async function createOllamaEmbedder(options: OllamaEmbedderOptions): Promise<Embedder> {
  const model = options.model ?? OLLAMA_DEFAULT_MODEL;
  const batchSize = options.batchSize ?? 32;
  const limits: InputLimits = { maxInputChars: options.maxInputChars ?? DEFAULT_MAX_INPUT_CHARS };
  const url = endpoint(options.baseUrl, 'api/embed');
  const upstream: UpstreamOptions = {
    provider: 'ollama',
    timeoutMs: options.timeoutMs ?? 60_000,
    retries: options.retries ?? 2,
    ...(options.retryBaseMs !== undefined ? { retryBaseMs: options.retryBaseMs } : {}),
  };

  async function request(input: readonly string[], signal: AbortSignal | undefined): Promise<unknown[]> {
    const body: Record<string, unknown> = { model, input, truncate: true };
    if (options.keepAlive !== undefined) body.keep_alive = options.keepAlive;
    if (options.dimensions !== undefined) body.dimensions = options.dimensions;
    const answer = (await postJson(url, body, upstream, signal)) as OllamaEmbedResponse | null;
    const embeddings = answer?.embeddings;
    if (!Array.isArray(embeddings) || embeddings.length !== input.length) {
      throw new PlinthError(
        'EMBEDDING_FAILED',
        `Ollama returned ${Array.isArray(embeddings) ? embeddings.length : 'no'} embeddings for ${input.length} inputs (model ${model}).`,
        { provider: 'ollama' },
      );
    }
    return embeddings as unknown[];
  }

  return createBatchedEmbedder({
    provider: 'ollama',
    model,
    dimensions: options.dimensions,
    batchSize,
    limits,
    request,
    describeModel: `Ollama model ${model}`,
  });
}
