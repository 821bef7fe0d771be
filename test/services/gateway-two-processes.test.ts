// Two real `plinth serve` processes on one PostgreSQL database and one Redis, as two replicas
// behind a load balancer: a tenant limit set through one is enforced by both together (6 + 6
// concurrent calls under a limit of 10 per minute: exactly 10 served), and an answer cached by
// one is served by the other. Fails, never skips, without PLINTH_TEST_PG_URL and PLINTH_TEST_REDIS_URL.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ENV_VARS } from '../../src/config/schema.js';
import { startOllamaDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { freshEnv, type TestEnv } from '../helpers/platform.js';

const REDIS_URL = process.env.PLINTH_TEST_REDIS_URL;
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

interface Replica {
  url: string;
  proc: ChildProcess;
  output: () => string;
  dataDir: string;
}

/** The parent's environment without any Plinth setting, so only what the test sets applies. */
function baseEnv(): Record<string, string> {
  const settings = new Set(ENV_VARS.flatMap((v) => [v.name, `${v.name}_FILE`]));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !settings.has(k) && !(k.startsWith('PLINTH_') && !k.startsWith('PLINTH_TEST_'))) out[k] = v;
  return out;
}

async function startReplica(env: Record<string, string>): Promise<Replica> {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'plinth-replica-'));
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve'], {
    cwd: ROOT,
    env: { ...baseEnv(), ...env, PLINTH_DATA_DIR: dataDir, PLINTH_HOST: '127.0.0.1', PLINTH_PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`plinth serve exited with ${proc.exitCode}:\n${out}`);
    const res = await fetch(`${url}/readyz`).catch(() => undefined);
    if (res?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`plinth serve not ready within 120 s:\n${out}`);
    await sleep(200);
  }
  return { url, proc, output: () => out, dataDir };
}

async function stopReplica(r: Replica | undefined): Promise<void> {
  if (!r) return;
  if (r.proc.exitCode === null) {
    const exited = new Promise((resolve) => r.proc.once('exit', resolve));
    r.proc.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000).then(() => r.proc.kill('SIGKILL'))]);
  }
  rmSync(r.dataDir, { recursive: true, force: true });
}

describe('two plinth serve processes sharing PostgreSQL and Redis', () => {
  let ollama: LlmDouble;
  let env: TestEnv;
  let a: Replica | undefined;
  let b: Replica | undefined;
  let adminKey: string;

  before(async () => {
    assert.ok(process.env.PLINTH_TEST_PG_URL, 'PLINTH_TEST_PG_URL is unset: run the service tests through npm run test:services');
    assert.ok(REDIS_URL, 'PLINTH_TEST_REDIS_URL is unset');
    ollama = await startOllamaDouble({ models: ['llama3.2'] });
    env = await freshEnv();
    assert.ok(env.databaseUrl);
    const shared = {
      DATABASE_URL: env.databaseUrl,
      REDIS_URL,
      OLLAMA_URL: ollama.url,
      EMBEDDINGS_PROVIDER: 'hashing',
      // Overrides written through one replica reach the other within this time.
      GATEWAY_LIMITS_CACHE_TTL_MS: '200',
    };
    // The first replica migrates the database and creates the default tenant and its admin key.
    a = await startReplica(shared);
    adminKey = readFileSync(path.join(a.dataDir, 'admin.key'), 'utf8').trim();
    b = await startReplica(shared);
  });
  after(async () => {
    await stopReplica(a);
    await stopReplica(b);
    await env?.cleanup();
    await ollama?.close();
  });

  it('serves an answer cached by one replica from the other', async () => {
    const { key } = await createKey(a!.url, adminKey, 'cache');
    const payload = { model: 'llama3.2', messages: [{ role: 'user', content: `shared cache ${process.pid} ${Date.now()}` }], temperature: 0 };
    const first = await chat(a!.url, key, payload);
    assert.equal(first.status, 200, first.body);
    assert.equal(first.headers.get('x-plinth-cache'), 'miss');
    const sent = ollama.requestsTo('/api/chat').length;
    const second = await chat(b!.url, key, payload);
    assert.equal(second.status, 200, second.body);
    assert.equal(second.headers.get('x-plinth-cache'), 'exact', 'the exact cache lives in the shared Redis');
    const content = (body: string) => (JSON.parse(body) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content;
    assert.equal(content(second.body), content(first.body));
    assert.equal(ollama.requestsTo('/api/chat').length, sent);
  });

  it('enforces a tenant limit of 10 per minute across both: 6 + 6 concurrent calls, exactly 10 served', async () => {
    const keyA = await createKey(a!.url, adminKey, 'via-a');
    const keyB = await createKey(b!.url, adminKey, 'via-b');
    // Set through replica A; replica B reads it from the shared database.
    const put = await fetch(`${a!.url}/v1/gateway/limits`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant_requests_per_minute: 10 }),
    });
    assert.equal(put.status, 200, await put.text());
    await sleep(400);
    // All twelve calls inside one minute window.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await sleep(60_000 - intoMinute + 100);
    const payload = (i: number) => ({ model: 'llama3.2', messages: [{ role: 'user', content: `call ${i}` }], max_tokens: 5 });
    const results = await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => chat(a!.url, keyA.key, payload(i))),
      ...Array.from({ length: 6 }, (_, i) => chat(b!.url, keyB.key, payload(i + 6))),
    ]);
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 10, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 2, statuses.join(','));
    for (const r of results.filter((x) => x.status === 429)) {
      assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, 'PLINTH_RATE_LIMITED');
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
    }
    // Both replicas counted in the same window: each saw the shared remaining count go down.
    const remaining = results.filter((r) => r.status === 200).map((r) => Number(r.headers.get('x-ratelimit-remaining-requests')));
    assert.deepEqual(remaining.sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Usage, recorded by both processes in the one database (off the response path, so poll
    // briefly): the ten served calls, none of the refused ones.
    let served = -1;
    for (let i = 0; i < 25 && served !== 10; i++) {
      if (i > 0) await sleep(200);
      const usage = await fetch(`${b!.url}/v1/usage?group_by=key`, { headers: { authorization: `Bearer ${adminKey}` } });
      const rows = ((await usage.json()) as { usage: Array<{ key_prefix: string; requests: number }> }).usage;
      served = rows.filter((r) => r.key_prefix === keyA.prefix || r.key_prefix === keyB.prefix).reduce((n, r) => n + r.requests, 0);
    }
    assert.equal(served, 10);
  });
});

async function createKey(url: string, admin: string, name: string): Promise<{ key: string; prefix: string }> {
  const res = await fetch(`${url}/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, scopes: ['llm:invoke'] }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as { key: string; prefix: string };
}

async function chat(url: string, key: string, payload: unknown): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  return { status: res.status, headers: res.headers, body: await res.text() };
}
