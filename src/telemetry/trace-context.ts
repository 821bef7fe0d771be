// The active trace as plain ids, for log lines and metric exemplars. Depends on the OpenTelemetry
// API only (no SDK): with tracing off there is never an active span and these return nothing.
import { TraceFlags, context, isSpanContextValid, trace } from '@opentelemetry/api';

export interface TraceIds {
  trace_id: string;
  span_id: string;
}

/** Ids of the active span (sampled or not), or undefined outside any span. */
export function currentTraceIds(): TraceIds | undefined {
  const span = trace.getSpan(context.active());
  if (!span) return undefined;
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : undefined;
}

/** The active trace id when the trace is sampled, i.e. when a backend will actually have it. */
export function sampledTraceId(): string | undefined {
  const span = trace.getSpan(context.active());
  if (!span) return undefined;
  const sc = span.spanContext();
  return isSpanContextValid(sc) && (sc.traceFlags & TraceFlags.SAMPLED) !== 0 ? sc.traceId : undefined;
}
