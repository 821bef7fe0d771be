// OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: then spans are batched
// and exported as OTLP/HTTP (JSON) to `<endpoint>/v1/traces`, sampled parent-based with a trace-id
// ratio for new traces. The tracer provider belongs to one platform and is never registered as the
// global one, so several platforms can share a process; only the async-local context manager is
// process-wide, because context propagation across `await` needs exactly one.
//
// Spans come from Plinth itself rather than monkey-patching instrumentations (which need loader
// hooks under ESM): HTTP server spans (./http-tracing.ts), MCP tool spans (./tool-calls.ts),
// database spans (./db-tracing.ts), upstream LLM spans (./llm-tracing.ts), Redis command spans
// (./redis-tracing.ts), workflow and step spans (./workflow-tracing.ts), and outbound `fetch` client
// spans below, which also carry the W3C `traceparent` header to upstream services.
import diagnosticsChannel from 'node:diagnostics_channel';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import {
  DiagLogLevel,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  diag,
  trace,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator, parseKeyPairsIntoRecord, suppressTracing } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Config } from '../config/index.js';
import { VERSION } from '../version.js';
import type { Logger } from './logger.js';
import { traceRedisCommands } from './redis-tracing.js';

export type TracingConfig = Config['otel'];

export interface Tracing {
  /** True when spans are recorded and exported. */
  readonly enabled: boolean;
  /** The platform's tracer; undefined when tracing is off. */
  readonly tracer: Tracer | undefined;
  /** Run `fn` in a new span, child of the active one. With tracing off, `fn` gets a no-op span. */
  inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T>;
  /** Run `fn` with span creation suppressed (scrapes, probes): no orphan root spans from background work. */
  suppressed<T>(fn: () => T): T;
  /** The parent context named by incoming W3C trace context headers (traceparent, tracestate). */
  extract(headers: Record<string, string | string[] | undefined>): Context;
  /** Write the active context as W3C trace context headers into `carrier`. */
  inject(carrier: Record<string, string>): void;
  /** Export every finished span now. */
  forceFlush(): Promise<void>;
  /** Flush and stop. Safe to call twice. */
  shutdown(): Promise<void>;
}

export interface CreateTracingOptions {
  logger?: Logger;
  /** Replace the OTLP exporter (tests). */
  exporter?: SpanExporter;
  /** Replace the batching processor (tests that need every span exported at once). */
  spanProcessor?: SpanProcessor;
  /** How long shutdown waits for the last export (default 5 s). */
  shutdownTimeoutMs?: number;
}

const propagator = new W3CTraceContextPropagator();
const noopSpan = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Tracing that records nothing: the default when no OTLP endpoint is configured. */
export function disabledTracing(): Tracing {
  return {
    enabled: false,
    tracer: undefined,
    inSpan: (_name, _options, fn) => fn(noopSpan),
    suppressed: (fn) => fn(),
    extract: () => ROOT_CONTEXT,
    inject: () => {},
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

export function createTracing(config: TracingConfig, options: CreateTracingOptions = {}): Tracing {
  if (!config.endpoint && !options.exporter && !options.spanProcessor) return disabledTracing();
  const logger = options.logger;
  acquireContextManager();
  if (logger) routeDiagnostics(logger);

  const exporter = (): SpanExporter =>
    options.exporter ??
    new OTLPTraceExporter({
      url: `${config.endpoint}/v1/traces`,
      headers: config.headers ? parseKeyPairsIntoRecord(config.headers.reveal()) : {},
    });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': config.serviceName,
      'service.version': VERSION,
      'service.instance.id': randomUUID(),
      'host.name': hostname(),
      'process.runtime.name': 'nodejs',
      'process.runtime.version': process.versions.node,
    }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [options.spanProcessor ?? new BatchSpanProcessor(exporter())],
  });
  const tracer = provider.getTracer('plinth', VERSION);
  const stopFetchTracing = traceOutboundFetch(tracer);
  const stopRedisTracing = traceRedisCommands(tracer);
  logger?.info({ endpoint: config.endpoint, service: config.serviceName, sample_ratio: config.sampleRatio }, 'tracing on: exporting OTLP/HTTP spans');

  let shut: Promise<void> | undefined;
  return {
    enabled: true,
    tracer,
    inSpan(name, spanOptions, fn) {
      return tracer.startActiveSpan(name, spanOptions, async (span) => {
        try {
          return await fn(span);
        } catch (err) {
          recordError(span, err);
          throw err;
        } finally {
          span.end();
        }
      });
    },
    suppressed: (fn) => context.with(suppressTracing(context.active()), fn),
    extract: (headers) => propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter),
    inject: (carrier) => propagator.inject(context.active(), carrier, defaultTextMapSetter),
    forceFlush: () => provider.forceFlush(),
    shutdown() {
      shut ??= (async () => {
        stopFetchTracing();
        stopRedisTracing();
        let timer: NodeJS.Timeout | undefined;
        try {
          // An unreachable collector must not hold up process shutdown: bound the last export.
          const waitMs = options.shutdownTimeoutMs ?? 5_000;
          const late = new Promise<void>((resolve) => {
            timer = setTimeout(() => {
              logger?.warn({ timeout_ms: waitMs }, 'tracing: spans still unsent at shutdown; dropping them');
              resolve();
            }, waitMs);
            timer.unref();
          });
          await Promise.race([provider.shutdown(), late]);
        } catch (err) {
          logger?.warn({ err: { message: (err as Error).message } }, 'tracing: flushing spans at shutdown failed');
        } finally {
          clearTimeout(timer);
          releaseContextManager();
        }
      })();
      return shut;
    },
  };
}

