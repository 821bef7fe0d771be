// SIGTERM under load: a `plinth serve` process on a private PostgreSQL cluster serves a steady mix
// of slow streamed chat calls and memory writes; SIGTERM turns /readyz red before the listener
// closes, every request that was in flight when the signal arrived completes successfully (whole
// streams, committed writes), and the process exits 0 within the drain timeout.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startOllamaDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { jsonPost, problemCode, request, startPgCluster, startPlinthProcess, until, type Answer, type PgCluster, type PlinthProcess } from '../helpers/faults.js';

const SHUTDOWN_DELAY_MS = 1_000;
const SHUTDOWN_TIMEOUT_MS = 10_000;
const CLIENTS = 6;

interface Sample extends Answer {
  kind: 'chat' | 'write';
  startedAt: number;
  endedAt: number;
  complete: boolean;
  id?: string;
}

describe('SIGTERM during load', { timeout: 170_000 }, () => {
  let pgc: PgCluster;
  let ollama: LlmDouble;
  let dataDir: string;
  let plinth: PlinthProcess;

  before(async () => {
    pgc = await startPgCluster();
    ollama = await startOllamaDouble({ models: ['llama3.2'] });
    // Streams last well over the pre-close delay: they are still running when draining starts.
    ollama.faults.firstTokenDelayMs = 300;
    ollama.faults.chunkDelayMs = 300;
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'plinth-fault-sigterm-'));
    plinth = await startPlinthProcess({
      PLINTH_DATA_DIR: dataDir,
      DATABASE_URL: pgc.url,
      OLLAMA_URL: ollama.url,
      EMBEDDINGS_PROVIDER: 'hashing',
      GATEWAY_CACHE: 'false',
      PLINTH_SHUTDOWN_DELAY_MS: String(SHUTDOWN_DELAY_MS),
      PLINTH_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    });
  });

  after(async () => {
    await plinth?.kill();
    await ollama?.close();
    await pgc?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('turns readiness red first, completes every in-flight request and exits 0', async () => {
    const key = readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
    const samples: Sample[] = [];
    const readiness: Array<{ at: number; status: number }> = [];
    let stop = false;
    let n = 0;

    const one = async (kind: 'chat' | 'write'): Promise<Sample> => {
      const i = n++;
      const startedAt = performance.now();
      const a =
        kind === 'chat'
          ? await jsonPost(`${plinth.url}/v1/chat/completions`, key, { model: 'llama3.2', messages: [{ role: 'user', content: `tell me about item ${i} in a few words` }], stream: true, temperature: 1 }, 30_000)
          : await jsonPost(`${plinth.url}/v1/memories`, key, { memories: [{ text: `shutdown note ${i}: parcel ${i * 31} shipped`, user_id: 'ops' }] }, 30_000);
      const complete = kind === 'chat' ? a.status === 200 && a.body.includes('data: [DONE]') && !a.body.includes('"error"') : a.status === 201;
      const id = kind === 'write' && a.status === 201 ? (JSON.parse(a.body) as { memories: Array<{ id: string }> }).memories[0]!.id : undefined;
      const s: Sample = { ...a, kind, startedAt, endedAt: performance.now(), complete, ...(id ? { id } : {}) };
      samples.push(s);
      return s;
    };
    const clients = Array.from({ length: CLIENTS }, async (_, c) => {
      while (!stop) {
        const s = await one(c % 2 === 0 ? 'chat' : 'write');
        // Once the server refuses or is gone, keep sampling slowly until it has exited.
        if (!s.complete) await new Promise((r) => setTimeout(r, 100));
      }
    });
    const prober = (async () => {
      while (!stop) {
        const a = await request(`${plinth.url}/readyz`, {}, 5_000);
        readiness.push({ at: performance.now(), status: a.status });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    let sigtermAt = 0;
    try {
      await until('steady load', () => samples.filter((s) => s.kind === 'chat' && s.complete).length >= CLIENTS || undefined, 60_000);
      assert.ok(samples.every((s) => s.complete), `no failure before SIGTERM: ${JSON.stringify(samples.find((s) => !s.complete))}`);
      sigtermAt = performance.now();
      plinth.child.kill('SIGTERM');
      const code = await Promise.race([plinth.exit, new Promise<'hung'>((r) => setTimeout(() => r('hung'), SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS + 10_000))]);
      const exitedAfterMs = performance.now() - sigtermAt;
      assert.equal(code, 0, `exit code; last logs:\n${plinth.logs.slice(-20).join('\n')}`);
      stop = true;
      await Promise.all([...clients, prober]);

      // Every request in flight when SIGTERM arrived succeeded, streams included.
      const inFlight = samples.filter((s) => s.startedAt < sigtermAt && s.endedAt > sigtermAt);
      assert.ok(inFlight.some((s) => s.kind === 'chat'), 'some streams were in flight at SIGTERM');
      const failed = inFlight.filter((s) => !s.complete);
      assert.deepEqual(failed.map((s) => `${s.kind} ${s.status} ${s.error ?? ''} ${s.body.slice(-200)}`), [], 'zero failed in-flight requests');
      // During the shutdown delay Plinth is not ready but still serves: what arrived and ended in
      // that window (with a margin for the timer) succeeded.
      const duringDelay = samples.filter((s) => s.startedAt >= sigtermAt && s.endedAt < sigtermAt + SHUTDOWN_DELAY_MS - 200);
      assert.ok(duringDelay.length > 0, 'requests were sent during the shutdown delay');
      assert.deepEqual(duringDelay.filter((s) => !s.complete).map((s) => `${s.kind} ${s.status} ${s.body.slice(-200)}`), [], 'served during the delay');
      // Requests that arrived after SIGTERM were either served or refused cleanly.
      const later = samples.filter((s) => s.startedAt >= sigtermAt && !s.complete);
      for (const s of later) {
        if (s.status !== 0) {
          assert.equal(s.status, 503, s.body);
          assert.equal(problemCode(s), 'PLINTH_SHUTTING_DOWN');
        }
      }
      // Readiness went red while the listener was still open, before anything was refused.
      const red = readiness.find((r) => r.at > sigtermAt && r.status === 503);
      assert.ok(red, `readiness turned red: ${JSON.stringify(readiness.filter((r) => r.at > sigtermAt))}`);
      const gone = samples.filter((s) => s.status === 0 && s.startedAt > sigtermAt).map((s) => s.startedAt);
      if (gone.length > 0) assert.ok(red.at < Math.min(...gone), 'readiness was red before the listener closed');
      assert.ok(exitedAfterMs < SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS, `exited within the drain timeout (${exitedAfterMs.toFixed(0)} ms)`);

      // Every acknowledged write is in the database.
      const ids = samples.filter((s) => s.id).map((s) => s.id!);
      const c = new pg.Client({ connectionString: pgc.url });
      await c.connect();
      try {
        const found = (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM memories WHERE id = ANY($1::uuid[])', [ids])).rows[0]!.n;
        assert.equal(found, ids.length);
      } finally {
        await c.end();
      }
      console.log(
        `${samples.length} requests, ${inFlight.length} in flight at SIGTERM (${inFlight.filter((s) => s.kind === 'chat').length} streams), all completed; ` +
          `${duringDelay.length} served during the delay; ` +
          `${later.length} later requests refused (${later.filter((s) => s.status === 503).length} with 503, ${later.filter((s) => s.status === 0).length} by a closed listener); ` +
          `readiness red ${(red.at - sigtermAt).toFixed(0)} ms after SIGTERM; exit 0 after ${exitedAfterMs.toFixed(0)} ms`,
      );
    } finally {
      stop = true;
      await Promise.all([...clients, prober]);
    }
  });
});
