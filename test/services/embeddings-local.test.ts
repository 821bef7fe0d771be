// The local embedder against a real sentence-embedding model on disk (all-MiniLM-L6-v2, int8
// ONNX, installed by scripts/services.sh from PyPI). Fails, never skips, when the model is absent.
import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, it, after, before } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { cosine, createEmbedder, createLocalEmbedder, describeEmbedder, type Embedder } from '../../src/embeddings/index.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { embedderContract, expectCode } from '../helpers/embedder-contract.js';

const MODEL_DIR = process.env.PLINTH_TEST_EMBED_MODEL_DIR;

function modelDir(): string {
  assert.ok(MODEL_DIR, 'PLINTH_TEST_EMBED_MODEL_DIR must name the model directory (set by scripts/services.sh)');
  return MODEL_DIR;
}

describe('local embedding model (real model, never skipped)', () => {
  it('is installed', () => {
    modelDir();
  });
});

embedderContract(
  'local ONNX model',
  async () => {
    const embedder = await createLocalEmbedder({ modelDir: modelDir(), batchSize: 4, maxInputChars: 8_000 });
    return { embedder, batchSize: 4, maxInputChars: 8_000 };
  },
  // Dynamic int8 quantisation scales activations per batch, so batch-mates shift a vector slightly.
  { provider: 'local', quality: 'high', dimensions: 384, sameVector: 0.995 },
);

describe('local embedder on all-MiniLM-L6-v2', () => {
  let e: Embedder;
  before(async () => {
    e = await createLocalEmbedder({ modelDir: modelDir() });
  });
  after(() => e?.close());

  it('reproduces the similarities sentence-transformers documents for this model', async () => {
    // From the sentence-transformers quickstart (all-MiniLM-L6-v2, fp32):
    // weather/sunny 0.6660, weather/stadium 0.1046, sunny/stadium 0.1411. int8 weights move them by < 0.01.
    const [weather, sunny, stadium] = await e.embed(['The weather is lovely today.', "It's so sunny outside!", 'He drove to the stadium.']);
    const close = (got: number, want: number) => assert.ok(Math.abs(got - want) < 0.01, `cosine ${got.toFixed(4)} should be ${want}`);
    close(cosine(weather!, sunny!), 0.666);
    close(cosine(weather!, stadium!), 0.1046);
    close(cosine(sunny!, stadium!), 0.1411);
  });

  it('ranks by meaning, not by shared words', async () => {
    const query = 'How do I reset my password?';
    const docs = [
      'Our office is closed on public holidays.',
      'To change your login credentials, open the account settings page.',
      'The password field in the form is mandatory for reset operations of the printer queue.',
      'Bananas are a good source of potassium.',
    ];
    const [q, ...vectors] = await e.embed([query, ...docs]);
    const scores = vectors.map((v) => cosine(q!, v));
    const best = scores.indexOf(Math.max(...scores));
    assert.equal(best, 1, `scores ${scores.map((s) => s.toFixed(3)).join(', ')}`);
    assert.ok(scores[3]! < 0.2 && scores[0]! < 0.3);
  });

  it('truncates input beyond the model window instead of failing', async () => {
    const long = `${'Kubernetes operators reconcile desired state. '.repeat(200)}`;
    const [v, head] = await e.embed([long, 'Kubernetes operators reconcile desired state. '.repeat(40)]);
    assert.equal(v!.length, 384);
    assert.ok(cosine(v!, head!) > 0.95, 'only the leading window counts');
  });

  it('keeps the event loop responsive while the model works', async () => {
    const texts = Array.from({ length: 8 }, (_, i) => `Document ${i}: ${'agents store memories and search them by meaning. '.repeat(25)}`);
    let last = performance.now();
    let maxGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 10);
    const started = performance.now();
    try {
      await e.embed(texts);
    } finally {
      clearInterval(timer);
    }
    const took = performance.now() - started;
    assert.ok(maxGap < Math.max(250, took / 3), `longest event-loop stall ${Math.round(maxGap)} ms during ${Math.round(took)} ms of inference`);
  });

  it('refuses a configured dimension the model does not produce', async () => {
    const err = await expectCode(createLocalEmbedder({ modelDir: modelDir(), dimensions: 768 }), 'PLINTH_EMBEDDING_FAILED');
    assert.match(err.message, /produces 384-dimensional vectors; EMBEDDINGS_DIMENSIONS is 768/);
  });

  it('closes idempotently and refuses work afterwards', async () => {
    const other = await createLocalEmbedder({ modelDir: modelDir() });
    await other.close();
    await other.close();
    await expectCode(other.embed(['hello']), 'PLINTH_EMBEDDING_UNAVAILABLE');
  });

  it('is chosen by auto configuration when no server is configured', async () => {
    const config = loadConfig({ env: { EMBEDDINGS_LOCAL_MODEL_DIR: modelDir() }, cwd: os.tmpdir() });
    const chosen = await createEmbedder(config, createLogger({ level: 'silent' }));
    try {
      assert.deepEqual(describeEmbedder(chosen), { provider: 'local', model: 'all-MiniLM-L6-v2-int8', dimensions: 384, quality: 'high' });
    } finally {
      await chosen.close();
    }
  });
});
