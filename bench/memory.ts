// Agent-memory benchmark: ingestion with precomputed embeddings, search latency at 16 concurrent
// clients (vector and hybrid), HNSW recall@10 against exact search, and retrieval quality of
// hybrid vs vector-only vs full-text-only on a labelled question set. Runs against the real
// PostgreSQL + pgvector and the embedded PGlite, each with a baseline measured in the same run.
//
//   npm run bench -- memory            # full sizes (100k memories on PostgreSQL)
//   npm run bench -- memory --quick    # 5k memories, fewer requests: a fast check
//   npm run bench -- memory --help     # every flag (each also reads BENCH_<FLAG> from the env)
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Platform } from '../src/platform.js';
import type { Tx } from '../src/db/index.js';
import { efSearch, searchDepth } from '../src/memory/hybrid.js';
import { search as searchSql, vectorLiteral } from '../src/memory/store.js';
import { realPostgres, versions, type DbKind, type RealPostgres } from './lib/databases.js';
import { benchCommand, machineRows, onFreshPlatform, parseFlags, progressLog, saveResults } from './lib/harness.js';
import { BENCH_DIR, fmt, machine, table, type Cell } from './lib/report.js';
import { closedLoop, percentile, summarise, type LatencySummary, type LoadRun } from './lib/stats.js';
import { exactTopK, generateCorpus, generateQueries, type Corpus, type Query } from './lib/synthetic.js';

export const description = 'agent memory: ingest rate, search p50/p99 at 16 clients, HNSW recall@10, hybrid vs vector vs full-text quality';

const BULK_BUILD_MEMORY = '1GB';
const TARGETS = { ingestPerS: 2000, p50Ms: 5, p99Ms: 20, ratio: 1.5, recall: 0.95 };
/** What the service uses for k=10 without MMR: list depth and hnsw.ef_search. */
const SERVICE_DEPTH = searchDepth(10, false);
const SERVICE_EF = efSearch(SERVICE_DEPTH);

const FLAGS = {
  quick: { type: 'boolean', doc: 'fast check: 5k memories, 1k requests, 50 recall queries' },
  rows: { type: 'string', full: '100000', quick: '5000', doc: 'memories stored in PostgreSQL' },
  'ingest-rows': { type: 'string', full: '100000', quick: '5000', doc: 'of those, the last N are inserted measured (the rest loaded before, unmeasured, index built after)' },
  'embedded-rows': { type: 'string', full: '20000', quick: '5000', doc: 'memories stored in embedded PGlite (smaller: PGlite is single-threaded WASM)' },
  db: { type: 'string', full: 'both', quick: 'both', doc: 'postgres | embedded | both' },
  dims: { type: 'string', full: '384', quick: '384', doc: 'vector dimensions' },
  clusters: { type: 'string', full: '1000', quick: '50', doc: 'mixture centres' },
  'subspace-dims': { type: 'string', full: '16', quick: '16', doc: 'dimensions of each cluster noise subspace' },
  noise: { type: 'string', full: '0.6', quick: '0.6', doc: 'in-subspace noise length (centres have length 1)' },
  'isotropic-noise': { type: 'string', full: '0.2', quick: '0.2', doc: 'isotropic noise length' },
  'query-noise': { type: 'string', full: '0.35', quick: '0.35', doc: 'noise added to a stored vector to make a query' },
  batch: { type: 'string', full: '500', quick: '500', doc: 'memories per memory.add call (max 500)' },
  'ingest-concurrency': { type: 'string', full: '2', quick: '2', doc: 'concurrent memory.add calls (and raw INSERTs for the baseline)' },
  concurrency: { type: 'string', full: '16', quick: '16', doc: 'concurrent search clients (and pool size)' },
  requests: { type: 'string', full: '5000', quick: '1000', doc: 'measured search requests per mode' },
  warmup: { type: 'string', full: '500', quick: '200', doc: 'warm-up requests per mode' },
  rounds: { type: 'string', full: '5', quick: '2', doc: 'latency rounds; the modes are interleaved round by round' },
  'recall-queries': { type: 'string', full: '200', quick: '50', doc: 'queries for recall@10' },
  'ef-search': { type: 'string', full: '10,20,40,80,200', quick: '10,40,200', doc: 'hnsw.ef_search values for the recall sweep' },
  'max-seconds': { type: 'string', full: '300', quick: '120', doc: 'time limit of each mode\'s measurement (split over the rounds)' },
  seed: { type: 'string', full: '42', quick: '42', doc: 'random seed' },
  parts: { type: 'string', full: 'scale,quality', quick: 'scale,quality', doc: 'which parts to run: scale (ingest, latency, recall), quality' },
  qa: { type: 'string', full: 'memory-qa,debian-qa', quick: 'memory-qa,debian-qa', doc: 'labelled sets for the quality part (bench/data/<name>.json)' },
  help: { type: 'boolean', doc: 'show this help' },
} as const;

interface Options {
  quick: boolean;
  rows: number;
  ingestRows: number;
  embeddedRows: number;
  dbs: DbKind[];
  dims: number;
  clusters: number;
  subspaceDims: number;
  noise: number;
  isotropicNoise: number;
  queryNoise: number;
  batch: number;
  ingestConcurrency: number;
  concurrency: number;
  requests: number;
  warmup: number;
  rounds: number;
  recallQueries: number;
  efSearch: number[];
  maxSeconds: number;
  seed: number;
  scale: boolean;
  quality: boolean;
  qaSets: string[];
}

function parseOptions(args: string[]): Options | undefined {
  const flags = parseFlags('memory', args, FLAGS, 18);
  if (!flags) return undefined;
  const { quick, str, num } = flags;
  const db = str('db');
  if (!['postgres', 'embedded', 'both'].includes(db)) throw new Error(`--db: postgres | embedded | both, not "${db}"`);
  return {
    quick,
    rows: num('rows', 100),
    ingestRows: num('ingest-rows', 100),
    embeddedRows: num('embedded-rows', 100),
    dbs: db === 'both' ? ['postgres', 'embedded'] : [db as DbKind],
    dims: num('dims', 2, 16000),
    clusters: num('clusters', 1),
    subspaceDims: num('subspace-dims', 1),
    noise: num('noise', 0),
    isotropicNoise: num('isotropic-noise', 0),
    queryNoise: num('query-noise', 0),
    batch: num('batch', 1, 500),
    ingestConcurrency: num('ingest-concurrency', 1, 64),
    concurrency: num('concurrency', 1, 256),
    requests: num('requests', 1),
    warmup: num('warmup', 0),
    rounds: num('rounds', 1, 100),
    recallQueries: num('recall-queries', 1),
    efSearch: str('ef-search').split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0),
    maxSeconds: num('max-seconds', 1),
    seed: num('seed', 0),
    scale: str('parts').split(',').includes('scale'),
    quality: str('parts').split(',').includes('quality'),
    qaSets: str('qa')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => {
        if (s !== '' && !/^[a-z0-9-]+$/.test(s)) throw new Error(`--qa: names of files in bench/data, not "${s}"`);
        return s !== '';
      }),
  };
}

