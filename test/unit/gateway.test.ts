import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { upstreamsFromConfig } from '../../src/gateway/index.js';
import { Aggregator, toChunks } from '../../src/gateway/aggregate.js';
import { CircuitBreaker, type CircuitState } from '../../src/gateway/index.js';
import { toOllama } from '../../src/gateway/ollama.js';

describe('circuit breaker', () => {
  it('opens after the threshold, half-opens after the cooldown with one trial, and closes on success', () => {
    let now = 0;
    const states: CircuitState[] = [];
    const b = new CircuitBreaker({ threshold: 2, cooldownMs: 1000, now: () => now, onChange: (s) => states.push(s) });
    assert.ok(b.tryAcquire());
    b.failure();
    assert.equal(b.state, 'closed');
    b.failure();
    assert.equal(b.state, 'open');
    assert.equal(b.tryAcquire(), false);
    assert.equal(b.retryAfterMs(), 1000);
    now = 1000;
    assert.equal(b.state, 'half_open');
    assert.equal(b.tryAcquire(), true);
    assert.equal(b.tryAcquire(), false, 'one trial at a time');
    b.failure();
    assert.equal(b.state, 'open', 'a failed trial re-opens');
    now = 2000;
    assert.ok(b.tryAcquire());
    b.success();
    assert.equal(b.state, 'closed');
    assert.deepEqual(states, ['open', 'half_open', 'open', 'half_open', 'closed']);
  });

  it('does not count a released call (client went away) as an outcome', () => {
    const later = new CircuitBreaker({ threshold: 1, cooldownMs: 0, now: () => 0 });
    later.failure();
    assert.ok(later.tryAcquire());
    later.release();
    assert.ok(later.tryAcquire(), 'the trial slot is free again');
  });
});

describe('Ollama translation', () => {
  it('maps OpenAI messages, tools, sampling and response_format to /api/chat, with keep_alive from config', () => {
    const body = toOllama(
      {
        model: 'llama3.2',
        messages: [
          { role: 'developer', content: 'be brief' },
          { role: 'user', content: [{ type: 'text', text: 'look: ' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
          { role: 'tool', tool_call_id: 'c1', content: 'done' },
        ],
        tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
        temperature: 0,
        max_tokens: 7,
        stop: 'END',
        response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object' } } },
        keep_alive: '99h',
      },
      '10m',
    );
    assert.equal(body.keep_alive, '10m');
    assert.equal(body.stream, true);
    assert.deepEqual(body.options, { temperature: 0, num_predict: 7, stop: ['END'] });
    assert.deepEqual(body.format, { type: 'object' });
    const messages = body.messages as Array<Record<string, unknown>>;
    assert.equal(messages[0]?.role, 'system');
    assert.equal(messages[1]?.content, 'look: ');
    assert.deepEqual(messages[1]?.images, ['AAAA']);
    assert.deepEqual(messages[2]?.tool_calls, [{ function: { name: 'f', arguments: { a: 1 } } }]);
    assert.equal(messages[3]?.tool_name, 'f');
    assert.equal((body.tools as unknown[]).length, 1);
  });
});

describe('chunk aggregation', () => {
  it('folds content and tool-call deltas into one completion, and unfolds it back', () => {
    const agg = new Aggregator();
    const base = { id: 'x', object: 'chat.completion.chunk' as const, created: 1, model: 'm' };
    agg.add({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    agg.add({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'c', type: 'function', function: { name: 'f', arguments: '' } }] }, finish_reason: null }] });
    agg.add({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"q":' } }] }, finish_reason: null }] });
    agg.add({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '1}' } }] }, finish_reason: 'tool_calls' }] });
    const c = agg.result({ prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 });
    assert.deepEqual(c.choices[0]?.message.tool_calls, [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"q":1}' } }]);
    assert.equal(c.choices[0]?.finish_reason, 'tool_calls');
    const again = new Aggregator();
    for (const chunk of toChunks(c, 'y', 2)) again.add(chunk);
    assert.deepEqual(again.result(c.usage).choices, c.choices);
  });
});

describe('gateway configuration', () => {
  it('builds one upstream each from OLLAMA_URL and OPENAI_BASE_URL, without a file', () => {
    const config = loadConfig({ env: { OLLAMA_URL: 'http://127.0.0.1:11434', OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1', GATEWAY_OLLAMA_KEEP_ALIVE: '-1', GATEWAY_RETRIES: '4' } });
    assert.deepEqual(
      upstreamsFromConfig(config).map((u) => [u.name, u.kind]),
      [
        ['ollama', 'ollama'],
        ['openai', 'openai'],
      ],
    );
    assert.equal(config.gateway.ollamaKeepAlive, '-1');
    assert.equal(config.gateway.retries, 4);
    assert.equal(upstreamsFromConfig(loadConfig({ env: {} })).length, 0);
  });

  it('reads more upstreams from the config file, with secret keys masked, and rejects duplicates', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-gw-'));
    try {
      const file = path.join(dir, 'plinth.yaml');
      writeFileSync(
        file,
        'gateway:\n  upstreams:\n    - { name: gpu-a, kind: ollama, url: "http://10.0.0.1:11434" }\n    - { name: vllm, kind: openai, url: "http://10.0.0.2:8000/v1", apiKey: sk-secret-value, models: [qwen] }\n',
      );
      const config = loadConfig({ env: { PLINTH_CONFIG: file, OLLAMA_URL: 'http://127.0.0.1:11434' } });
      assert.deepEqual(
        upstreamsFromConfig(config).map((u) => u.name),
        ['gpu-a', 'vllm', 'ollama'],
      );
      assert.ok(!JSON.stringify(config).includes('sk-secret-value'));
      writeFileSync(file, 'gateway:\n  upstreams:\n    - { name: a, kind: ollama, url: "http://x:1" }\n    - { name: a, kind: ollama, url: "http://y:1" }\n');
      assert.throws(() => loadConfig({ env: { PLINTH_CONFIG: file } }), /upstream names must be unique/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
