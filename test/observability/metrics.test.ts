// What Plinth exports, checked against what the dashboards and rules query: a Plinth is started
// in-process, given some traffic, and scraped; every series name in every dashboard panel and
// every rule must then be one it exports (or a recording rule, or one Prometheus makes itself),
// and every label a selector matches on must exist on that series. Then a real Prometheus scrapes
// the same Plinth with the metrics token, evaluates the rules, and answers every dashboard query.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createBackupMetrics, createDrillMetrics } from '../../src/telemetry/metrics.js';
import {
  asPrometheusQuery,
  dashboardQueries,
  generateTraffic,
  loadRules,
  METRICS_TOKEN,
  metricNamesIn,
  parseExposition,
  PROMETHEUS_SERIES,
  scrape,
  selectorsIn,
  startPlinth,
  startPrometheus,
  type Exposition,
  type RunningPlinth,
  type RunningPrometheus,
} from './helpers.js';

const PLINTH_METRICS: Record<string, { type: string; labels: string[] }> = {
  plinth_http_requests_total: { type: 'counter', labels: ['method', 'route', 'status_code'] },
  plinth_http_request_duration_seconds: { type: 'histogram', labels: ['method', 'route', 'status_code'] },
  plinth_http_requests_in_flight: { type: 'gauge', labels: [] },
  plinth_auth_failures_total: { type: 'counter', labels: ['reason'] },
  plinth_db_pool_connections: { type: 'gauge', labels: ['state'] },
  plinth_mcp_tool_calls_total: { type: 'counter', labels: ['tool', 'outcome'] },
  plinth_mcp_tool_call_duration_seconds: { type: 'histogram', labels: ['tool', 'outcome'] },
  plinth_memory_search_duration_seconds: { type: 'histogram', labels: ['mode'] },
  plinth_memory_items: { type: 'gauge', labels: ['kind'] },
  plinth_build_info: { type: 'gauge', labels: ['version', 'node_version'] },
};

/** Label values that could identify a tenant, user or request must never become series. */
const FORBIDDEN_LABELS = ['tenant', 'tenant_id', 'user', 'user_id', 'agent_id', 'session_id', 'key', 'key_prefix', 'query', 'prompt', 'path', 'url', 'request_id', 'trace_id'];

let plinth: RunningPlinth;

before(async () => {
  plinth = await startPlinth();
  await generateTraffic(plinth);
});

after(async () => {
  await plinth?.close();
});

describe('exported metrics match the dashboards and rules', () => {
  let text: string;
  let exposition: Exposition;
  let recorded: Set<string>;

  before(async () => {
    // Live-row statistics reach pg_stat_user_tables asynchronously (PostgreSQL flushes them at most
    // once a second per backend, later on a loaded machine): scrape until the writes show.
    let scraped = await scrape(plinth.url);
    for (let i = 0; i < 40 && !/plinth_memory_items\{kind="memories"\} [1-9]/.test(scraped.text); i++) {
      await new Promise((r) => setTimeout(r, 250));
      scraped = await scrape(plinth.url);
    }
    assert.match(scraped.contentType, /^text\/plain; version=0\.0\.4/, 'Prometheus text format while tracing is off');
    text = scraped.text;
    exposition = parseExposition(text);
    // The backup and drill jobs (plinth backup|drill --metrics-file/--pushgateway) export their
    // own gauges, not the server: rules and dashboards may query those too.
    const jobs = new Registry();
    createBackupMetrics(jobs);
    createDrillMetrics(jobs);
    const jobExposition = parseExposition(await jobs.metrics());
    for (const name of jobExposition.names) exposition.names.add(name);
    // Exported only when configured, which this Plinth is not: costs with GATEWAY_PRICES_FILE,
    // Redis connection state with REDIS_URL.
    for (const name of ['plinth_llm_cost_total', 'plinth_redis_up']) exposition.names.add(name);
    recorded = new Set(loadRules().flatMap((r) => (r.record ? [r.record] : [])));
  });

  it('exports every Plinth metric with its labels, with samples from the traffic', () => {
    for (const [family, spec] of Object.entries(PLINTH_METRICS)) {
      assert.equal(exposition.types.get(family), spec.type, `${family} is a ${spec.type}`);
      const sampleName = spec.type === 'histogram' ? `${family}_count` : family;
      const seen = exposition.labels.get(sampleName);
      assert.ok(seen, `${sampleName} has samples`);
      assert.deepEqual([...seen].sort(), [...spec.labels].sort(), `${sampleName} labels`);
    }
    assert.match(text, /plinth_mcp_tool_calls_total\{tool="memory_search",outcome="ok"\} 1/);
    assert.match(text, /plinth_mcp_tool_calls_total\{tool="memory_get",outcome="client_error"\} 1/);
    assert.match(text, /plinth_memory_search_duration_seconds_count\{mode="fulltext"\} 1/);
    assert.match(text, /plinth_memory_items\{kind="memories"\} [1-9]/, 'memory index size from statistics');
    assert.match(text, /plinth_memory_items\{kind="chunks"\} \d/);
    assert.match(text, /plinth_auth_failures_total\{reason="missing"\} [1-9]/);
    assert.match(text, /plinth_build_info\{version="\d+\.\d+\.\d+[^"]*",node_version="[^"]+"\} 1/);
  });

  it('keeps label cardinality bounded: no tenant, user, key, path or query labels', () => {
    for (const [name, labels] of exposition.labels) {
      if (!name.startsWith('plinth_')) continue;
      for (const l of FORBIDDEN_LABELS) assert.ok(!labels.has(l), `${name} has label ${l}`);
    }
    // Routes are templates, never raw paths with ids.
    for (const m of text.matchAll(/route="([^"]*)"/g)) assert.doesNotMatch(m[1]!, /[0-9a-f]{8}-[0-9a-f]{4}-/, `route ${m[1]} is a template`);
  });

  it('dashboards query only metrics Plinth exports (or recording rules), with labels those metrics have', () => {
    const queries = dashboardQueries();
    assert.ok(queries.length > 40, `found ${queries.length} dashboard queries`);
    const problems: string[] = [];
    for (const q of queries) {
      const names = metricNamesIn(q.expr);
      if (names.length === 0) problems.push(`${q.dashboard} / ${q.panel}: no metric in ${q.expr}`);
      for (const name of names) {
        if (!exposition.names.has(name) && !recorded.has(name) && !PROMETHEUS_SERIES.has(name)) problems.push(`${q.dashboard} / ${q.panel}: ${name} is not exported`);
      }
      problems.push(...labelProblems(`${q.dashboard} / ${q.panel}`, q.expr));
    }
    assert.deepEqual(problems, []);
  });

  it('rules query only metrics Plinth exports or recording rules define', () => {
    const problems: string[] = [];
    for (const r of loadRules()) {
      const where = `${r.file} ${r.record ?? r.alert}`;
      for (const name of metricNamesIn(r.expr)) {
        if (!exposition.names.has(name) && !recorded.has(name) && !PROMETHEUS_SERIES.has(name)) problems.push(`${where}: ${name} is not exported`);
      }
      problems.push(...labelProblems(where, r.expr));
    }
    assert.deepEqual(problems, []);
  });

  function labelProblems(where: string, expr: string): string[] {
    const problems: string[] = [];
    for (const s of selectorsIn(expr)) {
      const known = exposition.labels.get(s.name);
      if (!known) continue; // recording rules and Prometheus' own series: checked by name above
      for (const l of s.labels) if (l !== 'job' && l !== 'instance' && l !== '__name__' && !known.has(l)) problems.push(`${where}: ${s.name} has no label ${l}`);
    }
    return problems;
  }
});

