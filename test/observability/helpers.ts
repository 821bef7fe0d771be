// Observability test fixtures: a running Plinth with some traffic on it, its /metrics exposition
// turned into the set of metric names it exports, the PromQL of every dashboard panel and rule,
// and the Debian Prometheus binaries (promtool, prometheus) these tests drive.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { parse as parseYaml } from 'yaml';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import type { StartPlatformOptions } from '../../src/platform.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const OBSERVABILITY = path.join(ROOT, 'deploy/observability');
export const RULES_DIR = path.join(OBSERVABILITY, 'prometheus/rules');
export const RULE_TESTS_DIR = path.join(OBSERVABILITY, 'prometheus/tests');
export const DASHBOARDS_DIR = path.join(OBSERVABILITY, 'grafana/dashboards');
export const RUNBOOKS_DIR = path.join(ROOT, 'docs/runbooks');
export const METRICS_TOKEN = 'prometheus-scrape-token-0123456789';

/** Series Prometheus itself makes: not exported by Plinth, but fair to query. */
export const PROMETHEUS_SERIES = new Set(['up', 'ALERTS', 'ALERTS_FOR_STATE', 'scrape_duration_seconds', 'scrape_samples_scraped']);

/** Absolute path of a binary from Debian's `prometheus` package; fails with the fix when missing. */
export function prometheusBinary(name: 'promtool' | 'prometheus'): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/bin', '/usr/local/bin'])) {
    const candidate = path.join(dir, name);
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore', timeout: 10_000 });
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(`${name} not found: install Debian's prometheus package (apt-get install -y prometheus), as .ci/run does`);
}

export interface RunningPlinth {
  t: TestPlatform;
  server: RunningServer;
  url: string;
  close(): Promise<void>;
}

/** Plinth on the embedded database, listening on a free loopback port, /metrics open to METRICS_TOKEN. */
export async function startPlinth(extraEnv: Record<string, string> = {}, options: StartPlatformOptions = {}): Promise<RunningPlinth> {
  const t = await startTestPlatform({ PLINTH_PORT: '0', METRICS_TOKEN, ...extraEnv }, options);
  let server: RunningServer;
  try {
    server = await startServer(t.platform, { handleSignals: false, closePlatform: false });
  } catch (err) {
    await t.close();
    throw err;
  }
  return {
    t,
    server,
    url: server.url,
    async close() {
      try {
        await server.close();
      } finally {
        await t.close();
      }
    },
  };
}

export interface McpSession {
  client: Client;
  close(): Promise<void>;
}

export async function connectMcp(url: string, token: string, headers: Record<string, string> = {}): Promise<McpSession> {
  const client = new Client({ name: 'plinth-observability-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}`, ...headers } } });
  await client.connect(transport);
  return { client, close: () => client.close() };
}

/** Exercise every metric family: probes, auth failures, memory writes and searches, MCP tool calls. */
export async function generateTraffic(p: RunningPlinth): Promise<void> {
  const { url } = p;
  const admin = { authorization: `Bearer ${p.t.adminKey}`, 'content-type': 'application/json' };
  const ok = async (res: Promise<Response>, status: number) => {
    const r = await res;
    await r.arrayBuffer();
    if (r.status !== status) throw new Error(`${r.url}: expected ${status}, got ${r.status}`);
  };
  await ok(fetch(`${url}/livez`), 200);
  await ok(fetch(`${url}/readyz`), 200);
  await ok(fetch(`${url}/v1/memories`), 401);
  await ok(fetch(`${url}/v1/memories`, { headers: { authorization: 'Bearer not-a-key' } }), 401);
  await ok(
    fetch(`${url}/v1/memories`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ memories: [{ text: 'The deploy window is Tuesday 10:00 UTC.' }, { text: 'Alice prefers short answers.' }] }),
    }),
    201,
  );
  for (const mode of ['hybrid', 'fulltext', 'vector']) {
    await ok(fetch(`${url}/v1/memories/search`, { method: 'POST', headers: admin, body: JSON.stringify({ query: 'deploy window', mode, k: 3 }) }), 200);
  }
  const mcp = await connectMcp(url, p.t.adminKey);
  try {
    await mcp.client.callTool({ name: 'memory_search', arguments: { query: 'short answers', k: 2 } });
    await mcp.client.callTool({ name: 'memory_get', arguments: { id: randomUUID() } }); // NOT_FOUND: client_error
  } finally {
    await mcp.close();
  }
}

