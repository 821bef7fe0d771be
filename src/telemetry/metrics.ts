// Prometheus metrics. One registry per running app (never the global one), so several
// apps can live in one process (tests) and nothing leaks between them.
//
// Label values are always drawn from small, closed sets (route templates, tool names, modes,
// outcomes): never a tenant, user, key, memory id or query text, so series stay bounded.
// docs/observability.md lists every metric; deploy/observability/ queries only these names.
import { Registry, collectDefaultMetrics, Counter, Histogram, Gauge } from 'prom-client';
import { VERSION } from '../version.js';
import { sampledTraceId } from './trace-context.js';

/** Latency buckets shared by every duration histogram. 0.25 and 1 are SLO thresholds: keep them. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** How an MCP tool call ended: `client_error` is a refusal the caller can fix (4xx), `server_error` is ours (5xx). */
export type ToolOutcome = 'ok' | 'client_error' | 'server_error';

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status_code'>;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  httpInFlight: Gauge;
  authFailures: Counter<'reason'>;
  dbPool: Gauge<'state'>;
  mcpToolCalls: Counter<'tool' | 'outcome'>;
  mcpToolDuration: Histogram<'tool' | 'outcome'>;
  memorySearchDuration: Histogram<'mode'>;
  /** Estimated rows: kind = memories | chunks. Refreshed at scrape time from planner statistics. */
  memoryItems: Gauge<'kind'>;
  /** Retraining runs by status, from the runs table at scrape time (workflow = retrain). */
  workflowRuns: Gauge<'workflow' | 'status'>;
  /** Median and 95th percentile run time of the runs finished in the last 24 h, at scrape time. */
  workflowRunDuration: Gauge<'workflow' | 'quantile'>;
  /** Per monitor and column, the test statistic of the monitor's latest drift check. */
  driftColumnStatistic: Gauge<'monitor' | 'column' | 'test'>;
  /** Per monitor and column: 1 when the latest drift check found the column drifted, else 0. */
  driftColumnDrifted: Gauge<'monitor' | 'column'>;
  buildInfo: Gauge<'version' | 'node_version'>;
}

export interface CreateMetricsOptions {
  defaultMetrics?: boolean;
  /**
   * Attach the current trace id as an exemplar to HTTP latency observations. Exemplars only exist
   * in the OpenMetrics format, so the registry then answers in it (Prometheus negotiates either).
   */
  exemplars?: boolean;
}

