import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, createMemoryCacheStore, exactCacheKey } from '../../src/cache/index.js';
import type { ChatRequest } from '../../src/gateway/index.js';
import { cacheContract } from './cache-contract.js';

cacheContract('in-process LRU', () => createMemoryCacheStore({ maxEntries: 100 }));

describe('exact cache', () => {
  const req: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 0 };

  it('keys on the canonical request: defaults filled, key order and streaming options ignored', () => {
    const k = exactCacheKey('t1', req);
    assert.equal(exactCacheKey('t1', { ...req, top_p: 1, presence_penalty: 0, stream: true, stream_options: { include_usage: true } }), k);
    assert.equal(exactCacheKey('t1', { temperature: 0, messages: [{ content: 'hi', role: 'user' }], model: 'm' }), k);
    assert.notEqual(exactCacheKey('t2', req), k, 'tenants never share entries');
    assert.notEqual(exactCacheKey('t1', { ...req, messages: [{ role: 'user', content: 'hi!' }] }), k);
    assert.notEqual(exactCacheKey('t1', { ...req, response_format: { type: 'json_object' } }), k);
    assert.notEqual(exactCacheKey('t1', { ...req, tools: [{ type: 'function', function: { name: 'f' } }] }), k);
    assert.notEqual(exactCacheKey('t1', { ...req, max_tokens: 5 }), k);
    assert.equal(canonicalJson({ b: 1, a: [{ d: 1, c: undefined }] }), '{"a":[{"d":1}],"b":1}');
  });

  it('evicts the least recently used entry when full', async () => {
    const lru = createMemoryCacheStore({ maxEntries: 2 });
    await lru.set('a', '1', 60_000);
    await lru.set('b', '2', 60_000);
    assert.equal(await lru.get('a'), '1'); // a is now the most recent
    await lru.set('c', '3', 60_000);
    assert.equal(await lru.get('b'), undefined);
    assert.equal(await lru.get('a'), '1');
    assert.equal(await lru.get('c'), '3');
  });
});
