// The shape every MCP tool takes. A tool is one `defineTool({...})`: its zod input and output
// schemas (shared with the HTTP door), the scope it needs, its behaviour hints and a `run` that
// calls a domain service. Scope checks, the text + structured result and error mapping live here,
// once, so adding a tool (documents, search, …) is writing one definition and listing it.
import type { McpServer } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import type { Audit, Principal, Scope } from '../auth/index.js';
import type { Platform } from '../platform.js';
import { observeToolCall } from '../telemetry/tool-calls.js';
import { asPlinthError, toolError } from './errors.js';

/** What a tool runs with: one per MCP server instance, i.e. per HTTP request or stdio connection. */
export interface McpContext {
  platform: Platform;
  principal: Principal;
  /** The HTTP request id, recorded in the audit log (absent on stdio). */
  requestId?: string;
}

export function auditOf(ctx: McpContext): Audit {
  return { actor: ctx.principal.actor, requestId: ctx.requestId ?? null };
}

/** Every hint is stated explicitly: clients assume the worst for a missing one. */
export interface ToolHints {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

export interface ToolSpec<I extends z.ZodObject, O extends z.ZodObject> {
  name: string;
  title: string;
  description: string;
  scope: Scope;
  input: I;
  output: O;
  hints: ToolHints;
  run(ctx: McpContext, args: z.output<I>): Promise<z.input<O>>;
}

export interface McpTool {
  readonly name: string;
  /** The scope a caller needs to run the tool. */
  readonly scope: Scope;
  register(server: McpServer, ctx: McpContext): void;
}

export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(spec: ToolSpec<I, O>): McpTool {
  return {
    name: spec.name,
    scope: spec.scope,
    register(server, ctx) {
      // The SDK's generics cannot see that a zod object's parsed output is z.output<I>; erase them here
      // and restore the type below (the SDK has validated `args` against spec.input by then).
      const input: z.ZodObject = spec.input;
      const output: z.ZodObject = spec.output;
      server.registerTool(
        spec.name,
        { title: spec.title, description: spec.description, inputSchema: input, outputSchema: output, annotations: { title: spec.title, ...spec.hints } },
        // Counted and traced by tool and outcome (plinth_mcp_tool_calls_total, a `tools/call` span).
        (args) =>
          observeToolCall(ctx.platform, spec.name, async () => {
            try {
              ctx.platform.auth.requireScope(ctx.principal, spec.scope);
              const out = (await spec.run(ctx, args as z.output<I>)) as Record<string, unknown>;
              // Structured content for clients that read the output schema, the same JSON as text for those that don't.
              return { content: [{ type: 'text' as const, text: JSON.stringify(out) }], structuredContent: out };
            } catch (err) {
              return toolError(asPlinthError(err, ctx.platform.logger));
            }
          }),
      );
    },
  };
}
