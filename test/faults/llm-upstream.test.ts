// LLM upstream faults through a real HTTP server: a primary deployment (Ollama double) and a
// fallback serving the same model (OpenAI-compatible double). A failing or slow primary opens its
// circuit and the fallback answers; with both down clients get a clean 5xx with a stable code and
// Retry-After; a stream cut mid-way ends with a clean SSE error event; after the cool-down the
// circuit lets one trial call through and closes again. An upstream whose port is closed
// (connections refused) opens its circuit the same way: the fallback answers, and without one
// clients get a prompt 503 PLINTH_UPSTREAM_UNAVAILABLE.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseSse, startOllamaDouble, startOpenAIDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { freePort, jsonPost, newKey, problemCode, startInProcess, startPgCluster, until, type Answer, type InProcessServer, type PgCluster } from '../helpers/faults.js';

const COOLDOWN_MS = 1_500;
const FIRST_TOKEN_TIMEOUT_MS = 800;
const MODEL = 'llama3.2';

let pgc: PgCluster;
before(async () => {
  pgc = await startPgCluster();
});
after(async () => {
  await pgc?.destroy();
});

describe('LLM upstream down, slow, cutting streams', { timeout: 170_000 }, () => {
  let primary: LlmDouble;
  let fallback: LlmDouble;
  let s: InProcessServer;
  let key: string;

  before(async () => {
    primary = await startOllamaDouble({ models: [MODEL] });
    fallback = await startOpenAIDouble({ models: [MODEL] });
    s = await startInProcess({
      DATABASE_URL: await pgc.createDatabase('upstream_faults'),
      OLLAMA_URL: primary.url,
      OPENAI_BASE_URL: fallback.url,
      GATEWAY_BREAKER_THRESHOLD: '2',
      GATEWAY_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
      GATEWAY_RETRIES: '2',
      GATEWAY_RETRY_BASE_MS: '10',
      GATEWAY_FIRST_TOKEN_TIMEOUT_MS: String(FIRST_TOKEN_TIMEOUT_MS),
      GATEWAY_CACHE: 'false',
    });
    key = await newKey(s.platform, ['llm:invoke']);
  });

  after(async () => {
    await s?.close();
    await primary?.close();
    await fallback?.close();
  });

  let n = 0;
  const chat = (stream = false): Promise<Answer> =>
    jsonPost(`${s.url}/v1/chat/completions`, key, { model: MODEL, messages: [{ role: 'user', content: `one two three ${n++}` }], max_tokens: 20, stream }, 20_000);
  const state = (upstream: 'ollama' | 'openai') => s.platform.gateway.circuitState(upstream);
  const calls = (d: LlmDouble) => d.requests.filter((r) => r.path === '/api/chat' || r.path === '/v1/chat/completions').length;
  /** Clears the faults and waits for every open circuit to reach its trial (half-open) state. */
  const heal = async () => {
    primary.faults.reset();
    fallback.faults.reset();
    await until('the circuits to leave the open state', () => (state('ollama') !== 'open' && state('openai') !== 'open') || undefined, COOLDOWN_MS * 3);
  };

  it('uses the fallback when the primary fails, opens the primary circuit, and closes it after the cool-down', async () => {
    const ok = await chat();
    assert.equal(ok.status, 200, ok.body);
    assert.equal(state('ollama'), 'closed');

    primary.faults.failNext(1000, 503);
    const toFallback = calls(fallback);
    const first = await chat();
    assert.equal(first.status, 200, `the fallback answered: ${first.body}`);
    assert.equal(state('ollama'), 'open', 'two failures opened the primary circuit');
    assert.equal(calls(fallback), toFallback + 1);

    // While open, the primary is not even tried.
    const toPrimary = calls(primary);
    for (let i = 0; i < 3; i++) assert.equal((await chat()).status, 200);
    assert.equal(calls(primary), toPrimary, 'no call went to the open circuit');
    assert.equal(calls(fallback), toFallback + 4);
    const gauge = await s.platform.collectMetrics();
    assert.match(gauge, /plinth_llm_circuit_state\{upstream="ollama"\} 2/);

    // The primary recovers; after the cool-down one trial call closes the circuit.
    await heal();
    assert.equal(state('ollama'), 'half_open');
    const trial = await chat();
    assert.equal(trial.status, 200, trial.body);
    assert.equal(calls(primary), toPrimary + 1, 'the trial call went to the primary');
    assert.equal(state('ollama'), 'closed');
  });

  it('times out a slow primary and falls back; with every deployment slow, answers a clean 504 then 503', async () => {
    await heal();
    primary.faults.firstTokenDelayMs = 5_000;
    const slow = await chat(true);
    assert.equal(slow.status, 200, slow.body);
    assert.equal(parseSse(slow.body).done, true, 'the fallback streamed a complete answer');
    assert.ok(slow.ms < FIRST_TOKEN_TIMEOUT_MS * 2 + 2_000, `bounded by the first-token timeout (${slow.ms.toFixed(0)} ms)`);
    assert.equal(state('ollama'), 'open');

    fallback.faults.firstTokenDelayMs = 5_000;
    const timedOut = await chat();
    assert.equal(timedOut.status, 504, timedOut.body);
    assert.equal(problemCode(timedOut), 'PLINTH_UPSTREAM_TIMEOUT');
    assert.ok(timedOut.ms < FIRST_TOKEN_TIMEOUT_MS * 3 + 2_000, `bounded (${timedOut.ms.toFixed(0)} ms)`);
    assert.equal(state('openai'), 'open');

    // Both circuits open: refused at once, with a hint when to come back.
    const refused = await chat(true);
    assert.equal(refused.status, 503, refused.body);
    assert.equal(problemCode(refused), 'PLINTH_UPSTREAM_UNAVAILABLE');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.ok(refused.ms < 1_000, `an open circuit fails fast (${refused.ms.toFixed(0)} ms)`);

    await heal();
    const back = await chat();
    assert.equal(back.status, 200, back.body);
    assert.equal(state('ollama'), 'closed');
  });

  it('ends a stream cut mid-way with a clean error event, and the next stream is complete', async () => {
    await heal();
    for (const fault of ['drop', 'error'] as const) {
      if (fault === 'drop') primary.faults.midStreamDropNext(1);
      else primary.faults.midStreamErrorNext(1);
      const cut = await chat(true);
      assert.equal(cut.status, 200, cut.body);
      assert.match(cut.headers.get('content-type') ?? '', /text\/event-stream/);
      const { events, done } = parseSse(cut.body);
      assert.equal(done, false, `${fault}: no [DONE] after a cut`);
      const last = events.at(-1) as { error?: { code?: string; type?: string } };
      assert.equal(last.error?.code, 'PLINTH_UPSTREAM_FAILED', `${fault}: ${cut.body}`);
      assert.equal(last.error?.type, 'server_error');
      const whole = await chat(true);
      assert.equal(whole.status, 200);
      assert.equal(parseSse(whole.body).done, true, `${fault}: the next stream is complete`);
    }
    assert.equal(state('ollama'), 'closed', 'single cuts separated by successes do not open the circuit');
  });
});

