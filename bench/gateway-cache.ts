// Gateway cache benchmark: lookup latency of the exact and the semantic cache at 100,000 cached
// entries (in-process and Redis; entries spread over partitions by a Zipf law, and the worst
// case of one partition bounded by GATEWAY_SEMANTIC_MAX_PER_PARTITION), and the semantic
// cache's precision and hit rate on the labelled pairs of bench/data/cache-pairs.json over a
// sweep of thresholds, with and without the guard, for the local MiniLM and the hashing embedder.
//
//   npm run bench -- gateway-cache            # full sizes (100k entries)
//   npm run bench -- gateway-cache --quick    # 10k entries, fewer lookups
//   npm run bench -- gateway-cache --help     # every flag (each also reads BENCH_<FLAG>)
//
// Latency is measured through the cache layer the gateway calls (generation read, exact get,
// semantic search, guard), one lookup at a time, with an embedder that returns precomputed
// vectors; what embedding the last message costs is measured on its own and reported beside it.
// Baselines in the same run: an in-process Map.get, and a Redis GET of a 1 KB value.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import {
  createCacheLayer,
  createMemoryCacheStore,
  createMemorySemanticStore,
  createRedisCacheStore,
  createRedisSemanticStore,
  exactCacheKey,
  guard,
  semanticPartitionKey,
  type CacheOutcome,
  type CacheStore,
  type SemanticCacheStore,
} from '../src/cache/index.js';
import { createHashingEmbedder, createLocalEmbedder, type Embedder } from '../src/embeddings/index.js';
import type { ChatCompletion, ChatRequest } from '../src/gateway/index.js';
import { createLogger } from '../src/telemetry/logger.js';
import { benchCommand, machineRows, parseFlags, progressLog, saveResults } from './lib/harness.js';
import { BENCH_DIR, fmt, machine, table, type Cell } from './lib/report.js';
import { closedLoop, percentile, summarise, type LatencySummary } from './lib/stats.js';
import { createRng } from './lib/rng.js';

export const description = 'gateway cache: exact/semantic lookup p50/p99 at 100k entries (in-process, Redis), semantic precision and hit rate';

const DEFAULT_THRESHOLD = 0.95;
const TARGETS = { precision: 0.99 };

const FLAGS = {
  quick: { type: 'boolean', doc: 'fast check: 10k entries, 1k lookups' },
  entries: { type: 'string', full: '100000', quick: '10000', doc: 'cached entries (exact and semantic each)' },
  partitions: { type: 'string', full: '5000', quick: '500', doc: 'partitions of the spread layout (Zipf)' },
  zipf: { type: 'string', full: '1.1', quick: '1.1', doc: 'Zipf exponent of partition popularity' },
  'max-per-partition': { type: 'string', full: '256', quick: '256', doc: 'GATEWAY_SEMANTIC_MAX_PER_PARTITION' },
  lookups: { type: 'string', full: '5000', quick: '1000', doc: 'measured lookups per workload' },
  dims: { type: 'string', full: '384', quick: '384', doc: 'vector dimensions of the latency part' },
  backends: { type: 'string', full: 'memory,redis', quick: 'memory,redis', doc: 'memory | redis | memory,redis (redis needs PLINTH_TEST_REDIS_URL or REDIS_URL)' },
  threshold: { type: 'string', full: String(DEFAULT_THRESHOLD), quick: String(DEFAULT_THRESHOLD), doc: 'semantic threshold of the latency part and the headline of the quality part' },
  thresholds: { type: 'string', full: '0.80,0.85,0.88,0.90,0.92,0.93,0.94,0.95,0.96,0.97,0.98,0.99', quick: '0.85,0.90,0.95,0.98', doc: 'threshold sweep of the quality part' },
  parts: { type: 'string', full: 'latency,quality', quick: 'latency,quality', doc: 'latency, quality' },
  seed: { type: 'string', full: '42', quick: '42', doc: 'random seed' },
  help: { type: 'boolean', doc: 'show this help' },
} as const;

interface Options {
  quick: boolean;
  entries: number;
  partitions: number;
  zipf: number;
  maxPerPartition: number;
  lookups: number;
  dims: number;
  backends: Array<'memory' | 'redis'>;
  threshold: number;
  thresholds: number[];
  latency: boolean;
  quality: boolean;
  seed: number;
}

