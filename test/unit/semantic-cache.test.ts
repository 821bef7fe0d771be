import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import {
  createCacheLayer,
  createMemoryCacheStore,
  createMemorySemanticStore,
  encodeVector,
  guard,
  lastUserText,
  parseCacheTags,
  parseSemanticHeader,
  scoreEncoded,
  semanticPartitionKey,
  type CacheSettings,
} from '../../src/cache/index.js';
import { createHashingEmbedder, type Embedder } from '../../src/embeddings/index.js';
import { isPlinthError } from '../../src/errors.js';
import type { ChatCompletion, ChatRequest } from '../../src/gateway/index.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { CONTRACT_MAX_PER_PARTITION, CONTRACT_TTL_MS, axis, semanticContract } from './semantic-cache-contract.js';

semanticContract('in-process LRU', () => createMemorySemanticStore({ maxPerPartition: CONTRACT_MAX_PER_PARTITION, maxEntries: 1000, ttlMs: CONTRACT_TTL_MS }));

describe('semantic cache guard', () => {
  const ok = (a: string, b: string) => assert.deepEqual(guard(a, b), { ok: true }, `${a} | ${b}`);
  const refused = (a: string, b: string, reason: string) => assert.deepEqual(guard(a, b), { ok: false, reason }, `${a} | ${b}`);

  it('lets rewordings through: question words, politeness, contractions, number words, case', () => {
    ok('How do I reset my password?', 'How can I reset my password?');
    ok('What is the capital of France?', 'what is the capital of France');
    ok('Please explain how TLS works in Plinth.', 'Explain how TLS works in Plinth');
    ok("Why isn't the build green?", 'Why is the build not green?');
    ok('Give me five tips for sleeping better', 'Can you give me 5 tips for sleeping better?');
    ok('Could you list the pods in kube-system?', 'List the pods in kube-system');
  });

  it('refuses a flipped negation', () => {
    refused('Is the cache enabled by default?', 'Is the cache not enabled by default?', 'negation');
    refused('Why does the job fail?', "Why doesn't the job fail?", 'negation');
    refused('Can I use Redis with TLS?', 'Can I never use Redis with TLS?', 'negation');
  });

  it('refuses changed numbers, in digits or words', () => {
    refused('Is port 5432 open?', 'Is port 5433 open?', 'number');
    refused('Convert 100 dollars to euros', 'Convert 1,000 dollars to euros', 'number');
    refused('Give me three reasons', 'Give me four reasons', 'number');
    refused('Summarise chapter 3', 'Summarise chapter', 'number');
  });

  it('refuses changed names and identifiers', () => {
    refused('What is the population of Paris?', 'What is the population of Berlin?', 'entity');
    refused('Paris: how many people live there?', 'Lyon: how many people live there?', 'entity');
    refused('Why does orders_v2 lag behind?', 'Why does orders_v3 lag behind?', 'number');
    refused('Restart the api-gateway deployment', 'Restart the auth_service deployment', 'entity');
  });

  it('refuses antonym swaps', () => {
    refused('How do I increase the memory limit?', 'How do I decrease the memory limit?', 'antonym');
    refused('How do I enable the feature flag?', 'How do I disable the feature flag?', 'antonym');
    refused('What are the advantages of Rust?', 'What are the disadvantages of Rust?', 'antonym');
    refused('Sort the list in ascending order', 'Sort the list in descending order', 'antonym');
  });
});

describe('semantic partition key', () => {
  const req = (text: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
    model: 'm',
    temperature: 0,
    messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }, { role: 'user', content: text }],
    ...extra,
  });

  it('ignores only the last user text; everything else separates partitions', () => {
    const k = semanticPartitionKey('t1', req('How do I reset my password?'), 'space');
    assert.equal(semanticPartitionKey('t1', req('How can I reset my password?'), 'space'), k);
    assert.equal(semanticPartitionKey('t1', req('x', { top_p: 1, stream: true }), 'space'), k, 'defaults filled, streaming ignored');
    assert.notEqual(semanticPartitionKey('t2', req('x'), 'space'), k, 'tenant');
    assert.notEqual(semanticPartitionKey('t1', req('x'), 'other-space'), k, 'embedding space');
    assert.notEqual(semanticPartitionKey('t1', req('x', { model: 'n' }), 'space'), k, 'model');
    assert.notEqual(semanticPartitionKey('t1', req('x', { temperature: 0.2 }), 'space'), k, 'sampling');
    assert.notEqual(semanticPartitionKey('t1', req('x', { seed: 7 }), 'space'), k, 'seed');
    assert.notEqual(semanticPartitionKey('t1', req('x', { response_format: { type: 'json_object' } }), 'space'), k, 'response format');
    assert.notEqual(semanticPartitionKey('t1', req('x', { tools: [{ type: 'function', function: { name: 'f' } }] }), 'space'), k, 'tools');
    const system = req('x');
    system.messages[0] = { role: 'system', content: 'You are verbose.' };
    assert.notEqual(semanticPartitionKey('t1', system, 'space'), k, 'system prompt');
    const history = req('x');
    history.messages[2] = { role: 'assistant', content: 'hello!' };
    assert.notEqual(semanticPartitionKey('t1', history, 'space'), k, 'earlier turns');
  });

  it('takes the text of a last user message only', () => {
    assert.equal(lastUserText(req('hello')), 'hello');
    assert.equal(lastUserText({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }] }), 'a\nb');
    assert.equal(lastUserText({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image_url', image_url: { url: 'data:x' } }] }] }), undefined);
    assert.equal(lastUserText({ model: 'm', messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] }), undefined);
    assert.equal(lastUserText({ model: 'm', messages: [{ role: 'user', content: '   ' }] }), undefined);
  });
});

