// The pure parts of the LLM, Redis and workflow spans: GenAI span names and attributes, provider
// and server of an upstream, error types, Redis operation names, and the bounded memory of which
// trace started which workflow.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { genAiSpanName, providerName, requestAttributes, serverAttributes, upstreamErrorType } from '../../src/telemetry/llm-tracing.js';
import { redisErrorType, redisOperation } from '../../src/telemetry/redis-tracing.js';
import { inWorkflowSpan, rememberWorkflowStart, takeWorkflowStart, traceCarrier } from '../../src/telemetry/workflow-tracing.js';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { PlinthError } from '../../src/errors.js';
import { UpstreamError } from '../../src/gateway/upstream.js';

describe('GenAI span helpers', () => {
  it('names spans `{operation} {model}`', () => {
    assert.equal(genAiSpanName('chat', 'llama3.2'), 'chat llama3.2');
    assert.equal(genAiSpanName('embeddings', 'nomic-embed-text'), 'embeddings nomic-embed-text');
    assert.equal(genAiSpanName('text_completion', undefined), 'text_completion');
  });

  it('tells Ollama, OpenAI and other OpenAI-compatible servers apart', () => {
    assert.equal(providerName('ollama', 'http://127.0.0.1:11434/'), 'ollama');
    assert.equal(providerName('openai', 'https://api.openai.com/v1'), 'openai');
    assert.equal(providerName('openai', 'http://vllm.internal:8000/v1'), 'openai-compatible');
    assert.equal(providerName('openai', 'not a url'), 'openai-compatible');
  });

  it('takes server.address and server.port from the base URL, default ports included', () => {
    assert.deepEqual(serverAttributes('http://127.0.0.1:11434/'), { 'server.address': '127.0.0.1', 'server.port': 11434 });
    assert.deepEqual(serverAttributes('https://api.openai.com/v1'), { 'server.address': 'api.openai.com', 'server.port': 443 });
    assert.deepEqual(serverAttributes('http://[::1]/v1'), { 'server.address': '::1', 'server.port': 80 });
    assert.deepEqual(serverAttributes('***'), {});
  });

  it('records the request parameters given, never the messages', () => {
    const attrs = requestAttributes({ model: 'm', messages: [{ role: 'user', content: 'secret prompt' }], max_tokens: 10, temperature: 0 });
    assert.deepEqual(attrs, { 'gen_ai.request.model': 'm', 'gen_ai.request.max_tokens': 10, 'gen_ai.request.temperature': 0 });
    const newer = requestAttributes({ model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 10, max_completion_tokens: 20, top_p: 0.5 });
    assert.equal(newer['gen_ai.request.max_tokens'], 20, 'max_completion_tokens wins');
    assert.equal(newer['gen_ai.request.top_p'], 0.5);
    assert.equal(newer['gen_ai.request.temperature'], undefined);
    assert.ok(!JSON.stringify(attrs).includes('secret prompt'));
  });

  it('types errors: the upstream failure code, timeout or cancelled by the signal, else the class', () => {
    const upstream = new UpstreamError(new PlinthError('UPSTREAM_UNAVAILABLE', 'down'), true);
    assert.equal(upstreamErrorType(upstream), upstream.error.code);
    const timedOut = new AbortController();
    timedOut.abort(new Error('first token timeout'));
    assert.equal(upstreamErrorType(new Error('aborted'), timedOut.signal), 'timeout');
    const total = new AbortController();
    total.abort(new DOMException('The operation timed out.', 'TimeoutError'));
    assert.equal(upstreamErrorType(new Error('aborted'), total.signal), 'timeout');
    const gone = new AbortController();
    gone.abort(new Error('client went away'));
    assert.equal(upstreamErrorType(new Error('aborted'), gone.signal), 'cancelled');
    assert.equal(upstreamErrorType(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), 'ECONNRESET');
    assert.equal(upstreamErrorType(new TypeError('x')), 'TypeError');
  });
});

