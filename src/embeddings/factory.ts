// Picks and builds the embedder from configuration. With EMBEDDINGS_PROVIDER=auto the order is:
// Ollama (OLLAMA_URL), an OpenAI-compatible server (OPENAI_BASE_URL), the local ONNX model
// (EMBEDDINGS_LOCAL_MODEL_DIR, if it loads), and last the hashing embedder, announced with a
// warning because its search quality is low. A configured server that fails at start is an
// error, never a silent switch to another provider: that would put vectors in a different space.
import path from 'node:path';
import type { Config } from '../config/index.js';
import { maskUrl } from '../config/index.js';
import { PlinthError, isPlinthError, type ErrorName } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import { createHashingEmbedder } from './hashing.js';
import { createLocalEmbedder } from './local.js';
import { createOllamaEmbedder } from './ollama.js';
import { createOpenAIEmbedder } from './openai.js';
import { describeEmbedder, type Embedder } from './port.js';

export async function createEmbedder(config: Config, logger: Logger): Promise<Embedder> {
  const embedder = await build(config, logger);
  const description = describeEmbedder(embedder);
  if (embedder.quality === 'low') {
    logger.warn(
      { embeddings: description },
      'embeddings: using the hashing fallback, which matches words, not meaning (low search quality); set OLLAMA_URL, OPENAI_BASE_URL or EMBEDDINGS_LOCAL_MODEL_DIR for semantic search',
    );
  } else {
    logger.info({ embeddings: description }, `embeddings: ${embedder.provider} model ${embedder.model} (${embedder.dimensions} dimensions)`);
  }
  return embedder;
}

async function build(config: Config, logger: Logger): Promise<Embedder> {
  const e = config.embeddings;
  const common = {
    ...(e.model !== undefined ? { model: e.model } : {}),
    ...(e.dimensions !== undefined ? { dimensions: e.dimensions } : {}),
    batchSize: e.batchSize,
    maxInputChars: e.maxInputChars,
  };
  const remote = { ...common, timeoutMs: e.timeoutMs, retries: e.retries };

  const ollama = (url: string) =>
    withStartHint(createOllamaEmbedder({ ...remote, baseUrl: url }), `Ollama at ${maskUrl(url)}`, e.dimensions === undefined);
  const openai = (url: string) =>
    withStartHint(
      createOpenAIEmbedder({ ...remote, baseUrl: url, ...(config.openai.apiKey ? { apiKey: config.openai.apiKey.reveal() } : {}) }),
      `the OpenAI-compatible API at ${maskUrl(url)}`,
      e.dimensions === undefined,
    );
  const local = (dir: string) => createLocalEmbedder({ ...common, modelDir: path.resolve(dir) });
  const hashing = () => createHashingEmbedder({ maxInputChars: e.maxInputChars, ...(e.dimensions !== undefined ? { dimensions: e.dimensions } : {}) });

  switch (e.provider) {
    case 'ollama':
      return ollama(required(config.ollama.url, 'ollama', 'OLLAMA_URL'));
    case 'openai':
      return openai(required(config.openai.baseUrl, 'openai', 'OPENAI_BASE_URL'));
    case 'local':
      return local(required(e.localModelDir, 'local', 'EMBEDDINGS_LOCAL_MODEL_DIR'));
    case 'hashing':
      return hashing();
    case 'auto':
      if (config.ollama.url) return ollama(config.ollama.url);
      if (config.openai.baseUrl) return openai(config.openai.baseUrl);
      if (e.localModelDir) {
        try {
          return await local(e.localModelDir);
        } catch (err) {
          if (!isPlinthError(err)) throw err;
          logger.warn({ err }, `embeddings: the local model in ${path.resolve(e.localModelDir)} cannot be used; falling back to hashing`);
        }
      }
      return hashing();
  }
}

function required(value: string | undefined, provider: string, variable: string): string {
  if (value === undefined) {
    throw new PlinthError('CONFIG_INVALID', `EMBEDDINGS_PROVIDER is ${provider} but ${variable} is not set.`, { problems: [`${variable}: required by EMBEDDINGS_PROVIDER=${provider}`] });
  }
  return value;
}

/** Start-up failures of a remote provider say what was being contacted and how to start without it. */
async function withStartHint(pending: Promise<Embedder>, what: string, probed: boolean): Promise<Embedder> {
  try {
    return await pending;
  } catch (err) {
    if (!isPlinthError(err)) throw err;
    const hint = probed ? ' Set EMBEDDINGS_DIMENSIONS to start without asking the model for its vector size.' : '';
    throw new PlinthError(err.code.slice('PLINTH_'.length) as ErrorName, `Cannot start embeddings with ${what}: ${err.message}${hint}`, err.extra, { cause: err });
  }
}