export async function scrape(url: string, token = METRICS_TOKEN): Promise<{ text: string; contentType: string }> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return { text: await res.text(), contentType: res.headers.get('content-type') ?? '' };
}

export interface Exposition {
  /** Every series name a query may use: samples seen, plus the _bucket/_sum/_count/_total forms of each family. */
  names: Set<string>;
  /** Label names seen per series name (job and instance are added by Prometheus). */
  labels: Map<string, Set<string>>;
  /** The family types (counter, gauge, histogram, …) by family name as the exposition declares them. */
  types: Map<string, string>;
}

export function parseExposition(text: string): Exposition {
  const names = new Set<string>();
  const labels = new Map<string, Set<string>>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, family, kind] = type as unknown as [string, string, string];
      types.set(family, kind);
      const forms = kind === 'histogram' ? ['_bucket', '_sum', '_count'] : kind === 'summary' ? ['', '_sum', '_count'] : kind === 'counter' ? (family.endsWith('_total') ? [''] : ['_total']) : [''];
      for (const f of forms) names.add(family + f);
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{([^}]*)\})?\s/.exec(line);
    if (!sample) continue;
    const name = sample[1]!;
    names.add(name);
    const set = labels.get(name) ?? new Set<string>();
    for (const m of (sample[3] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="/g)) set.add(m[1]!);
    labels.set(name, set);
  }
  return { names, labels, types };
}

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'inf', 'nan', 'atan2']);

/** Strip what is not a series name from PromQL: strings, Grafana variables, numbers, ranges, grouping lists. */
function skeleton(expr: string): string {
  return expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\$\{[^}]*\}|\$[A-Za-z_]\w*/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+-?\w+/g, ' ');
}

/** The series names a PromQL expression selects (functions, keywords and label names excluded). */
export function metricNamesIn(expr: string): string[] {
  const s = skeleton(expr)
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/(?<![A-Za-z0-9_:])\d+(\.\d*)?([eE][+-]?\d+)?/g, ' ');
  const out = new Set<string>();
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const name = m[0];
    const after = s.slice(m.index + name.length).trimStart();
    if (after.startsWith('(')) continue; // a function or aggregation
    if (PROMQL_KEYWORDS.has(name.toLowerCase())) continue;
    out.add(name);
  }
  return [...out];
}

/** `name{label…}` selectors in a PromQL expression, with the label names each one matches on. */
export function selectorsIn(expr: string): Array<{ name: string; labels: string[] }> {
  const s = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const out: Array<{ name: string; labels: string[] }> = [];
  for (const m of s.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}/g)) {
    out.push({ name: m[1]!, labels: [...m[2]!.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)/g)].map((l) => l[1]!) });
  }
  return out;
}

export interface Rule {
  file: string;
  group: string;
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function loadRules(): Rule[] {
  const rules: Rule[] = [];
  for (const file of readdirSync(RULES_DIR).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))) {
    const doc = parseYaml(readFileSync(path.join(RULES_DIR, file), 'utf8')) as { groups: Array<{ name: string; rules: Array<Omit<Rule, 'file' | 'group'>> }> };
    for (const g of doc.groups) for (const r of g.rules) rules.push({ file, group: g.name, ...r });
  }
  return rules;
}

export interface DashboardQuery {
  dashboard: string;
  panel: string;
  expr: string;
}

export interface Dashboard {
  file: string;
  json: Record<string, unknown> & { uid: string; title: string; panels: Panel[] };
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Array<{ refId?: string; expr?: string; datasource?: { type?: string; uid?: string } }>;
  panels?: Panel[];
}

export function loadDashboards(): Dashboard[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({ file, json: JSON.parse(readFileSync(path.join(DASHBOARDS_DIR, file), 'utf8')) as Dashboard['json'] }));
}

