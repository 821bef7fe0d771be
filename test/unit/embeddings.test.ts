// The Embedder contract against the hashing adapter and the Ollama and OpenAI adapters (through
// faithful test doubles of their HTTP APIs), plus each adapter's failure handling.
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  HASHING_MODEL,
  cosine,
  createHashingEmbedder,
  createOllamaEmbedder,
  createOpenAIEmbedder,
  type Embedder,
} from '../../src/embeddings/index.js';
import { hash32, hashText } from '../../src/embeddings/hashing.js';
import { embedderContract, expectCode } from '../helpers/embedder-contract.js';
import { startOllamaDouble, startOpenAIDouble, type LlmDouble } from '../helpers/llm-doubles.js';

const API_KEY = 'sk-test-7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c1e';
const FAST_RETRY = { retries: 2, retryBaseMs: 5, timeoutMs: 2_000 };

embedderContract(
  'hashing',
  () => Promise.resolve({ embedder: createHashingEmbedder({ maxInputChars: 4_000 }), batchSize: 3, maxInputChars: 4_000 }),
  { provider: 'hashing', quality: 'low', dimensions: 384, sameVector: 1 - 1e-6 },
);

embedderContract(
  'ollama (test double)',
  async () => {
    const double = await startOllamaDouble({ dimensions: 48 });
    const embedder = await createOllamaEmbedder({ baseUrl: double.url, batchSize: 3, maxInputChars: 4_000, ...FAST_RETRY });
    return { embedder, batchSize: 3, maxInputChars: 4_000, upstreamRequests: () => double.requestsTo('/api/embed').length, close: () => double.close() };
  },
  { provider: 'ollama', quality: 'high', dimensions: 48, sameVector: 1 - 1e-6 },
);

embedderContract(
  'openai (test double, answers out of order)',
  async () => {
    const double = await startOpenAIDouble({ dimensions: 40, apiKey: API_KEY, reverseOrder: true });
    const embedder = await createOpenAIEmbedder({ baseUrl: double.url, apiKey: API_KEY, batchSize: 4, maxInputChars: 4_000, ...FAST_RETRY });
    return { embedder, batchSize: 4, maxInputChars: 4_000, upstreamRequests: () => double.requestsTo('/v1/embeddings').length, close: () => double.close() };
  },
  { provider: 'openai', quality: 'high', dimensions: 40, sameVector: 1 - 1e-6 },
);

describe('hashing embedder', () => {
  const e = createHashingEmbedder();

  it('is named and sized for the vectors it records', () => {
    assert.equal(e.model, HASHING_MODEL);
    assert.equal(createHashingEmbedder({ dimensions: 256 }).dimensions, 256);
    assert.throws(() => createHashingEmbedder({ dimensions: 1 }), RangeError);
  });

  it('scores texts sharing words above unrelated ones, and ignores case and accents composition', async () => {
    const [q, near, far, upper, nfd] = await e.embed([
      'how do I rotate the database credentials',
      'rotating database credentials safely',
      'the weather in Lisbon is sunny',
      'HOW DO I ROTATE THE DATABASE CREDENTIALS',
      'cafe\u0301 au lait',
    ]);
    assert.ok(cosine(q!, near!) > cosine(q!, far!) + 0.2, 'shared words and word pieces score higher');
    assert.ok(cosine(q!, upper!) > 1 - 1e-6, 'case does not matter');
    const [nfc] = await e.embed(['café au lait']);
    assert.ok(cosine(nfd!, nfc!) > 1 - 1e-6, 'NFC and NFD spellings embed the same');
  });

  it('tokenises non-Latin scripts and still embeds symbol-only text', async () => {
    const [ru1, ru2, zh, sym] = await e.embed(['база данных упала', 'база данных работает', '数据库 备份', '!!! ???']);
    assert.ok(cosine(ru1!, ru2!) > 0.3);
    assert.ok(Math.abs(cosine(ru1!, zh!)) < 0.3);
    assert.equal(sym!.length, 384);
  });

  it('uses word order only a little: word pairs, not positions', async () => {
    const [ab, ba] = await e.embed(['dog bites man', 'man bites dog']);
    const c = cosine(ab!, ba!);
    assert.ok(c > 0.6 && c < 1 - 1e-3, `reordered words are similar but not identical (${c})`);
  });

  it('hashes stably across releases (vectors already stored must stay comparable)', () => {
    // Fixed points: a change here changes every stored hashing vector, so it needs a new model name.
    assert.deepEqual([hash32(''), hash32('a'), hash32('w\u0001database')], [2_872_998_923, 444_641_715, 2_163_228_944]);
    const a = hashText('plinth memory', 16);
    const b = hashText('plinth memory', 16);
    assert.deepEqual(a, b);
    assert.ok(a.some((x) => x !== 0));
  });

  it('embeds a thousand chunk-sized texts quickly enough to be the test default', async (t) => {
    const texts = Array.from({ length: 1000 }, (_, i) => `chunk ${i}: ${'agents remember documents and search them with vectors '.repeat(20)}`);
    const started = performance.now();
    const vectors = await e.embed(texts);
    t.diagnostic(`hashing: 1000 texts of ~${texts[0]!.length} chars in ${Math.round(performance.now() - started)} ms`);
    assert.equal(vectors.length, 1000);
  });
});

