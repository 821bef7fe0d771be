// Cache keys. The exact key is a hash of the canonical request: fields that change the answer are
// kept, with their defaults filled in (so `temperature: 0` and an explicit `top_p: 1` hit the same
// entry as the request without them); object keys are sorted; streaming options are left out,
// because a hit is replayed in whichever form the client asks for.
// The semantic partition key is the same canonical request with the text of the last user
// message taken out: two requests may only share an answer when everything but that text —
// tenant, model, system prompt, earlier turns, tools, response format, sampling — is identical.
import { createHash } from 'node:crypto';
import type { ChatMessage, ChatRequest } from '../gateway/schema.js';

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function canonicalRequest(tenantId: string, req: ChatRequest, messages: unknown): Record<string, unknown> {
  return {
    v: 1,
    tenant: tenantId,
    model: req.model,
    messages,
    tools: req.tools ?? null,
    tool_choice: req.tool_choice ?? (req.tools ? 'auto' : 'none'),
    parallel_tool_calls: req.parallel_tool_calls ?? true,
    response_format: req.response_format ?? { type: 'text' },
    temperature: req.temperature ?? 1,
    top_p: req.top_p ?? 1,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? null,
    stop: req.stop == null ? null : typeof req.stop === 'string' ? [req.stop] : req.stop,
    seed: req.seed ?? null,
    presence_penalty: req.presence_penalty ?? 0,
    frequency_penalty: req.frequency_penalty ?? 0,
  };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function exactCacheKey(tenantId: string, req: ChatRequest): string {
  return sha256(canonicalJson(canonicalRequest(tenantId, req, req.messages)));
}

/** The text of the last message when it is a user message made of text only; undefined otherwise. */
export function lastUserText(req: ChatRequest): string | undefined {
  const last: ChatMessage | undefined = req.messages[req.messages.length - 1];
  if (!last || last.role !== 'user') return undefined;
  const c = last.content;
  if (typeof c === 'string') return c.trim() === '' ? undefined : c;
  const texts: string[] = [];
  for (const part of c) {
    // An image changes the question in ways the text embedding cannot see.
    if (part.type !== 'text') return undefined;
    texts.push(part.text);
  }
  const text = texts.join('\n');
  return text.trim() === '' ? undefined : text;
}

/**
 * The partition of the semantic cache a request belongs to: everything that shapes the answer
 * except the last user message's text, plus the embedding space (vectors of different models
 * are never compared). Call only when lastUserText(req) is defined.
 */
export function semanticPartitionKey(tenantId: string, req: ChatRequest, embeddingSpace: string): string {
  const earlier = req.messages.slice(0, -1);
  const { content: _text, ...lastRest } = req.messages[req.messages.length - 1]!;
  return sha256(canonicalJson({ ...canonicalRequest(tenantId, req, earlier), last: lastRest, space: embeddingSpace }));
}