function parseOptions(args: string[]): Options | undefined {
  const flags = parseFlags('gateway-cache', args, FLAGS, 18);
  if (!flags) return undefined;
  const { quick, str, num } = flags;
  const backends = str('backends').split(',').map((s) => s.trim());
  for (const b of backends) if (b !== 'memory' && b !== 'redis') throw new Error(`--backends: memory | redis, not "${b}"`);
  const parts = str('parts').split(',');
  return {
    quick,
    entries: num('entries', 100),
    partitions: num('partitions', 1),
    zipf: num('zipf', 0),
    maxPerPartition: num('max-per-partition', 1, 10_000),
    lookups: num('lookups', 10),
    dims: num('dims', 2, 4096),
    backends: backends as Array<'memory' | 'redis'>,
    threshold: num('threshold', 0.5, 1),
    thresholds: str('thresholds').split(',').map(Number).filter((n) => n >= 0 && n <= 1),
    latency: parts.includes('latency'),
    quality: parts.includes('quality'),
    seed: num('seed', 0),
  };
}

const log = progressLog('gateway-cache');

// ---------------------------------------------------------------------------------------------
// Latency

const MODEL = 'bench-model';
const TENANT = '00000000-0000-4000-8000-000000000001';

/** An embedder that answers from a table of precomputed vectors: no embedding time is measured. */
function tableEmbedder(dims: number): Embedder & { table: Map<string, Float32Array> } {
  const map = new Map<string, Float32Array>();
  return {
    provider: 'hashing',
    model: 'bench-table',
    dimensions: dims,
    quality: 'low',
    table: map,
    embed(texts) {
      return Promise.resolve(
        texts.map((t) => {
          const v = map.get(t);
          if (!v) throw new Error(`no precomputed vector for "${t}"`);
          return v;
        }),
      );
    },
    close: () => Promise.resolve(),
  };
}

function randomUnit(rand: () => number, dims: number): Float32Array {
  const v = new Float32Array(dims);
  let n = 0;
  for (let i = 0; i < dims; i++) {
    // Box–Muller: an isotropic direction.
    const x = Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
    v[i] = x;
    n += x * x;
  }
  n = Math.sqrt(n);
  for (let i = 0; i < dims; i++) v[i] = v[i]! / n;
  return v;
}

/** `base` tilted by a random direction so that their cosine is `cos`. */
function near(base: Float32Array, rand: () => number, cos: number): Float32Array {
  const r = randomUnit(rand, base.length);
  let d = 0;
  for (let i = 0; i < base.length; i++) d += r[i]! * base[i]!;
  const ortho = r.map((x, i) => x - d * base[i]!);
  const on = Math.hypot(...ortho);
  const sin = Math.sqrt(1 - cos * cos);
  return base.map((x, i) => cos * x + (sin * ortho[i]!) / on);
}

const WORDS = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu'.split(' ');
/** A lower-case word for an integer (no digits: the guard compares numbers). */
function wordsOf(i: number): string {
  const out: string[] = [];
  do {
    out.push(WORDS[i % WORDS.length]!);
    i = Math.floor(i / WORDS.length);
  } while (i > 0);
  return out.join('-');
}

const request = (partition: number, text: string): ChatRequest => ({
  model: MODEL,
  temperature: 0,
  messages: [
    { role: 'system', content: `You are the support assistant of workspace ${wordsOf(partition)}.` },
    { role: 'user', content: text },
  ],
});

function completion(text: string): ChatCompletion {
  const content = `Here is how to do that: ${text} `.repeat(12).slice(0, 700);
  return {
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1_800_000_000,
    model: MODEL,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 40, completion_tokens: 180, total_tokens: 220 },
  };
}

