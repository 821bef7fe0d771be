// Tracing end to end: Plinth exports OTLP/HTTP (JSON) to a local receiver; one MCP tool call
// arriving with a W3C traceparent becomes HTTP server span → tools/call span → database spans in
// the caller's trace; log lines carry the trace and span ids; probes and scrapes stay untraced;
// and a real Prometheus (exemplar storage on) scrapes the OpenMetrics exposition and keeps the
// trace ids as exemplars of the HTTP latency histogram. A gateway chat completion through the
// Ollama test double becomes HTTP span → one GenAI span per upstream attempt (with token counts,
// the upstream receiving the attempt's traceparent), an embeddings call becomes a GenAI
// `embeddings` span over its HTTP client span, and a retraining workflow started over the API runs
// as workflow → step spans in the trace of the request that started it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startOllamaDouble, type LlmDouble } from '../helpers/llm-doubles.js';
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
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
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

/** Span duration in milliseconds, from the OTLP nanosecond timestamps. */
function durationMs(span: ReceivedSpan): number {
  return Number(BigInt(span.endTimeUnixNano ?? '0') - BigInt(span.startTimeUnixNano ?? '0')) / 1e6;
}

const TRAIN_SCRIPT = `console.log(JSON.stringify({ run_id: 'run-1', source: 'file:///models/1', metrics: { accuracy: 0.9 } }));\n`;