const log = progressLog('memory');

// ---------------------------------------------------------------------------------------------
// Scale: ingestion, latency, recall

interface IngestResult {
  rows: number;
  wall_s: number;
  per_s: number;
  batch_p50_ms: number;
  batch_p99_ms: number;
}

interface RecallRow {
  ef_search: number;
  recall_at_10: number;
  single_client_p50_ms: number;
}

interface ScaleResult {
  db: DbKind;
  rows: number;
  server: string;
  pgvector: string;
  settings: Record<string, string>;
  sizes: Record<string, string>;
  hnsw_index: string;
  raw_plan_uses_hnsw: boolean;
  /** EXPLAIN ANALYZE of one query per mode after the load: compact lines, then the full plan. */
  plans: Record<string, { summary: string[]; full: string[] }>;
  ingest: { service: IngestResult; raw: IngestResult; bulk: { load_s: number; build_s: number; per_s: number; error?: string } };
  latency: { raw_vector: LatencySummary; service_vector: LatencySummary; service_hybrid: LatencySummary; raw_fulltext: LatencySummary; raw_hybrid: LatencySummary };
  recall: { service: { ef_search: number; recall_at_10: number }; sweep: RecallRow[]; queries: number };
}

function batches(n: number, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(n, s + size)]);
  return out;
}

type BatchFn = (start: number, end: number) => Promise<void>;

/**
 * Loads the same `n` rows through each of `loaders`, in interleaved chunks (a chunk through one,
 * the same chunk through the next, the order alternating), each chunk with `ingestConcurrency`
 * concurrent batches. Each loader's rate is its rows over its own active time, and all targets
 * grow in step, so load from elsewhere on the machine affects them alike.
 */
async function interleavedIngest<K extends string>(from: number, n: number, opts: Options, loaders: Record<K, BatchFn>): Promise<Record<K, IngestResult>> {
  const names = Object.keys(loaders) as K[];
  const all = batches(n - from, opts.batch).map(([s, e]): [number, number] => [from + s, from + e]);
  const chunk = opts.ingestConcurrency * 4;
  const active = Object.fromEntries(names.map((k) => [k, 0])) as Record<K, number>;
  const lat = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  let lastLog = performance.now();
  for (let c = 0, round = 0; c < all.length; c += chunk, round++) {
    const slice = all.slice(c, c + chunk);
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: opts.ingestConcurrency }, async () => {
          while (next < slice.length) {
            const [s, e] = slice[next++]!;
            const b0 = performance.now();
            await loaders[name](s, e);
            lat[name].push(performance.now() - b0);
          }
        }),
      );
      active[name] += (performance.now() - started) / 1000;
    }
    if (performance.now() - lastLog > 30_000) {
      lastLog = performance.now();
      const done = Math.min(n - from, (c + chunk) * opts.batch);
      log(`  … ${done.toLocaleString('en-US')} / ${(n - from).toLocaleString('en-US')} rows; ${names.map((k) => `${k} ${fmt(done / active[k])}/s`).join(', ')}`);
    }
  }
  return Object.fromEntries(
    names.map((k) => {
      const l = lat[k].sort((a, b) => a - b);
      return [k, { rows: n - from, wall_s: active[k], per_s: (n - from) / active[k], batch_p50_ms: percentile(l, 50), batch_p99_ms: percentile(l, 99) }];
    }),
  ) as Record<K, IngestResult>;
}

/** Plan nodes that say how a query reads memories, and the timings; vector literals elided. */
function summarisePlan(lines: string[]): string[] {
  return lines
    .filter((l) => /Scan|Join|Nested Loop|Planning Time|Execution Time/.test(l))
    .map((l) => l.replace(/'\[[^\]]*\]'/g, "'[…]'").replace(/\s+\(cost=[^)]*\)/, '').trimEnd());
}

/**
 * The SQL the service sends for a search, rebuilt with the store's own `search` function (it
 * only records the statement here), then run under EXPLAIN ANALYZE with the service's tenant
 * and ef_search settings. Mirrors the service's choices for k=10 without filters.
 */