/** Zipf sampler over 0..n-1 by inverse CDF on precomputed cumulative weights. */
function zipfSampler(n: number, s: number, rand: () => number): () => number {
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let k = 0; k < n; k++) cdf[k] = acc += 1 / (k + 1) ** s;
  return () => {
    const u = rand() * acc;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

interface LatencyRow {
  backend: 'memory' | 'redis';
  layout: 'spread' | 'one partition';
  workload: string;
  expected: CacheOutcome | 'baseline';
  summary: LatencySummary;
  /** Lookups that did not end in the expected outcome (should be 0). */
  unexpected: number;
}

interface LayoutInfo {
  layout: 'spread' | 'one partition';
  partitions_used: number;
  largest_partition_inserts: number;
  semantic_entries_kept: number;
  fill_s: number;
}

async function measure(requests: number, run: (i: number) => Promise<unknown>): Promise<LatencySummary> {
  // Warm-up: JIT, connection, caches.
  await closedLoop({ concurrency: 1, requests: Math.min(200, requests), maxSeconds: 30, run });
  return summarise([await closedLoop({ concurrency: 1, requests, maxSeconds: 120, run })]);
}

async function latencyPart(opts: Options, redisUrl: string | undefined): Promise<{ rows: LatencyRow[]; layouts: Array<LayoutInfo & { backend: string }> }> {
  const rows: LatencyRow[] = [];
  const layouts: Array<LayoutInfo & { backend: string }> = [];
  const logger = createLogger({ level: 'silent' });
  for (const backend of opts.backends) {
    if (backend === 'redis' && !redisUrl) {
      log('redis skipped: neither PLINTH_TEST_REDIS_URL nor REDIS_URL is set');
      continue;
    }
    for (const layout of ['spread', 'one partition'] as const) {
      const rand = createRng(opts.seed + (layout === 'spread' ? 0 : 1)).next;
      const redis = backend === 'redis' ? new Redis(redisUrl!, { maxRetriesPerRequest: 1 }) : undefined;
      const prefix = `plinth-bench:${process.pid}:${layout === 'spread' ? 's' : 'o'}:`;
      try {
        const exact: CacheStore = redis ? createRedisCacheStore(redis, { prefix: `${prefix}exact:` }) : createMemoryCacheStore({ maxEntries: opts.entries * 2 });
        const storeOptions = { maxPerPartition: opts.maxPerPartition, ttlMs: 3_600_000 };
        const semantic: SemanticCacheStore = redis
          ? createRedisSemanticStore(redis, { ...storeOptions, prefix: `${prefix}sem:` })
          : createMemorySemanticStore({ ...storeOptions, maxEntries: opts.entries * 2 });
        const embedder = tableEmbedder(opts.dims);
        const layer = createCacheLayer({
          settings: { cache: true, cacheTtlMs: 3_600_000, cacheMaxTemperature: 0, semanticCache: true, semanticThreshold: opts.threshold, semanticMaxTemperature: 0 },
          exact,
          semantic,
          embedder,
          logger,
          registry: new Registry(),
        });
        const gen = await semantic.generation({ tenantId: TENANT, model: MODEL }, []);
        const space = `${embedder.provider}:${embedder.model}:${embedder.dimensions}`;
        const pick = layout === 'spread' ? zipfSampler(opts.partitions, opts.zipf, rand) : () => 0;

        log(`${backend}, ${layout}: filling ${opts.entries.toLocaleString('en-US')} exact + semantic entries`);
        const fillStart = performance.now();
        const perPartition = new Map<number, number[]>();
        const texts: string[] = [];
        const vectors: Float32Array[] = [];
        const parts = new Int32Array(opts.entries);
        const BATCH = 256;
        for (let start = 0; start < opts.entries; start += BATCH) {
          const work: Array<Promise<void>> = [];
          for (let i = start; i < Math.min(opts.entries, start + BATCH); i++) {
            const p = pick();
            parts[i] = p;
            const text = `how do I configure the ${wordsOf(i)} feature for the ${wordsOf(i * 7 + 3)} team?`;
            const v = randomUnit(rand, opts.dims);
            texts.push(text);
            vectors.push(v);
            const list = perPartition.get(p) ?? [];
            list.push(i);
            perPartition.set(p, list);
            const req = request(p, text);
            const value = completion(text);
            work.push(exact.set(`${gen.base}:${exactCacheKey(TENANT, req)}`, JSON.stringify({ tags: {}, completion: value }), 3_600_000));
            work.push(semantic.insert(`${TENANT}:${gen.base}:${semanticPartitionKey(TENANT, req, space)}`, v, { text, value: JSON.stringify(value), tags: {} }));
          }
          await Promise.all(work);
        }
        const fillS = (performance.now() - fillStart) / 1000;
        // Entries still held: the last maxPerPartition of each partition (no reads during the fill).
        const alive: number[] = [];
        let largest = 0;
        for (const list of perPartition.values()) {
          largest = Math.max(largest, list.length);
          alive.push(...list.slice(-opts.maxPerPartition));
        }
        layouts.push({ backend, layout, partitions_used: perPartition.size, largest_partition_inserts: largest, semantic_entries_kept: alive.length, fill_s: fillS });
        log(`${backend}, ${layout}: ${perPartition.size} partitions, largest got ${largest} inserts, ${alive.length} semantic entries kept; filled in ${fillS.toFixed(1)} s`);

        // Lookup targets and their paraphrases (cosine 0.97 to the stored vector; guard-neutral rewording).
        const n = opts.lookups;
        const targets = Array.from({ length: n }, () => alive[Math.floor(rand() * alive.length)]!);
        const paraphrases = targets.map((i) => `Please, ${texts[i]!}`);
        targets.forEach((i, k) => embedder.table.set(paraphrases[k]!, near(vectors[i]!, rand, 0.97)));
        const misses = targets.map((i, k) => `how do I configure the ${wordsOf(opts.entries + k)} feature for the ${wordsOf(i)} team?`);
        misses.forEach((m) => embedder.table.set(m, randomUnit(rand, opts.dims)));
        for (const i of targets) embedder.table.set(texts[i]!, vectors[i]!);

        const workloads: Array<[string, CacheOutcome, (k: number) => ChatRequest]> = [
          ['exact hit', 'exact', (k) => request(parts[targets[k]!]!, texts[targets[k]!]!)],
          ['semantic hit', 'semantic', (k) => request(parts[targets[k]!]!, paraphrases[k]!)],
          ['miss (exact + semantic lookups)', 'miss', (k) => request(parts[targets[k]!]!, misses[k]!)],
        ];
        for (const [name, expected, make] of workloads) {
          let unexpected = 0;
          const summary = await measure(n, async (k) => {
            const r = await layer.lookup(TENANT, make(k % n));
            if (r.outcome !== expected) unexpected++;
          });
          rows.push({ backend, layout, workload: name, expected, summary, unexpected });
          log(`${backend}, ${layout}, ${name}: p50 ${summary.p50_ms.toFixed(3)} ms, p99 ${summary.p99_ms.toFixed(3)} ms${unexpected ? `, ${unexpected} unexpected outcomes` : ''}`);
        }
        // Baseline: one plain read of the same store kind.
        if (redis) {
          await redis.set(`${prefix}baseline`, 'x'.repeat(1024));
          rows.push({ backend, layout, workload: 'baseline: Redis GET of 1 KB', expected: 'baseline', summary: await measure(n, () => redis.get(`${prefix}baseline`)), unexpected: 0 });
        } else {
          const map = new Map<string, string>(texts.slice(0, 10_000).map((t, i) => [t, String(i)]));
          rows.push({ backend, layout, workload: 'baseline: Map.get', expected: 'baseline', summary: await measure(n, (k) => Promise.resolve(map.get(texts[k % map.size]!))), unexpected: 0 });
        }
        await layer.close();
        await exact.close();
      } finally {
        if (redis) {
          let cursor = '0';
          do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
            if (keys.length > 0) await redis.unlink(...keys);
            cursor = next;
          } while (cursor !== '0');
          redis.disconnect();
        }
      }
    }
  }
  return { rows, layouts };
}