/** Mark a span failed with the error's type and message (never its stack: spans leave the process). */
export function recordError(span: Span, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  span.recordException({ name: e.name, message: e.message });
  const code = (e as { code?: unknown }).code;
  span.setAttribute('error.type', typeof code === 'string' && code !== '' ? code : e.name);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
}

// One AsyncLocalStorage context manager for the process, held while any tracing is on.
let contextManager: AsyncLocalStorageContextManager | undefined;
let contextUsers = 0;

function acquireContextManager(): void {
  if (contextUsers++ > 0) return;
  const manager = new AsyncLocalStorageContextManager().enable();
  // Another library may have registered one already; it then does the same job.
  if (context.setGlobalContextManager(manager)) contextManager = manager;
  else manager.disable();
}

function releaseContextManager(): void {
  if (--contextUsers > 0) return;
  if (contextManager) {
    context.disable();
    contextManager = undefined;
  }
}

let diagnosticsRouted = false;

/** Exporter failures (collector down, 4xx) surface as warnings in Plinth's own log. */
function routeDiagnostics(logger: Logger): void {
  if (diagnosticsRouted) return;
  diagnosticsRouted = true;
  const log = logger.child({ component: 'otel' });
  const write = (level: 'warn' | 'error') => (message: string, ...args: unknown[]) => log[level]({ detail: args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ') }, message);
  diag.setLogger(
    { error: write('error'), warn: write('warn'), info: () => {}, debug: () => {}, verbose: () => {} },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}

/** What Node's bundled undici publishes on its diagnostics channels (the parts used here). */
interface UndiciRequest {
  method: string;
  origin: string;
  path: string;
  addHeader(name: string, value: string): unknown;
}

const handledRequests = new WeakSet<object>();

/**
 * Client spans for `fetch` (embedding and LLM upstreams), with the W3C trace context injected
 * into the outgoing request. Only inside an active span: background fetches start no traces.
 */
function traceOutboundFetch(tracer: Tracer): () => void {
  const spans = new WeakMap<object, Span>();
  const onCreate = (message: unknown) => {
    const request = (message as { request?: UndiciRequest }).request;
    if (!request || handledRequests.has(request) || !trace.getSpan(context.active())) return;
    handledRequests.add(request);
    let url: URL | undefined;
    try {
      url = new URL(request.path, request.origin);
    } catch {
      url = undefined;
    }
    const span = tracer.startSpan(request.method, {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': request.method,
        ...(url ? { 'server.address': url.hostname, 'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)), 'url.full': `${url.origin}${url.pathname}` } : {}),
      },
    });
    spans.set(request, span);
    const carrier: Record<string, string> = {};
    propagator.inject(trace.setSpan(context.active(), span), carrier, defaultTextMapSetter);
    for (const [name, value] of Object.entries(carrier)) request.addHeader(name, value);
  };
  const onHeaders = (message: unknown) => {
    const { request, response } = message as { request: object; response: { statusCode: number } };
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    span.setAttribute('http.response.status_code', response.statusCode);
    if (response.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
  const onError = (message: unknown) => {
    const { request, error } = message as { request: object; error: unknown };
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    recordError(span, error);
    span.end();
  };
  const subscriptions: Array<[string, (message: unknown) => void]> = [
    ['undici:request:create', onCreate],
    ['undici:request:headers', onHeaders],
    ['undici:request:error', onError],
  ];
  for (const [name, fn] of subscriptions) diagnosticsChannel.subscribe(name, fn);
  return () => {
    for (const [name, fn] of subscriptions) diagnosticsChannel.unsubscribe(name, fn);
  };
}
