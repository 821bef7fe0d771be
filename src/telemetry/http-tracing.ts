// One server span per HTTP request, named `<METHOD> <route template>`, continuing the caller's
// trace when a W3C `traceparent` header arrives. Register it before every other hook: its context
// is made active around the hooks that follow (onRequest, preHandler, onResponse), so spans opened
// by the handler nest under it, the per-request log line carries its ids, and the latency
// histogram gets its trace id as an exemplar.
//
// Probes and scrapes (/livez, /readyz, /metrics) are not traced: they would drown real traffic,
// and the database work they do runs with tracing suppressed rather than as orphan root spans.
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SpanKind, SpanStatusCode, context, trace, type Context, type Span } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { recordError, type Tracing } from './tracing.js';

export const UNTRACED_ROUTES: ReadonlySet<string> = new Set(['/livez', '/readyz', '/metrics']);

interface RequestTrace {
  span?: Span;
  ctx: Context;
}

export const tracingPlugin = fp(
  (app: FastifyInstance, opts: { tracing: Tracing }, done: (err?: Error) => void) => {
    const { tracer } = opts.tracing;
    if (!opts.tracing.enabled || !tracer) {
      done();
      return;
    }
    const traces = new WeakMap<FastifyRequest, RequestTrace>();

    app.addHook('onRequest', (request, _reply, next) => {
      const route = request.routeOptions.url;
      if (route !== undefined && UNTRACED_ROUTES.has(route)) {
        const ctx = suppressTracing(context.active());
        traces.set(request, { ctx });
        context.with(ctx, next);
        return;
      }
      const parent = opts.tracing.extract(request.headers);
      const span = tracer.startSpan(
        route !== undefined ? `${request.method} ${route}` : request.method,
        {
          kind: SpanKind.SERVER,
          attributes: {
            'http.request.method': request.method,
            'url.path': request.url.split('?')[0] ?? '/', // never the query: it may carry secrets
            'url.scheme': request.protocol,
            ...(route !== undefined ? { 'http.route': route } : {}),
            'plinth.request_id': request.id,
          },
        },
        parent,
      );
      const ctx = trace.setSpan(parent, span);
      traces.set(request, { span, ctx });
      context.with(ctx, next);
    });

    // Body parsing resumes in the socket's async context; restore the request's before the handler.
    app.addHook('preHandler', (request, _reply, next) => {
      const t = traces.get(request);
      if (t) context.with(t.ctx, next);
      else next();
    });

    app.addHook('onError', (request, _reply, error, next) => {
      const span = traces.get(request)?.span;
      const status = (error as { statusCode?: number }).statusCode ?? (error as { status?: number }).status ?? 500;
      if (span && status >= 500) recordError(span, error);
      next();
    });

    app.addHook('onResponse', (request, reply, next) => {
      const t = traces.get(request);
      if (!t) {
        next();
        return;
      }
      if (t.span?.isRecording()) {
        t.span.setAttribute('http.response.status_code', reply.statusCode);
        if (reply.statusCode >= 500) t.span.setStatus({ code: SpanStatusCode.ERROR });
        t.span.end();
      }
      // The hooks after this one (request log line, metrics) run inside the request's context.
      context.with(t.ctx, next);
    });

    app.addHook('onRequestAbort', (request, next) => {
      const span = traces.get(request)?.span;
      if (span?.isRecording()) {
        span.setAttribute('error.type', 'client_aborted');
        span.end();
      }
      next();
    });

    done();
  },
  { name: 'plinth-tracing' },
);
