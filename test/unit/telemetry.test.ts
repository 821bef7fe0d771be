// Telemetry building blocks: the metric set and its exemplars, tool-call outcomes, SQL in spans,
// trace ids in log lines, tracing configuration and trace context on outgoing fetches.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { describe, it } from 'node:test';
import { SpanKind, context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { loadConfig } from '../../src/config/index.js';
import { isPlinthError } from '../../src/errors.js';
import { operationOf, sanitizeStatement } from '../../src/telemetry/db-tracing.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { observeToolCall, toolOutcome } from '../../src/telemetry/tool-calls.js';
import { createTracing } from '../../src/telemetry/tracing.js';
import { VERSION } from '../../src/version.js';
import { LogCapture } from '../helpers/platform.js';

const OTEL_DEFAULTS = loadConfig({ env: {} }).otel;

function memoryTracing() {
  const exporter = new InMemorySpanExporter();
  const tracing = createTracing(OTEL_DEFAULTS, { spanProcessor: new SimpleSpanProcessor(exporter) });
  return { exporter, tracing };
}

describe('telemetry: metrics', () => {
  it('registers every Plinth metric with bounded labels, and build info', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const text = await m.registry.metrics();
    for (const name of [
      'plinth_http_requests_total',
      'plinth_http_request_duration_seconds',
      'plinth_http_requests_in_flight',
      'plinth_auth_failures_total',
      'plinth_db_pool_connections',
      'plinth_mcp_tool_calls_total',
      'plinth_mcp_tool_call_duration_seconds',
      'plinth_memory_search_duration_seconds',
      'plinth_memory_items',
      'plinth_build_info',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.ok(text.includes(`plinth_build_info{version="${VERSION}",node_version="${process.versions.node}"} 1`));
    assert.equal(m.registry.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  });

  it('keeps 0.25 s and 1 s buckets: the latency SLOs are defined on them', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.httpDuration.observe({ method: 'GET', route: '/x', status_code: '200' }, 0.2);
    m.mcpToolDuration.observe({ tool: 't', outcome: 'ok' }, 0.9);
    const text = await m.registry.metrics();
    assert.ok(text.includes('plinth_http_request_duration_seconds_bucket{le="0.25",method="GET",route="/x",status_code="200"} 1'));
    assert.ok(text.includes('plinth_mcp_tool_call_duration_seconds_bucket{le="1",tool="t",outcome="ok"} 1'));
  });

  it('adds the sampled trace id as an exemplar in OpenMetrics when exemplars are on', async () => {
    const { tracing } = memoryTracing();
    try {
      const m = createMetrics({ defaultMetrics: false, exemplars: true });
      assert.match(m.registry.contentType, /^application\/openmetrics-text/);
      let traceId = '';
      await tracing.inSpan('request', {}, (span) => {
        traceId = span.spanContext().traceId;
        m.httpDuration.observe({ method: 'GET', route: '/v1/memories', status_code: '200' }, 0.03);
        return Promise.resolve();
      });
      m.httpDuration.observe({ method: 'GET', route: '/v1/other', status_code: '200' }, 0.03); // outside a span: no exemplar
      const text = await m.registry.metrics();
      const line = text.split('\n').find((l) => l.startsWith('plinth_http_request_duration_seconds_bucket{le="0.05",method="GET",route="/v1/memories"'));
      assert.ok(line?.includes(`# {trace_id="${traceId}"} 0.03`), line);
      const other = text.split('\n').find((l) => l.startsWith('plinth_http_request_duration_seconds_bucket{le="0.05",method="GET",route="/v1/other"'));
      assert.ok(other && !other.includes('#'), other);
      assert.ok(text.trimEnd().endsWith('# EOF'));
    } finally {
      await tracing.shutdown();
    }
  });
});

describe('telemetry: MCP tool calls', () => {
  it('classifies results: ok, 4xx as client_error, 5xx or unknown as server_error', () => {
    assert.deepEqual(toolOutcome({}), { outcome: 'ok' });
    assert.deepEqual(toolOutcome({ isError: true, _meta: { 'plinth/error': { code: 'PLINTH_NOT_FOUND', status: 404 } } }), { outcome: 'client_error', code: 'PLINTH_NOT_FOUND' });
    assert.deepEqual(toolOutcome({ isError: true, _meta: { 'plinth/error': { code: 'PLINTH_INTERNAL', status: 500 } } }), { outcome: 'server_error', code: 'PLINTH_INTERNAL' });
    assert.deepEqual(toolOutcome({ isError: true }), { outcome: 'server_error' });
  });

  it('counts and times each call and wraps it in a tools/call span', async () => {
    const { exporter, tracing } = memoryTracing();
    try {
      const metrics = createMetrics({ defaultMetrics: false });
      await observeToolCall({ metrics, tracing }, 'memory_search', () => Promise.resolve({ isError: false }));
      await observeToolCall({ metrics, tracing }, 'memory_get', () => Promise.resolve({ isError: true, _meta: { 'plinth/error': { code: 'PLINTH_NOT_FOUND', status: 404 } } }));
      await assert.rejects(observeToolCall({ metrics, tracing }, 'memory_add', () => Promise.reject(new Error('boom'))));
      const text = await metrics.registry.metrics();
      assert.ok(text.includes('plinth_mcp_tool_calls_total{tool="memory_search",outcome="ok"} 1'));
      assert.ok(text.includes('plinth_mcp_tool_calls_total{tool="memory_get",outcome="client_error"} 1'));
      assert.ok(text.includes('plinth_mcp_tool_calls_total{tool="memory_add",outcome="server_error"} 1'));
      assert.ok(text.includes('plinth_mcp_tool_call_duration_seconds_count{tool="memory_search",outcome="ok"} 1'));
      const spans = exporter.getFinishedSpans();
      assert.deepEqual(spans.map((s) => s.name).sort(), ['tools/call memory_add', 'tools/call memory_get', 'tools/call memory_search']);
      const get = spans.find((s) => s.name === 'tools/call memory_get');
      assert.equal(get?.attributes['gen_ai.tool.name'], 'memory_get');
      assert.equal(get?.attributes['error.type'], 'PLINTH_NOT_FOUND');
    } finally {
      await tracing.shutdown();
    }
  });
});

describe('telemetry: SQL in spans', () => {
  it('names a span by the statement verb and masks literals', () => {
    assert.equal(operationOf('  select 1'), 'SELECT');
    assert.equal(operationOf('-- why\n/* c */ INSERT INTO t VALUES ($1)'), 'INSERT');
    assert.equal(operationOf('$$'), 'QUERY');
    assert.equal(
      sanitizeStatement("BEGIN; SET LOCAL ROLE plinth_app; SET LOCAL plinth.tenant_id = '0b6c3f1e-0000-4000-8000-000000000000'"),
      'BEGIN; SET LOCAL ROLE plinth_app; SET LOCAL plinth.tenant_id = ?',
    );
    assert.equal(sanitizeStatement("SELECT 'it''s'  ,\n $1"), 'SELECT ? , $1');
    assert.ok(sanitizeStatement(`SELECT ${'x,'.repeat(3000)}1`).length <= 2049);
  });
});

describe('telemetry: logs', () => {
  it('carries trace_id and span_id on lines written inside a span, and nothing outside', async () => {
    const { tracing } = memoryTracing();
    try {
      const logs = new LogCapture();
      const logger = createLogger({ destination: logs });
      logger.info('outside');
      let ids = { traceId: '', spanId: '' };
      await tracing.inSpan('work', {}, async (span) => {
        ids = { traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
        await new Promise((r) => setImmediate(r)); // across an async hop
        logger.child({ component: 'x' }).info('inside');
      });
      const [outside, inside] = logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(outside?.trace_id, undefined);
      assert.equal(inside?.trace_id, ids.traceId);
      assert.equal(inside?.span_id, ids.spanId);
    } finally {
      await tracing.shutdown();
    }
  });
});

describe('telemetry: tracing configuration', () => {
  it('is off without an endpoint and reads the OTEL_* variables', () => {
    const off = loadConfig({ env: {} });
    assert.equal(off.otel.endpoint, undefined);
    assert.equal(off.otel.serviceName, 'plinth');
    assert.equal(off.otel.sampleRatio, 1);
    assert.equal(createTracing(off.otel).enabled, false);
    const on = loadConfig({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/', OTEL_SERVICE_NAME: 'plinth-eu', OTEL_TRACES_SAMPLER_ARG: '0.25', OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer abc' },
    });
    assert.equal(on.otel.endpoint, 'http://127.0.0.1:4318');
    assert.equal(on.otel.serviceName, 'plinth-eu');
    assert.equal(on.otel.sampleRatio, 0.25);
    assert.equal(on.otel.headers?.reveal(), 'authorization=Bearer abc');
  });

  it('rejects a sample ratio outside 0..1 and a non-http endpoint', () => {
    for (const env of [{ OTEL_TRACES_SAMPLER_ARG: '2' }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317' }]) {
      assert.throws(() => loadConfig({ env }), (err) => isPlinthError(err, 'CONFIG_INVALID'));
    }
  });

  it('continues an incoming traceparent and honours its sampled flag', async () => {
    const { exporter, tracing } = memoryTracing();
    try {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const parent = tracing.extract({ traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
      const span = tracing.tracer!.startSpan('GET /x', { kind: SpanKind.SERVER }, parent);
      span.end();
      assert.equal(span.spanContext().traceId, traceId);
      const unsampled = tracing.extract({ traceparent: `00-${traceId}-00f067aa0ba902b7-00` });
      const dropped = tracing.tracer!.startSpan('GET /y', {}, unsampled);
      dropped.end();
      assert.deepEqual(exporter.getFinishedSpans().map((s) => s.name), ['GET /x']);
    } finally {
      await tracing.shutdown();
    }
  });

  it('does not hold up shutdown when the collector never answers', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer(() => {}); // accepts, never responds
    silent.on('connection', (s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const config = loadConfig({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` } }).otel;
    const tracing = createTracing(config, { shutdownTimeoutMs: 300 });
    try {
      assert.equal(tracing.enabled, true);
      await tracing.inSpan('work', {}, () => Promise.resolve());
      const started = performance.now();
      await tracing.shutdown();
      assert.ok(performance.now() - started < 3_000, `shutdown took ${Math.round(performance.now() - started)} ms`);
      await tracing.shutdown(); // twice is fine
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('sends traceparent on outgoing fetch calls made inside a span, with a client span', async () => {
    const { exporter, tracing } = memoryTracing();
    let seen: IncomingHttpHeaders = {};
    const server = createServer((req, res) => {
      seen = req.headers;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/embeddings?x=1`;
    try {
      await (await fetch(url)).text();
      assert.equal(seen.traceparent, undefined, 'no trace context outside a span');
      let traceId = '';
      await tracing.inSpan('tools/call memory_add', {}, async (span) => {
        traceId = span.spanContext().traceId;
        await (await fetch(url, { method: 'POST', body: '{}' })).text();
      });
      assert.match(String(seen.traceparent), new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      const client = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT);
      assert.equal(client?.name, 'POST');
      assert.equal(client?.attributes['http.response.status_code'], 200);
      assert.equal(client?.attributes['url.full'], url.replace('?x=1', ''), 'no query string');
      assert.equal(String(seen.traceparent).split('-')[2], client?.spanContext().spanId);
    } finally {
      server.close();
      await tracing.shutdown();
    }
    assert.equal(trace.getSpan(context.active()), undefined);
  });
});
