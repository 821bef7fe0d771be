// Per-key limits on the gateway: requests and tokens per minute with x-ratelimit-* headers,
// 429 with Retry-After over the limit, the reservation settled after every call, and the
// fail-open / fail-closed choice when the Redis limiter store is unreachable.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { HASHING_MODEL } from '../../src/embeddings/index.js';
import { invokeKey, unreachableRedisEnv, useGatewayApp } from '../helpers/gateway.js';
import { startOllamaDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { ADAPTER } from '../helpers/platform.js';

describe(`gateway limits (${ADAPTER})`, () => {
  let ollama: LlmDouble;
  before(async () => {
    ollama = await startOllamaDouble({ models: ['llama3.2'] });
  });
  after(async () => {
    await ollama?.close();
  });

  describe('per key, in process', () => {
    const gw = useGatewayApp(() => ({
      OLLAMA_URL: ollama.url,
      EMBEDDINGS_PROVIDER: 'hashing',
      GATEWAY_REQUESTS_PER_MINUTE: '3',
      GATEWAY_TOKENS_PER_MINUTE: '2000',
      GATEWAY_CACHE: 'false',
      GATEWAY_RETRY_BASE_MS: '5',
      GATEWAY_BREAKER_THRESHOLD: '3',
      GATEWAY_BREAKER_COOLDOWN_MS: '400',
    }));

    it('counts requests per key, sends x-ratelimit headers and answers 429 with Retry-After over the limit', async () => {
      const { t, app } = gw;
      const k = await invokeKey(t, 'rpm');
      const other = await invokeKey(t, 'other');
      const call = (key: string) =>
        app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${key}` }, payload: { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 } });
      const remaining: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await call(k.key);
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.headers['x-ratelimit-limit-requests'], '3');
        assert.equal(res.headers['x-ratelimit-limit-tokens'], '2000');
        assert.match(String(res.headers['x-ratelimit-reset-requests']), /^\d+s$/);
        remaining.push(String(res.headers['x-ratelimit-remaining-requests']));
      }
      assert.deepEqual(remaining, ['2', '1', '0']);
      const sent = ollama.requestsTo('/api/chat').length;
      const limited = await call(k.key);
      assert.equal(limited.statusCode, 429);
      assert.ok(Number(limited.headers['retry-after']) >= 1);
      assert.equal(limited.json<{ error: { code: string; type: string } }>().error.code, 'PLINTH_RATE_LIMITED');
      assert.equal(limited.json<{ error: { type: string } }>().error.type, 'rate_limit_error');
      assert.equal(ollama.requestsTo('/api/chat').length, sent, 'nothing sent upstream over the limit');
      assert.equal((await call(other.key)).statusCode, 200, 'another key has its own budget');
      assert.equal(await t.platform.gateway.reservedTokens(k.id), 0);
    });

    it('reserves max_tokens up front, settles with the real usage, and refuses a request bigger than the budget', async () => {
      const { t, app } = gw;
      const k = await invokeKey(t, 'tpm');
      const h = { authorization: `Bearer ${k.key}` };
      const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: h, payload: { model: 'llama3.2', messages: [{ role: 'user', content: 'one two' }], max_tokens: 1500 } });
      assert.equal(res.statusCode, 200);
      // Settled with the real usage (a handful of tokens), not the 1500 reserved.
      assert.equal(await t.platform.gateway.reservedTokens(k.id), 0);
      const again = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: h, payload: { model: 'llama3.2', messages: [{ role: 'user', content: 'one two' }], max_tokens: 1500 } });
      assert.equal(again.statusCode, 200, 'the first reservation was given back');
      const tooBig = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: h, payload: { model: 'llama3.2', messages: [{ role: 'user', content: 'x' }], max_tokens: 5000 } });
      assert.equal(tooBig.statusCode, 429);
      assert.match(tooBig.json<{ error: { message: string } }>().error.message, /more than the 2000 tokens per minute/);
      ollama.faults.failNext(3, 500);
      const failed = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: h, payload: { model: 'llama3.2', messages: [{ role: 'user', content: 'x' }], max_tokens: 100 } });
      assert.equal(failed.statusCode, 503);
      assert.equal(await t.platform.gateway.reservedTokens(k.id), 0, 'released on failure');
      ollama.faults.reset();
    });

    it('opens the circuit after repeated failures, fails fast, and closes again after a successful trial', async () => {
      const { t, app } = gw;
      // The previous test's three failed attempts reached the threshold.
      assert.equal(t.platform.gateway.circuitState('ollama'), 'open');
      assert.match(await t.platform.collectMetrics(), /plinth_llm_circuit_state\{upstream="ollama"\} 2/);
      const k = await invokeKey(t, 'breaker');
      const h = { authorization: `Bearer ${k.key}` };
      const payload = { model: 'llama3.2', messages: [{ role: 'user', content: 'x' }], max_tokens: 10 };
      const sent = ollama.requestsTo('/api/chat').length;
      const fast = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: h, payload });
      assert.equal(fast.statusCode, 503);
      assert.match(fast.json<{ error: { message: string } }>().error.message, /open circuit/);
      assert.ok(Number(fast.headers['retry-after']) >= 1);
      assert.equal(ollama.requestsTo('/api/chat').length, sent, 'an open circuit sends nothing');
      await sleep(450);
      const trial = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: h, payload });
      assert.equal(trial.statusCode, 200, trial.body);
      assert.equal(t.platform.gateway.circuitState('ollama'), 'closed');
      assert.equal(await t.platform.gateway.reservedTokens(k.id), 0);
    });
  });

  for (const failOpen of [false, true]) {
    describe(`Redis unreachable, fail-${failOpen ? 'open' : 'closed'}`, () => {
      const gw = useGatewayApp(async () => ({
        ...(await unreachableRedisEnv()),
        EMBEDDINGS_PROVIDER: 'hashing',
        GATEWAY_REQUESTS_PER_MINUTE: '100',
        GATEWAY_LIMITS_FAIL_OPEN: String(failOpen),
      }));

      it(failOpen ? 'serves without limits' : 'answers 503 rather than serve unlimited', async () => {
        const { t, app } = gw;
        const k = await invokeKey(t, 'redis-down');
        const res = await app.inject({ method: 'POST', url: '/v1/embeddings', headers: { authorization: `Bearer ${k.key}` }, payload: { model: HASHING_MODEL, input: 'x' } });
        if (failOpen) {
          assert.equal(res.statusCode, 200, res.body);
        } else {
          assert.equal(res.statusCode, 503, res.body);
          assert.equal(res.json<{ error: { code: string } }>().error.code, 'PLINTH_LIMITS_UNAVAILABLE');
          assert.equal(res.headers['retry-after'], '1');
        }
      });

      it('answers chat with a clear "no LLM provider configured" error when no upstream is set', async () => {
        const { t, app } = gw;
        const k = await invokeKey(t, 'no-llm');
        const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${k.key}` }, payload: { model: 'any', messages: [{ role: 'user', content: 'x' }] } });
        assert.equal(res.statusCode, 503);
        const e = res.json<{ error: { code: string; message: string } }>().error;
        assert.equal(e.code, 'PLINTH_LLM_NOT_CONFIGURED');
        assert.match(e.message, /OLLAMA_URL or OPENAI_BASE_URL/);
      });
    });
  }
});
