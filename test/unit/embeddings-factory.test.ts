// Choosing the embedder from configuration: the auto order, the low-quality warning, explicit
// providers that lack their settings, and start-up failures of configured servers.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { createEmbedder, describeEmbedder, HASHING_MODEL } from '../../src/embeddings/index.js';
import { createLogger, type Logger } from '../../src/telemetry/logger.js';
import { expectCode } from '../helpers/embedder-contract.js';
import { startOllamaDouble, startOpenAIDouble, type LlmDouble } from '../helpers/llm-doubles.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'plinth-embeddings-'));
const API_KEY = 'sk-factory-0c6f1e2d3b4a59687766554433221100';

function capture(): { logger: Logger; lines: () => Array<Record<string, unknown>>; text: () => string } {
  const out: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  return { logger, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>), text: () => out.join('\n') };
}

const config = (env: Record<string, string>) => loadConfig({ env, cwd: tmp });

describe('embeddings configuration', () => {
  it('has defaults: auto provider, batches of 32, two retries', () => {
    const c = config({});
    assert.equal(c.embeddings.provider, 'auto');
    assert.equal(c.embeddings.batchSize, 32);
    assert.equal(c.embeddings.retries, 2);
    assert.equal(c.embeddings.dimensions, undefined);
  });

  it('reads every EMBEDDINGS_* and OPENAI_* variable, the key also from a file, masked when printed', () => {
    const keyFile = path.join(tmp, 'openai-key');
    writeFileSync(keyFile, `${API_KEY}\n`);
    const c = config({
      EMBEDDINGS_PROVIDER: 'openai',
      EMBEDDINGS_MODEL: 'text-embedding-3-large',
      EMBEDDINGS_DIMENSIONS: '256',
      EMBEDDINGS_LOCAL_MODEL_DIR: '/models/minilm',
      EMBEDDINGS_BATCH_SIZE: '8',
      EMBEDDINGS_TIMEOUT_MS: '5000',
      EMBEDDINGS_RETRIES: '0',
      EMBEDDINGS_MAX_INPUT_CHARS: '1000',
      OPENAI_BASE_URL: 'https://api.example.test/v1',
      OPENAI_API_KEY_FILE: keyFile,
    });
    assert.deepEqual(
      { ...c.embeddings },
      { provider: 'openai', model: 'text-embedding-3-large', dimensions: 256, localModelDir: '/models/minilm', batchSize: 8, timeoutMs: 5000, retries: 0, maxInputChars: 1000 },
    );
    assert.equal(c.openai.apiKey?.reveal(), API_KEY);
    assert.ok(!JSON.stringify(c).includes(API_KEY));
  });

  it('names the variable of a bad value', () => {
    assert.throws(() => config({ EMBEDDINGS_PROVIDER: 'magic' }), /EMBEDDINGS_PROVIDER \(embeddings\.provider\)/);
    assert.throws(() => config({ EMBEDDINGS_DIMENSIONS: '-3' }), /EMBEDDINGS_DIMENSIONS/);
    assert.throws(() => config({ OPENAI_BASE_URL: 'ftp://x' }), /OPENAI_BASE_URL \(openai\.baseUrl\): must be a URL/);
  });
});