describe('Redis span helpers', () => {
  it('names spans by the command in upper case', () => {
    assert.equal(redisOperation('evalsha'), 'EVALSHA');
    assert.equal(redisOperation('get'), 'GET');
  });

  it('types error replies by their prefix, never by their text', () => {
    assert.equal(redisErrorType(new Error('NOSCRIPT No matching script. Please use EVAL.')), 'NOSCRIPT');
    assert.equal(redisErrorType(new Error('WRONGTYPE Operation against a key holding the wrong kind of value')), 'WRONGTYPE');
    const generic = new Error('ERR unknown command');
    generic.name = 'ReplyError';
    assert.equal(redisErrorType(generic), 'ReplyError');
    assert.equal(redisErrorType(new Error('Connection is closed.')), 'Error');
  });
});

describe('workflow start memory', () => {
  it('remembers the active traced context once per workflow id, and nothing outside a span', () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    const registered = context.setGlobalContextManager(manager);
    try {
      rememberWorkflowStart('wf-outside');
      assert.equal(takeWorkflowStart('wf-outside'), undefined, 'no active span: nothing remembered');

      const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 });
      context.with(trace.setSpan(ROOT_CONTEXT, span), () => rememberWorkflowStart('wf-1'));
      const taken = takeWorkflowStart('wf-1');
      assert.ok(registered, 'this test owns the context manager');
      assert.equal(taken && trace.getSpanContext(taken)?.spanId, 'b7ad6b7169203331');
      assert.equal(takeWorkflowStart('wf-1'), undefined, 'taken once');
      assert.equal(takeWorkflowStart(undefined), undefined);
    } finally {
      context.disable();
    }
  });

  it('keeps at most 1,000 pending starts, dropping the oldest', () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 });
      context.with(trace.setSpan(ROOT_CONTEXT, span), () => {
        for (let i = 0; i < 1_005; i++) rememberWorkflowStart(`wf-bound-${i}`);
      });
      assert.equal(takeWorkflowStart('wf-bound-0'), undefined, 'the oldest went');
      assert.equal(takeWorkflowStart('wf-bound-4'), undefined);
      assert.ok(takeWorkflowStart('wf-bound-5'));
      assert.ok(takeWorkflowStart('wf-bound-1004'));
    } finally {
      context.disable();
    }
  });
});

describe('workflow trace context carried in the input', () => {
  it('writes the active span as traceparent, and a run elsewhere continues it', async () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer('test');
    try {
      assert.equal(traceCarrier(), undefined, 'no span, nothing to carry');
      const { carrier, requestSpan } = tracer.startActiveSpan('POST /v1/workflows/retrain', (span) => {
        const c = traceCarrier();
        span.end();
        return { carrier: c, requestSpan: span.spanContext() };
      });
      assert.equal(carrier?.traceparent, `00-${requestSpan.traceId}-${requestSpan.spanId}-01`);
      // The worker: nothing remembered for this id, only the stored input.
      await inWorkflowSpan(tracer, 'plinth.retrain', 'wf-carried', () => Promise.resolve(undefined), { model: 'm', ...carrier });
      await inWorkflowSpan(tracer, 'plinth.retrain', 'wf-plain', () => Promise.resolve(undefined), { model: 'm' });
      await inWorkflowSpan(tracer, 'plinth.retrain', 'wf-bad', () => Promise.resolve(undefined), { model: 'm', traceparent: '00-zz-yy-01' });
      const spans = exporter.getFinishedSpans().filter((s) => s.name === 'workflow plinth.retrain');
      const byId = (id: string) => spans.find((s) => s.attributes['plinth.workflow.id'] === id)!;
      assert.equal(byId('wf-carried').spanContext().traceId, requestSpan.traceId);
      assert.equal(byId('wf-carried').parentSpanContext?.spanId, requestSpan.spanId);
      assert.equal(byId('wf-plain').parentSpanContext, undefined, 'without a carrier the run is a root span');
      assert.equal(byId('wf-bad').parentSpanContext, undefined, 'an invalid traceparent is ignored');
    } finally {
      await provider.shutdown();
      context.disable();
    }
  });
});