/** Every way an error can leak a string: message, extra fields, cause chain, util.inspect. */
function assertNoKey(err: Error): void {
  for (const text of [err.message, JSON.stringify(err), inspect(err, { depth: 10 }), String(err.stack)]) {
    assert.ok(!text.includes(API_KEY), `the API key leaked into: ${text.slice(0, 200)}`);
  }
}

describe('ollama adapter', () => {
  let double: LlmDouble;
  before(async () => {
    double = await startOllamaDouble({ dimensions: 32 });
  });
  after(() => double.close());

  const make = (extra: Partial<Parameters<typeof createOllamaEmbedder>[0]> = {}) =>
    createOllamaEmbedder({ baseUrl: double.url, dimensions: 32, ...FAST_RETRY, ...extra });

  it('discovers the dimensions with one probe request when they are not configured', async () => {
    double.requests.length = 0;
    const e = await createOllamaEmbedder({ baseUrl: double.url, model: 'all-minilm', ...FAST_RETRY });
    assert.equal(e.dimensions, 32);
    assert.equal(e.model, 'all-minilm');
    assert.equal(double.requestsTo('/api/embed').length, 1);
  });

  it('sends the documented batch request: model, input array, truncate, keep_alive', async () => {
    const e = await make({ keepAlive: '10m', model: 'nomic-embed-text' });
    double.requests.length = 0;
    await e.embed(['one', 'two']);
    const [req] = double.requestsTo('/api/embed');
    assert.deepEqual(req!.body, { model: 'nomic-embed-text', input: ['one', 'two'], truncate: true, keep_alive: '10m', dimensions: 32 });
    assert.equal(req!.headers['content-type'], 'application/json');
  });

  it('retries a transient 503 and succeeds', async () => {
    const e = await make();
    double.requests.length = 0;
    double.faults.failNext(1, 503);
    const [v] = await e.embed(['hello']);
    assert.equal(v!.length, 32);
    assert.equal(double.requestsTo('/api/embed').length, 2);
  });

  it('gives up on a persistent 503 with PLINTH_EMBEDDING_UNAVAILABLE after retries + 1 attempts', async () => {
    const e = await make();
    double.requests.length = 0;
    double.faults.failNext(10, 503);
    const err = await expectCode(e.embed(['hello']), 'PLINTH_EMBEDDING_UNAVAILABLE');
    assert.match(err.message, /HTTP 503/);
    assert.equal(double.requestsTo('/api/embed').length, 3);
    double.faults.reset();
  });

  it('honours Retry-After on 429 within the backoff cap', async () => {
    const e = await make();
    double.faults.failNext(1, 429, { retryAfter: 0.05 });
    const started = performance.now();
    await e.embed(['hello']);
    assert.ok(performance.now() - started >= 45, 'waited for Retry-After');
  });

  it('does not retry a 404 for an unknown model and passes on what Ollama said', async () => {
    const e = await make({ model: 'no-such-model' });
    double.requests.length = 0;
    const err = await expectCode(e.embed(['hello']), 'PLINTH_EMBEDDING_FAILED');
    assert.match(err.message, /model "no-such-model" not found, try pulling it first/);
    assert.equal(double.requests.length, 1);
  });

  it('refuses vectors of the wrong size and non-finite vectors', async () => {
    const e = await make();
    double.faults.wrongDimensionsNext(1);
    const wrong = await expectCode(e.embed(['hello']), 'PLINTH_EMBEDDING_FAILED');
    assert.match(wrong.message, /31 dimensions .* expected 32/);
    double.faults.nonFiniteNext(1);
    await expectCode(e.embed(['hello']), 'PLINTH_EMBEDDING_FAILED');
  });

  it('treats a dropped connection as transient', async () => {
    const e = await make();
    double.faults.dropNext(1);
    assert.equal((await e.embed(['hello'])).length, 1);
    double.faults.dropNext(5);
    await expectCode(e.embed(['hello']), 'PLINTH_EMBEDDING_UNAVAILABLE');
    double.faults.reset();
  });

  it('times out a slow answer', async () => {
    const e = await make({ timeoutMs: 50, retries: 0 });
    double.faults.latencyMs = 300;
    try {
      const err = await expectCode(e.embed(['hello']), 'PLINTH_EMBEDDING_UNAVAILABLE');
      assert.match(err.message, /timed out after 50 ms/);
    } finally {
      double.faults.reset();
    }
  });

  it('stops waiting when the caller aborts mid-request', async () => {
    const e = await make();
    double.faults.latencyMs = 2_000;
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('client went away')), 30);
      const started = performance.now();
      await assert.rejects(e.embed(['hello'], { signal: controller.signal }), /client went away/);
      assert.ok(performance.now() - started < 1_000);
    } finally {
      double.faults.reset();
    }
  });

  it('reports a refused connection as unavailable, and a failed probe at creation', async () => {
    const gone = await startOllamaDouble();
    const url = gone.url;
    await gone.close();
    const e = await createOllamaEmbedder({ baseUrl: url, dimensions: 8, retries: 0 });
    const err = await expectCode(e.embed(['hello']), 'PLINTH_EMBEDDING_UNAVAILABLE');
    assert.match(err.message, /Cannot reach the ollama embedding API/);
    await expectCode(createOllamaEmbedder({ baseUrl: url, retries: 0 }), 'PLINTH_EMBEDDING_UNAVAILABLE');
  });
});

