// Gateway overhead benchmark: the same open-loop load (a fixed request rate, not a fixed number of
// clients) sent straight to a fake OpenAI-compatible upstream with a fixed latency, and through a
// real `plinth serve` process in front of it (auth, limits and budgets, usage accounting and the
// exact cache on, every request a cache miss). The added latency is the difference of the two
// distributions; Plinth's own x-plinth-overhead-ms header is reported too. The load generator, the
// upstream and Plinth run as three processes, so none of them shares an event loop with another.
//
//   npm run bench -- gateway                    # 500 requests/s for 20 s per target
//   npm run bench -- gateway --rate 200 --seconds 5
//   npm run bench -- gateway --help
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { child, cpuMs, fakeUpstream, freePort, REPO, stop, waitFor } from './lib/processes.js';
import { fmt, machine, table, writeResults } from './lib/report.js';
import { percentile } from './lib/stats.js';

export const description = 'LLM gateway: added p50/p99 latency through Plinth vs direct to a fixed-latency upstream, open loop at 500 req/s';

const TARGET_ADDED_P99_MS = 2;
const MODEL = 'bench-model';

const FLAGS = {
  rate: { type: 'string', default: '500', doc: 'requests per second (open loop)' },
  seconds: { type: 'string', default: '20', doc: 'measured seconds per target (split over the rounds)' },
  rounds: { type: 'string', default: '4', doc: 'rounds; direct and Plinth alternate round by round' },
  warmup: { type: 'string', default: '3', doc: 'warm-up seconds per target before measuring' },
  'latency-ms': { type: 'string', default: '20', doc: 'fixed latency of the fake upstream' },
  db: { type: 'string', default: 'auto', doc: 'postgres | embedded | auto (postgres when PLINTH_TEST_PG_URL is set)' },
  redis: { type: 'string', default: 'auto', doc: 'on | off | auto (on when PLINTH_TEST_REDIS_URL is set): limits and cache in Redis' },
  role: { type: 'string', default: 'bench', doc: '(internal) bench | upstream' },
  port: { type: 'string', default: '0', doc: '(internal) upstream port' },
  profile: { type: 'string', default: '', doc: 'write a V8 CPU profile of the Plinth process into this directory (node --cpu-prof)' },
  help: { type: 'boolean', default: false, doc: 'show this help' },
} as const;

// ------------------------------------------------------------------------------------------
// Open-loop load: request i is due at t0 + i / rate whatever happened to the earlier ones, and its
// latency counts from when it was due (queueing in the generator is not hidden).

interface Sample {
  latencies: number[];
  overheads: number[];
  errors: number;
  firstError?: string;
  lagMaxMs: number;
  sent: number;
  wallS: number;
}

async function openLoop(rate: number, seconds: number, send: (i: number) => Promise<number | undefined>): Promise<Sample> {
  const total = Math.round(rate * seconds);
  const out: Sample = { latencies: [], overheads: [], errors: 0, lagMaxMs: 0, sent: 0, wallS: 0 };
  const inflight: Array<Promise<void>> = [];
  const t0 = performance.now() + 5;
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait - 0.5);
    while (performance.now() < due) {
      // Spin the last half millisecond: timers are only millisecond-accurate.
    }
    out.lagMaxMs = Math.max(out.lagMaxMs, performance.now() - due);
    out.sent++;
    inflight.push(
      send(i).then(
        (overhead) => {
          out.latencies.push(performance.now() - due);
          if (overhead !== undefined) out.overheads.push(overhead);
        },
        (err: unknown) => {
          out.errors++;
          out.firstError ??= (err as Error).message;
        },
      ),
    );
  }
  await Promise.all(inflight);
  out.wallS = (performance.now() - t0) / 1000;
  return out;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