describe('tracing: upstream LLM calls and workflow runs', { timeout: 180_000 }, () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let ollama: LlmDouble;
  let plinth: RunningPlinth;
  let dir: string;
  let script: string;
  let key: string;
  let listingTraceId: string;
  const traceparent = () => {
    const traceId = randomBytes(16).toString('hex');
    return { traceId, header: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
  };
  const flush = () => plinth.t.platform.tracing.forceFlush();
  const inTrace = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
  const chat = (header: string, body: Record<string, unknown>) =>
    fetch(`${plinth.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', traceparent: header }, body: JSON.stringify(body) });

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'plinth-trace-wf-'));
    script = path.join(dir, 'train.cjs');
    writeFileSync(script, TRAIN_SCRIPT);
    receiver = await startReceiver();
    ollama = await startOllamaDouble({ models: ['llama3.2', 'nomic-embed-text'] });
    plinth = await startPlinth(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OLLAMA_URL: ollama.url,
        EMBEDDINGS_PROVIDER: 'ollama',
        EMBEDDINGS_MODEL: 'nomic-embed-text',
        GATEWAY_SEMANTIC_CACHE: 'off',
        GATEWAY_RETRY_BASE_MS: '5',
        GATEWAY_REQUESTS_PER_MINUTE: '10000',
        GATEWAY_TOKENS_PER_MINUTE: '10000000',
        WORKFLOWS_ALLOWED_COMMANDS: process.execPath,
        LOG_LEVEL: 'warn',
      },
      { workflows: 'executor' },
    );
    const tenant = await plinth.t.platform.auth.getTenant('default');
    key = (await plinth.t.platform.auth.createKey(tenant.id, { name: 'llm', scopes: ['llm:invoke'] }, { actor: 'test' })).key;
    // The gateway lists the upstream's models once; the faults below are then for chat calls.
    const listing = traceparent();
    listingTraceId = listing.traceId;
    const models = await fetch(`${plinth.url}/v1/models`, { headers: { authorization: `Bearer ${key}`, traceparent: listing.header } });
    assert.equal(models.status, 200, await models.text());
  });

  after(async () => {
    await plinth?.close();
    await ollama?.close();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes a client span for the upstream model listing under the HTTP span', async () => {
    await flush();
    const spans = inTrace(listingTraceId);
    const http = spans.find((s) => s.name === 'GET /v1/models');
    assert.ok(http, spans.map((s) => s.name).join(', '));
    const listing = spans.find((s) => s.name === 'list models');
    assert.ok(listing, spans.map((s) => s.name).join(', '));
    assert.equal(listing.parentSpanId, http.spanId);
    assert.equal(listing.kind, 3, 'CLIENT');
    assert.equal(listing.attributes['gen_ai.provider.name'], 'ollama');
    assert.equal(listing.attributes['plinth.upstream.models'], 4, 'two models, each with and without :latest');
    assert.equal(listing.attributes['server.port'], Number(new URL(ollama.url).port));
    assert.equal(listing.attributes['gen_ai.operation.name'], undefined);
  });

  it('makes one GenAI client span per upstream attempt under the HTTP span, and sends each attempt’s traceparent upstream', async () => {
    const { traceId, header } = traceparent();
    ollama.faults.failNext(1, 503);
    const res = await chat(header, { model: 'llama3.2', messages: [{ role: 'user', content: 'Private words: the vault code is 4711.' }], max_tokens: 64, temperature: 0.2 });
    assert.equal(res.status, 200, await res.clone().text());
    const answer = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    await flush();
    const spans = inTrace(traceId);
    const http = spans.find((s) => s.name === 'POST /v1/chat/completions');
    assert.ok(http, spans.map((s) => s.name).join(', '));
    const attempts = spans.filter((s) => s.name === 'chat llama3.2').sort((a, b) => Number(BigInt(a.startTimeUnixNano ?? '0') - BigInt(b.startTimeUnixNano ?? '0')));
    assert.equal(attempts.length, 2, 'a failed attempt and the retry');
    for (const a of attempts) {
      assert.equal(a.parentSpanId, http.spanId, 'every attempt is a child of the request span');
      assert.equal(a.kind, 3, 'CLIENT');
      assert.equal(a.attributes['gen_ai.operation.name'], 'chat');
      assert.equal(a.attributes['gen_ai.provider.name'], 'ollama');
      assert.equal(a.attributes['gen_ai.system'], 'ollama');
      assert.equal(a.attributes['gen_ai.request.model'], 'llama3.2');
      assert.equal(a.attributes['gen_ai.request.max_tokens'], 64);
      assert.equal(a.attributes['gen_ai.request.temperature'], 0.2);
      assert.equal(a.attributes['server.address'], '127.0.0.1');
      assert.equal(a.attributes['server.port'], Number(new URL(ollama.url).port));
    }
    const [failed, ok] = attempts as [ReceivedSpan, ReceivedSpan];
    assert.equal(failed.attributes['http.response.status_code'], 503);
    assert.equal(failed.attributes['error.type'], 'PLINTH_UPSTREAM_UNAVAILABLE');
    assert.equal(failed.status?.code, 2, 'ERROR');
    assert.equal(ok.attributes['http.response.status_code'], 200);
    assert.equal(ok.attributes['error.type'], undefined);
    assert.equal(ok.attributes['gen_ai.response.model'], 'llama3.2');
    assert.equal(ok.attributes['gen_ai.usage.input_tokens'], answer.usage.prompt_tokens);
    assert.equal(ok.attributes['gen_ai.usage.output_tokens'], answer.usage.completion_tokens);
    assert.ok(answer.usage.completion_tokens > 0);
    assert.equal(typeof ok.attributes['gen_ai.response.time_to_first_chunk'], 'number');

    // The double saw both attempts, each with its own span as the parent.
    const sent = ollama.requestsTo('/api/chat').slice(-2).map((r) => String(r.headers.traceparent));
    assert.deepEqual(sent, attempts.map((a) => `00-${traceId}-${a.spanId}-01`));
    // Never the conversation.
    for (const s of spans) assert.doesNotMatch(JSON.stringify(s.attributes), /vault code|4711|Echo/);
  });

  it('ends a streamed completion’s span when the stream ends, with the time to first chunk before it', async () => {
    const { traceId, header } = traceparent();
    ollama.faults.chunkDelayMs = 60;
    try {
      const res = await chat(header, { model: 'llama3.2', messages: [{ role: 'user', content: 'one two three four five six' }], stream: true, temperature: 1 });
      assert.equal(res.status, 200);
      const body = await res.text();
      assert.match(body, /\[DONE\]/);
    } finally {
      ollama.faults.chunkDelayMs = 0;
    }
    await flush();
    const span = inTrace(traceId).find((s) => s.name === 'chat llama3.2');
    assert.ok(span, inTrace(traceId).map((s) => s.name).join(', '));
    // "Echo: one two three four five six" is 7 chunks, 60 ms apart, plus the final one.
    const ttftMs = Number(span.attributes['gen_ai.response.time_to_first_chunk']) * 1000;
    assert.ok(durationMs(span) >= 6 * 60 - 20, `span lasted ${durationMs(span).toFixed(0)} ms: it covers the whole stream`);
    assert.ok(ttftMs < durationMs(span) - 200, `first chunk after ${ttftMs.toFixed(0)} ms, well before the end`);
    assert.ok(Number(span.attributes['gen_ai.usage.output_tokens']) >= 7, 'usage arrives with the last chunk');
  });

  it('makes an embeddings call a GenAI span over the HTTP client span that carries the traceparent', async () => {
    const { traceId, header } = traceparent();
    const res = await fetch(`${plinth.url}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', traceparent: header },
      body: JSON.stringify({ model: 'nomic-embed-text', input: ['private text one', 'private text two'] }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    await flush();
    const spans = inTrace(traceId);
    const http = spans.find((s) => s.name === 'POST /v1/embeddings');
    const embed = spans.find((s) => s.name === 'embeddings nomic-embed-text');
    assert.ok(http && embed, spans.map((s) => s.name).join(', '));
    assert.equal(embed.parentSpanId, http.spanId);
    assert.equal(embed.kind, 3, 'CLIENT');
    assert.equal(embed.attributes['gen_ai.operation.name'], 'embeddings');
    assert.equal(embed.attributes['gen_ai.provider.name'], 'ollama');
    assert.equal(embed.attributes['gen_ai.request.model'], 'nomic-embed-text');
    assert.equal(embed.attributes['plinth.embeddings.inputs'], 2);
    assert.equal(typeof embed.attributes['gen_ai.embeddings.dimension.count'], 'number');
    const call = spans.find((s) => s.parentSpanId === embed.spanId && s.name === 'POST');
    assert.ok(call, 'the HTTP request to the provider is under the embeddings span');
    assert.equal(call.attributes['server.address'], '127.0.0.1');
    const sent = ollama.requestsTo('/api/embed').at(-1);
    assert.equal(sent?.headers.traceparent, `00-${traceId}-${call.spanId}-01`);
    for (const s of spans) assert.doesNotMatch(JSON.stringify(s.attributes), /private text/);
  });

  it('runs a retraining workflow started over the API as workflow and step spans in the request’s trace', async () => {
    const { traceId, header } = traceparent();
    const res = await fetch(`${plinth.url}/v1/workflows/retrain`, {
      method: 'POST',
      headers: { authorization: `Bearer ${plinth.t.adminKey}`, 'content-type': 'application/json', traceparent: header },
      body: JSON.stringify({ model: 'churn', action: { type: 'command', command: process.execPath, args: [script] }, gate: [{ metric: 'accuracy', direction: 'max' }] }),
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { workflow_id: workflowId } = (await res.json()) as { workflow_id: string };
    const who = (await (await fetch(`${plinth.url}/v1/whoami`, { headers: { authorization: `Bearer ${plinth.t.adminKey}` } })).json()) as { tenant_id: string };
    const done = await plinth.t.platform.workflows.wait({ tenantId: who.tenant_id, root: true }, workflowId, 90_000);
    assert.equal(done.status, 'SUCCESS', JSON.stringify(done));
    await flush();

    const spans = inTrace(traceId);
    const http = spans.find((s) => s.name === 'POST /v1/workflows/retrain');
    assert.ok(http, spans.map((s) => s.name).join(', '));
    const workflow = spans.find((s) => s.name === 'workflow plinth.retrain');
    assert.ok(workflow, `a workflow span in the request's trace: ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(workflow.parentSpanId, http.spanId, 'the run continues the request that started it');
    // A worker in another process has no remembered context: the input carries the request's.
    const schema = `"${plinth.t.config.workflows.schema}"`;
    const stored = await plinth.t.platform.db.withSystem(
      async (tx) =>
        (
          await tx.query<{ inputs: string }>(
            `SELECT COALESCE(wi.inputs, ws.inputs) AS inputs FROM ${schema}.workflow_status ws LEFT JOIN ${schema}.workflow_input wi ON wi.workflow_uuid = ws.workflow_uuid WHERE ws.workflow_uuid = $1`,
            [workflowId],
          )
        ).rows[0],
    );
    assert.match(stored?.inputs ?? '', new RegExp(`"traceparent":"00-${traceId}-${http.spanId}-01"`), 'the workflow input carries the trace context of the request');
    assert.equal(workflow.attributes['plinth.workflow.id'], workflowId);
    assert.equal(workflow.attributes['plinth.workflow.name'], 'plinth.retrain');

    const steps = spans.filter((s) => s.parentSpanId === workflow.spanId && s.name.startsWith('step '));
    const names = steps.map((s) => s.name);
    for (const step of ['step mark-training', 'step train', 'step resolve-result', 'step evaluate', 'step register', 'step promote', 'step record', 'step notify']) {
      assert.ok(names.includes(step), `${step} among ${names.join(', ')}`);
    }
    for (const s of steps) assert.equal(s.attributes['plinth.workflow.id'], workflowId);
    const record = steps.find((s) => s.name === 'step record')!;
    assert.equal(record.attributes['plinth.workflow.step'], 'record');
    assert.ok(spans.some((s) => s.parentSpanId === record.spanId && s.name === 'transaction'), 'the step’s database work nests under it');
  });
});
