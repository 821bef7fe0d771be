// Upstream LLM calls as OpenTelemetry GenAI client spans: one span `chat <model>` per attempt the
// gateway makes (retries make one each, all children of the request's span), ending when the
// streamed completion ends. Attributes follow the GenAI semantic conventions (operation, provider,
// request and response model, token counts, time to first chunk); prompt and completion text are
// never recorded. The upstream request carries the attempt's W3C `traceparent` (see request() in
// gateway/upstream.ts, which finds the attempt span through activeUpstreamSpan()).
//
// Embedding calls to a remote provider (Ollama, OpenAI-compatible) get a span `embeddings <model>`
// around each batch the Embedder port is asked for; its HTTP request is the outbound `fetch` span
// below it (tracing.ts), which carries the traceparent.
//
// Applied only when tracing is on (platform.ts), by wrapping the Upstream and Embedder ports; with
// tracing off the ports are the plain ones and activeUpstreamSpan() is one context lookup.
import { SpanKind, SpanStatusCode, context, createContextKey, defaultTextMapSetter, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Embedder } from '../embeddings/port.js';
import type { ChatChunk, ChatRequest } from '../gateway/schema.js';
import type { Upstream, UpstreamKind } from '../gateway/upstream.js';
import { recordError } from './tracing.js';

export type GenAiOperation = 'chat' | 'embeddings' | 'text_completion';

const ATTEMPT = createContextKey('plinth.upstream_attempt');
const propagator = new W3CTraceContextPropagator();

/** `{operation} {model}`, the GenAI span name (the operation alone when the model is unknown). */
export function genAiSpanName(operation: GenAiOperation, model: string | undefined): string {
  return model ? `${operation} ${model}` : operation;
}

/** `gen_ai.provider.name`: `ollama`, `openai` for api.openai.com, else `openai-compatible`. */
export function providerName(kind: UpstreamKind, location: string): string {
  if (kind === 'ollama') return 'ollama';
  try {
    return new URL(location).hostname === 'api.openai.com' ? 'openai' : 'openai-compatible';
  } catch {
    return 'openai-compatible';
  }
}