describe('a real Prometheus scraping Plinth', () => {
  let prometheus: RunningPrometheus;

  before(async () => {
    prometheus = await startPrometheus([{ job: 'plinth', url: plinth.url, token: METRICS_TOKEN }]);
  });

  after(async () => {
    await prometheus?.close();
  });

  it('scrapes /metrics with the bearer token and stores plinth_http_requests_total', async () => {
    const series = await prometheus.waitFor('plinth_http_requests_total series', async () => {
      const r = await prometheus.query('plinth_http_requests_total{job="plinth"}');
      return r.result.length > 0 ? r.result : undefined;
    });
    assert.ok(series.some((s) => s.metric.route === '/v1/memories/search' && s.metric.status_code === '200'), JSON.stringify(series.map((s) => s.metric)));
    const targets = await prometheus.api<{ activeTargets: Array<{ health: string; lastError: string; labels: Record<string, string> }> }>('/api/v1/targets');
    const target = targets.data.activeTargets.find((t) => t.labels.job === 'plinth');
    assert.equal(target?.health, 'up', target?.lastError);
    const up = await prometheus.query('up{job="plinth"}');
    assert.equal(up.result[0]?.value[1], '1');
  });

  it('loads every rule and evaluates them without errors, recording the SLO ratios', async () => {
    // Live traffic while Prometheus scrapes, so the 5m rates are not 0/0.
    await prometheus.waitFor('a non-zero API request rate to be recorded', async () => {
      await (await fetch(`${plinth.url}/v1/whoami`, { headers: { authorization: `Bearer ${plinth.t.adminKey}` } })).arrayBuffer();
      const r = await prometheus.query('job:plinth_api_requests:rate5m{job="plinth"} > 0');
      return r.result.length > 0 ? true : undefined;
    });
    const rules = await prometheus.api<{ groups: Array<{ name: string; rules: Array<{ name: string; type: string; health: string; lastError?: string }> }> }>('/api/v1/rules');
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    const expected = loadRules();
    assert.equal(loaded.length, expected.length, 'every rule loaded');
    const unhealthy = loaded.filter((r) => r.health === 'err').map((r) => `${r.name}: ${r.lastError}`);
    assert.deepEqual(unhealthy, []);
    const ratio = await prometheus.query('job:plinth_api_errors:ratio_rate5m{job="plinth"}');
    assert.equal(ratio.result[0]?.value[1], '0', 'no 5xx in the traffic');
    // Nothing is wrong with this Plinth: no alert may be firing.
    const firing = await prometheus.query('ALERTS{alertstate="firing"}');
    assert.deepEqual(firing.result.map((r) => r.metric.alertname), []);
  });

  it('answers every dashboard query (variables as Grafana fills them in)', async () => {
    const failures: string[] = [];
    let withData = 0;
    for (const q of dashboardQueries()) {
      try {
        const r = await prometheus.query(asPrometheusQuery(q.expr));
        if (r.result.length > 0) withData++;
      } catch (err) {
        failures.push(`${q.dashboard} / ${q.panel}: ${(err as Error).message}`);
      }
    }
    assert.deepEqual(failures, []);
    assert.ok(withData > 20, `${withData} dashboard queries returned data`);
  });
});