async function servicePlan(p: Platform, tenantId: string, mode: 'vector' | 'hybrid', q: Query, generic = false): Promise<string[]> {
  let captured: { text: string; values: readonly unknown[] } | undefined;
  const recorder = {
    query: (statement: string | { text: string; values: readonly unknown[] }, values?: readonly unknown[]) => {
      captured = typeof statement === 'string' ? { text: statement, values: values ?? [] } : { text: statement.text, values: statement.values };
      return Promise.resolve({ rows: [] });
    },
  } as unknown as Tx;
  await searchSql(recorder, {
    tenantId,
    space: p.memory.space,
    queryVector: vectorLiteral(q.vector),
    queryText: q.text,
    mode,
    candidates: SERVICE_DEPTH,
    limit: 10,
    scope: {},
    filters: undefined,
    asOf: undefined,
    recencyHalfLifeDays: undefined,
    withEmbeddings: false,
  });
  const sql = captured!;
  // The service runs the statement prepared, with its generic plan forced: GENERIC_PLAN shows that
  // plan (without timings, since it cannot run without values).
  const res = await p.db.withTenant(tenantId, (tx) => (generic ? tx.query(`EXPLAIN (GENERIC_PLAN) ${sql.text}`) : tx.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql.text}`, sql.values)), {
    readOnly: true,
    settings: { 'hnsw.ef_search': SERVICE_EF },
  });
  return res.rows.map((r) => String(r['QUERY PLAN']));
}

async function runScale(kind: DbKind, n: number, corpus: Corpus, opts: Options, real: RealPostgres | undefined): Promise<ScaleResult> {
  log(`${kind}: fresh database, platform with the hashing embedder (${opts.dims}-d); vectors are precomputed`);
  // The raw pgvector baseline runs outside a transaction: it gets the service's ef_search as the
  // database default, so both search equally wide.
  const env = {
    DATABASE_POOL_MAX: String(Math.max(opts.concurrency, opts.ingestConcurrency)),
    EMBEDDINGS_PROVIDER: 'hashing',
    EMBEDDINGS_DIMENSIONS: String(opts.dims),
  };
  return onFreshPlatform(kind, real, env, async (p, db): Promise<ScaleResult> => {
    for (const stmt of db.sessionSettings) await p.db.withConnection((c) => c.query(stmt));
    const { memory } = p;
    const tenantId = (await p.auth.getTenant('default')).id;
    const audit = { actor: 'bench' };
    const spaceId = memory.space.id;
    const dims = opts.dims;
    const indexName = `memories_hnsw_s${spaceId}`;
    const ver = await versions(p);
    const settings = await p.db.withConnection(async (c) => {
      const out: Record<string, string> = {};
      for (const s of ['shared_buffers', 'work_mem', 'maintenance_work_mem', 'fsync', 'synchronous_commit', 'max_parallel_workers_per_gather']) {
        out[s] = (await c.query<{ v: string }>(`SELECT current_setting($1) AS v`, [s])).rows[0]!.v;
      }
      return out;
    });
    const sql = (text: string, values?: unknown[]) => p.db.withConnection((c) => c.query(text, values));

    // Baseline: the same rows and vectors, one plain INSERT … unnest per batch, into a scratch
    // table carrying the same partial HNSW expression index; loaded interleaved with memory.add.
    log(`${kind}: ingest ${n.toLocaleString('en-US')} rows through memory.add and through the raw INSERT baseline, interleaved`);
    await sql(`DROP TABLE IF EXISTS bench_raw`);
    await sql(`CREATE TABLE bench_raw (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, text text NOT NULL, space_id integer NOT NULL, embedding vector NOT NULL)`);
    const rawIndexSql = `CREATE INDEX bench_raw_hnsw ON bench_raw USING hnsw ((embedding::vector(${dims})) vector_cosine_ops) WHERE space_id = ${spaceId}`;
    const ids: string[] = new Array<string>(n);
    const addRows = async (s: number, e: number) => {
      const memories = [];
      const vectors: Float32Array[] = [];
      for (let i = s; i < e; i++) {
        memories.push({ text: corpus.texts[i]!, user_id: `user-${i % 100}` });
        vectors.push(corpus.vector(i));
      }
      const added = await memory.add(tenantId, { memories }, audit, { vectors });
      added.forEach((m, j) => {
        if (m.deduplicated) throw new Error(`row ${s + j} was deduplicated: the synthetic texts must be unique`);
        ids[s + j] = m.id;
      });
    };
    const rawRows = async (s: number, e: number) => {
      const vecs: string[] = [];
      for (let i = s; i < e; i++) vecs.push(vectorLiteral(corpus.vector(i)));
      await sql(`INSERT INTO bench_raw (text, space_id, embedding) SELECT t, $3, e::vector FROM unnest($1::text[], $2::text[]) AS u(t, e)`, [corpus.texts.slice(s, e), vecs, spaceId]);
    };
    // With --ingest-rows below --rows, the first rows are loaded without the HNSW indexes (then
    // built in one pass) and unmeasured, so that the measured inserts run against a full-size graph.
    const prefix = n - Math.min(n, opts.ingestRows);
    if (prefix > 0) {
      log(`${kind}: unmeasured prefix: ${prefix.toLocaleString('en-US')} rows through memory.add and the raw table without HNSW indexes, then CREATE INDEX`);
      const memIndex = (await p.db.withConnection((c) => c.query<{ d: string }>(`SELECT pg_get_indexdef($1::regclass) AS d`, [indexName]))).rows[0]!.d;
      await sql(`DROP INDEX ${indexName}`);
      for (const [s, e] of batches(prefix, opts.batch)) await Promise.all([addRows(s, e), rawRows(s, e)]);
      await p.db.withConnection(async (c) => {
        await c.query(`SET statement_timeout = 0; SET maintenance_work_mem = '${BULK_BUILD_MEMORY}'`);
        await c.query(memIndex);
        await c.query(rawIndexSql);
        await c.query('RESET statement_timeout; RESET maintenance_work_mem');
      });
    } else {
      await sql(rawIndexSql);
    }
    log(`${kind}: measured ingest of ${(n - prefix).toLocaleString('en-US')} rows (table at ${prefix.toLocaleString('en-US')} → ${n.toLocaleString('en-US')})`);
    const ingest = await interleavedIngest(prefix, n, opts, { raw: rawRows, service: addRows });
    const { raw, service } = ingest;
    await sql(`DROP TABLE bench_raw`);
    log(`${kind}: memory.add ${fmt(service.per_s)} memories/s; baseline ${fmt(raw.per_s)} rows/s`);

    // Extra, for comparison only: the same rows loaded without an index, the HNSW index built
    // afterwards in memory (what a bulk import could do instead of maintaining the graph per row).
    log(`${kind}: extra: bulk load without index, then CREATE INDEX (maintenance_work_mem ${BULK_BUILD_MEMORY})`);
    const bulk = await p.db.withConnection(async (c) => {
      await c.query(`CREATE TABLE bench_bulk (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, text text NOT NULL, space_id integer NOT NULL, embedding vector NOT NULL)`);
      try {
        const l0 = performance.now();
        for (const [s, e] of batches(n, opts.batch)) {
          const vecs: string[] = [];
          for (let i = s; i < e; i++) vecs.push(vectorLiteral(corpus.vector(i)));
          await c.query(`INSERT INTO bench_bulk (text, space_id, embedding) SELECT t, $3, e::vector FROM unnest($1::text[], $2::text[]) AS u(t, e)`, [corpus.texts.slice(s, e), vecs, spaceId]);
        }
        const load_s = (performance.now() - l0) / 1000;
        const b0 = performance.now();
        try {
          await c.query(`SET statement_timeout = 0; SET maintenance_work_mem = '${BULK_BUILD_MEMORY}'`);
          await c.query(`CREATE INDEX bench_bulk_hnsw ON bench_bulk USING hnsw ((embedding::vector(${dims})) vector_cosine_ops) WHERE space_id = ${spaceId}`);
        } catch (err) {
          return { load_s, build_s: NaN, per_s: NaN, error: (err as Error).message };
        } finally {
          await c.query('RESET statement_timeout; RESET maintenance_work_mem');
        }
        const build_s = (performance.now() - b0) / 1000;
        return { load_s, build_s, per_s: n / (load_s + build_s) };
      } finally {
        await c.query('DROP TABLE bench_bulk');
      }
    });
    log(`${kind}: bulk load ${fmt(bulk.load_s)} s + index build ${fmt(bulk.build_s)} s = ${fmt(bulk.per_s)} rows/s${'error' in bulk ? ` (${bulk.error})` : ''}`);

    // Steady state for the reads that follow, as autovacuum would reach after a bulk load.
    await p.db.withConnection(async (c) => {
      await c.query('SET statement_timeout = 0');
      await c.query('VACUUM ANALYZE memories');
      await c.query('VACUUM ANALYZE memory_versions');
      await c.query('RESET statement_timeout');
    });
    const sizes = (
      await sql(
        `SELECT pg_size_pretty(pg_table_size('memories')) AS memories_table, pg_size_pretty(pg_relation_size('${indexName}')) AS hnsw_index,
                pg_size_pretty(pg_relation_size('memories_fts')) AS fts_index`,
      )
    ).rows[0] as Record<string, string>;

    const rawVectorSql = `SELECT id FROM memories WHERE space_id = $1 ORDER BY embedding::vector(${dims}) <=> $2 LIMIT 10`;
    const rawFulltextSql = `SELECT id FROM memories, (SELECT replace(plainto_tsquery('english', $1)::text, ' & ', ' | ')::tsquery AS q) tsq
                             WHERE fts @@ tsq.q ORDER BY ts_rank(fts, tsq.q, 1) DESC, id LIMIT ${SERVICE_DEPTH}`;
    // The hybrid baseline: the same two raw queries in one statement, fused by reciprocal rank as
    // the service fuses them, returning ids only (no RLS, no transaction, no scope or validity).
    const rawHybridSql = `WITH vec AS (
        SELECT id, row_number() OVER (ORDER BY d) AS r FROM (
          SELECT id, embedding::vector(${dims}) <=> $2 AS d FROM memories WHERE space_id = $1
           ORDER BY embedding::vector(${dims}) <=> $2 LIMIT ${SERVICE_DEPTH}) x),
      fts AS (
        SELECT id, row_number() OVER (ORDER BY s DESC, id) AS r FROM (
          SELECT id, ts_rank(fts, tsq.q, 1) AS s FROM memories, (SELECT replace(plainto_tsquery('english', $3)::text, ' & ', ' | ')::tsquery AS q) tsq
           WHERE fts @@ tsq.q ORDER BY s DESC, id LIMIT ${SERVICE_DEPTH}) y)
      SELECT coalesce(vec.id, fts.id) AS id, coalesce(1.0 / (60 + vec.r), 0) + coalesce(1.0 / (60 + fts.r), 0) AS rrf
        FROM vec FULL OUTER JOIN fts ON vec.id = fts.id ORDER BY rrf DESC, id LIMIT 10`;
    const plan = await sql(`EXPLAIN ${rawVectorSql}`, [spaceId, vectorLiteral(corpus.vector(0))]);
    const planText = plan.rows.map((r) => String((r as Record<string, unknown>)['QUERY PLAN'])).join('\n');
    const usesHnsw = planText.includes(indexName);
    const planQuery = generateQueries(corpus, n, 1, { seed: opts.seed + 3, noise: opts.queryNoise, codeShare: 0 })[0]!;
    const rawPlan = (await sql(`EXPLAIN (ANALYZE, BUFFERS) ${rawVectorSql}`, [spaceId, vectorLiteral(planQuery.vector)])).rows.map((r) =>
      String((r as Record<string, unknown>)['QUERY PLAN']),
    );
    const plans: ScaleResult['plans'] = { raw_vector: { summary: summarisePlan(rawPlan), full: rawPlan } };
    for (const mode of ['vector', 'hybrid'] as const) {
      const full = await servicePlan(p, tenantId, mode, planQuery);
      plans[`service_${mode}`] = { summary: summarisePlan(full), full };
      if (kind === 'postgres') {
        const generic = await servicePlan(p, tenantId, mode, planQuery, true);
        plans[`service_${mode} (generic plan, as run)`] = { summary: summarisePlan(generic), full: generic };
      }
    }
    if (!usesHnsw) log(`${kind}: WARNING the raw query does not use ${indexName}:\n${planText}`);

    // Latency: distinct queries, cycled; every mode sees the same sequence.
    const queries = generateQueries(corpus, n, Math.min(opts.requests, 2000), { seed: opts.seed + 1, noise: opts.queryNoise, codeShare: 0.3 });
    const q = (i: number) => queries[i % queries.length]!;
    const modes: Record<keyof ScaleResult['latency'], (i: number) => Promise<unknown>> = {
      raw_vector: (i) => sql(rawVectorSql, [spaceId, vectorLiteral(q(i).vector)]),
      service_vector: (i) => memory.search(tenantId, { query: q(i).text, k: 10, mode: 'vector' }, { queryVector: q(i).vector }),
      service_hybrid: (i) => memory.search(tenantId, { query: q(i).text, k: 10, mode: 'hybrid' }, { queryVector: q(i).vector }),
      raw_fulltext: (i) => sql(rawFulltextSql, [q(i).text]),
      raw_hybrid: (i) => sql(rawHybridSql, [spaceId, vectorLiteral(q(i).vector), q(i).text]),
    };
    // Each mode is warmed up, then measured in interleaved rounds (the order rotating), so that
    // load from elsewhere on the machine falls on every mode alike.
    type ModeName = keyof ScaleResult['latency'];
    const names = Object.keys(modes) as ModeName[];
    for (const name of names) {
      if (opts.warmup > 0) await closedLoop({ concurrency: opts.concurrency, requests: opts.warmup, maxSeconds: opts.maxSeconds, run: (i) => modes[name](i + 7919) });
    }
    const runs = Object.fromEntries(names.map((k) => [k, [] as LoadRun[]])) as Record<ModeName, LoadRun[]>;
    const perRound = Math.ceil(opts.requests / opts.rounds);
    for (let r = 0; r < opts.rounds; r++) {
      for (let j = 0; j < names.length; j++) {
        const name = names[(r + j) % names.length]!;
        const offset = r * perRound;
        runs[name].push(await closedLoop({ concurrency: opts.concurrency, requests: perRound, maxSeconds: opts.maxSeconds / opts.rounds, run: (i) => modes[name](offset + i) }));
      }
    }
    const latency = {} as ScaleResult['latency'];
    for (const name of names) {
      const r = summarise(runs[name]);
      if (r.errors > 0) throw new Error(`${kind} ${name}: ${r.errors} requests failed, first: ${r.firstError}`);
      latency[name] = r;
      log(`${kind}: ${name} p50 ${fmt(r.p50_ms)} ms, p99 ${fmt(r.p99_ms)} ms, ${fmt(r.throughput_per_s)} req/s${r.truncated ? ' (time limit hit)' : ''}`);
    }

    // Recall@10: exact neighbours computed in JS from the very vectors that were stored.
    log(`${kind}: exact top-10 for ${opts.recallQueries} queries (brute force in JS)`);
    const recallQueries: Query[] = generateQueries(corpus, n, opts.recallQueries, { seed: opts.seed + 2, noise: opts.queryNoise, codeShare: 0 });
    const truth = recallQueries.map((rq) => new Set(exactTopK(corpus, n, rq.vector, 10).map((i) => ids[i]!)));
    const recallOf = (found: string[][]) => found.reduce((sum, f, qi) => sum + f.filter((id) => truth[qi]!.has(id)).length / 10, 0) / found.length;
    const serviceFound: string[][] = [];
    for (const rq of recallQueries) serviceFound.push((await memory.search(tenantId, { query: rq.text, k: 10, mode: 'vector' }, { queryVector: rq.vector })).map((m) => m.id));
    const serviceRecall = { ef_search: SERVICE_EF, recall_at_10: recallOf(serviceFound) };
    const sweep: RecallRow[] = [];
    for (const ef of opts.efSearch) {
      const found: string[][] = [];
      const lat: number[] = [];
      for (const rq of recallQueries) {
        const started = performance.now();
        const rows = await p.db.withConnection(async (c) => {
          await c.query(`BEGIN; SET LOCAL hnsw.ef_search = ${ef}`);
          try {
            return (await c.query<{ id: string }>(rawVectorSql, [spaceId, vectorLiteral(rq.vector)])).rows;
          } finally {
            await c.query('COMMIT');
          }
        });
        lat.push(performance.now() - started);
        found.push(rows.map((r) => r.id));
      }
      lat.sort((a, b) => a - b);
      sweep.push({ ef_search: ef, recall_at_10: recallOf(found), single_client_p50_ms: percentile(lat, 50) });
    }
    log(`${kind}: recall@10 service ${fmt(serviceRecall.recall_at_10, 3)}; sweep ${sweep.map((s) => `ef ${s.ef_search}: ${fmt(s.recall_at_10, 3)}`).join(', ')}`);

    return {
      db: kind,
      rows: n,
      server: ver.server,
      pgvector: ver.pgvector,
      settings,
      sizes,
      hnsw_index: indexName,
      raw_plan_uses_hnsw: usesHnsw,
      plans,
      ingest: { service, raw, bulk },
      latency,
      recall: { service: serviceRecall, sweep, queries: recallQueries.length },
    };
  }, { 'hnsw.ef_search': SERVICE_EF });
}

// ---------------------------------------------------------------------------------------------
// Retrieval quality

interface QaSet {
  passages: Array<{ id: string; text: string }>;
  /** `kind`: paraphrase or exact (memory-qa), synopsis (debian-qa); recall@5 is reported per kind. */
  questions: Array<{ q: string; ids: string[]; kind: string }>;
}

const MODES = ['hybrid', 'vector', 'fulltext'] as const;
type Mode = (typeof MODES)[number];

/**
 * What-if fusions, computed in the benchmark (not by the service) from the service's own
 * vector-only and full-text-only rankings: they show which change to the fusion would help.
 */
const WHAT_IFS = [
  { name: 'what-if: RRF of top-10 lists (as the service for k=10)', depth: 10, textWeight: 1 },
  { name: 'what-if: RRF of top-40 lists (the earlier default)', depth: 40, textWeight: 1 },
  { name: 'what-if: RRF of top-40 lists, full-text weight 0.5', depth: 40, textWeight: 0.5 },
] as const;

interface QualityScores {
  recall_at_5: number;
  recall_at_10: number;
  mrr_at_10: number;
  /** recall@5 of the questions of each kind. */
  recall_at_5_by_kind: Record<string, number>;
}

interface QualityResult {
  set: string;
  db: DbKind;
  embedder: { provider: string; model: string; dimensions: number; quality: string };
  passages: number;
  questions: number;
  modes: Record<Mode, QualityScores>;
  what_if: Record<string, QualityScores>;
}

function score(qa: QaSet, rankings: Array<Array<string | undefined>>): QualityScores {
  const sums = { r5: 0, r10: 0, mrr: 0 };
  const byKind = new Map<string, { sum: number; n: number }>();
  qa.questions.forEach((question, qi) => {
    const found = rankings[qi]!;
    const relevant = new Set(question.ids);
    const hits = (k: number) => found.slice(0, k).filter((id) => id !== undefined && relevant.has(id)).length / relevant.size;
    const first = found.slice(0, 10).findIndex((id) => id !== undefined && relevant.has(id));
    sums.r5 += hits(5);
    sums.r10 += hits(10);
    sums.mrr += first >= 0 ? 1 / (first + 1) : 0;
    const k = byKind.get(question.kind) ?? { sum: 0, n: 0 };
    k.sum += hits(5);
    k.n++;
    byKind.set(question.kind, k);
  });
  const n = qa.questions.length;
  return {
    recall_at_5: sums.r5 / n,
    recall_at_10: sums.r10 / n,
    mrr_at_10: sums.mrr / n,
    recall_at_5_by_kind: Object.fromEntries([...byKind].map(([kind, k]) => [kind, k.sum / k.n])),
  };
}

/** Reciprocal-rank fusion with the service's constant (60) and the service's tie-break on id order. */
function rrf(lists: Array<{ ids: string[]; weight: number }>): string[] {
  const fused = new Map<string, number>();
  for (const { ids, weight } of lists) ids.forEach((id, r) => fused.set(id, (fused.get(id) ?? 0) + weight / (60 + r + 1)));
  return [...fused.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);
}

async function runQuality(set: string, kind: DbKind, real: RealPostgres | undefined, embedderEnv: Record<string, string>): Promise<QualityResult> {
  const qa = JSON.parse(readFileSync(path.join(BENCH_DIR, 'data', `${set}.json`), 'utf8')) as QaSet;
  return onFreshPlatform(kind, real, embedderEnv, async (platform): Promise<QualityResult> => {
    const { memory, embedder } = platform;
    log(`${kind}: quality on ${set} with ${embedder.provider}/${embedder.model}: ${qa.passages.length} passages, ${qa.questions.length} questions`);
    const tenantId = (await platform.auth.getTenant('default')).id;
    // Through the platform's normal path: the configured embedder embeds passages and questions.
    const added: Array<{ id: string }> = [];
    for (let i = 0; i < qa.passages.length; i += 100) {
      added.push(...(await memory.add(tenantId, { memories: qa.passages.slice(i, i + 100).map((p) => ({ text: p.text, source: p.id })) }, { actor: 'bench' })));
    }
    const passageOf = new Map(added.map((m, i) => [m.id, qa.passages[i]!.id]));
    const search = async (q: string, mode: Mode, k: number) => (await memory.search(tenantId, { query: q, k, mode })).map((m) => m.id);

    const modes = {} as Record<Mode, QualityScores>;
    for (const mode of MODES) {
      const rankings: Array<Array<string | undefined>> = [];
      for (const question of qa.questions) rankings.push((await search(question.q, mode, 10)).map((id) => passageOf.get(id)));
      modes[mode] = score(qa, rankings);
    }
    const deep: Array<{ vector: string[]; fulltext: string[] }> = [];
    for (const question of qa.questions) deep.push({ vector: await search(question.q, 'vector', 40), fulltext: await search(question.q, 'fulltext', 40) });
    const what_if: Record<string, QualityScores> = {};
    for (const w of WHAT_IFS) {
      const rankings = deep.map((d) =>
        rrf([
          { ids: d.vector.slice(0, w.depth), weight: 1 },
          { ids: d.fulltext.slice(0, w.depth), weight: w.textWeight },
        ]).map((id) => passageOf.get(id)),
      );
      what_if[w.name] = score(qa, rankings);
    }
    log(`${kind}: recall@5 ${MODES.map((m) => `${m} ${fmt(modes[m].recall_at_5, 2)}`).join(', ')}`);
    return {
      set,
      db: kind,
      embedder: { provider: embedder.provider, model: embedder.model, dimensions: embedder.dimensions, quality: embedder.quality },
      passages: qa.passages.length,
      questions: qa.questions.length,
      modes,
      what_if,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Report

const DB_LABEL: Record<DbKind, string> = { postgres: 'PostgreSQL', embedded: 'PGlite (embedded)' };

function mark(value: number, ok: boolean, digits?: number): string {
  return `${fmt(value, digits)} ${ok ? '✓' : '✗'}`;
}

function resultsTable(scale: ScaleResult[]): string {
  const col = (f: (r: ScaleResult) => Cell) => scale.map(f);
  const lat = (r: ScaleResult, k: keyof ScaleResult['latency']) => r.latency[k];
  const ratio = (r: ScaleResult, k: 'service_vector' | 'service_hybrid', p: 'p50_ms' | 'p99_ms') => lat(r, k)[p] / lat(r, 'raw_vector')[p];
  const hybridRatio = (r: ScaleResult, p: 'p50_ms' | 'p99_ms') => lat(r, 'service_hybrid')[p] / lat(r, 'raw_hybrid')[p];
  const rows: Cell[][] = [
    ['memories stored', '', ...col((r) => r.rows)],
    ['ingest: memory.add, precomputed vectors (memories/s)', `>= ${fmt(TARGETS.ingestPerS)}`, ...col((r) => mark(r.ingest.service.per_s, r.ingest.service.per_s >= TARGETS.ingestPerS))],
    ['  baseline: raw INSERT … unnest, same HNSW index (rows/s)', '', ...col((r) => r.ingest.raw.per_s)],
    ['  memory.add / baseline throughput', '', ...col((r) => `${fmt(r.ingest.service.per_s / r.ingest.raw.per_s, 2)}x`)],
    ['  memory.add batch latency p50 / p99 (ms)', '', ...col((r) => `${fmt(r.ingest.service.batch_p50_ms)} / ${fmt(r.ingest.service.batch_p99_ms)}`)],
    [
      `  extra: bulk load without index, then CREATE INDEX (maintenance_work_mem ${BULK_BUILD_MEMORY}): rows/s (load s + build s)`,
      '',
      ...col((r) => (r.ingest.bulk.error ? `failed: ${r.ingest.bulk.error}` : `${fmt(r.ingest.bulk.per_s)} (${fmt(r.ingest.bulk.load_s)} + ${fmt(r.ingest.bulk.build_s)})`)),
    ],
    ['search vector, k=10: p50 (ms)', `<= ${TARGETS.p50Ms}`, ...col((r) => mark(lat(r, 'service_vector').p50_ms, lat(r, 'service_vector').p50_ms <= TARGETS.p50Ms))],
    ['search vector, k=10: p99 (ms)', `<= ${TARGETS.p99Ms}`, ...col((r) => mark(lat(r, 'service_vector').p99_ms, lat(r, 'service_vector').p99_ms <= TARGETS.p99Ms))],
    ['search hybrid, k=10: p50 (ms)', `<= ${TARGETS.p50Ms}`, ...col((r) => mark(lat(r, 'service_hybrid').p50_ms, lat(r, 'service_hybrid').p50_ms <= TARGETS.p50Ms))],
    ['search hybrid, k=10: p99 (ms)', `<= ${TARGETS.p99Ms}`, ...col((r) => mark(lat(r, 'service_hybrid').p99_ms, lat(r, 'service_hybrid').p99_ms <= TARGETS.p99Ms))],
    ['  baseline: raw pgvector query p50 / p99 (ms)', '', ...col((r) => `${fmt(lat(r, 'raw_vector').p50_ms)} / ${fmt(lat(r, 'raw_vector').p99_ms)}`)],
    ['  vector / raw: p50', `<= ${TARGETS.ratio}x`, ...col((r) => `${mark(ratio(r, 'service_vector', 'p50_ms'), ratio(r, 'service_vector', 'p50_ms') <= TARGETS.ratio, 2)}`)],
    ['  vector / raw: p99', `<= ${TARGETS.ratio}x`, ...col((r) => `${mark(ratio(r, 'service_vector', 'p99_ms'), ratio(r, 'service_vector', 'p99_ms') <= TARGETS.ratio, 2)}`)],
    ['  hybrid / raw: p50', `<= ${TARGETS.ratio}x`, ...col((r) => `${mark(ratio(r, 'service_hybrid', 'p50_ms'), ratio(r, 'service_hybrid', 'p50_ms') <= TARGETS.ratio, 2)}`)],
    ['  hybrid / raw: p99', `<= ${TARGETS.ratio}x`, ...col((r) => `${mark(ratio(r, 'service_hybrid', 'p99_ms'), ratio(r, 'service_hybrid', 'p99_ms') <= TARGETS.ratio, 2)}`)],
    ['  baseline: raw hybrid query (the raw vector and full-text queries fused by RRF in one statement) p50 / p99 (ms)', '', ...col((r) => `${fmt(lat(r, 'raw_hybrid').p50_ms)} / ${fmt(lat(r, 'raw_hybrid').p99_ms)}`)],
    ['  hybrid / raw hybrid: p50', `<= ${TARGETS.ratio}x`, ...col((r) => `${mark(hybridRatio(r, 'p50_ms'), hybridRatio(r, 'p50_ms') <= TARGETS.ratio, 2)}`)],
    ['  hybrid / raw hybrid: p99', `<= ${TARGETS.ratio}x`, ...col((r) => `${mark(hybridRatio(r, 'p99_ms'), hybridRatio(r, 'p99_ms') <= TARGETS.ratio, 2)}`)],
    [`  extra: raw full-text OR query (table owner, no RLS), top ${SERVICE_DEPTH} by ts_rank (normalisation 1), p50 / p99 (ms)`, '', ...col((r) => `${fmt(lat(r, 'raw_fulltext').p50_ms)} / ${fmt(lat(r, 'raw_fulltext').p99_ms)}`)],
    [
      '  measured requests raw / vector / hybrid (* = cut by the time limit)',
      '',
      ...col((r) =>
        (['raw_vector', 'service_vector', 'service_hybrid'] as const).map((k) => `${lat(r, k).requests.toLocaleString('en-US')}${lat(r, k).truncated ? '*' : ''}`).join(' / '),
      ),
    ],
    ['  throughput raw / vector / hybrid (req/s)', '', ...col((r) => ['raw_vector', 'service_vector', 'service_hybrid'].map((k) => fmt(lat(r, k as keyof ScaleResult['latency']).throughput_per_s, 0)).join(' / '))],
    [`HNSW recall@10, service (ef_search ${scale[0]?.recall.service.ef_search ?? SERVICE_EF})`, `>= ${TARGETS.recall}`, ...col((r) => mark(r.recall.service.recall_at_10, r.recall.service.recall_at_10 >= TARGETS.recall, 3))],
  ];
  const efs = scale[0]?.recall.sweep.map((s) => s.ef_search) ?? [];
  for (const ef of efs) {
    rows.push([
      `  raw query at ef_search ${ef}: recall@10 (single-client p50 ms)`,
      '',
      ...col((r) => {
        const s = r.recall.sweep.find((x) => x.ef_search === ef);
        return s ? `${fmt(s.recall_at_10, 3)} (${fmt(s.single_client_p50_ms)})` : null;
      }),
    ]);
  }
  return table(['measure', 'target', ...scale.map((r) => `${DB_LABEL[r.db]}, ${fmt(r.rows / 1000, 0)}k`)], rows);
}

function qualityTable(results: QualityResult[]): string {
  const kinds = [...new Set(results.map((r) => r.db))];
  const embedderOf = (r: QualityResult) => `${r.set}: ${r.embedder.provider}/${r.embedder.model}`;
  const embedders = [...new Set(results.map(embedderOf))];
  const rows: Cell[][] = [];
  const pick = (r: QualityResult | undefined, name: string) => (MODES.includes(name as Mode) ? r?.modes[name as Mode] : r?.what_if[name]);
  for (const e of embedders) {
    for (const name of [...MODES, ...WHAT_IFS.map((w) => w.name)]) {
      const cells: Cell[] = [e, name];
      for (const k of kinds) {
        const s = pick(results.find((x) => x.db === k && embedderOf(x) === e), name);
        cells.push(s ? fmt(s.recall_at_5, 3) : null, s ? fmt(s.recall_at_10, 3) : null);
      }
      const first = pick(results.find((x) => embedderOf(x) === e), name);
      const byKind = first ? Object.entries(first.recall_at_5_by_kind) : [];
      cells.push(first ? fmt(first.mrr_at_10, 3) : null, byKind.length > 1 ? byKind.map(([k, v]) => `${k} ${fmt(v, 3)}`).join(', ') : null);
      rows.push(cells);
    }
  }
  const header = ['set: embedder', 'retriever'];
  for (const k of kinds) header.push(`${DB_LABEL[k]} recall@5`, `${DB_LABEL[k]} recall@10`);
  header.push(`MRR@10 (${DB_LABEL[kinds[0]!]})`, 'recall@5 by question kind');
  return table(header, rows);
}

function hybridVerdict(results: QualityResult[]): string[] {
  return results.map((r) => {
    const h = r.modes.hybrid;
    const beats = (k: 'recall_at_5' | 'recall_at_10') => h[k] > r.modes.vector[k] && h[k] > r.modes.fulltext[k];
    return `- ${r.set}, ${DB_LABEL[r.db]}, ${r.embedder.provider}/${r.embedder.model}: hybrid beats both single retrievers at recall@5: ${beats('recall_at_5') ? 'yes ✓' : 'no ✗'}, at recall@10: ${beats('recall_at_10') ? 'yes ✓' : 'no ✗'}`;
  });
}

export async function main(args: string[]): Promise<number> {
  const opts = parseOptions(args);
  if (!opts) return 0;
  const startedAt = new Date();
  const host = machine();
  const command = benchCommand('memory', args);
  log(`${command} (${opts.quick ? 'quick' : 'full'} sizes)`);

  let real: RealPostgres | undefined;
  if (opts.dbs.includes('postgres')) real = await realPostgres(log);
  try {
    const largest = !opts.scale ? 0 : Math.max(...opts.dbs.map((k) => (k === 'postgres' ? opts.rows : opts.embeddedRows)));
    log(`generating ${largest.toLocaleString('en-US')} synthetic ${opts.dims}-d memories (seed ${opts.seed})`);
    const corpus = generateCorpus({
      rows: largest,
      dims: opts.dims,
      clusters: opts.clusters,
      subspaceDims: opts.subspaceDims,
      noise: opts.noise,
      isotropicNoise: opts.isotropicNoise,
      seed: opts.seed,
    });

    const scale: ScaleResult[] = [];
    if (opts.scale) for (const kind of opts.dbs) scale.push(await runScale(kind, kind === 'postgres' ? opts.rows : opts.embeddedRows, corpus, opts, real));

    const quality: QualityResult[] = [];
    const modelDir = process.env.PLINTH_TEST_EMBED_MODEL_DIR;
    const haveModel = modelDir !== undefined && existsSync(path.join(modelDir, 'model.onnx'));
    if (opts.quality) {
      const embedders: Array<Record<string, string>> = haveModel
        ? [{ EMBEDDINGS_PROVIDER: 'local', EMBEDDINGS_LOCAL_MODEL_DIR: modelDir }, { EMBEDDINGS_PROVIDER: 'hashing' }]
        : [{ EMBEDDINGS_PROVIDER: 'hashing' }];
      if (!haveModel) log('PLINTH_TEST_EMBED_MODEL_DIR is unset or holds no model.onnx: quality is measured with the hashing embedder only');
      for (const set of opts.qaSets) for (const env of embedders) for (const kind of opts.dbs) quality.push(await runQuality(set, kind, real, env));
    }

    const finishedAt = new Date();
    const inputs: Array<[string, Cell]> = [
      ['command', command],
      ['date', startedAt.toISOString()],
      ['memories', opts.dbs.map((k) => `${DB_LABEL[k]}: ${(k === 'postgres' ? opts.rows : opts.embeddedRows).toLocaleString('en-US')}`).join('; ')],
      [
        'vectors',
        `${opts.dims}-d unit vectors, Gaussian mixture of ${opts.clusters} centres; noise ${opts.noise} in a ${opts.subspaceDims}-d subspace per cluster + ${opts.isotropicNoise} isotropic; seed ${opts.seed}`,
      ],
      ['texts', '4 cluster topic words + 10 Zipf–Mandelbrot general words (20k vocabulary) + 1 unique code per memory'],
      ['queries', `a stored vector + ${opts.queryNoise} isotropic noise; text: 2–4 of its words, its code in 30%`],
      ['embedder (scale part)', `hashing (${opts.dims}-d) configured; vectors passed precomputed, so no embedding time is measured`],
      ['HNSW index', `pgvector defaults (m 16, ef_construction 64), partial expression index ${scale[0]?.hnsw_index ?? ''}; service ef_search = max(100, depth) = ${SERVICE_EF}, list depth max(10, k) = ${SERVICE_DEPTH}; the raw baseline runs at the same ef_search (a database default)`],
      [
        'ingestion',
        `measured: the last ${Math.min(opts.ingestRows, opts.rows).toLocaleString('en-US')} rows (any earlier rows loaded unmeasured, indexes built after); batches of ${opts.batch}, ${opts.ingestConcurrency} concurrent; memory.add and the raw baseline interleaved in chunks of ${opts.ingestConcurrency * 4} batches; VACUUM ANALYZE before reads`,
      ],
      [
        'search',
        `${opts.concurrency} closed-loop clients, pool of ${opts.concurrency}; ${opts.warmup} warm-up + ${opts.requests} measured requests per mode in ${opts.rounds} interleaved rounds; k=10; limit ${opts.maxSeconds} s per mode`,
      ],
      ['recall', `${opts.recallQueries} queries; exact top-10 by brute force in JS over the stored vectors`],
    ];
    for (const r of scale) {
      inputs.push([`${DB_LABEL[r.db]} settings`, Object.entries(r.settings).map(([k, v]) => `${k}=${v}`).join(', ')]);
      inputs.push([`${DB_LABEL[r.db]} sizes`, Object.entries(r.sizes).map(([k, v]) => `${k} ${v}`).join(', ')]);
    }
    const servers = scale.map((r): [string, Cell] => [DB_LABEL[r.db], `PostgreSQL ${r.server}, pgvector ${r.pgvector}`]);

    const out: string[] = [];
    out.push('', '## Machine', '', table(['', ''], machineRows(host, servers)));
    out.push('', '## Inputs', '', table(['', ''], inputs));
    if (scale.length) {
      out.push('', '## Results', '', resultsTable(scale));
      out.push('', '## Query plans (EXPLAIN ANALYZE of one query per mode after the load; scan nodes and timings)');
      for (const r of scale) {
        for (const [name, plan] of Object.entries(r.plans)) out.push('', `${DB_LABEL[r.db]}, ${name}:`, '', '```', ...plan.summary, '```');
      }
    }
    if (quality.length) {
      const sets = [...new Map(quality.map((q) => [q.set, q])).values()];
      out.push('', `## Retrieval quality (k=10; ${sets.map((q) => `${q.set}: ${q.passages} passages, ${q.questions} labelled questions`).join('; ')})`, '');
      const used = [...new Set(quality.map((q) => `${q.embedder.provider} / ${q.embedder.model} (${q.embedder.dimensions}-d, quality ${q.embedder.quality})`))];
      out.push(`Embedders used: ${used.join('; ')}${haveModel ? '' : ' — no local model was available'}`, '');
      out.push(qualityTable(quality), '', ...hybridVerdict(quality));
    }
    out.push('');
    process.stdout.write(out.join('\n'));

    saveResults('memory', startedAt, {
      benchmark: 'memory',
      command,
      started_at: startedAt.toISOString(),
      finished_at: finishedAt.toISOString(),
      machine: { ...host, load_average_at_end: os.loadavg() },
      options: opts,
      targets: TARGETS,
      scale,
      quality,
    });
    return 0;
  } finally {
    real?.stop?.();
  }
}
