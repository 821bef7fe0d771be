// Credentials never come back in error bodies nor go into the logs, on the error paths most
// likely to echo them: unknown and malformed API keys, an upstream LLM server that repeats the
// key it was sent in its 401, an MLflow server that does the same, database and Redis URLs with
// passwords that fail validation or connection, and the `plinth` command given such a URL.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { generateKey } from '../../src/auth/keys.js';
import { loadConfig } from '../../src/config/index.js';
import { buildApp } from '../../src/http/app.js';
import { startPlatform } from '../../src/platform.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startOllamaDouble, startOpenAIDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { ADAPTER, LogCapture, REAL_PG_URL, freshEnv, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

const MAIN = path.resolve('src/cli/main.ts');
const UPSTREAM_KEY = 'sk-wrong-upstream-key-5f1d2c3b4a';
const MLFLOW_TOKEN = 'mlflow-leaky-token-7c6b5a4d3e';

/** Asserts that none of `secrets` occurs in `text` without printing the secret. */
function assertAbsent(text: string, secrets: string[], where: string): void {
  secrets.forEach((s, i) => assert.ok(!text.includes(s), `credential #${i + 1} appears in ${where}`));
}

/** An MLflow stand-in that answers every call with a 401 repeating the credentials it was sent. */
async function startEchoingMlflow(): Promise<{ url: string; calls: () => number; close(): Promise<void> }> {
  let calls = 0;
  const server = http.createServer((req, res) => {
    calls += 1;
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error_code: 'UNAUTHENTICATED', message: `Invalid credentials: ${req.headers.authorization ?? ''}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls: () => calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe(`credentials stay out of error bodies and logs (${ADAPTER})`, { timeout: 180_000 }, () => {
  let t: TestPlatform;
  let app: FastifyInstance;
  let ollama: LlmDouble;
  let upstream: LlmDouble;
  let mlflow: Awaited<ReturnType<typeof startEchoingMlflow>>;

  before(async () => {
    ollama = await startOllamaDouble({ models: ['llama3.2'] });
    upstream = await startOpenAIDouble({ models: ['gpt-4o-mini'], apiKey: 'sk-the-right-upstream-key-0000' });
    mlflow = await startEchoingMlflow();
    t = await startTestPlatform(
      {
        OLLAMA_URL: ollama.url,
        OPENAI_BASE_URL: upstream.url,
        OPENAI_API_KEY: UPSTREAM_KEY,
        EMBEDDINGS_PROVIDER: 'hashing',
        MLFLOW_TRACKING_URI: mlflow.url,
        MLFLOW_TRACKING_TOKEN: MLFLOW_TOKEN,
        MLFLOW_TIMEOUT_MS: '3000',
      },
      { logLevel: 'debug' },
    );
    app = await buildApp(t.platform);
  });
  after(async () => {
    await app?.close();
    await t?.close();
    await ollama?.close();
    await upstream?.close();
    await mlflow?.close();
  });

  it('does not echo an unknown or malformed API key', async () => {
    const unknown = generateKey().key;
    const secret = unknown.split('_').slice(2).join('_');
    const admin = t.adminKey.split('_').slice(2).join('_');
    const attempts: Array<Record<string, string>> = [
      { authorization: `Bearer ${unknown}` },
      { authorization: `Bearer ${unknown} trailing` },
      { authorization: `Token ${unknown}` },
      { authorization: `Basic ${Buffer.from(`agent:${unknown}`).toString('base64')}` },
      { authorization: `Bearer ${unknown.slice(0, -1)}!` },
      { authorization: `Bearer ${t.adminKey}x` },
      { authorization: unknown },
      { 'x-api-key': unknown },
    ];
    for (const headers of attempts) {
      const res = await app.inject({ url: '/v1/whoami', headers });
      assert.equal(res.statusCode, 401, JSON.stringify(Object.keys(headers)));
      assertAbsent(res.body, [secret, unknown.slice(0, -1), admin], 'a 401 body');
      assertAbsent(JSON.stringify(res.headers), [secret, admin], 'the 401 headers');
    }
    const inQuery = await app.inject({ url: `/v1/whoami?api_key=${unknown}`, headers: { authorization: 'Bearer nope' } });
    assert.equal(inQuery.statusCode, 401);
    assertAbsent(inQuery.body, [secret], 'a 401 body');
    assertAbsent(t.logs.text(), [secret, unknown.slice(0, -1), admin], 'the logs');
  });

  it('does not pass on an upstream 401 that repeats the upstream key', async () => {
    const tenant = await t.platform.auth.getTenant('default');
    const { key } = await t.platform.auth.createKey(tenant.id, { name: 'llm', scopes: ['llm:invoke'] }, { actor: 'test' });
    const before = upstream.requests.length;
    const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${key}` }, payload: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] } });
    assert.ok(upstream.requests.length > before, 'the upstream server was called');
    assert.ok(res.statusCode >= 400, `status ${res.statusCode}`);
    assertAbsent(res.body, [UPSTREAM_KEY], 'the gateway error body');
    const models = await app.inject({ url: '/v1/models', headers: { authorization: `Bearer ${key}` } });
    assertAbsent(models.body, [UPSTREAM_KEY], 'the model list');
    assertAbsent(t.logs.text(), [UPSTREAM_KEY, key.split('_').slice(2).join('_')], 'the logs');
  });

  it('does not pass on an MLflow 401 that repeats the MLflow token', async () => {
    const before = mlflow.calls();
    const res = await app.inject({ url: '/v1/registry/models', headers: { authorization: `Bearer ${t.adminKey}` } });
    assert.ok(mlflow.calls() > before, 'the MLflow server was called');
    assert.ok(res.statusCode >= 400, `status ${res.statusCode}`);
    assertAbsent(res.body, [MLFLOW_TOKEN], 'the registry error body');
    assertAbsent(t.logs.text(), [MLFLOW_TOKEN], 'the logs');
  });

  it('keeps URL passwords out of configuration errors', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ DATABASE_URL: 'postgres://app:cfg-db-pass-1a2b@db.internal:notaport/plinth' }, 'cfg-db-pass-1a2b'],
      [{ DATABASE_URL: 'mysql://app:cfg-db-pass-3c4d@db.internal:3306/plinth' }, 'cfg-db-pass-3c4d'],
      [{ REDIS_URL: 'redis://:cfg-redis-pass-5e6f@redis.internal:port/0' }, 'cfg-redis-pass-5e6f'],
      [{ REDIS_URL: 'http://:cfg-redis-pass-7a8b@redis.internal:6379/0' }, 'cfg-redis-pass-7a8b'],
      [{ DATABASE_URL: 'postgres://app:cfg-db-pass-9c0d@db.internal/plinth', PLINTH_PORT: 'many' }, 'cfg-db-pass-9c0d'],
    ];
    for (const [env, secret] of cases) {
      let message = '';
      try {
        loadConfig({ env });
      } catch (err) {
        message = `${(err as Error).message}\n${JSON.stringify(err)}\n${(err as Error).stack ?? ''}`;
      }
      assert.ok(message, `${Object.keys(env).join(',')} was accepted`);
      assertAbsent(message, [secret], 'a configuration error');
    }
  });

  it('keeps the password of an unreachable or refusing database out of errors and logs', async () => {
    const env = await freshEnv();
    const logs = new LogCapture();
    const secret = 'conn-db-pass-2f3e4d';
    // A server that refuses the password when one runs here, otherwise a closed port.
    const url = new URL(REAL_PG_URL ?? 'postgres://plinth@127.0.0.1:1/postgres');
    url.username = 'plinth';
    url.password = secret;
    try {
      let message = '';
      try {
        const config = loadConfig({ env: { ...env.env, DATABASE_URL: url.toString(), EMBEDDINGS_PROVIDER: 'hashing' } });
        const platform = await startPlatform(config, { logger: createLogger({ level: 'debug', destination: logs }) });
        await platform.close();
      } catch (err) {
        message = `${(err as Error).message}\n${JSON.stringify(err)}\n${(err as Error).stack ?? ''}`;
      }
      assert.ok(message, 'the platform started with a wrong database password');
      assertAbsent(message, [secret], 'the start-up error');
      assertAbsent(logs.text(), [secret], 'the logs');
    } finally {
      await env.cleanup();
    }
  });

  it('the plinth command does not print a URL password it cannot use', () => {
    const secret = 'cli-db-pass-6b7a8c';
    const base: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('PLINTH_') && k !== 'DATABASE_URL' && k !== 'REDIS_URL') base[k] = v;
    for (const env of [{ DATABASE_URL: `postgres://app:${secret}@127.0.0.1:1/plinth` }, { DATABASE_URL: `postgres://app:${secret}@db.internal:notaport/plinth` }, { REDIS_URL: `redis://:${secret}@127.0.0.1:port/0` }]) {
      const res = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'migrate', '--status', '--json'], {
        env: { ...base, ...env, LOG_LEVEL: 'debug', PGCONNECT_TIMEOUT: '5' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.notEqual(res.status, 0, `${Object.keys(env).join(',')}: the command succeeded`);
      assertAbsent(`${res.stdout}\n${res.stderr}`, [secret], 'the command output');
    }
  });
});
