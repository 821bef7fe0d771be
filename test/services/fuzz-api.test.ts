// Runs scripts/fuzz-api.sh: schemathesis (PyPI) fuzzes every operation of the OpenAPI document
// against a freshly started Plinth, and the script fails on any 5xx answer, a crash, or fewer
// requests than asked for. This test asserts the script succeeded and reports the counts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MIN_REQUESTS = Number(process.env.FUZZ_MIN_REQUESTS ?? 10_000);

test('schemathesis over the OpenAPI document: no server error in at least 10,000 requests', { timeout: 900_000 }, async (t) => {
  const started = Date.now();
  const child = spawn('bash', [path.join(ROOT, 'scripts/fuzz-api.sh')], {
    cwd: ROOT,
    env: { ...process.env, FUZZ_MIN_REQUESTS: String(MIN_REQUESTS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const summary = /requests=(\d+) server_errors=(\d+) schemathesis_exit=(\d+)/.exec(out);
  t.diagnostic(`fuzz-api: ${summary?.[0] ?? 'no summary'} in ${Math.round((Date.now() - started) / 1000)} s`);
  assert.equal(code, 0, `scripts/fuzz-api.sh failed (${code}):\n${out}\n${err.slice(-4000)}`);
  assert.ok(summary, out);
  assert.equal(Number(summary[2]), 0);
  assert.ok(Number(summary[1]) >= MIN_REQUESTS, `only ${summary[1]} requests`);
});