describe('createEmbedder', () => {
  let ollama: LlmDouble;
  let openai: LlmDouble;
  before(async () => {
    ollama = await startOllamaDouble({ dimensions: 20 });
    openai = await startOpenAIDouble({ dimensions: 12, apiKey: API_KEY });
  });
  after(async () => {
    await ollama.close();
    await openai.close();
  });

  it('falls back to hashing with a warning that says the quality is low', async () => {
    const log = capture();
    const e = await createEmbedder(config({}), log.logger);
    assert.deepEqual(describeEmbedder(e), { provider: 'hashing', model: HASHING_MODEL, dimensions: 384, quality: 'low' });
    const warning = log.lines().find((l) => l.level === 'warn');
    assert.ok(warning, 'a warning is logged');
    assert.match(String(warning.msg), /hashing fallback.*low search quality/);
    assert.deepEqual(warning.embeddings, { provider: 'hashing', model: HASHING_MODEL, dimensions: 384, quality: 'low' });
  });

  it('prefers Ollama when OLLAMA_URL is set, probing the dimensions', async () => {
    const log = capture();
    const e = await createEmbedder(config({ OLLAMA_URL: ollama.url, OPENAI_BASE_URL: openai.url }), log.logger);
    assert.deepEqual(describeEmbedder(e), { provider: 'ollama', model: 'nomic-embed-text', dimensions: 20, quality: 'high' });
    assert.ok(log.lines().some((l) => l.level === 'info' && /embeddings: ollama model nomic-embed-text \(20 dimensions\)/.test(String(l.msg))));
    assert.ok(!log.lines().some((l) => l.level === 'warn'));
  });

  it('uses an OpenAI-compatible server next, with the key, which never reaches the logs', async () => {
    const log = capture();
    const e = await createEmbedder(config({ OPENAI_BASE_URL: openai.url, OPENAI_API_KEY: API_KEY, EMBEDDINGS_BATCH_SIZE: '2' }), log.logger);
    assert.equal(e.provider, 'openai');
    assert.equal(e.dimensions, 12);
    openai.requests.length = 0;
    await e.embed(['a', 'b', 'c']);
    assert.equal(openai.requestsTo('/v1/embeddings').length, 2, 'EMBEDDINGS_BATCH_SIZE applies');
    assert.ok(!log.text().includes(API_KEY));
  });

  it('skips a local model directory that cannot be loaded, with a warning naming it', async () => {
    const log = capture();
    const dir = path.join(tmp, 'not-a-model');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'model.onnx'), 'not really');
    const e = await createEmbedder(config({ EMBEDDINGS_LOCAL_MODEL_DIR: dir }), log.logger);
    assert.equal(e.provider, 'hashing');
    const warnings = log.lines().filter((l) => l.level === 'warn');
    assert.ok(warnings.some((w) => String(w.msg).includes(`local model in ${dir} cannot be used`)), log.text());
    assert.ok(warnings.some((w) => String((w.err as { message?: string } | undefined)?.message).includes('No tokenizer.json')), log.text());
  });

  it('honours an explicit provider, and says which setting it lacks', async () => {
    const log = capture();
    const e = await createEmbedder(config({ EMBEDDINGS_PROVIDER: 'hashing', OLLAMA_URL: ollama.url, EMBEDDINGS_DIMENSIONS: '64' }), log.logger);
    assert.equal(e.provider, 'hashing');
    assert.equal(e.dimensions, 64);
    await assert.rejects(createEmbedder(config({ EMBEDDINGS_PROVIDER: 'ollama' }), log.logger), /EMBEDDINGS_PROVIDER is ollama but OLLAMA_URL is not set/);
    await assert.rejects(createEmbedder(config({ EMBEDDINGS_PROVIDER: 'openai' }), log.logger), /OPENAI_BASE_URL is not set/);
    await assert.rejects(createEmbedder(config({ EMBEDDINGS_PROVIDER: 'local' }), log.logger), /EMBEDDINGS_LOCAL_MODEL_DIR is not set/);
    await expectCode(createEmbedder(config({ EMBEDDINGS_PROVIDER: 'local', EMBEDDINGS_LOCAL_MODEL_DIR: path.join(tmp, 'missing') }), log.logger), 'PLINTH_EMBEDDING_UNAVAILABLE');
  });

  it('fails start-up when a configured server is down and the size must be probed, never switching provider', async () => {
    const gone = await startOllamaDouble();
    await gone.close();
    const log = capture();
    const err = await expectCode(createEmbedder(config({ OLLAMA_URL: gone.url, EMBEDDINGS_RETRIES: '0' }), log.logger), 'PLINTH_EMBEDDING_UNAVAILABLE');
    assert.match(err.message, /Cannot start embeddings with Ollama at .*Set EMBEDDINGS_DIMENSIONS to start without asking/s);
  });

  it('starts without contacting the server when the dimensions are configured', async () => {
    const gone = await startOllamaDouble();
    await gone.close();
    const e = await createEmbedder(config({ OLLAMA_URL: gone.url, EMBEDDINGS_DIMENSIONS: '20', EMBEDDINGS_RETRIES: '0' }), capture().logger);
    assert.deepEqual(describeEmbedder(e), { provider: 'ollama', model: 'nomic-embed-text', dimensions: 20, quality: 'high' });
    await expectCode(e.embed(['hello']), 'PLINTH_EMBEDDING_UNAVAILABLE');
  });
});