describe('int8 vector encoding (Redis adapter)', () => {
  it('keeps the cosine within 0.01 of float32 and honours the expiry', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const unit = (v: Float32Array) => {
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    };
    let worst = 0;
    for (let trial = 0; trial < 200; trial++) {
      const a = unit(Float32Array.from({ length: 384 }, rand));
      const noise = Float32Array.from({ length: 384 }, rand);
      const b = unit(a.map((x, i) => x + noise[i]! * (trial % 10) * 0.01));
      let exact = 0;
      for (let i = 0; i < 384; i++) exact += a[i]! * b[i]!;
      worst = Math.max(worst, Math.abs(scoreEncoded(encodeVector(a, 1000), b, 0)! - exact));
    }
    assert.ok(worst < 0.01, `worst error ${worst}`);
    assert.equal(scoreEncoded(encodeVector(axis(0), 1000), axis(0), 1000), undefined, 'expired');
    assert.equal(scoreEncoded(encodeVector(axis(0), 1000), new Float32Array(8), 0), undefined, 'other size');
  });
});

describe('in-process semantic store bounds', () => {
  it('keeps at most maxEntries over all partitions, evicting from the least recently used partition', async () => {
    const store = createMemorySemanticStore({ maxPerPartition: 10, maxEntries: 4, ttlMs: 60_000 });
    const e = (text: string) => ({ text, value: text, tags: {} });
    await store.insert('p1', axis(0), e('a'));
    await store.insert('p1', axis(1), e('b'));
    await store.insert('p2', axis(0), e('c'));
    await store.insert('p2', axis(1), e('d'));
    await store.insert('p2', axis(2), e('e'));
    const all = async (p: string) => (await Promise.all([0, 1, 2].map((i) => store.search('t', p, axis(i), { minScore: 0.9, limit: 4 })))).flat().map((c) => c.text);
    assert.deepEqual(await all('p1'), ['b']);
    assert.deepEqual(await all('p2'), ['c', 'd', 'e']);
  });
});

describe('request headers', () => {
  it('parses cache tags and the semantic switch, rejecting bad values with PLINTH_VALIDATION_FAILED', () => {
    assert.deepEqual(parseCacheTags(undefined), []);
    assert.deepEqual(parseCacheTags(' faq , docs:42,faq'), ['docs:42', 'faq']);
    assert.throws(() => parseCacheTags('ok, bad tag'), (e) => isPlinthError(e, 'VALIDATION_FAILED'));
    assert.throws(() => parseCacheTags(Array.from({ length: 17 }, (_, i) => `t${i}`).join(',')), (e) => isPlinthError(e, 'VALIDATION_FAILED'));
    assert.equal(parseSemanticHeader(undefined), undefined);
    assert.equal(parseSemanticHeader('ON'), true);
    assert.equal(parseSemanticHeader('off'), false);
    assert.throws(() => parseSemanticHeader('maybe'), (e) => isPlinthError(e, 'VALIDATION_FAILED'));
  });
});

