// Embeddings: the Embedder port, its adapters and the factory that picks one from configuration.
export type { Embedder, EmbedderDescription, EmbedOptions, EmbeddingProvider, InputLimits } from './port.js';
export { describeEmbedder, DEFAULT_MAX_INPUT_CHARS } from './port.js';
export { createEmbedder } from './factory.js';
export { createHashingEmbedder, HASHING_MODEL, HASHING_DEFAULT_DIMENSIONS } from './hashing.js';
export type { HashingEmbedderOptions } from './hashing.js';
export { createOllamaEmbedder, OLLAMA_DEFAULT_MODEL } from './ollama.js';
export type { OllamaEmbedderOptions } from './ollama.js';
export { createOpenAIEmbedder, OPENAI_DEFAULT_MODEL } from './openai.js';
export type { OpenAIEmbedderOptions } from './openai.js';
export { createLocalEmbedder } from './local.js';
export type { LocalEmbedderOptions } from './local.js';
export { cosine } from './vectors.js';