// ---------------------------------------------------------------------------------------------
// Quality

interface Pair {
  id: string;
  label: 'same' | 'different';
  kind: 'paraphrase' | 'negation' | 'number' | 'entity' | 'antonym';
  origin: string;
  a: string;
  b: string;
}

interface SweepRow {
  threshold: number;
  guard: boolean;
  served: number;
  correct: number;
  precision: number;
  precision_lower95: number;
  hit_rate: number;
}

interface QualityResult {
  embedder: { provider: string; model: string; dimensions: number; quality: string };
  pairs: number;
  paraphrases: number;
  near_misses: number;
  embed_ms: { p50: number; p99: number };
  sweep: SweepRow[];
  /** Per near-miss kind at the headline threshold. */
  kinds: Array<{ kind: string; pairs: number; above_threshold: number; served_with_guard: number; caught_by_guard_any_threshold: number; max_similarity_passing_guard: number | null }>;
  guard_false_refusals: Array<{ id: string; reason: string; a: string; b: string }>;
  headline: SweepRow;
}

/** Wilson score interval, lower end, 95 %. */
function wilsonLower(successes: number, n: number): number {
  if (n === 0) return NaN;
  const z = 1.96;
  const p = successes / n;
  return (p + (z * z) / (2 * n) - z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
}

async function qualityPart(opts: Options, embedder: Embedder, pairs: Pair[]): Promise<QualityResult> {
  log(`quality: embedding ${pairs.length * 2} questions with ${embedder.provider}/${embedder.model}`);
  const texts = pairs.flatMap((p) => [p.a, p.b]);
  const vectors = await embedder.embed(texts);
  // One text at a time, as the gateway embeds: what the semantic path adds to a lookup.
  const single: number[] = [];
  for (const t of texts.slice(0, 100)) {
    const s = performance.now();
    await embedder.embed([t]);
    single.push(performance.now() - s);
  }
  single.sort((x, y) => x - y);
  const scored = pairs.map((p, i) => {
    const a = vectors[2 * i]!;
    const b = vectors[2 * i + 1]!;
    let s = 0;
    for (let k = 0; k < a.length; k++) s += a[k]! * b[k]!;
    return { ...p, similarity: s, verdict: guard(p.a, p.b) };
  });
  const paraphrases = scored.filter((p) => p.label === 'same').length;
  const row = (threshold: number, withGuard: boolean): SweepRow => {
    const served = scored.filter((p) => p.similarity >= threshold && (!withGuard || p.verdict.ok));
    const correct = served.filter((p) => p.label === 'same').length;
    return {
      threshold,
      guard: withGuard,
      served: served.length,
      correct,
      precision: served.length ? correct / served.length : NaN,
      precision_lower95: wilsonLower(correct, served.length),
      hit_rate: correct / paraphrases,
    };
  };
  const sweep = opts.thresholds.flatMap((t) => [row(t, true), row(t, false)]);
  const kinds = (['negation', 'number', 'entity', 'antonym'] as const).map((kind) => {
    const of = scored.filter((p) => p.kind === kind);
    const passing = of.filter((p) => p.verdict.ok).map((p) => p.similarity);
    return {
      kind,
      pairs: of.length,
      above_threshold: of.filter((p) => p.similarity >= opts.threshold).length,
      served_with_guard: of.filter((p) => p.similarity >= opts.threshold && p.verdict.ok).length,
      caught_by_guard_any_threshold: of.filter((p) => !p.verdict.ok).length,
      max_similarity_passing_guard: passing.length ? Math.max(...passing) : null,
    };
  });
  return {
    embedder: { provider: embedder.provider, model: embedder.model, dimensions: embedder.dimensions, quality: embedder.quality },
    pairs: pairs.length,
    paraphrases,
    near_misses: pairs.length - paraphrases,
    embed_ms: { p50: percentile(single, 50), p99: percentile(single, 99) },
    sweep,
    kinds,
    guard_false_refusals: scored.filter((p) => p.label === 'same' && !p.verdict.ok).map((p) => ({ id: p.id, reason: p.verdict.reason ?? '', a: p.a, b: p.b })),
    headline: row(opts.threshold, true),
  };
}

// ---------------------------------------------------------------------------------------------

const int = (n: number) => n.toLocaleString('en-US');
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '—');