/** Every panel, rows' nested panels included. */
export function panelsOf(d: Dashboard): Panel[] {
  return d.json.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

export function dashboardQueries(): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const d of loadDashboards()) {
    for (const p of panelsOf(d)) for (const t of p.targets ?? []) if (t.expr) out.push({ dashboard: d.file, panel: p.title, expr: t.expr });
    const templating = (d.json.templating as { list?: Array<{ name: string; query?: unknown }> } | undefined)?.list ?? [];
    for (const v of templating) {
      const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
      const inner = q ? /^label_values\((.*),\s*\w+\)$/.exec(q)?.[1] : undefined;
      if (inner) out.push({ dashboard: d.file, panel: `variable ${v.name}`, expr: inner });
    }
  }
  return out;
}

/** A dashboard query with Grafana's variables replaced, as Grafana would send it to Prometheus. */
export function asPrometheusQuery(expr: string, job = 'plinth'): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '15s')
    .replaceAll('$__range', '1h')
    .replaceAll('$job', job)
    .replaceAll('$instance', '.+');
}

export interface ScrapeTarget {
  job: string;
  url: string;
  token?: string;
}

export interface RunningPrometheus {
  url: string;
  /** An instant query; resolves to the API's `data` (throws on an API error). */
  query(promql: string): Promise<{ resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> }>;
  /** GET an API path, JSON decoded. */
  api<T = unknown>(pathAndQuery: string): Promise<{ status: string; data: T; error?: string }>;
  /** Poll `check` until it returns a value, or fail after `timeoutMs`. */
  waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs?: number): Promise<T>;
  /** What Prometheus logged (for failure messages). */
  log(): string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A real Prometheus (Debian's binary) on 127.0.0.1 with a throw-away data directory, scraping the
 * targets every second with their bearer token from a file, and evaluating Plinth's rules every
 * second. `close()` stops it (SIGTERM, then SIGKILL after 10 s) and removes its files.
 */
export async function startPrometheus(targets: ScrapeTarget[], options: { exemplars?: boolean; rules?: boolean } = {}): Promise<RunningPrometheus> {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const os = await import('node:os');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-prometheus-'));
  const scrapeConfigs = targets.map((t, i) => {
    const tokenFile = path.join(dir, `token-${i}`);
    if (t.token) writeFileSync(tokenFile, t.token, { mode: 0o600 });
    const u = new URL(t.url);
    return {
      job_name: t.job,
      metrics_path: '/metrics',
      scheme: u.protocol.replace(':', ''),
      ...(t.token ? { authorization: { type: 'Bearer', credentials_file: tokenFile } } : {}),
      static_configs: [{ targets: [u.host] }],
    };
  });
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    ...(options.rules !== false ? { rule_files: [path.join(RULES_DIR, '*.yml')] } : {}),
    scrape_configs: scrapeConfigs,
  };
  const configFile = path.join(dir, 'prometheus.yml');
  writeFileSync(configFile, JSON.stringify(config, null, 2)); // JSON is YAML
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=1h',
    '--log.level=warn',
    ...(options.exemplars ? ['--enable-feature=exemplar-storage'] : []),
  ];
  const child = spawn(prometheusBinary('prometheus'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Never leave a Prometheus behind, even if the test process dies half-way.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      process.removeListener('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    })();
    return closed;
  };

  const api = async <T>(pathAndQuery: string) => {
    const res = await fetch(`${url}${pathAndQuery}`, { signal: AbortSignal.timeout(10_000) });
    return (await res.json()) as { status: string; data: T; error?: string };
  };
  const waitFor = async <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    let last: string | undefined;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}) while waiting for ${what}:\n${output}`);
      try {
        const v = await check();
        if (v !== undefined) return v;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ''}\n${output}`);
  };

  try {
    await waitFor('prometheus to be ready', async () => ((await fetch(`${url}/-/ready`)).status === 200 ? true : undefined), 60_000);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    url,
    api,
    async query(promql) {
      const r = await api<{ resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent(promql)}`);
      if (r.status !== 'success') throw new Error(`${promql}: ${r.error ?? r.status}`);
      return r.data;
    },
    waitFor,
    log: () => output,
    close,
  };
}
