// Every MCP tool call, measured once where tools are defined (mcp/tools.ts): a span
// `tools/call <tool>` under the HTTP request's span, and plinth_mcp_tool_calls_total /
// plinth_mcp_tool_call_duration_seconds by tool and outcome.
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Metrics, ToolOutcome } from './metrics.js';
import type { Tracing } from './tracing.js';

/** The part of a tool result that tells how it ended (the MCP CallToolResult shape). */
export interface ToolResultLike {
  isError?: boolean;
  _meta?: Record<string, unknown>;
}

/**
 * How a result ended. Failed results carry their catalogue status in `_meta` (see mcp/errors.ts
 * toolError): 4xx is the caller's to fix, anything else (or no status) counts against us.
 */
export function toolOutcome(result: ToolResultLike): { outcome: ToolOutcome; code?: string } {
  if (result.isError !== true) return { outcome: 'ok' };
  for (const value of Object.values(result._meta ?? {})) {
    if (value && typeof value === 'object' && typeof (value as { status?: unknown }).status === 'number') {
      const { status, code } = value as { status: number; code?: unknown };
      return { outcome: status >= 400 && status < 500 ? 'client_error' : 'server_error', ...(typeof code === 'string' ? { code } : {}) };
    }
  }
  return { outcome: 'server_error' };
}

export async function observeToolCall<R extends ToolResultLike>(
  deps: { metrics: Metrics; tracing: Tracing },
  tool: string,
  call: () => Promise<R>,
): Promise<R> {
  const started = performance.now();
  let outcome: ToolOutcome = 'server_error';
  try {
    return await deps.tracing.inSpan(
      `tools/call ${tool}`,
      { kind: SpanKind.INTERNAL, attributes: { 'mcp.method.name': 'tools/call', 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool } },
      async (span) => {
        const result = await call();
        const ended = toolOutcome(result);
        outcome = ended.outcome;
        if (outcome !== 'ok') {
          span.setAttribute('error.type', ended.code ?? outcome);
          if (outcome === 'server_error') span.setStatus({ code: SpanStatusCode.ERROR });
        }
        return result;
      },
    );
  } finally {
    const labels = { tool, outcome };
    deps.metrics.mcpToolCalls.inc(labels);
    deps.metrics.mcpToolDuration.observe(labels, (performance.now() - started) / 1000);
  }
}
