// The contract every Embedder adapter must meet, as one suite that each adapter's test file runs
// against its own setup (hashing in-process, Ollama and OpenAI through their test doubles, the
// local ONNX model from disk).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Embedder } from '../../src/embeddings/index.js';
import { cosine } from '../../src/embeddings/index.js';
import { isPlinthError, type PlinthError } from '../../src/errors.js';

export interface ContractSubject {
  embedder: Embedder;
  /** Texts per upstream request the adapter was configured with. */
  batchSize: number;
  /** Upstream embedding requests made so far, for adapters that make them. */
  upstreamRequests?: () => number;
  /** Largest accepted text, as configured. */
  maxInputChars: number;
  close?: () => Promise<void>;
}

export interface ContractExpectations {
  provider: Embedder['provider'];
  quality: Embedder['quality'];
  dimensions?: number;
  /**
   * Cosine above which two vectors count as "the same". 1e-6 for exact adapters; models with
   * dynamic int8 quantisation see tiny differences between batch compositions.
   */
  sameVector: number;
}

const SENTENCES = [
  'PostgreSQL stores the memories of every agent.',
  'The cat sat quietly on the warm windowsill.',
  'Quarterly revenue grew by five percent.',
  'Rust and TypeScript are both statically typed languages.',
  'Fresh bread is baked every morning at six.',
  'The deployment failed because the certificate expired.',
  'Whales migrate thousands of kilometres each year.',
];

export async function expectCode(promise: Promise<unknown>, code: string): Promise<PlinthError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isPlinthError(err), `expected a PlinthError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}, but the call succeeded`);
}

function assertUnit(v: Float32Array, dims: number): void {
  assert.ok(v instanceof Float32Array);
  assert.equal(v.length, dims);
  let sum = 0;
  for (const x of v) {
    assert.ok(Number.isFinite(x), 'every component is finite');
    sum += x * x;
  }
  assert.ok(Math.abs(Math.sqrt(sum) - 1) < 1e-4, `L2 norm is 1 (got ${Math.sqrt(sum)})`);
}

export function embedderContract(name: string, setup: () => Promise<ContractSubject>, expect: ContractExpectations): void {
  describe(`Embedder contract: ${name}`, () => {
    let s: ContractSubject;
    before(async () => {
      s = await setup();
    });
    after(async () => {
      await s?.embedder.close();
      await s?.close?.();
    });

    it('reports its provider, model, dimensions and quality', () => {
      assert.equal(s.embedder.provider, expect.provider);
      assert.equal(s.embedder.quality, expect.quality);
      assert.ok(s.embedder.model.length > 0);
      assert.ok(Number.isInteger(s.embedder.dimensions) && s.embedder.dimensions >= 2);
      if (expect.dimensions !== undefined) assert.equal(s.embedder.dimensions, expect.dimensions);
    });

    it('returns one finite, L2-normalised vector of the reported size per text', async () => {
      const vectors = await s.embedder.embed(SENTENCES.slice(0, 3));
      assert.equal(vectors.length, 3);
      for (const v of vectors) assertUnit(v, s.embedder.dimensions);
    });

    it('keeps input order: each vector matches the one for the same text embedded alone', async () => {
      const texts = SENTENCES.slice(0, 4);
      const together = await s.embedder.embed(texts);
      const alone = await Promise.all(texts.map(async (t) => (await s.embedder.embed([t]))[0]!));
      for (let i = 0; i < texts.length; i++) {
        const scores = alone.map((a) => cosine(together[i]!, a));
        assert.ok(scores[i]! > expect.sameVector, `text ${i}: cosine with itself ${scores[i]}`);
        assert.equal(scores.indexOf(Math.max(...scores)), i, `text ${i} is closest to itself`);
      }
    });

    it('is deterministic for the same input', async () => {
      const [a] = await s.embedder.embed([SENTENCES[0]!]);
      const [b] = await s.embedder.embed([SENTENCES[0]!]);
      assert.ok(cosine(a!, b!) > expect.sameVector);
    });

    it('preserves order across batch boundaries', async () => {
      const n = s.batchSize * 2 + 1;
      const texts = Array.from({ length: n }, (_, i) => `${SENTENCES[i % SENTENCES.length]} (item ${i})`);
      const before = s.upstreamRequests?.();
      const vectors = await s.embedder.embed(texts);
      if (before !== undefined) assert.equal(s.upstreamRequests!() - before, Math.ceil(n / s.batchSize), 'one request per batch');
      assert.equal(vectors.length, n);
      // Spot-check the first, a boundary and the last item against single embeddings.
      for (const i of [0, s.batchSize - 1, s.batchSize, n - 1]) {
        const [alone] = await s.embedder.embed([texts[i]!]);
        assert.ok(cosine(vectors[i]!, alone!) > expect.sameVector, `item ${i} kept its place`);
      }
    });

    it('places a paraphrase closer than an unrelated text', async () => {
      const [query, near, far] = await s.embedder.embed([
        'The cat sat on the mat.',
        'A cat was sitting on the mat.',
        'Quarterly revenue grew by five percent.',
      ]);
      assert.ok(cosine(query!, near!) > cosine(query!, far!) + 0.1);
    });

    it('rejects an empty list, a blank text and an over-long text before any upstream call', async () => {
      const before = s.upstreamRequests?.();
      await expectCode(s.embedder.embed([]), 'PLINTH_EMBEDDING_INPUT_INVALID');
      await expectCode(s.embedder.embed(['fine', '   ']), 'PLINTH_EMBEDDING_INPUT_INVALID');
      const err = await expectCode(s.embedder.embed(['x'.repeat(s.maxInputChars + 1)]), 'PLINTH_EMBEDDING_INPUT_INVALID');
      assert.match(err.message, /limit/);
      if (before !== undefined) assert.equal(s.upstreamRequests!(), before, 'no upstream request for invalid input');
    });

    it('accepts a text exactly at the length limit', async () => {
      const text = 'word '.repeat(Math.ceil(s.maxInputChars / 5)).slice(0, s.maxInputChars);
      const [v] = await s.embedder.embed([text]);
      assertUnit(v!, s.embedder.dimensions);
    });

    it('rejects at once when the signal is already aborted', async () => {
      const controller = new AbortController();
      controller.abort(new Error('caller gave up'));
      await assert.rejects(s.embedder.embed(['hello'], { signal: controller.signal }), /caller gave up/);
    });
  });
}
