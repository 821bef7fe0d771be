// Load soak: a realistic mixed profile against one Plinth process on the real PostgreSQL and
// Redis — memory searches and writes, combined search, document ingestion, gateway chat calls to a
// fake upstream with a fixed latency, and MCP tool calls — at a fixed total rate (open loop: each
// request is due at its time whatever happened to the others) for a bounded time. Reports
// throughput, p50/p95/p99 per operation, the error rate (target 0) and the server's resident
// memory over time (a leak shows as steady growth in the second half of the run).
//
//   npm run bench -- load                      # 10 minutes at 50 requests/s
//   npm run bench -- load --minutes 1 --rate 20
//   npm run bench -- load --help
//
// The stated expected load is 5 requests/s (a team of about twenty agents, each calling Plinth
// every few seconds); the default rate is ten times that.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { freshDatabase, realPostgres } from './lib/databases.js';
import { child, cpuMs, fakeUpstream, freePort, rssMiB, stop, waitFor, type Child } from './lib/processes.js';
import { fmt, machine, table, writeResults } from './lib/report.js';
import { createRng } from './lib/rng.js';
import { percentile } from './lib/stats.js';

export const description = 'load: mixed memory / search / documents / gateway / MCP soak on real PostgreSQL and Redis, per-operation latency, errors, memory growth';

const EXPECTED_RPS = 5;
const MODEL = 'bench-model';

const FLAGS = {
  minutes: { type: 'string', default: '10', doc: 'soak duration in minutes' },
  rate: { type: 'string', default: String(EXPECTED_RPS * 10), doc: 'total requests per second (default: 10x the expected 5/s)' },
  'upstream-latency-ms': { type: 'string', default: '20', doc: 'fixed latency of the fake LLM upstream' },
  seed: { type: 'string', default: '11', doc: 'random seed of the operation mix and texts' },
  'seed-memories': { type: 'string', default: '2000', doc: 'memories stored before the soak' },
  help: { type: 'boolean', default: false, doc: 'show this help' },
} as const;

/** The mix, by weight: what agents do most is recall; writes, chat and tool calls follow. */
const MIX = [
  ['memory_search', 30],
  ['memory_add', 15],
  ['search', 10],
  ['memory_get', 5],
  ['document_ingest', 5],
  ['chat', 20],
  ['mcp_tool', 15],
] as const;
type Op = (typeof MIX)[number][0];

