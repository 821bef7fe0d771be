// Workflow spans: each run of a DBOS workflow is a span `workflow <name>`, and each step body it
// runs a child span `step <name>` (a step replayed from its checkpoint runs nothing and makes no
// span). DBOS Transact's own tracing is not used: it draws on the process-global tracer provider,
// while Plinth's provider belongs to one platform and is never registered globally.
//
// A workflow started inside a traced request (the retraining API, a monitor tick's step) continues
// that trace. In the same process the start remembers the active context by workflow id, and the
// run, dequeued later by DBOS in its own async context, takes it up. Across processes (`plinth
// serve` enqueues, a `plinth worker` runs) the start writes the W3C `traceparent` of the active
// span into the workflow input (`traceCarrier`), and the run continues from it. Runs nobody started
// in a traced request (schedules, monitor ticks) are root spans.
import { ROOT_CONTEXT, SpanKind, context, defaultTextMapGetter, defaultTextMapSetter, isSpanContextValid, trace, type Context, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { recordError } from './tracing.js';

const propagator = new W3CTraceContextPropagator();

/** The W3C trace context of the active span, to travel with a workflow input; undefined outside a span. */
export function traceCarrier(): { traceparent: string; tracestate?: string } | undefined {
  const span = trace.getSpan(context.active());
  if (!span || !isSpanContextValid(span.spanContext())) return undefined;
  const carrier: Record<string, string> = {};
  propagator.inject(context.active(), carrier, defaultTextMapSetter);
  const { traceparent, tracestate } = carrier;
  return traceparent ? { traceparent, ...(tracestate ? { tracestate } : {}) } : undefined;
}

/** The parent context named by a workflow input's `traceparent`, if it holds a valid one. */
function carriedContext(input: unknown): Context | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const { traceparent, tracestate } = input as { traceparent?: unknown; tracestate?: unknown };
  if (typeof traceparent !== 'string') return undefined;
  const carrier: Record<string, string> = { traceparent, ...(typeof tracestate === 'string' ? { tracestate } : {}) };
  const ctx = propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
  const parent = trace.getSpanContext(ctx);
  return parent && isSpanContextValid(parent) ? ctx : undefined;
}

const MAX_PENDING = 1_000;
const PENDING_MS = 60 * 60 * 1000;
const pending = new Map<string, { ctx: Context; at: number }>();

/** Remember the active trace as the parent of workflow `workflowId`, about to be started or enqueued. */
export function rememberWorkflowStart(workflowId: string): void {
  const span = trace.getSpan(context.active());
  if (!span || !isSpanContextValid(span.spanContext())) return;
  const now = Date.now();
  for (const [id, entry] of pending) {
    // Oldest first: drop what expired, and the oldest beyond the bound.
    if (pending.size < MAX_PENDING && now - entry.at < PENDING_MS) break;
    pending.delete(id);
  }
  pending.delete(workflowId);
  pending.set(workflowId, { ctx: context.active(), at: now });
}

/** The context remembered for `workflowId` (once), or undefined. */
export function takeWorkflowStart(workflowId: string | undefined): Context | undefined {
  if (workflowId === undefined) return undefined;
  const entry = pending.get(workflowId);
  if (!entry) return undefined;
  pending.delete(workflowId);
  return Date.now() - entry.at < PENDING_MS ? entry.ctx : undefined;
}

async function inSpan<T>(tracer: Tracer, name: string, attributes: Record<string, string>, parent: Context, fn: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { kind: SpanKind.INTERNAL, attributes }, parent, async (span) => {
    try {
      return await fn();
    } catch (err) {
      recordError(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Run a workflow body in its span; without a tracer, just run it. `input` is the workflow's first argument. */
export function inWorkflowSpan<T>(tracer: Tracer | undefined, name: string, workflowId: string | undefined, fn: () => Promise<T>, input?: unknown): Promise<T> {
  if (!tracer) return fn();
  // Never the ambient context: DBOS runs queued work in whatever context its loop was started in.
  const parent = takeWorkflowStart(workflowId) ?? carriedContext(input) ?? ROOT_CONTEXT;
  return inSpan(tracer, `workflow ${name}`, { 'plinth.workflow.name': name, ...(workflowId ? { 'plinth.workflow.id': workflowId } : {}) }, parent, fn);
}

/** Run a step body in its span, child of the workflow's; without a tracer, just run it. */
export function inStepSpan<T>(tracer: Tracer | undefined, name: string, workflowId: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (!tracer) return fn();
  return inSpan(tracer, `step ${name}`, { 'plinth.workflow.step': name, ...(workflowId ? { 'plinth.workflow.id': workflowId } : {}) }, context.active(), fn);
}
