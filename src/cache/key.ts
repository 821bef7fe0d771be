// The exact-cache key: a hash of the canonical request. Fields that change the answer are kept,
// with their defaults filled in (so `temperature: 0` and an explicit `top_p: 1` hit the same
// entry as the request without them); object keys are sorted; streaming options are left out,
// because a hit is replayed in whichever form the client asks for.
import { createHash } from 'node:crypto';
import type { ChatRequest } from '../gateway/schema.js';

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

export function exactCacheKey(tenantId: string, req: ChatRequest): string {
  const canonical = {
    v: 1,
    tenant: tenantId,
    model: req.model,
    messages: req.messages,
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
  return createHash('sha256').update(canonicalJson(canonical)).digest('hex');
}
