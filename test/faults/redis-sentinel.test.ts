// Redis Sentinel failover under a running `plinth serve`: a password-protected master, one replica
// and three Sentinels (quorum 2) on loopback; Plinth finds the master through the Sentinels
// (REDIS_SENTINELS, password from REDIS_PASSWORD_FILE) and keeps its gateway limits there, failing
// closed (GATEWAY_LIMITS_FAIL_OPEN=false). Under a steady chat load the master is killed with
// SIGKILL (a crash, not SENTINEL FAILOVER): the Sentinels promote the replica, the same Plinth
// process serves again within a measured bound, every refusal in between is a 503
// PLINTH_LIMITS_UNAVAILABLE (no hang, no 500; prompt once the reconnect grace has passed), and the counts written before the crash continue on
// the new master. A client whose reconnect attempt is cut short by such a failover notice (the
// race ioredis loses under load) connects again instead of giving up.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { createRedisConnection } from '../../src/limits/index.js';
import { startOllamaDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import {
  jsonPost,
  problemCode,
  request,
  runPlinth,
  startPgCluster,
  startPlinthProcess,
  startSentinelGroup,
  until,
  type Answer,
  type PgCluster,
  type PlinthProcess,
  type SentinelGroup,
} from '../helpers/faults.js';

const MODEL = 'llama3.2';
/** Load: CLIENTS clients, each at most one call every PACE_MS (about 30 calls a second in all). */
const CLIENTS = 4;
const PACE_MS = 130;
/** The probe tenant's limit, far above what the probe sends. */
const PROBE_LIMIT = 1_000;
const PROBE_CALLS = 7;
/** Every answer, before, during and after the failover, comes within this bound. */
const MAX_LATENCY_MS = 5_000;
/** Plinth serves again at most this long after the master was killed. */
const RECOVERY_BOUND_MS = 15_000;
/** Load kept running after the kill (the whole load lasts longer than 15 s). */
const LOAD_AFTER_KILL_MS = 16_000;
/** REDIS_RECONNECT_GRACE_MS of the Plinth process (the default). */
const RECONNECT_GRACE_MS = 1_000;

interface Sample extends Answer {
  startedAt: number;
  endedAt: number;
}

describe('Redis Sentinel failover under a running Plinth', { timeout: 175_000 }, () => {
  let pgc: PgCluster;
  let group: SentinelGroup;
  let ollama: LlmDouble;
  let dataDir: string;
  let plinth: PlinthProcess;
  let adminKey: string;
  let probeKey: string;
  let probeTenantId: string;

  before(async () => {
    pgc = await startPgCluster();
    group = await startSentinelGroup({ name: 'plinth-fault', downAfterMs: 1_000, failoverTimeoutMs: 5_000 });
    ollama = await startOllamaDouble({ models: [MODEL] });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'plinth-fault-sentinel-data-'));
    const base = { PLINTH_DATA_DIR: dataDir, DATABASE_URL: pgc.url, EMBEDDINGS_PROVIDER: 'hashing' };
    plinth = await startPlinthProcess({
      ...base,
      OLLAMA_URL: ollama.url,
      REDIS_SENTINELS: group.sentinels,
      REDIS_SENTINEL_NAME: group.name,
      REDIS_PASSWORD_FILE: group.passwordFile,
      GATEWAY_LIMITS_FAIL_OPEN: 'false',
      // Limits on, so every call is counted in Redis; this one is never reached by the load.
      GATEWAY_TENANT_REQUESTS_PER_MINUTE: '1000000',
      GATEWAY_RETRIES: '0',
      REDIS_RECONNECT_GRACE_MS: String(RECONNECT_GRACE_MS),
    });
    adminKey = readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
    // A second tenant with a small limit whose count is followed across the failover.
    const tenant = await jsonPost(`${plinth.url}/v1/tenants`, adminKey, { name: 'probe' });
    assert.equal(tenant.status, 201, tenant.body);
    probeTenantId = (JSON.parse(tenant.body) as { id: string }).id;
    const limits = await request(`${plinth.url}/v1/admin/tenants/probe/limits`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant_requests_per_minute: PROBE_LIMIT }),
    });
    assert.equal(limits.status, 200, limits.body);
    probeKey = (JSON.parse(await runPlinth(['keys', 'create', '--tenant', 'probe', '--name', 'probe', '--scopes', 'llm:invoke', '--json'], base)) as { key: string }).key;
  });

  after(async () => {
    await plinth?.kill();
    await ollama?.close();
    await group?.destroy();
    await pgc?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  let n = 0;
  const chat = (key: string) => jsonPost(`${plinth.url}/v1/chat/completions`, key, { model: MODEL, messages: [{ role: 'user', content: `failover question ${n++}` }], max_tokens: 5 }, 10_000);
  const probeBucket = (window: number) => `plinth:limits:{${probeTenantId}}:tenant:m:${window}`;
  const redisUp = async (): Promise<number | undefined> => {
    const m = await request(`${plinth.url}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } }, 5_000);
    const v = /^plinth_redis_up\{role="limits"\} (\d)/m.exec(m.body);
    return v ? Number(v[1]) : undefined;
  };

  it('survives a crash of the master: the replica is promoted and the same process serves again', async () => {
    const pid = plinth.child.pid;
    const first = await chat(adminKey);
    assert.equal(first.status, 200, first.body);
    assert.equal(await redisUp(), 1);

    const samples: Sample[] = [];
    const health: Array<{ at: number; ready: number; redisUp: number | undefined }> = [];
    let stop = false;
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (!stop) {
        const startedAt = performance.now();
        const a = await chat(adminKey);
        samples.push({ ...a, startedAt, endedAt: performance.now() });
        const rest = PACE_MS - (performance.now() - startedAt);
        if (rest > 0) await sleep(rest);
      }
    });
    const prober = (async () => {
      while (!stop) {
        const at = performance.now();
        const [ready, up] = await Promise.all([request(`${plinth.url}/readyz`, {}, 5_000), redisUp()]);
        health.push({ at, ready: ready.status, redisUp: up });
        await sleep(200);
      }
    })();

    let killAt = 0;
    try {
      await until('a steady load', () => samples.filter((s) => s.status === 200).length >= 40 || undefined, 30_000);
      assert.deepEqual(samples.filter((s) => s.status !== 200).map((s) => `${s.status} ${s.error ?? ''} ${s.body.slice(0, 200)}`), [], 'no failure before the crash');

      // The probe counts and the call after the failover must land in one minute window: the
      // kill comes right after the probe and the last check LOAD_AFTER_KILL_MS later.
      const left = 60_000 - (Date.now() % 60_000);
      if (left < LOAD_AFTER_KILL_MS + 9_000) await sleep(left + 100);
      // The probe tenant counts PROBE_CALLS calls; WAIT makes sure the replica has them.
      const probeWindow = Math.floor(Date.now() / 60_000);
      for (let i = 0; i < PROBE_CALLS; i++) {
        const a = await chat(probeKey);
        assert.equal(a.status, 200, a.body);
        assert.equal(a.headers.get('x-ratelimit-remaining-requests'), String(PROBE_LIMIT - 1 - i));
      }
      const master = group.node(group.master.port);
      assert.equal(await master.hget(probeBucket(probeWindow), 'r'), String(PROBE_CALLS), 'the probe counts are on the master');
      assert.equal(await master.call('WAIT', '1', '2000'), 1, 'the replica acknowledged every write');
      master.disconnect();

      killAt = performance.now();
      await group.kill(group.master);

      // The Sentinels agree on the replica as the new master.
      await until('every Sentinel to name the replica master', async () => (await group.masterPorts()).every((p) => p === group.replica.port), 30_000, 100);
      const promotedMs = performance.now() - killAt;
      const role = (await group.node(group.replica.port).call('ROLE')) as [string];
      assert.equal(role[0], 'master', 'the replica was promoted');

      await until('Plinth to serve again', () => samples.some((s) => s.startedAt > killAt && s.status === 200 && samples.some((f) => f.status !== 200 && f.startedAt < s.startedAt)) || undefined, RECOVERY_BOUND_MS + 5_000);
      const remaining = LOAD_AFTER_KILL_MS - (performance.now() - killAt);
      if (remaining > 0) await sleep(remaining);
      stop = true;
      await Promise.all([...clients, prober]);

      // Timings.
      const failures = samples.filter((s) => s.status !== 200);
      const firstFailure = failures.reduce((a, b) => (b.startedAt < a.startedAt ? b : a));
      const recovered = samples.filter((s) => s.status === 200 && s.startedAt > firstFailure.startedAt).reduce((a, b) => (b.endedAt < a.endedAt ? b : a));
      const recoveryMs = recovered.endedAt - killAt;
      const lastFailure = failures.reduce((a, b) => (b.startedAt > a.startedAt ? b : a));
      const byCode = new Map<string, number>();
      for (const f of failures) byCode.set(`${f.status} ${problemCode(f) ?? f.error ?? ''}`, (byCode.get(`${f.status} ${problemCode(f) ?? f.error ?? ''}`) ?? 0) + 1);
      const slowest = Math.max(...samples.map((s) => s.ms));
      console.log(
        `sentinel failover: promotion ${promotedMs.toFixed(0)} ms after SIGKILL; first success ${recoveryMs.toFixed(0)} ms after it; ` +
          `${samples.length} calls, ${failures.length} refused (${[...byCode].map(([k, v]) => `${v}× ${k}`).join(', ')}), ` +
          `last refusal started ${(lastFailure.startedAt - killAt).toFixed(0)} ms after the kill; slowest answer ${slowest.toFixed(0)} ms; ` +
          `Redis client revived ${plinth.logs.filter((l) => l.includes('stopped reconnecting')).length} time(s)`,
      );

      // The same process, never restarted.
      assert.equal(plinth.child.pid, pid);
      assert.equal(plinth.child.exitCode, null, 'plinth serve is still running');
      assert.equal(plinth.logs.filter((l) => l.includes('Plinth listening')).length, 1, 'started once');
      assert.ok(recoveryMs <= RECOVERY_BOUND_MS, `served again ${recoveryMs.toFixed(0)} ms after the crash (bound ${RECOVERY_BOUND_MS} ms)`);

      // Fail closed: every refusal is a prompt 503 with a stable code and a retry hint; no hang, no 500.
      for (const f of failures) {
        assert.equal(f.status, 503, `${f.status} ${f.error ?? ''} ${f.body.slice(0, 300)}`);
        assert.equal(problemCode(f), 'PLINTH_LIMITS_UNAVAILABLE', f.body);
        assert.equal(f.headers.get('retry-after'), '1');
        assert.ok(f.startedAt >= killAt - 100, 'refusals only after the crash');
      }
      assert.ok(slowest < MAX_LATENCY_MS, `every call answered within ${MAX_LATENCY_MS} ms (slowest ${slowest.toFixed(0)} ms)`);
      // Calls wait for the reconnect only within REDIS_RECONNECT_GRACE_MS of the lost connection;
      // after it the refusals are prompt again (a long outage costs one grace, not one per call).
      const afterGrace = failures.filter((f) => f.startedAt > killAt + RECONNECT_GRACE_MS + 200);
      assert.ok(afterGrace.every((f) => f.ms < 500), `refusals after the grace answered at once: ${afterGrace.map((f) => f.ms.toFixed(0)).join(',')}`);
      // Once it serves again, it keeps serving.
      const afterRecovery = samples.filter((s) => s.startedAt > recovered.endedAt);
      assert.ok(afterRecovery.length > 50, `load continued after recovery (${afterRecovery.length} calls)`);
      assert.deepEqual(afterRecovery.filter((s) => s.status !== 200).map((s) => `${(s.startedAt - killAt).toFixed(0)} ms: ${s.status} ${s.body.slice(0, 200)}`), [], 'no refusal after recovery');

      // Redis is optional for readiness: /readyz stays green; the limits connection gauge drops and returns.
      assert.ok(health.every((h) => h.ready === 200), `readiness stayed 200: ${health.map((h) => h.ready).join(',')}`);
      assert.ok(health.some((h) => h.at > killAt && h.redisUp === 0), 'plinth_redis_up{role="limits"} went to 0 during the failover');
      assert.equal(health.at(-1)?.redisUp, 1, 'plinth_redis_up{role="limits"} is 1 again');
      // The readiness report probes Redis through the Sentinels too, and finds the new master.
      const report = JSON.parse((await request(`${plinth.url}/readyz`, {}, 5_000)).body) as { checks: Array<{ name: string; mode: string; ok: boolean }> };
      assert.deepEqual(
        report.checks.filter((c) => c.name === 'redis').map((c) => ({ mode: c.mode, ok: c.ok })),
        [{ mode: 'external', ok: true }],
      );

      // The probe count survived on the new master and continues from there.
      const promoted = group.node(group.replica.port);
      assert.equal(await promoted.hget(probeBucket(probeWindow), 'r'), String(PROBE_CALLS), 'the count reached the replica before the crash');
      const next = await chat(probeKey);
      assert.equal(next.status, 200, next.body);
      assert.equal(Math.floor(Date.now() / 60_000), probeWindow, 'still in the window of the probe counts');
      assert.equal(next.headers.get('x-ratelimit-remaining-requests'), String(PROBE_LIMIT - PROBE_CALLS - 1), 'the count continues from the one before the crash');
      assert.equal(await promoted.hget(probeBucket(probeWindow), 'r'), String(PROBE_CALLS + 1));
    } catch (err) {
      console.log(`plinth serve, Redis connection lines:\n${plinth.logs.filter((l) => l.includes('redis') && !l.includes('request failed')).slice(-40).join('\n')}`);
      throw err;
    } finally {
      stop = true;
      await Promise.all([...clients, prober]);
    }
  });

  it('connects again when a failover notice cuts a reconnect attempt short', async () => {
    const config = loadConfig({ env: { PLINTH_DATA_DIR: dataDir, REDIS_SENTINELS: group.sentinels, REDIS_SENTINEL_NAME: group.name, REDIS_PASSWORD_FILE: group.passwordFile } });
    const redis = createRedisConnection(config, { name: 'plinth-fault-revive' });
    redis.on('error', () => undefined);
    try {
      await until('the client to find the master', () => redis.status === 'ready' || undefined, 10_000, 20);
      const [, port] = (await group.sentinel(group.sentinelPorts[0]!).call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', group.name)) as [string, string];
      // The server drops the connection; while the client asks the Sentinels for the master again,
      // its connector is closed — what ioredis's failover detector does on +switch-master.
      await group.node(Number(port)).call('CLIENT', 'KILL', 'TYPE', 'normal');
      await until('the client to reconnect', () => redis.status === 'connecting' || undefined, 5_000, 1);
      (redis as unknown as { connector: { disconnect(): void } }).connector.disconnect();
      await until('the client to serve again', async () => (await redis.ping().catch(() => undefined)) === 'PONG' || undefined, 10_000, 100);
      assert.equal(redis.status, 'ready');
    } finally {
      redis.disconnect();
    }
    // disconnect() still ends it for good.
    await until('the client to end', () => redis.status === 'end' || undefined, 5_000, 20);
    await sleep(1_000);
    assert.equal(redis.status, 'end', 'not revived after disconnect()');
  });
});