export async function main(args: string[]): Promise<number> {
  const opts = parseOptions(args);
  if (!opts) return 0;
  const startedAt = new Date();
  const host = machine();
  const command = benchCommand('gateway-cache', args);
  log(`${command} (${opts.quick ? 'quick' : 'full'} sizes)`);
  const redisUrl = process.env.PLINTH_TEST_REDIS_URL ?? process.env.REDIS_URL;

  const latency = opts.latency ? await latencyPart(opts, redisUrl) : { rows: [], layouts: [] };

  const quality: QualityResult[] = [];
  if (opts.quality) {
    const data = JSON.parse(readFileSync(path.join(BENCH_DIR, 'data', 'cache-pairs.json'), 'utf8')) as { pairs: Pair[] };
    const modelDir = process.env.PLINTH_TEST_EMBED_MODEL_DIR;
    const embedders: Embedder[] = [];
    if (modelDir && existsSync(path.join(modelDir, 'model.onnx'))) embedders.push(await createLocalEmbedder({ modelDir }));
    else log('PLINTH_TEST_EMBED_MODEL_DIR is unset or holds no model.onnx: quality is measured with the hashing embedder only');
    embedders.push(createHashingEmbedder());
    for (const e of embedders) {
      try {
        quality.push(await qualityPart(opts, e, data.pairs));
      } finally {
        await e.close();
      }
    }
  }

  const out: string[] = [];
  out.push('', '## Machine', '', table(['', ''], machineRows(host)));
  const inputs: Array<[string, Cell]> = [
    ['command', command],
    ['date', startedAt.toISOString()],
    ['entries', `${opts.entries.toLocaleString('en-US')} exact + ${opts.entries.toLocaleString('en-US')} semantic inserts per layout`],
    ['layouts', `spread: partition (system prompt) drawn from Zipf(s=${opts.zipf}) over ${opts.partitions} partitions; one partition: every entry in one`],
    ['bound', `GATEWAY_SEMANTIC_MAX_PER_PARTITION = ${opts.maxPerPartition}`],
    ['vectors', `${opts.dims}-d random unit vectors; semantic queries at cosine 0.97 to a stored one, threshold ${opts.threshold}`],
    ['lookups', `${opts.lookups} measured + 200 warm-up per workload, one at a time, through the cache layer (generations, exact get, semantic search, guard); precomputed query vectors`],
    ['pairs', 'bench/data/cache-pairs.json (see its "about")'],
  ];
  out.push('', '## Inputs', '', table(['', ''], inputs));
  if (latency.layouts.length) {
    out.push('', '## Fill', '', table(['backend', 'layout', 'partitions', 'largest partition (inserts)', 'semantic entries kept', 'fill s'], latency.layouts.map((l) => [l.backend, l.layout, int(l.partitions_used), int(l.largest_partition_inserts), int(l.semantic_entries_kept), l.fill_s])));
    out.push('', '## Lookup latency (ms, one lookup at a time)', '');
    out.push(table(['backend', 'layout', 'workload', 'p50', 'p90', 'p99', 'max', 'lookups', 'wrong outcome'], latency.rows.map((r) => [r.backend, r.layout, r.workload, r.summary.p50_ms, r.summary.p90_ms, r.summary.p99_ms, r.summary.max_ms, int(r.summary.requests), int(r.unexpected)])));
  }
  for (const q of quality) {
    out.push('', `## Semantic precision and hit rate: ${q.embedder.provider} / ${q.embedder.model} (${q.embedder.dimensions}-d, quality ${q.embedder.quality})`, '');
    out.push(`${q.pairs} pairs: ${q.paraphrases} paraphrases, ${q.near_misses} near-misses. Embedding one question: p50 ${fmt(q.embed_ms.p50)} ms, p99 ${fmt(q.embed_ms.p99)} ms.`, '');
    const byT = new Map<number, { g?: SweepRow; n?: SweepRow }>();
    for (const r of q.sweep) byT.set(r.threshold, { ...byT.get(r.threshold), [r.guard ? 'g' : 'n']: r });
    out.push(table(['threshold', 'precision (guard)', '95% lower', 'hit rate (guard)', 'served (guard)', 'precision (no guard)', 'hit rate (no guard)', 'served (no guard)'], [...byT.entries()].map(([t, r]) => [t.toFixed(2), pct(r.g!.precision), pct(r.g!.precision_lower95), pct(r.g!.hit_rate), int(r.g!.served), pct(r.n!.precision), pct(r.n!.hit_rate), int(r.n!.served)])));
    out.push('', `Near-misses by kind at threshold ${opts.threshold}:`, '');
    out.push(table(['kind', 'pairs', 'above threshold', 'served with guard', 'caught by guard (any threshold)', 'max similarity passing guard'], q.kinds.map((k) => [k.kind, int(k.pairs), int(k.above_threshold), int(k.served_with_guard), int(k.caught_by_guard_any_threshold), k.max_similarity_passing_guard === null ? '—' : k.max_similarity_passing_guard.toFixed(3)])));
    out.push('', `Paraphrases the guard refuses (false refusals): ${q.guard_false_refusals.length}${q.guard_false_refusals.map((f) => `\n- ${f.reason}: "${f.a}" / "${f.b}"`).join('')}`);
    const met = q.headline.precision >= TARGETS.precision;
    out.push('', `Target precision ≥ ${pct(TARGETS.precision)} at threshold ${opts.threshold} with the guard: ${pct(q.headline.precision)} (${q.headline.correct}/${q.headline.served}; 95% lower bound ${pct(q.headline.precision_lower95)}), hit rate ${pct(q.headline.hit_rate)} — ${met ? 'met' : 'MISSED'}`);
  }
  out.push('');
  process.stdout.write(out.join('\n'));
  saveResults('gateway-cache', startedAt, {
    benchmark: 'gateway-cache',
    command,
    started_at: startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    machine: { ...host, load_average_at_end: os.loadavg() },
    options: opts,
    targets: TARGETS,
    latency,
    quality,
  });
  return 0;
}
