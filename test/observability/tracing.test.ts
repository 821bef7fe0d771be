// Tracing end to end: Plinth exports OTLP/HTTP (JSON) to a local receiver; one MCP tool call
// arriving with a W3C traceparent becomes HTTP server span → tools/call span → database spans in
// the caller's trace; log lines carry the trace and span ids; probes and scrapes stay untraced;
// and a real Prometheus (exemplar storage on) scrapes the OpenMetrics exposition and keeps the
// trace ids as exemplars of the HTTP latency histogram.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connectMcp, METRICS_TOKEN, scrape, startPlinth, startPrometheus, type RunningPlinth } from './helpers.js';

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttribute[];
  status?: { code?: number };
}
interface ReceivedSpan extends Omit<OtlpSpan, 'attributes'> {
  attributes: Record<string, unknown>;
  service: string;
}

/** OTLP/JSON ids are hex; tolerate base64 (the protobuf JSON mapping) too. */
function hexId(id: string | undefined): string {
  if (!id) return '';
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

function attrs(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of list ?? []) out[a.key] = a.value.stringValue ?? (a.value.intValue !== undefined ? Number(a.value.intValue) : (a.value.boolValue ?? a.value.doubleValue));
  return out;
}

/** A minimal OTLP/HTTP trace receiver: POST /v1/traces with a JSON ExportTraceServiceRequest. */
async function startReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; contentTypes: Set<string>; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const contentTypes = new Set<string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.add(String(req.headers['content-type']));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans?: Array<{ resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>;
      };
      for (const rs of body.resourceSpans ?? []) {
        const service = String(attrs(rs.resource?.attributes)['service.name']);
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({ ...s, traceId: hexId(s.traceId), spanId: hexId(s.spanId), parentSpanId: hexId(s.parentSpanId), attributes: attrs(s.attributes), service });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    contentTypes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('tracing: OTLP export, span tree, log correlation, exemplars', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let plinth: RunningPlinth;
  const traceId = randomBytes(16).toString('hex');
  const callerSpanId = randomBytes(8).toString('hex');

  before(async () => {
    receiver = await startReceiver();
    plinth = await startPlinth({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'plinth-under-test' });
  });

  after(async () => {
    await plinth?.close();
    await receiver?.close();
  });

  const flush = () => plinth.t.platform.tracing.forceFlush();

  it('turns one MCP tool call into HTTP server span → tools/call span → database spans, in the caller’s trace', async () => {
    const mcp = await connectMcp(plinth.url, plinth.t.adminKey, { traceparent: `00-${traceId}-${callerSpanId}-01` });
    try {
      const added = await mcp.client.callTool({ name: 'memory_add', arguments: { memories: [{ text: 'Tracing test: the build server is in Frankfurt.' }] } });
      assert.notEqual(added.isError, true, JSON.stringify(added));
      const found = await mcp.client.callTool({ name: 'memory_search', arguments: { query: 'build server', k: 1 } });
      assert.notEqual(found.isError, true, JSON.stringify(found));
    } finally {
      await mcp.close();
    }
    await flush();
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    assert.ok(receiver.contentTypes.has('application/json'), [...receiver.contentTypes].join());
    assert.ok(spans.every((s) => s.service === 'plinth-under-test'));

    const tool = spans.find((s) => s.name === 'tools/call memory_search');
    assert.ok(tool, `tool span among ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(tool.attributes['gen_ai.tool.name'], 'memory_search');
    assert.equal(tool.attributes['mcp.method.name'], 'tools/call');

    const http = spans.find((s) => s.spanId === tool.parentSpanId);
    assert.ok(http, 'the tool span has a parent in the trace');
    assert.equal(http.name, 'POST /mcp');
    assert.equal(http.kind, 2, 'SERVER');
    assert.equal(http.parentSpanId, callerSpanId, 'the HTTP span continues the incoming traceparent');
    assert.equal(http.attributes['http.route'], '/mcp');
    assert.equal(http.attributes['http.response.status_code'], 200);

    const children = (id: string) => spans.filter((s) => s.parentSpanId === id);
    const transaction = children(tool.spanId).find((s) => s.name === 'transaction');
    assert.ok(transaction, `a database transaction under the tool span: ${children(tool.spanId).map((s) => s.name).join(', ')}`);
    assert.equal(transaction.attributes['db.system.name'], 'postgresql');
    assert.equal(transaction.attributes['plinth.db.transaction'], 'tenant');
    const query = children(transaction.spanId).find((s) => s.name === 'SELECT' || s.name === 'WITH');
    assert.ok(query, `a query under the transaction: ${children(transaction.spanId).map((s) => s.name).join(', ')}`);
    assert.equal(query.kind, 3, 'CLIENT');
    assert.ok(String(query.attributes['db.query.text']).length > 0);
    assert.doesNotMatch(String(query.attributes['db.query.text']), /build server/, 'no search text in span attributes');

    // Authentication of the request happens before the tool: its lookup is under the HTTP span too.
    const add = spans.find((s) => s.name === 'tools/call memory_add');
    assert.ok(add && spans.some((s) => s.spanId === add.parentSpanId && s.name === 'POST /mcp'));
  });

  it('writes trace_id and span_id on log lines made inside the request', () => {
    const lines = plinth.t.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const requestLines = lines.filter((l) => l.msg === 'request' && l.route === '/mcp' && l.trace_id === traceId);
    assert.ok(requestLines.length >= 2, `request lines in trace ${traceId}: ${requestLines.length}`);
    // POST for messages; the client also closes with DELETE (answered 405 by the stateless server).
    const httpSpanIds = new Set(receiver.spans.filter((s) => s.traceId === traceId && s.kind === 2 && s.attributes['http.route'] === '/mcp').map((s) => s.spanId));
    for (const l of requestLines) assert.ok(httpSpanIds.has(String(l.span_id)), `span_id ${String(l.span_id)} is the request's server span`);
    const startup = lines.find((l) => String(l.msg).startsWith('Plinth listening'));
    assert.equal(startup?.trace_id, undefined, 'no trace id outside a span');
  });

  it('starts a new sampled trace for a request without traceparent, and leaves probes and scrapes untraced', async () => {
    await flush();
    const before = receiver.spans.length;
    const res = await fetch(`${plinth.url}/v1/whoami`, { headers: { authorization: `Bearer ${plinth.t.adminKey}` } });
    assert.equal(res.status, 200);
    await fetch(`${plinth.url}/readyz`).then((r) => r.arrayBuffer());
    await fetch(`${plinth.url}/livez`).then((r) => r.arrayBuffer());
    await scrape(plinth.url);
    await flush();
    const fresh = receiver.spans.slice(before);
    const whoami = fresh.find((s) => s.name === 'GET /v1/whoami');
    assert.ok(whoami, fresh.map((s) => s.name).join(', '));
    assert.equal(whoami.parentSpanId, '', 'a root span');
    assert.notEqual(whoami.traceId, traceId);
    const roots = fresh.filter((s) => !s.parentSpanId);
    assert.deepEqual(roots.map((s) => s.name), ['GET /v1/whoami'], 'probes, the scrape and its database query start no traces');
    assert.ok(fresh.every((s) => s.traceId === whoami.traceId));
  });

  it('serves OpenMetrics with trace ids as exemplars, which a real Prometheus stores', async () => {
    const scraped = await scrape(plinth.url);
    assert.match(scraped.contentType, /^application\/openmetrics-text; version=1\.0\.0/);
    const exemplar = /^plinth_http_request_duration_seconds_bucket\{[^}]*route="\/mcp"[^}]*\} \d+ # \{trace_id="([0-9a-f]{32})"\}/m.exec(scraped.text);
    assert.ok(exemplar, 'an exemplar on the /mcp latency buckets');
    assert.equal(exemplar[1], traceId);

    const prometheus = await startPrometheus([{ job: 'plinth', url: plinth.url, token: METRICS_TOKEN }], { exemplars: true, rules: false });
    try {
      const stored = await prometheus.waitFor('exemplars in Prometheus', async () => {
        const end = Date.now() / 1000 + 60;
        const r = await prometheus.api<Array<{ seriesLabels: Record<string, string>; exemplars: Array<{ labels: Record<string, string> }> }>>(
          `/api/v1/query_exemplars?query=${encodeURIComponent('plinth_http_request_duration_seconds_bucket{job="plinth"}')}&start=${end - 3600}&end=${end}`,
        );
        const ids = (r.data ?? []).flatMap((s) => s.exemplars.map((e) => e.labels.trace_id));
        return ids.includes(traceId) ? ids : undefined;
      });
      assert.ok(stored.includes(traceId));
      const up = await prometheus.query('up{job="plinth"}');
      assert.equal(up.result[0]?.value[1], '1', 'the OpenMetrics scrape succeeds');
    } finally {
      await prometheus.close();
    }
  });
});