describe('openai adapter', () => {
  let double: LlmDouble;
  before(async () => {
    double = await startOpenAIDouble({ dimensions: 24, apiKey: API_KEY, leakKeyInErrors: true });
  });
  after(() => double.close());

  const make = (extra: Partial<Parameters<typeof createOpenAIEmbedder>[0]> = {}): Promise<Embedder> =>
    createOpenAIEmbedder({ baseUrl: double.url, apiKey: API_KEY, ...FAST_RETRY, ...extra });

  it('sends the documented request with the bearer key, and asks for dimensions only when configured', async () => {
    double.requests.length = 0;
    const probed = await make();
    assert.equal(probed.dimensions, 24);
    const sized = await make({ dimensions: 16, model: 'text-embedding-3-large' });
    assert.equal(sized.dimensions, 16);
    await sized.embed(['alpha', 'beta']);
    const [probe, req] = double.requestsTo('/v1/embeddings');
    assert.deepEqual(probe!.body, { model: 'text-embedding-3-small', input: ['dimension probe'], encoding_format: 'float' });
    assert.deepEqual(req!.body, { model: 'text-embedding-3-large', input: ['alpha', 'beta'], encoding_format: 'float', dimensions: 16 });
    assert.equal(req!.headers.authorization, `Bearer ${API_KEY}`);
  });

  it('works without a key against servers that need none', async () => {
    const open = await startOpenAIDouble({ dimensions: 8 });
    try {
      const e = await createOpenAIEmbedder({ baseUrl: open.url, ...FAST_RETRY });
      await e.embed(['hello']);
      assert.equal(open.requestsTo('/v1/embeddings')[1]!.headers.authorization, undefined);
    } finally {
      await open.close();
    }
  });

  it('maps a rejected key to PLINTH_EMBEDDING_FAILED without echoing the key', async () => {
    const wrongKey = `${API_KEY}-wrong`;
    const err = await expectCode(createOpenAIEmbedder({ baseUrl: double.url, apiKey: wrongKey, dimensions: 24, ...FAST_RETRY }).then((e) => e.embed(['x'])), 'PLINTH_EMBEDDING_FAILED');
    assert.match(err.message, /refused the credentials \(HTTP 401\)/);
    assert.ok(!err.message.includes(wrongKey));
    assertNoKey(err);
  });

  it('never lets the key into an error, even when the upstream echoes it', async () => {
    const e = await make({ dimensions: 24 });
    const errors: Error[] = [];
    double.faults.failNext(3, 500);
    errors.push(await expectCode(e.embed(['x']), 'PLINTH_EMBEDDING_UNAVAILABLE'));
    double.faults.failNext(1, 400);
    errors.push(await expectCode(e.embed(['x']), 'PLINTH_EMBEDDING_FAILED'));
    double.faults.wrongDimensionsNext(1);
    errors.push(await expectCode(e.embed(['x']), 'PLINTH_EMBEDDING_FAILED'));
    double.faults.dropNext(3);
    errors.push(await expectCode(e.embed(['x']), 'PLINTH_EMBEDDING_UNAVAILABLE'));
    const gone = await startOpenAIDouble();
    await gone.close();
    errors.push(await expectCode(createOpenAIEmbedder({ baseUrl: gone.url, apiKey: API_KEY, retries: 0 }), 'PLINTH_EMBEDDING_UNAVAILABLE'));
    assert.ok(errors[0]!.message.includes('for credentials Bearer ****'), 'the echoed key was masked, the rest of the message kept');
    for (const err of errors) assertNoKey(err);
  });

  it('retries 429 and 503, then reports unavailable with the status', async () => {
    const e = await make({ dimensions: 24 });
    double.faults.failNext(1, 429);
    double.faults.failNext(1, 503);
    assert.equal((await e.embed(['x'])).length, 1);
    double.faults.failNext(3, 429);
    const err = await expectCode(e.embed(['x']), 'PLINTH_EMBEDDING_UNAVAILABLE');
    assert.equal(err.extra.upstream_status, 429);
  });

  it('refuses an answer with missing or duplicate indexes', async () => {
    const broken = await startOpenAIDouble({
      routes: {
        'POST /v1/embeddings': (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ object: 'list', data: [{ index: 0, embedding: [1, 0] }, { index: 0, embedding: [0, 1] }], model: 'm' }));
        },
      },
    });
    try {
      const e = await createOpenAIEmbedder({ baseUrl: broken.url, dimensions: 2, ...FAST_RETRY });
      const err = await expectCode(e.embed(['a', 'b']), 'PLINTH_EMBEDDING_FAILED');
      assert.match(err.message, /missing or duplicate indexes/);
      await expectCode(e.embed(['a']), 'PLINTH_EMBEDDING_FAILED');
    } finally {
      await broken.close();
    }
  });

  it('refuses an answer that is not JSON', async () => {
    const broken = await startOpenAIDouble({
      routes: {
        'POST /v1/embeddings': (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end('<html>gateway</html>');
        },
      },
    });
    try {
      const e = await createOpenAIEmbedder({ baseUrl: broken.url, dimensions: 2, ...FAST_RETRY });
      await expectCode(e.embed(['a']), 'PLINTH_EMBEDDING_FAILED');
    } finally {
      await broken.close();
    }
  });
});
