// The LLM gateway over MCP: `llm_chat` (one chat completion through the gateway, with the same
// routing, limits, budgets, cache and usage accounting as POST /v1/chat/completions) and
// `llm_models`. Offered only to keys with the llm:invoke scope, and only when an LLM upstream
// is configured: an agent should not be shown tools that can only fail.
import { z } from 'zod';
import { hasScope } from '../auth/index.js';
import { chatRequestSchema } from '../gateway/index.js';
import { defineTool, type McpContext, type McpTool } from './tools.js';

const c = chatRequestSchema.shape;

export const llmChatInput = z
  .object({
    model: c.model.describe('A model served by the gateway (see llm_models).'),
    messages: c.messages.describe('The conversation, OpenAI chat format: [{"role": "user", "content": "…"}, …].'),
    temperature: c.temperature,
    top_p: c.top_p,
    max_tokens: c.max_tokens.describe('Most tokens to generate; reserved against the token limits before the call.'),
    stop: c.stop,
    seed: c.seed,
    response_format: c.response_format,
    tools: c.tools,
    tool_choice: c.tool_choice,
  })
  .strict();

const toolCall = z.object({ id: z.string(), type: z.literal('function'), function: z.object({ name: z.string(), arguments: z.string() }) });

export const llmChatOutput = z.object({
  id: z.string(),
  model: z.string(),
  content: z.string().nullable(),
  tool_calls: z.array(toolCall).optional(),
  finish_reason: z.string(),
  usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number() }),
  /** How the answer was served: miss (from the upstream), exact or semantic (from a cache). */
  cache: z.string().nullable(),
  /** The x-ratelimit-* values an HTTP client would see (remaining requests and tokens, resets). */
  rate_limits: z.record(z.string(), z.string()),
});

const llmChat = defineTool({
  name: 'llm_chat',
  title: 'Chat with an LLM',
  description:
    'Ask an LLM served by the gateway for one chat completion. Calls count against the same per-key and per-tenant rate limits and token ' +
    'budgets as the HTTP API; a refusal says which limit and when to retry (retry_after_s). Deterministic requests (temperature 0) may be ' +
    'answered from the cache.',
  scope: 'llm:invoke',
  input: llmChatInput,
  output: llmChatOutput,
  // Each call spends tokens and may reach a third-party model: not idempotent, open world.
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(ctx, args) {
    const p = ctx.principal;
    const headers = new Map<string, string>();
    const call = await ctx.platform.gateway.chat(
      { tenantId: p.tenantId, keyId: p.keyId, keyPrefix: p.keyPrefix },
      { ...args, stream: false },
      // The gateway's own total timeout bounds the call; MCP requests are not cancelled mid-way here.
      { signal: new AbortController().signal, setHeader: (name, value) => headers.set(name, value) },
    );
    const completion = await call.complete();
    const choice = completion.choices[0];
    const rateLimits = Object.fromEntries([...headers].filter(([k]) => k.startsWith('x-ratelimit-')).map(([k, v]) => [k.slice('x-ratelimit-'.length), v]));
    return {
      id: completion.id,
      model: completion.model,
      content: choice?.message.content ?? null,
      ...(choice?.message.tool_calls ? { tool_calls: choice.message.tool_calls } : {}),
      finish_reason: choice?.finish_reason ?? 'stop',
      usage: completion.usage,
      cache: headers.get('x-plinth-cache') ?? null,
      rate_limits: rateLimits,
    };
  },
});

const llmModels = defineTool({
  name: 'llm_models',
  title: 'List LLM models',
  description: 'The models the gateway serves, with the upstream serving each; use an id as `model` for llm_chat.',
  scope: 'llm:invoke',
  input: z.object({}).strict(),
  output: z.object({ models: z.array(z.object({ id: z.string(), owned_by: z.string() })) }),
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  run: async (ctx) => ({ models: (await ctx.platform.gateway.listModels()).map((m) => ({ id: m.id, owned_by: m.upstream })) }),
});

/** Registers only for callers who may use it, on a platform with an LLM upstream. */
function offered(tool: McpTool): McpTool {
  return {
    name: tool.name,
    scope: tool.scope,
    register(server, ctx: McpContext) {
      if (ctx.platform.gateway.upstreams.length === 0 || !hasScope(ctx.principal.scopes, 'llm:invoke')) return;
      tool.register(server, ctx);
    },
  };
}

export const GATEWAY_TOOLS: readonly McpTool[] = [offered(llmChat), offered(llmModels)];
