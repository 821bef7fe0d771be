// The OpenAI-compatible wire shapes the gateway accepts and answers, as zod schemas shared by
// every door. Requests are checked strictly where a mistake would reach an upstream (messages,
// tools, sampling ranges) and passed through otherwise (unknown fields are kept, not rejected,
// so newer clients keep working).
import { z } from 'zod';

const textPart = z.object({ type: z.literal('text'), text: z.string() }).loose();
const imagePart = z.object({ type: z.literal('image_url'), image_url: z.object({ url: z.string().min(1) }).loose() }).loose();
const contentPart = z.union([textPart, imagePart]);
const content = z.union([z.string(), z.array(contentPart).min(1)]);

export const toolCallSchema = z
  .object({
    id: z.string().min(1),
    type: z.literal('function'),
    function: z.object({ name: z.string().min(1), arguments: z.string() }).loose(),
  })
  .loose();

const systemMessage = z.object({ role: z.enum(['system', 'developer']), content, name: z.string().optional() }).loose();
const userMessage = z.object({ role: z.literal('user'), content, name: z.string().optional() }).loose();
const assistantMessage = z
  .object({
    role: z.literal('assistant'),
    content: content.nullable().optional(),
    name: z.string().optional(),
    tool_calls: z.array(toolCallSchema).optional(),
  })
  .loose()
  .refine((m) => (m.content !== undefined && m.content !== null) || (m.tool_calls?.length ?? 0) > 0, {
    message: 'an assistant message needs content or tool_calls',
  });
const toolMessage = z.object({ role: z.literal('tool'), content, tool_call_id: z.string().min(1) }).loose();

export const chatMessageSchema = z.union([systemMessage, userMessage, assistantMessage, toolMessage]);
export type ChatMessage = z.infer<typeof chatMessageSchema>;

export const toolSchema = z
  .object({
    type: z.literal('function'),
    function: z
      .object({
        name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
        description: z.string().optional(),
        parameters: z.record(z.string(), z.unknown()).optional(),
        strict: z.boolean().nullable().optional(),
      })
      .loose(),
  })
  .loose();
export type Tool = z.infer<typeof toolSchema>;

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string().min(1) }) }).loose(),
]);

const responseFormat = z.union([
  z.object({ type: z.literal('text') }).loose(),
  z.object({ type: z.literal('json_object') }).loose(),
  z
    .object({
      type: z.literal('json_schema'),
      json_schema: z.object({ name: z.string().min(1), schema: z.record(z.string(), z.unknown()).optional(), strict: z.boolean().nullable().optional() }).loose(),
    })
    .loose(),
]);

export const chatRequestSchema = z
  .object({
    model: z.string().min(1).max(256),
    messages: z.array(chatMessageSchema).min(1),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullable().optional(),
    tools: z.array(toolSchema).max(128).optional(),
    tool_choice: toolChoice.optional(),
    parallel_tool_calls: z.boolean().optional(),
    response_format: responseFormat.optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    max_tokens: z.number().int().min(1).nullable().optional(),
    max_completion_tokens: z.number().int().min(1).nullable().optional(),
    stop: z.union([z.string(), z.array(z.string()).max(4)]).nullable().optional(),
    seed: z.number().int().nullable().optional(),
    presence_penalty: z.number().min(-2).max(2).nullable().optional(),
    frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
    n: z.literal(1).nullable().optional(),
    user: z.string().optional(),
  })
  .loose();
export type ChatRequest = z.infer<typeof chatRequestSchema>;

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

/** One streamed piece of a completion, in OpenAI's `chat.completion.chunk` shape. */
export interface ChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  system_fingerprint?: string | null;
  choices: Array<{
    index: number;
    delta: { role?: 'assistant'; content?: string | null; tool_calls?: ToolCallDelta[]; refusal?: string | null };
    finish_reason: string | null;
    logprobs?: unknown;
  }>;
  usage?: Usage | null;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint?: string | null;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string | null; tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>; refusal: null };
    finish_reason: string;
    logprobs: null;
  }>;
  usage: Usage;
}

export const embeddingsRequestSchema = z
  .object({
    model: z.string().min(1).max(256),
    input: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(2048)]),
    encoding_format: z.enum(['float', 'base64']).optional(),
    dimensions: z.number().int().min(1).optional(),
    user: z.string().optional(),
  })
  .loose();
export type EmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>;

export const usageQuerySchema = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  model: z.string().min(1).optional(),
  key_prefix: z.string().min(1).optional(),
  /** Comma-separated grouping: any of day, model, key (default day,model). */
  group_by: z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s !== ''))
    .pipe(z.array(z.enum(['day', 'model', 'key'])).max(3))
    .optional(),
});
export type UsageQuery = z.infer<typeof usageQuerySchema>;

export const usageRowSchema = z.object({
  /** Null when not grouped by day (likewise model and key_prefix). */
  day: z.string().nullable(),
  model: z.string().nullable(),
  key_prefix: z.string().nullable(),
  requests: z.number(),
  errors: z.number(),
  cache_hits: z.number(),
  tokens_in: z.number(),
  tokens_out: z.number(),
  /** Sum of the calls' costs from the price table; null when none of them had a price. */
  cost: z.number().nullable(),
  avg_latency_ms: z.number().nullable(),
  avg_ttft_ms: z.number().nullable(),
});
export type UsageRow = z.infer<typeof usageRowSchema>;