export function createMetrics(options: CreateMetricsOptions = {}): Metrics {
  const exemplars = options.exemplars === true;
  const registry = new Registry();
  if (exemplars) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as unknown as typeof registry.contentType);
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'plinth_' });
  const httpDuration = new Histogram({
    name: 'plinth_http_request_duration_seconds',
    help: 'HTTP request latency by route template and status code.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
    enableExemplars: exemplars,
  });
  if (exemplars) withTraceExemplars(httpDuration);
  const buildInfo = new Gauge({
    name: 'plinth_build_info',
    help: 'Always 1; the labels say which Plinth version and Node.js runtime this process runs.',
    labelNames: ['version', 'node_version'],
    registers: [registry],
  });
  buildInfo.set({ version: VERSION, node_version: process.versions.node }, 1);
  return {
    registry,
    httpRequests: new Counter({
      name: 'plinth_http_requests_total',
      help: 'HTTP requests by route template and status code.',
      labelNames: ['method', 'route', 'status_code'],
      registers: [registry],
    }),
    httpDuration,
    httpInFlight: new Gauge({
      name: 'plinth_http_requests_in_flight',
      help: 'HTTP requests being served right now.',
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'plinth_auth_failures_total',
      help: 'Rejected credentials by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    dbPool: new Gauge({
      name: 'plinth_db_pool_connections',
      help: 'Database pool connections by state (total, idle, waiting).',
      labelNames: ['state'],
      registers: [registry],
    }),
    mcpToolCalls: new Counter({
      name: 'plinth_mcp_tool_calls_total',
      help: 'MCP tool calls by tool and outcome (ok, client_error, server_error).',
      labelNames: ['tool', 'outcome'],
      registers: [registry],
    }),
    mcpToolDuration: new Histogram({
      name: 'plinth_mcp_tool_call_duration_seconds',
      help: 'MCP tool call latency by tool and outcome.',
      labelNames: ['tool', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    memorySearchDuration: new Histogram({
      name: 'plinth_memory_search_duration_seconds',
      help: 'Memory search latency (embedding the query included) by mode (hybrid, vector, fulltext).',
      labelNames: ['mode'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    memoryItems: new Gauge({
      name: 'plinth_memory_items',
      help: 'Estimated rows in the memory index by kind (memories, chunks), from PostgreSQL statistics.',
      labelNames: ['kind'],
      registers: [registry],
    }),
    workflowRuns: new Gauge({
      name: 'plinth_workflow_runs',
      help: 'Durable workflow runs by workflow and status (queued, training, evaluating, promoted, rejected, failed, cancelled), from the database.',
      labelNames: ['workflow', 'status'],
      registers: [registry],
    }),
    workflowRunDuration: new Gauge({
      name: 'plinth_workflow_run_duration_seconds',
      help: 'Run time (queued to finished) of the workflow runs finished in the last 24 hours, by workflow and quantile (0.5, 0.95).',
      labelNames: ['workflow', 'quantile'],
      registers: [registry],
    }),
    driftColumnStatistic: new Gauge({
      name: 'plinth_drift_column_statistic',
      help: 'Test statistic of each checked column at the latest check of each enabled monitor, by monitor id, column and test.',
      labelNames: ['monitor', 'column', 'test'],
      registers: [registry],
    }),
    driftColumnDrifted: new Gauge({
      name: 'plinth_drift_column_drifted',
      help: '1 when the latest check of the monitor found the column drifted, 0 when not.',
      labelNames: ['monitor', 'column'],
      registers: [registry],
    }),
    buildInfo,
  };
}

/**
 * Make `histogram.observe(labels, value)` carry the sampled trace id of the active span as an
 * exemplar, so callers (the HTTP metrics plugin) stay unaware of tracing.
 */
function withTraceExemplars<T extends string>(histogram: Histogram<T>): void {
  const observe = histogram.observe.bind(histogram) as unknown as (data: { labels?: Partial<Record<T, string | number>>; value: number; exemplarLabels?: Record<string, string> }) => void;
  const patched = (labels: Partial<Record<T, string | number>> | number | { labels?: unknown; value: number }, value?: number): void => {
    if (typeof labels === 'object' && 'value' in labels && value === undefined) {
      observe(labels as Parameters<typeof observe>[0]); // already the exemplar form
      return;
    }
    const traceId = sampledTraceId();
    if (typeof labels === 'number') observe({ value: labels, ...(traceId ? { exemplarLabels: { trace_id: traceId } } : {}) });
    else observe({ labels: labels as Partial<Record<T, string | number>>, value: value ?? 0, ...(traceId ? { exemplarLabels: { trace_id: traceId } } : {}) });
  };
  (histogram as unknown as { observe: typeof patched }).observe = patched;
}

export interface DrillMetrics {
  ok: Gauge;
  lastRun: Gauge;
  lastSuccess: Gauge;
  duration: Gauge;
  restoreDuration: Gauge;
  backupAge: Gauge;
}

/**
 * Restore-drill results. A drill is a one-shot job, so these live in their own registry that the
 * drill writes to a textfile-collector file or pushes to a Pushgateway, not in the serving registry
 * (where they would read 0, i.e. "failed", on every replica).
 */
export function createDrillMetrics(registry: Registry): DrillMetrics {
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers: [registry] });
  return {
    ok: gauge('plinth_backup_drill_ok', '1 when the last restore drill passed every check, 0 when it failed.'),
    lastRun: gauge('plinth_backup_drill_last_run_timestamp_seconds', 'Unix time the last restore drill finished.'),
    lastSuccess: gauge('plinth_backup_drill_last_success_timestamp_seconds', 'Unix time the last passing restore drill finished.'),
    duration: gauge('plinth_backup_drill_duration_seconds', 'Wall time of the last restore drill, checks included.'),
    restoreDuration: gauge('plinth_backup_drill_restore_duration_seconds', 'Time the last drill took to restore the backup into a scratch database (measured RTO).'),
    backupAge: gauge('plinth_backup_drill_backup_age_seconds', 'Age of the backup the last drill restored, at drill time (an upper bound of the RPO of logical backups).'),
  };
}

export interface BackupMetrics {
  ok: Gauge;
  lastRun: Gauge;
  lastSuccess: Gauge;
  duration: Gauge;
  bytes: Gauge;
}

/**
 * Results of a backup run (`plinth backup --metrics-file/--pushgateway`), in a one-shot registry
 * like the drill's: the age of the newest backup is `time() - plinth_backup_last_success_timestamp_seconds`.
 */
export function createBackupMetrics(registry: Registry): BackupMetrics {
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers: [registry] });
  return {
    ok: gauge('plinth_backup_ok', '1 when the last backup run completed and verified, 0 when it failed.'),
    lastRun: gauge('plinth_backup_last_run_timestamp_seconds', 'Unix time the last backup run finished.'),
    lastSuccess: gauge('plinth_backup_last_success_timestamp_seconds', 'Unix time the last successful backup finished.'),
    duration: gauge('plinth_backup_duration_seconds', 'Wall time of the last backup run.'),
    bytes: gauge('plinth_backup_size_bytes', 'Encrypted size of the last successful backup.'),
  };
}