function post(url: string, body: string, headers: Record<string, string>): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
        else {
          const o = res.headers['x-plinth-overhead-ms'];
          resolve(typeof o === 'string' ? Number(o) : undefined);
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

// ------------------------------------------------------------------------------------------

function summary(s: Sample) {
  const sorted = [...s.latencies].sort((a, b) => a - b);
  const ov = [...s.overheads].sort((a, b) => a - b);
  return {
    requests: s.sent,
    errors: s.errors,
    achieved_per_s: s.latencies.length / s.wallS,
    p50_ms: percentile(sorted, 50),
    p90_ms: percentile(sorted, 90),
    p99_ms: percentile(sorted, 99),
    max_ms: sorted.at(-1) ?? NaN,
    overhead_header_p50_ms: ov.length ? percentile(ov, 50) : null,
    overhead_header_p99_ms: ov.length ? percentile(ov, 99) : null,
    generator_lag_max_ms: s.lagMaxMs,
    ...(s.firstError ? { first_error: s.firstError } : {}),
  };
}

function merge(samples: Sample[]): Sample {
  return {
    latencies: samples.flatMap((s) => s.latencies),
    overheads: samples.flatMap((s) => s.overheads),
    errors: samples.reduce((n, s) => n + s.errors, 0),
    lagMaxMs: Math.max(...samples.map((s) => s.lagMaxMs)),
    sent: samples.reduce((n, s) => n + s.sent, 0),
    wallS: samples.reduce((n, s) => n + s.wallS, 0),
    ...(samples.find((s) => s.firstError) ? { firstError: samples.find((s) => s.firstError)!.firstError! } : {}),
  };
}

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: Object.fromEntries(Object.entries(FLAGS).map(([k, v]) => [k, { type: v.type, default: v.default }])), strict: true });
  const v: Record<string, string | boolean | undefined> = values;
  if (v.help) {
    process.stdout.write('npm run bench -- gateway [flags]\n\n');
    for (const [k, f] of Object.entries(FLAGS)) if (!f.doc.startsWith('(internal)')) process.stdout.write(`  --${k.padEnd(12)} ${f.doc} (default ${String(f.default)})\n`);
    return 0;
  }
  const num = (k: keyof typeof FLAGS) => {
    const n = Number(v[k]);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${k}: expected a number, got "${String(v[k])}"`);
    return n;
  };
  if (v.role === 'upstream') {
    const { port } = await fakeUpstream(num('port'), num('latency-ms'), MODEL);
    process.stdout.write(`upstream listening on ${port}\n`);
    await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
    return 0;
  }

  const rate = num('rate');
  const seconds = num('seconds');
  const rounds = Math.max(1, Math.round(num('rounds')));
  const warmup = num('warmup');
  const latencyMs = num('latency-ms');
  const startedAt = new Date();
  const host = machine();
  const pgUrl = process.env.PLINTH_TEST_PG_URL;
  const useDb = v.db === 'auto' ? (pgUrl ? 'postgres' : 'embedded') : String(v.db);
  if (useDb === 'postgres' && !pgUrl) throw new Error('--db postgres needs PLINTH_TEST_PG_URL (eval "$(bash scripts/services.sh env)")');
  const redisUrl = process.env.PLINTH_TEST_REDIS_URL;
  const useRedis = v.redis === 'auto' ? Boolean(redisUrl) : v.redis === 'on';
  if (useRedis && !redisUrl) throw new Error('--redis on needs PLINTH_TEST_REDIS_URL');

  const base: Record<string, string> = {};
  for (const [k, val] of Object.entries(process.env)) if (val !== undefined && !/^(PLINTH_|DATABASE_|REDIS_|GATEWAY_|OLLAMA_|OPENAI_|EMBEDDINGS_)/.test(k)) base[k] = val;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'plinth-bench-gateway-'));
  let dbName: string | undefined;
  let upstream: ReturnType<typeof child> | undefined;
  let plinth: ReturnType<typeof child> | undefined;
  try {
    const upstreamPort = await freePort();
    upstream = child(['bench/run.ts', 'gateway', '--role', 'upstream', '--port', String(upstreamPort), '--latency-ms', String(latencyMs)], base);
    await waitFor(`http://127.0.0.1:${upstreamPort}/v1/models`, upstream);

    let databaseUrl: string | undefined;
    if (useDb === 'postgres') {
      dbName = `plinth_bench_${randomBytes(5).toString('hex')}`;
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`CREATE DATABASE ${dbName}`);
      await c.end();
      const u = new URL(pgUrl!);
      u.pathname = `/${dbName}`;
      databaseUrl = u.toString();
      if (process.env.PLINTH_TEST_PG_ADMIN_URL) {
        // pgvector is not a trusted extension: a superuser creates it, as an operator would.
        const su = new URL(process.env.PLINTH_TEST_PG_ADMIN_URL);
        su.pathname = `/${dbName}`;
        const a = new pg.Client({ connectionString: su.toString() });
        await a.connect();
        await a.query('CREATE EXTENSION IF NOT EXISTS vector');
        await a.end();
      }
    }
    const plinthPort = await freePort();
    plinth = child(['src/cli/main.ts', 'serve'], {
      ...base,
      PLINTH_DATA_DIR: dataDir,
      PLINTH_HOST: '127.0.0.1',
      PLINTH_PORT: String(plinthPort),
      LOG_LEVEL: 'warn',
      OPENAI_BASE_URL: `http://127.0.0.1:${upstreamPort}/v1`,
      EMBEDDINGS_PROVIDER: 'hashing',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      ...(useRedis ? { REDIS_URL: redisUrl! } : {}),
      // Limits and budgets on (checked and settled on every call), high enough never to refuse.
      GATEWAY_REQUESTS_PER_MINUTE: '10000000',
      GATEWAY_TOKENS_PER_MINUTE: '1000000000',
      GATEWAY_TOKENS_PER_DAY: '100000000000',
      GATEWAY_TENANT_TOKENS_PER_DAY: '100000000000',
      GATEWAY_CACHE: 'true',
    }, v.profile ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(String(v.profile))] : []);
    const plinthUrl = `http://127.0.0.1:${plinthPort}`;
    await waitFor(`${plinthUrl}/readyz`, plinth);
    const admin = readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
    const created = await fetch(`${plinthUrl}/v1/keys`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench', scopes: ['llm:invoke'] }) });
    if (created.status !== 201) throw new Error(`cannot create a key: HTTP ${created.status} ${await created.text()}`);
    const key = ((await created.json()) as { key: string }).key;

    const run = randomBytes(4).toString('hex');
    // Unique content per request: every call through Plinth misses the exact cache (and writes it).
    const body = (i: number) => JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: `bench ${run} request ${i}` }], temperature: 0, max_tokens: 16 });
    let n = 0;
    const direct = () => openLoop(rate, seconds / rounds, () => post(`http://127.0.0.1:${upstreamPort}/v1/chat/completions`, body(n++), {}));
    const through = () => openLoop(rate, seconds / rounds, () => post(`${plinthUrl}/v1/chat/completions`, body(n++), { authorization: `Bearer ${key}` }));

    process.stderr.write(`warming up (${warmup} s per target)…\n`);
    await openLoop(rate, warmup, () => post(`http://127.0.0.1:${upstreamPort}/v1/chat/completions`, body(n++), {}));
    await openLoop(rate, warmup, () => post(`${plinthUrl}/v1/chat/completions`, body(n++), { authorization: `Bearer ${key}` }));
    const d: Sample[] = [];
    const p: Sample[] = [];
    // CPU the Plinth process spends per call through it: independent of how busy the machine is.
    let plinthCpuMs: number | undefined = 0;
    for (let r = 0; r < rounds; r++) {
      process.stderr.write(`round ${r + 1}/${rounds}\n`);
      d.push(await direct());
      const before = cpuMs(plinth.proc.pid);
      p.push(await through());
      const after = cpuMs(plinth.proc.pid);
      plinthCpuMs = before === undefined || after === undefined || plinthCpuMs === undefined ? undefined : plinthCpuMs + after - before;
    }
    const ds = summary(merge(d));
    const ps = summary(merge(p));
    const added = { p50_ms: ps.p50_ms - ds.p50_ms, p99_ms: ps.p99_ms - ds.p99_ms };
    const cpuPerCallMs = plinthCpuMs === undefined ? null : plinthCpuMs / Math.max(1, ps.requests);
    const loadEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);

    const out: string[] = [];
    out.push(`# gateway overhead — ${startedAt.toISOString()}`);
    out.push('');
    out.push(table(['machine', 'value'], [
      ['cpu', `${host.cpu} (${host.cores} cores)`],
      ['memory', `${host.memory_gib} GiB`],
      ['node', host.node],
      ['load average at start (1/5/15 min)', host.load_average_at_start.join(' / ')],
      ['load average at end', loadEnd.join(' / ')],
    ]));
    out.push('');
    out.push(table(['input', 'value'], [
      ['load', `open loop, ${rate} requests/s, ${seconds} s per target in ${rounds} alternating rounds (+${warmup} s warm-up each)`],
      ['upstream', `fake OpenAI-compatible server, fixed ${latencyMs} ms before answering, own process`],
      ['plinth', `plinth serve (own process): API key auth, key + tenant limits and day budgets, usage rows, exact cache miss + write`],
      ['database', useDb === 'postgres' ? 'PostgreSQL 16 (scripts/services.sh)' : 'embedded PGlite'],
      ['limits and cache', useRedis ? 'Redis (scripts/services.sh)' : 'in process'],
    ]));
    out.push('');
    const row = (name: string, s: ReturnType<typeof summary>) => [name, s.requests, s.errors, s.achieved_per_s, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms, s.generator_lag_max_ms];
    out.push(table(['target', 'requests', 'errors', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'generator lag max ms'], [row('direct to upstream', ds), row('through Plinth', ps)]));
    out.push('');
    const met = added.p99_ms <= TARGET_ADDED_P99_MS;
    out.push(table(['figure', 'value'], [
      ['added p50 (Plinth − direct)', `${fmt(added.p50_ms)} ms`],
      ['added p99 (Plinth − direct)', `${fmt(added.p99_ms)} ms (target ≤ ${TARGET_ADDED_P99_MS} ms: ${met ? 'met' : 'MISSED'})`],
      ['x-plinth-overhead-ms p50', ps.overhead_header_p50_ms === null ? '—' : `${fmt(ps.overhead_header_p50_ms)} ms`],
      ['x-plinth-overhead-ms p99', ps.overhead_header_p99_ms === null ? '—' : `${fmt(ps.overhead_header_p99_ms)} ms`],
      ['Plinth CPU per call (user + system)', cpuPerCallMs === null ? '—' : `${fmt(cpuPerCallMs)} ms`],
    ]));
    process.stdout.write(`${out.join('\n')}\n`);
    const file = writeResults('gateway', startedAt, { machine: host, load_average_at_end: loadEnd, inputs: { rate, seconds, rounds, warmup, latency_ms: latencyMs, db: useDb, redis: useRedis }, direct: ds, plinth: { ...ps, cpu_ms_per_call: cpuPerCallMs }, added, target_added_p99_ms: TARGET_ADDED_P99_MS, target_met: met });
    process.stdout.write(`\nresults written to ${path.relative(REPO, file)}\n`);
    return ds.errors + ps.errors > 0 ? 1 : 0;
  } finally {
    await stop(plinth?.proc);
    await stop(upstream?.proc);
    agent.destroy();
    rmSync(dataDir, { recursive: true, force: true });
    if (dbName && pgUrl) {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await c.end();
    }
  }
}
