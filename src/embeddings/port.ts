// The Embedder port: turns texts into unit-length vectors. Every adapter (Ollama, OpenAI-compatible,
// local ONNX, hashing) satisfies the same contract, checked by one shared test suite, so the
// memory domain never needs to know which one it has.

export type EmbeddingProvider = 'ollama' | 'openai' | 'local' | 'hashing';

export interface EmbedOptions {
  /** Aborts the call; the rejection is the signal's reason, not a catalogue error. */
  signal?: AbortSignal;
}

export interface Embedder {
  readonly provider: EmbeddingProvider;
  /** Recorded with every vector: vectors of different models are never compared. */
  readonly model: string;
  /** Recorded with every vector. */
  readonly dimensions: number;
  /** `low` marks the hashing fallback: lexical overlap only, no semantics. */
  readonly quality: 'high' | 'low';
  /**
   * One vector per text, in input order, each of length `dimensions`, finite and L2-normalised.
   * Rejects with PLINTH_EMBEDDING_INPUT_INVALID (empty list, blank or over-long text),
   * PLINTH_EMBEDDING_UNAVAILABLE (retryable: timeouts, 429, 5xx, connection failures) or
   * PLINTH_EMBEDDING_FAILED (the provider answered with an error or an invalid vector).
   */
  embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
  /** Releases connections, workers and model memory. Safe to call twice. */
  close(): Promise<void>;
}

/** What /readyz and `plinth doctor` show about the embedder in use. */
export interface EmbedderDescription {
  provider: EmbeddingProvider;
  model: string;
  dimensions: number;
  quality: 'high' | 'low';
}

export function describeEmbedder(embedder: Embedder): EmbedderDescription {
  return { provider: embedder.provider, model: embedder.model, dimensions: embedder.dimensions, quality: embedder.quality };
}

/** Input limits every adapter enforces before doing any work. */
export interface InputLimits {
  /** Longest accepted text, in UTF-16 code units (JavaScript string length). */
  maxInputChars: number;
}

export const DEFAULT_MAX_INPUT_CHARS = 32_768;
