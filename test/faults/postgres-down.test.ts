// PostgreSQL stopped under a write load: Plinth (one server on a private PostgreSQL cluster)
// answers every request within a bounded time, refuses writes with 503 PLINTH_DATABASE_UNAVAILABLE
// while the database is down, turns /readyz red, recovers by itself once PostgreSQL is back
// (same process, no restart), and every write it acknowledged is in the database afterwards.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { loadConfig } from '../../src/config/index.js';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { startPlatform, type Platform } from '../../src/platform.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { problemCode, request, startPgCluster, until, type Answer, type PgCluster } from '../helpers/faults.js';
import { LogCapture } from '../helpers/platform.js';

const CONNECT_TIMEOUT_MS = 2_000;
/** Every request is answered within this bound, outage included. */
const MAX_LATENCY_MS = CONNECT_TIMEOUT_MS + 3_000;
const WRITERS = 4;

describe('PostgreSQL stopped during a write load', { timeout: 170_000 }, () => {
  let pgc: PgCluster;
  let dataDir: string;
  let platform: Platform;
  let server: RunningServer;
  let key: string;
  const logs = new LogCapture();

  before(async () => {
    pgc = await startPgCluster();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'plinth-fault-pgdown-'));
    const config = loadConfig({
      env: {
        PLINTH_DATA_DIR: dataDir,
        DATABASE_URL: pgc.url,
        DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
        DATABASE_POOL_MAX: '8',
        EMBEDDINGS_PROVIDER: 'hashing',
        PLINTH_HOST: '127.0.0.1',
        PLINTH_PORT: '0',
      },
    });
    platform = await startPlatform(config, { logger: createLogger({ level: 'info', destination: logs }) });
    server = await startServer(platform, { handleSignals: false });
    key = readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
  });

  after(async () => {
    await server?.close();
    await pgc?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('fails fast with 503, turns /readyz red, recovers by itself and loses no acknowledged write', async () => {
    const acknowledged: string[] = [];
    const answers: Array<Answer & { phase: string }> = [];
    let phase = 'before';
    let stop = false;
    let n = 0;
    const write = async (): Promise<Answer> => {
      const i = n++;
      const a = await request(`${server.url}/v1/memories`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ memories: [{ text: `fault note ${i}: the ledger entry ${i * 7919} was reconciled`, user_id: `u${i % 5}` }] }),
      });
      answers.push({ ...a, phase });
      if (a.status === 201) acknowledged.push(...(JSON.parse(a.body) as { memories: Array<{ id: string }> }).memories.map((m) => m.id));
      return a;
    };
    const writers = Array.from({ length: WRITERS }, async () => {
      while (!stop) {
        const a = await write();
        // Refusals come back at once; pace them so the outage is sampled, not hammered.
        if (a.status !== 201) await new Promise((r) => setTimeout(r, 50));
      }
    });
    const ready = async () => (await request(`${server.url}/readyz`)).status;

    try {
      await until('writes before the fault', () => acknowledged.length >= 20 || undefined, 30_000);
      assert.equal(await ready(), 200);
      const before = acknowledged.length;

      phase = 'outage';
      await pgc.stop('fast');
      const readyDuring = await until('/readyz to turn red', async () => ((await ready()) === 503 ? 503 : undefined), 10_000);
      assert.equal(readyDuring, 503);
      // Keep the load on a dead database for a while: every answer must still come back.
      await new Promise((r) => setTimeout(r, 3_000));
      const refused = answers.filter((a) => a.phase === 'outage' && a.status === 503);
      assert.ok(refused.length >= WRITERS, `writes were refused during the outage (${refused.length})`);

      phase = 'recovery';
      await pgc.start();
      const recoveredAt = performance.now();
      await until('a write to succeed after PostgreSQL restarted', () => answers.some((a) => a.phase === 'recovery' && a.status === 201) || undefined, 30_000);
      const recoveryMs = performance.now() - recoveredAt;
      await until('/readyz to turn green', async () => ((await ready()) === 200 ? 200 : undefined), 15_000);
      phase = 'after';
      const atRecovery = acknowledged.length;
      await until('writes after recovery', () => acknowledged.length >= atRecovery + 20 || undefined, 30_000);
      stop = true;
      await Promise.all(writers);

      // Every request got an HTTP answer, in bounded time.
      const unanswered = answers.filter((a) => a.status === 0);
      assert.deepEqual(unanswered.map((a) => a.error), [], 'every request was answered');
      const slowest = Math.max(...answers.map((a) => a.ms));
      assert.ok(slowest < MAX_LATENCY_MS, `slowest answer ${slowest.toFixed(0)} ms >= ${MAX_LATENCY_MS} ms`);
      // Failures are the stable 503, nothing else (no 500, no hang).
      const failures = answers.filter((a) => a.status !== 201);
      for (const f of failures) {
        assert.equal(f.status, 503, `${f.phase}: ${f.status} ${f.body}`);
        assert.equal(problemCode(f), 'PLINTH_DATABASE_UNAVAILABLE', f.body);
      }
      assert.ok(answers.filter((a) => a.phase === 'before').every((a) => a.status === 201), 'no failure before the fault');
      assert.ok(answers.filter((a) => a.phase === 'after').every((a) => a.status === 201), 'no failure after recovery');

      // Every acknowledged write is in the database.
      const c = new pg.Client({ connectionString: pgc.url });
      await c.connect();
      try {
        const found = (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM memories WHERE id = ANY($1::uuid[])', [acknowledged])).rows[0]!.n;
        assert.equal(found, acknowledged.length, 'every acknowledged write survived');
      } finally {
        await c.end();
      }
      const outage = answers.filter((a) => a.phase === 'outage');
      console.log(
        `writes: ${answers.length} answered, ${acknowledged.length} acknowledged (${before} before the fault), ${failures.length} refused with 503; ` +
          `slowest ${slowest.toFixed(0)} ms; slowest during the outage ${Math.max(...outage.map((a) => a.ms)).toFixed(0)} ms; recovered ${recoveryMs.toFixed(0)} ms after PostgreSQL restarted`,
      );
    } finally {
      stop = true;
      await Promise.all(writers);
    }
  });
});