describe('LLM upstream refusing connections', { timeout: 120_000 }, () => {
  let fallback: LlmDouble;
  let primaryA: LlmDouble;
  let primaryB: LlmDouble;
  /** A primary that stops listening, and a fallback. */
  let a: InProcessServer;
  /** A primary that stops listening, alone. */
  let b: InProcessServer;
  /** An upstream that never listened, alone. */
  let c: InProcessServer;
  const keys = new Map<InProcessServer, string>();

  before(async () => {
    fallback = await startOpenAIDouble({ models: [MODEL] });
    primaryA = await startOllamaDouble({ models: [MODEL] });
    primaryB = await startOllamaDouble({ models: [MODEL] });
    const env = {
      GATEWAY_BREAKER_THRESHOLD: '2',
      GATEWAY_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
      GATEWAY_RETRIES: '2',
      GATEWAY_RETRY_BASE_MS: '10',
      GATEWAY_CACHE: 'false',
      // The primary's model list, fetched while it listened, stays known for the whole test.
      GATEWAY_MODELS_TTL_MS: '600000',
    };
    a = await startInProcess({ ...env, DATABASE_URL: await pgc.createDatabase('refused_fallback'), OLLAMA_URL: primaryA.url, OPENAI_BASE_URL: fallback.url });
    b = await startInProcess({ ...env, DATABASE_URL: await pgc.createDatabase('refused_alone'), OLLAMA_URL: primaryB.url });
    // Nothing listens on this port: every connection is refused (ECONNREFUSED).
    c = await startInProcess({ ...env, DATABASE_URL: await pgc.createDatabase('refused_never'), OLLAMA_URL: `http://127.0.0.1:${await freePort()}` });
    for (const s of [a, b, c]) keys.set(s, await newKey(s.platform, ['llm:invoke']));
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await c?.close();
    await fallback?.close();
    await primaryA?.close();
    await primaryB?.close();
  });

  let n = 0;
  const chat = (s: InProcessServer, stream = false): Promise<Answer> =>
    jsonPost(`${s.url}/v1/chat/completions`, keys.get(s)!, { model: MODEL, messages: [{ role: 'user', content: `refused ${n++}` }], max_tokens: 20, stream }, 20_000);
  const calls = (d: LlmDouble) => d.requests.filter((r) => r.path === '/api/chat' || r.path === '/v1/chat/completions').length;

  it('opens the circuit of a primary that stops listening after the configured failures and answers from the fallback', async () => {
    const warm = await chat(a);
    assert.equal(warm.status, 200, warm.body);
    assert.equal(calls(primaryA), 1, 'the primary served while it listened');
    await primaryA.close();

    const before = calls(fallback);
    const first = await chat(a);
    assert.equal(first.status, 200, `the fallback answered: ${first.body}`);
    assert.ok(first.ms < 2_000, `refused connections fail fast (${first.ms.toFixed(0)} ms)`);
    assert.equal(a.platform.gateway.circuitState('ollama'), 'open', 'two refused attempts opened the circuit');
    assert.equal(calls(fallback), before + 1);
    assert.match(await a.platform.collectMetrics(), /plinth_llm_circuit_state\{upstream="ollama"\} 2/);

    // While open, calls (streamed or not) go straight to the fallback.
    for (const stream of [false, true, false]) {
      const r = await chat(a, stream);
      assert.equal(r.status, 200, r.body);
      if (stream) assert.equal(parseSse(r.body).done, true, 'the fallback streamed a complete answer');
      assert.ok(r.ms < 1_000, `served by the fallback at once (${r.ms.toFixed(0)} ms)`);
    }
    assert.equal(calls(fallback), before + 4);

    // After the cool-down the trial call is refused again: the circuit reopens, the fallback answers.
    await until('the circuit to allow a trial call', () => a.platform.gateway.circuitState('ollama') === 'half_open' || undefined, COOLDOWN_MS * 3);
    const trial = await chat(a);
    assert.equal(trial.status, 200, trial.body);
    assert.equal(a.platform.gateway.circuitState('ollama'), 'open');
    assert.equal(calls(fallback), before + 5);
  });

  it('without a fallback, answers a prompt 503 with a stable code, then fails fast while the circuit is open', async () => {
    const warm = await chat(b);
    assert.equal(warm.status, 200, warm.body);
    await primaryB.close();

    const refused = await chat(b);
    assert.equal(refused.status, 503, refused.body);
    assert.equal(problemCode(refused), 'PLINTH_UPSTREAM_UNAVAILABLE');
    assert.ok(refused.ms < 2_000, `no hang on a refused connection (${refused.ms.toFixed(0)} ms)`);
    assert.equal(b.platform.gateway.circuitState('ollama'), 'open');

    for (const stream of [false, true]) {
      const open = await chat(b, stream);
      assert.equal(open.status, 503, open.body);
      assert.equal(problemCode(open), 'PLINTH_UPSTREAM_UNAVAILABLE');
      assert.ok(Number(open.headers.get('retry-after')) >= 1, 'tells when to come back');
      assert.ok(open.ms < 1_000, `an open circuit fails fast (${open.ms.toFixed(0)} ms)`);
    }
  });

  it('answers a prompt 503 with a stable code for an upstream that never listened, and opens its circuit', async () => {
    for (const stream of [false, true, false]) {
      const r = await chat(c, stream);
      assert.equal(r.status, 503, r.body);
      assert.equal(problemCode(r), 'PLINTH_UPSTREAM_UNAVAILABLE');
      assert.ok(r.headers.get('retry-after'), 'the client is told when to retry');
      assert.ok(r.ms < 2_000, `no hang (${r.ms.toFixed(0)} ms)`);
    }
    // Failed model listings count as failures: the circuit opens and the upstream is left alone.
    assert.equal(c.platform.gateway.circuitState('ollama'), 'open');
  });
});