describe('cache layer', () => {
  const settings: CacheSettings = { cache: true, cacheTtlMs: 60_000, cacheMaxTemperature: 0, semanticCache: true, semanticThreshold: 0.8, semanticMaxTemperature: 0 };
  const completion = (content: string): ChatCompletion => ({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  });
  const ask = (text: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'm', temperature: 0, messages: [{ role: 'user', content: text }], ...extra });

  function layer(overrides: Partial<CacheSettings> = {}, embedder: Embedder = createHashingEmbedder()) {
    const registry = new Registry();
    const l = createCacheLayer({
      settings: { ...settings, ...overrides },
      exact: createMemoryCacheStore({ maxEntries: 100 }),
      semantic: createMemorySemanticStore({ maxPerPartition: 16, maxEntries: 1000, ttlMs: 60_000 }),
      embedder,
      logger: createLogger({ level: 'silent' }),
      registry,
    });
    const counter = async (name: string, label: string) => {
      const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
      return (m?.values as Array<{ value: number; labels: Record<string, string> }> | undefined)?.filter((v) => Object.values(v.labels).includes(label)).reduce((n, v) => n + v.value, 0) ?? 0;
    };
    return { l, counter };
  }

  it('answers exact repeats, then similar questions, and refuses look-alikes through the guard', async () => {
    const { l, counter } = layer();
    const tenant = randomUUID();
    const first = await l.lookup(tenant, ask('How do I reset my password?'));
    assert.equal(first.outcome, 'miss');
    first.store(completion('Use plinth keys rotate.'));
    await new Promise((r) => setImmediate(r));
    assert.equal((await l.lookup(tenant, ask('How do I reset my password?'))).outcome, 'exact');
    const similar = await l.lookup(tenant, ask('How do I reset my password please?'));
    assert.equal(similar.outcome, 'semantic');
    assert.equal(similar.hit?.choices[0]?.message.content, 'Use plinth keys rotate.');
    assert.ok(similar.similarity !== undefined && similar.similarity >= 0.8 && similar.similarity < 1);
    const negated = await l.lookup(tenant, ask('How do I not reset my password?'));
    assert.equal(negated.outcome, 'miss');
    assert.equal(await counter('plinth_llm_semantic_cache_lookups_total', 'hit'), 1);
    assert.equal(await counter('plinth_llm_semantic_cache_lookups_total', 'refused'), 1);
    assert.equal(await counter('plinth_llm_semantic_cache_refusals_total', 'negation'), 1);
    assert.equal((await l.lookup(randomUUID(), ask('How do I reset my password please?'))).outcome, 'miss', 'tenants never share');
    assert.equal((await l.lookup(tenant, ask('How do I reset my password please?', { model: 'n' }))).outcome, 'miss', 'models never share');
  });

  it('stays off above the temperature bound unless the request opts in, and off when the request opts out', async () => {
    const { l } = layer();
    const tenant = randomUUID();
    const hot = ask('Tell me a story about a dragon', { temperature: 0.9 });
    const miss = await l.lookup(tenant, hot);
    assert.equal(miss.outcome, 'bypass');
    const opted = await l.lookup(tenant, hot, { semantic: true });
    assert.equal(opted.outcome, 'miss');
    opted.store(completion('Once upon a time'));
    await new Promise((r) => setImmediate(r));
    assert.equal((await l.lookup(tenant, ask('Tell me a story about a dragon please', { temperature: 0.9 }), { semantic: true })).outcome, 'semantic');
    assert.equal((await l.lookup(tenant, ask('Tell me a story about a dragon please', { temperature: 0.9 }))).outcome, 'bypass');
    const cold = ask('What is a dragon?');
    (await l.lookup(tenant, cold)).store(completion('A legendary creature.'));
    await new Promise((r) => setImmediate(r));
    assert.equal((await l.lookup(tenant, ask('What is a dragon??'), { semantic: false })).outcome, 'miss', 'exact only');
  });

  it('invalidates by tenant, model and tag, and never stores what was in flight during an invalidation', async () => {
    const { l } = layer();
    const tenant = randomUUID();
    const put = async (text: string, tags: string[] = [], model = 'm') => {
      const r = await l.lookup(tenant, ask(text, { model }), { tags });
      assert.equal(r.outcome, 'miss', text);
      r.store(completion(text));
      await new Promise((res) => setImmediate(res));
    };
    await put('What is the refund policy?', ['policies']);
    await put('Where is the office?');
    await put('What is the refund policy?', [], 'n');
    await l.invalidate(tenant, { tag: 'policies' });
    assert.equal((await l.lookup(tenant, ask('What is the refund policy?'))).outcome, 'miss', 'exact entry of the tag gone');
    assert.equal((await l.lookup(tenant, ask('What is the refund policy please?'))).outcome, 'miss', 'semantic entry of the tag gone');
    assert.equal((await l.lookup(tenant, ask('Where is the office?'))).outcome, 'exact', 'untagged entries stay');
    await l.invalidate(tenant, { model: 'm' });
    assert.equal((await l.lookup(tenant, ask('Where is the office?'))).outcome, 'miss');
    assert.equal((await l.lookup(tenant, ask('What is the refund policy?', { model: 'n' }))).outcome, 'exact', 'other models stay');
    await l.invalidate(tenant);
    assert.equal((await l.lookup(tenant, ask('What is the refund policy?', { model: 'n' }))).outcome, 'miss');

    // A call that looked up before an invalidation and finishes after it.
    const inflight = await l.lookup(tenant, ask('How late is the shop open?'), { tags: ['hours'] });
    await l.invalidate(tenant, { tag: 'hours' });
    inflight.store(completion('Until 6 pm.'));
    await new Promise((res) => setImmediate(res));
    assert.equal((await l.lookup(tenant, ask('How late is the shop open?'))).outcome, 'miss');
    const inflight2 = await l.lookup(tenant, ask('Who runs the shop?'));
    await l.invalidate(tenant);
    inflight2.store(completion('Ana.'));
    await new Promise((res) => setImmediate(res));
    assert.equal((await l.lookup(tenant, ask('Who runs the shop?'))).outcome, 'miss');
  });

  it('treats a failing embedder or store as a miss, never as an error', async () => {
    const broken: Embedder = { ...createHashingEmbedder(), embed: () => Promise.reject(new Error('down')) };
    const { l, counter } = layer({}, broken);
    const r = await l.lookup(randomUUID(), ask('anything at all'));
    assert.equal(r.outcome, 'miss');
    assert.equal(await counter('plinth_llm_semantic_cache_lookups_total', 'error'), 1);
  });
});