const WORDS = 'deploy cluster replica failover backup drill budget token cache latency model drift retrain alias champion metric alert runbook tenant agent memory search index vector query schema migration queue worker schedule policy secret certificate proxy gateway upstream stream retry breaker'.split(' ');

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function request(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timeout after 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

interface OpStats {
  latencies: number[];
  errors: number;
  firstError?: string;
}

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: Object.fromEntries(Object.entries(FLAGS).map(([k, v]) => [k, { type: v.type, default: v.default }])), strict: true });
  const v = values as Record<string, string | boolean>;
  if (v.help) {
    process.stdout.write('npm run bench -- load [flags]\n\n');
    for (const [k, f] of Object.entries(FLAGS)) process.stdout.write(`  --${k.padEnd(20)} ${f.doc} (default ${String(f.default)})\n`);
    return 0;
  }
  const num = (k: keyof typeof FLAGS, min: number, max: number) => {
    const n = Number(v[k]);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${k}: expected a number in [${min}, ${max}], got "${String(v[k])}"`);
    return n;
  };
  const minutes = num('minutes', 0.1, 120);
  const rate = num('rate', 1, 2000);
  const rng = createRng(num('seed', 0, 2 ** 31));
  const startedAt = new Date();
  const log = (line: string) => process.stderr.write(`[load] ${line}\n`);
  const m = machine();

  const real = await realPostgres(log);
  const redisUrl = process.env.PLINTH_TEST_REDIS_URL;
  if (!redisUrl) throw new Error('PLINTH_TEST_REDIS_URL is unset: start the services (eval "$(bash scripts/services.sh start)")');
  const db = await freshDatabase('postgres', real);
  const upstream = await fakeUpstream(0, num('upstream-latency-ms', 0, 10_000), MODEL);
  let server: Child | undefined;
  try {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env: Record<string, string> = {};
    for (const [k, val] of Object.entries(process.env)) if (val !== undefined && !/^(PLINTH_|DATABASE_|REDIS_|GATEWAY_|OLLAMA_|OPENAI_|EMBEDDINGS_)/.test(k)) env[k] = val;
    server = child(['src/cli/main.ts', 'serve'], {
      ...env,
      ...db.env,
      PLINTH_PORT: String(port),
      PLINTH_HOST: '127.0.0.1',
      REDIS_URL: redisUrl,
      OPENAI_BASE_URL: `http://127.0.0.1:${upstream.port}/v1`,
      OPENAI_API_KEY: 'bench',
      EMBEDDINGS_PROVIDER: 'hashing',
      LOG_LEVEL: 'warn',
    });
    await waitFor(`${base}/readyz`, server);
    const admin = readFileSync(path.join(db.dataDir, 'admin.key'), 'utf8').trim();
    const created = await request(`${base}/v1/keys`, 'POST', { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, JSON.stringify({ name: 'load', scopes: ['memory:read', 'memory:write', 'llm:invoke'] }));
    if (created.status !== 201) throw new Error(`creating a key: HTTP ${created.status} ${created.text}`);
    const key = (JSON.parse(created.text) as { key: string }).key;
    const h = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

    const sentence = (n: number) => Array.from({ length: n }, () => WORDS[Math.floor(rng.next() * WORDS.length)]).join(' ');
    const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    const user = () => users[Math.floor(rng.next() * users.length)]!;

    // Seed: memories in batches, so searches have something to find.
    const seedCount = num('seed-memories', 0, 1_000_000);
    const ids: string[] = [];
    for (let i = 0; i < seedCount; i += 100) {
      const batch = Array.from({ length: Math.min(100, seedCount - i) }, () => ({ text: `${sentence(12)} ${randomBytes(4).toString('hex')}`, user_id: user(), tags: [WORDS[Math.floor(rng.next() * 8)]!] }));
      const r = await request(`${base}/v1/memories`, 'POST', h, JSON.stringify({ memories: batch }));
      if (r.status !== 201) throw new Error(`seeding: HTTP ${r.status} ${r.text}`);
      for (const mem of (JSON.parse(r.text) as { memories: Array<{ id: string }> }).memories) ids.push(mem.id);
    }
    log(`seeded ${ids.length} memories; soak: ${minutes} min at ${rate} requests/s`);

    const ops: Record<Op, () => Promise<{ status: number; text: string }>> = {
      memory_search: () => request(`${base}/v1/memories/search`, 'POST', h, JSON.stringify({ query: sentence(4), user_id: user(), k: 5 })),
      memory_add: () => request(`${base}/v1/memories`, 'POST', h, JSON.stringify({ memories: [{ text: `${sentence(10)} ${randomBytes(4).toString('hex')}`, user_id: user() }] })),
      search: () => request(`${base}/v1/search`, 'POST', h, JSON.stringify({ query: sentence(4), k: 5 })),
      memory_get: () => request(`${base}/v1/memories/${ids[Math.floor(rng.next() * ids.length)]}`, 'GET', { authorization: h.authorization }),
      document_ingest: () =>
        request(`${base}/v1/documents`, 'POST', h, JSON.stringify({ name: `doc-${randomBytes(4).toString('hex')}.md`, content: `# ${sentence(3)}\n\n${sentence(120)}\n\n## ${sentence(2)}\n\n${sentence(200)}\n`, user_id: user() })),
      chat: () => request(`${base}/v1/chat/completions`, 'POST', h, JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: `${sentence(8)} ${randomBytes(3).toString('hex')}` }], user: user() })),
      mcp_tool: () =>
        request(
          `${base}/mcp`,
          'POST',
          { ...h, accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' },
          JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'memory_search', arguments: { query: sentence(4), k: 5 } } }),
        ),
    };
    const ok = (op: Op, r: { status: number; text: string }) =>
      op === 'mcp_tool' ? r.status === 200 && r.text.includes('"result"') && !r.text.includes('"isError":true') : r.status >= 200 && r.status < 300;
    const totalWeight = MIX.reduce((s, [, w]) => s + w, 0);
    const pick = (): Op => {
      let x = rng.next() * totalWeight;
      for (const [op, w] of MIX) if ((x -= w) < 0) return op;
      return MIX[0][0];
    };

    const stats = Object.fromEntries(MIX.map(([op]) => [op, { latencies: [] as number[], errors: 0 }])) as Record<Op, OpStats>;
    const memory: Array<{ t_s: number; rss_mib: number }> = [];
    // V8 heap in use, from the server's own /metrics: RSS also moves with allocator and pool
    // settling, while a leak shows as heap that the collector can no longer free — a rising floor.
    const heap: Array<{ t_s: number; heap_used_mib: number }> = [];
    const sampleHeap = (t_s: number) =>
      void request(`${base}/metrics`, 'GET', { authorization: `Bearer ${admin}` }).then(
        (r) => {
          const m = /^plinth_nodejs_heap_size_used_bytes (\S+)$/m.exec(r.text);
          if (r.status === 200 && m) heap.push({ t_s, heap_used_mib: Math.round((Number(m[1]) / 2 ** 20) * 10) / 10 });
        },
        () => undefined,
      );
    const pid = server.proc.pid;
    const cpu0 = cpuMs(pid);
    const total = Math.round(rate * minutes * 60);
    const inflight = new Set<Promise<void>>();
    let lagMax = 0;
    const t0 = performance.now() + 5;
    let nextSample = 0;
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / rate;
      if (due - t0 >= nextSample) {
        const rss = rssMiB(pid);
        if (rss !== undefined) memory.push({ t_s: Math.round((due - t0) / 100) / 10, rss_mib: Math.round(rss * 10) / 10 });
        nextSample += 5_000;
        sampleHeap(Math.round((due - t0) / 100) / 10);
      }
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait - 0.5);
      lagMax = Math.max(lagMax, performance.now() - due);
      const op = pick();
      const p: Promise<void> = ops[op]().then(
        (r) => {
          const s = stats[op];
          s.latencies.push(performance.now() - due);
          if (!ok(op, r)) {
            s.errors++;
            s.firstError ??= `HTTP ${r.status} ${r.text.slice(0, 200)}`;
          }
        },
        (err: unknown) => {
          stats[op].errors++;
          stats[op].firstError ??= (err as Error).message;
        },
      );
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
    await Promise.all(inflight);
    const wallS = (performance.now() - t0) / 1000;
    const cpu1 = cpuMs(pid);
    const rssEnd = rssMiB(pid);
    if (rssEnd !== undefined) memory.push({ t_s: Math.round(wallS * 10) / 10, rss_mib: Math.round(rssEnd * 10) / 10 });

    // Memory growth, in MiB/min, as least-squares slopes over the second half of the run: of RSS,
    // and of the heap's floor (the lowest heap in use in each minute, i.e. after a collection).
    const slopePerMin = (points: Array<[number, number]>): number => {
      if (points.length < 3) return NaN;
      const mx = points.reduce((a, [x]) => a + x, 0) / points.length;
      const my = points.reduce((a, [, y]) => a + y, 0) / points.length;
      const num_ = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
      const den = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
      return (num_ / den) * 60;
    };
    const slope = slopePerMin(memory.filter((s) => s.t_s >= wallS / 2).map((s) => [s.t_s, s.rss_mib]));
    const floors = new Map<number, { t_s: number; mib: number }>();
    for (const h of heap) {
      const minute = Math.floor(h.t_s / 60);
      const f = floors.get(minute);
      if (!f || h.heap_used_mib < f.mib) floors.set(minute, { t_s: minute * 60 + 30, mib: h.heap_used_mib });
    }
    const heapFloors = [...floors.values()].sort((a, b) => a.t_s - b.t_s);
    const heapSlope = slopePerMin(heapFloors.filter((f) => f.t_s >= wallS / 2).map((f) => [f.t_s, f.mib]));

    const rows = MIX.map(([op]) => {
      const s = stats[op];
      const sorted = [...s.latencies].sort((a, b) => a - b);
      return { op, requests: sorted.length, errors: s.errors, p50_ms: percentile(sorted, 50), p95_ms: percentile(sorted, 95), p99_ms: percentile(sorted, 99), max_ms: sorted.at(-1) ?? NaN, ...(s.firstError ? { first_error: s.firstError } : {}) };
    });
    const all = MIX.flatMap(([op]) => stats[op].latencies).sort((a, b) => a - b);
    const errors = rows.reduce((n, r) => n + r.errors, 0);
    const summary = {
      requests: all.length,
      errors,
      error_rate: all.length ? errors / all.length : NaN,
      throughput_per_s: all.length / wallS,
      p50_ms: percentile(all, 50),
      p95_ms: percentile(all, 95),
      p99_ms: percentile(all, 99),
      generator_lag_max_ms: lagMax,
      server_cpu_share: cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - cpu0) / 1000 / wallS : null,
      rss_start_mib: memory[0]?.rss_mib ?? null,
      rss_end_mib: memory.at(-1)?.rss_mib ?? null,
      rss_max_mib: memory.length ? Math.max(...memory.map((s) => s.rss_mib)) : null,
      rss_slope_second_half_mib_per_min: slope,
      heap_floor_first_minute_mib: heapFloors[0]?.mib ?? null,
      heap_floor_last_minute_mib: heapFloors.at(-1)?.mib ?? null,
      heap_floor_slope_second_half_mib_per_min: heapSlope,
    };

    process.stdout.write(`\nmachine: ${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB, ${m.node}; load average at start ${m.load_average_at_start.join(' ')}\n`);
    process.stdout.write(`profile: ${MIX.map(([op, w]) => `${op} ${w}%`).join(', ')}; ${rate} requests/s (expected load ${EXPECTED_RPS}/s) for ${fmt(wallS)} s; PostgreSQL ${real.url.replace(/\/\/[^@]*@/, '//')}, Redis, hashing embedder, fake upstream ${String(v['upstream-latency-ms'])} ms\n\n`);
    process.stdout.write(`${table(['operation', 'requests', 'errors', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'], rows.map((r) => [r.op, String(r.requests), String(r.errors), r.p50_ms, r.p95_ms, r.p99_ms, r.max_ms]))}\n\n`);
    process.stdout.write(
      `${table(
        ['total requests', 'throughput /s', 'errors', 'error rate', 'p50 ms', 'p95 ms', 'p99 ms', 'server CPU (cores)', 'RSS start MiB', 'RSS end MiB', 'RSS slope, 2nd half, MiB/min', 'heap floor first / last minute MiB', 'heap floor slope, 2nd half, MiB/min'],
        [
          [
            String(summary.requests),
            summary.throughput_per_s,
            String(summary.errors),
            summary.error_rate,
            summary.p50_ms,
            summary.p95_ms,
            summary.p99_ms,
            summary.server_cpu_share,
            summary.rss_start_mib,
            summary.rss_end_mib,
            summary.rss_slope_second_half_mib_per_min,
            `${fmt(summary.heap_floor_first_minute_mib ?? NaN)} / ${fmt(summary.heap_floor_last_minute_mib ?? NaN)}`,
            summary.heap_floor_slope_second_half_mib_per_min,
          ],
        ],
      )}\n`,
    );
    for (const r of rows) if (r.first_error) process.stdout.write(`first ${r.op} error: ${r.first_error}\n`);
    process.stdout.write(`\ntarget: error rate 0 — ${errors === 0 ? 'met' : 'MISSED'}; load average at end ${machine().load_average_at_start.join(' ')}\n`);
    const file = writeResults('load', startedAt, { machine: m, rate, minutes, mix: MIX, summary, operations: rows, memory, heap, heap_floors: heapFloors });
    process.stdout.write(`results: ${file}\n`);
    return 0;
  } finally {
    await stop(server?.proc);
    await upstream.close();
    await db.cleanup();
    real.stop?.();
    agent.destroy();
  }
}