/** `server.address` and `server.port` of an upstream base URL (default ports filled in). */
export function serverAttributes(location: string): Attributes {
  try {
    const url = new URL(location);
    return { 'server.address': url.hostname.replace(/^\[(.*)\]$/, '$1'), 'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
  } catch {
    return {};
  }
}

/** The request parameters worth a span attribute: model, max tokens, sampling. Never the messages. */
export function requestAttributes(req: ChatRequest): Attributes {
  const out: Attributes = { 'gen_ai.request.model': req.model };
  const maxTokens = req.max_completion_tokens ?? req.max_tokens;
  if (maxTokens != null) out['gen_ai.request.max_tokens'] = maxTokens;
  if (req.temperature != null) out['gen_ai.request.temperature'] = req.temperature;
  if (req.top_p != null) out['gen_ai.request.top_p'] = req.top_p;
  return out;
}

/**
 * `error.type` of a failed attempt: the Plinth error code an upstream failure carries, `timeout`
 * or `cancelled` when the call's signal stopped it, else the error's code or class name.
 */
export function upstreamErrorType(err: unknown, signal?: AbortSignal): string {
  const carried = (err as { error?: { code?: unknown } } | null)?.error?.code;
  if (typeof carried === 'string') return carried;
  if (signal?.aborted) {
    const reason = signal.reason as { name?: unknown; message?: unknown } | undefined;
    const message = typeof reason?.message === 'string' ? reason.message : '';
    return reason?.name === 'TimeoutError' || /timeout/i.test(message) ? 'timeout' : 'cancelled';
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code !== '') return code;
  return err instanceof Error ? err.name : 'Error';
}

/** The GenAI span of the upstream attempt running in the active context, if any. */
export function activeUpstreamSpan(): Span | undefined {
  return context.active().getValue(ATTEMPT) as Span | undefined;
}

/** `headers` plus the W3C trace context (traceparent, tracestate) naming `span` as the parent. */
export function withTraceContext(span: Span, headers: Record<string, string> | undefined): Record<string, string> {
  const carrier: Record<string, string> = { ...headers };
  propagator.inject(trace.setSpan(context.active(), span), carrier, defaultTextMapSetter);
  return carrier;
}

function fail(span: Span, err: unknown, signal?: AbortSignal): void {
  const type = upstreamErrorType(err, signal);
  span.setAttribute('error.type', type);
  // A client that went away is not a failure of the upstream.
  if (type === 'cancelled') return;
  const message = err instanceof Error ? err.message : String(err);
  span.recordException({ name: err instanceof Error ? err.name : 'Error', message });
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** Follows a completion's chunks: response model and id, finish reasons, usage; ends the span with the stream. */
function observeStream(iterator: AsyncIterator<ChatChunk>, span: Span, sentAt: number, signal: AbortSignal): AsyncIterator<ChatChunk> {
  let ended = false;
  let first = true;
  let responseModel = false;
  const finishReasons = new Set<string>();
  const end = (err?: unknown) => {
    if (ended) return;
    ended = true;
    signal.removeEventListener('abort', onAbort);
    if (finishReasons.size > 0) span.setAttribute('gen_ai.response.finish_reasons', [...finishReasons]);
    if (err !== undefined) fail(span, err, signal);
    span.end();
  };
  // A stream nobody reads to the end still ends its span: when the call is cancelled or times out.
  const onAbort = () => end(signal.reason ?? new Error('aborted'));
  signal.addEventListener('abort', onAbort, { once: true });
  const observe = (chunk: ChatChunk) => {
    if (first) {
      first = false;
      span.setAttribute('gen_ai.response.time_to_first_chunk', (performance.now() - sentAt) / 1000);
      if (chunk.id) span.setAttribute('gen_ai.response.id', chunk.id);
    }
    if (!responseModel && chunk.model) {
      responseModel = true;
      span.setAttribute('gen_ai.response.model', chunk.model);
    }
    for (const c of chunk.choices) if (c.finish_reason) finishReasons.add(c.finish_reason);
    if (chunk.usage) {
      span.setAttribute('gen_ai.usage.input_tokens', chunk.usage.prompt_tokens);
      span.setAttribute('gen_ai.usage.output_tokens', chunk.usage.completion_tokens);
    }
  };
  return {
    async next() {
      try {
        const r = await iterator.next();
        if (r.done) end();
        else observe(r.value);
        return r;
      } catch (err) {
        end(err);
        throw err;
      }
    },
    async return(value?: unknown) {
      // Stopped before the end: the consumer gave up on the completion.
      end(Object.assign(new Error('stream closed early'), { code: 'cancelled' }));
      return (await iterator.return?.(value)) ?? { done: true, value: undefined };
    },
  };
}

/** The Upstream port with a GenAI client span around each completion it streams. */
export function traceUpstream(upstream: Upstream, tracer: Tracer): Upstream {
  const where: Attributes = {
    'gen_ai.provider.name': providerName(upstream.kind, upstream.location),
    'gen_ai.system': providerName(upstream.kind, upstream.location),
    'plinth.upstream.name': upstream.name,
    ...serverAttributes(upstream.location),
  };
  const base: Attributes = { 'gen_ai.operation.name': 'chat', ...where };
  return {
    name: upstream.name,
    kind: upstream.kind,
    location: upstream.location,
    async listModels(signal) {
      // No GenAI operation names a model listing: a plain client span, with the provider and server.
      const span = tracer.startSpan('list models', { kind: SpanKind.CLIENT, attributes: where });
      try {
        const models = await context.with(trace.setSpan(context.active(), span), () => upstream.listModels(signal));
        span.setAttribute('plinth.upstream.models', models.length);
        return models;
      } catch (err) {
        fail(span, err, signal);
        throw err;
      } finally {
        span.end();
      }
    },
    async openChat(req, signal) {
      const span = tracer.startSpan(genAiSpanName('chat', req.model), { kind: SpanKind.CLIENT, attributes: { ...base, ...requestAttributes(req) } });
      const sentAt = performance.now();
      let iterator: AsyncIterator<ChatChunk>;
      try {
        iterator = await context.with(trace.setSpan(context.active(), span).setValue(ATTEMPT, span), () => upstream.openChat(req, signal));
      } catch (err) {
        fail(span, err, signal);
        span.end();
        throw err;
      }
      return observeStream(iterator, span, sentAt, signal);
    },
  };
}

/**
 * Wraps every upstream of the gateway in place: the gateway routes over this very array
 * (GatewayService.upstreams), so the traced ports are the ones it calls.
 */
export function traceUpstreams(upstreams: Upstream[], tracer: Tracer): void {
  for (let i = 0; i < upstreams.length; i++) upstreams[i] = traceUpstream(upstreams[i]!, tracer);
}

/** The Embedder port with a GenAI client span per call, for remote providers only (local ones call no upstream). */
export function traceEmbedder(embedder: Embedder, tracer: Tracer): Embedder {
  if (embedder.provider !== 'ollama' && embedder.provider !== 'openai') return embedder;
  const provider = embedder.provider === 'ollama' ? 'ollama' : 'openai-compatible';
  return {
    get provider() {
      return embedder.provider;
    },
    get model() {
      return embedder.model;
    },
    get dimensions() {
      return embedder.dimensions;
    },
    get quality() {
      return embedder.quality;
    },
    embed(texts, options) {
      const attributes: Attributes = {
        'gen_ai.operation.name': 'embeddings',
        'gen_ai.provider.name': provider,
        'gen_ai.system': provider,
        'gen_ai.request.model': embedder.model,
        'gen_ai.embeddings.dimension.count': embedder.dimensions,
        'plinth.embeddings.inputs': texts.length,
      };
      return tracer.startActiveSpan(genAiSpanName('embeddings', embedder.model), { kind: SpanKind.CLIENT, attributes }, async (span) => {
        try {
          return await embedder.embed(texts, options);
        } catch (err) {
          recordError(span, err);
          throw err;
        } finally {
          span.end();
        }
      });
    },
    close: () => embedder.close(),
  };
}
