// Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp, LocalAI, Ollama's /v1): requests pass
// through unchanged except that streaming with usage is always asked for (Plinth needs the token
// counts) and the credentials are Plinth's own, never the client's.
import { maskUrl } from '../config/secret.js';
import type { ChatChunk, ChatRequest } from './schema.js';
import { joinUrl, lines, request, upstreamFailure, type Upstream } from './upstream.js';

export interface OpenAIUpstreamOptions {
  name: string;
  /** Base URL including the version path, e.g. https://api.openai.com/v1. */
  baseUrl: string;
  apiKey?: string;
}

export function createOpenAIUpstream(options: OpenAIUpstreamOptions): Upstream {
  const secrets = options.apiKey ? [options.apiKey] : [];
  const who = { upstream: options.name, secrets };
  const auth: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
  return {
    name: options.name,
    kind: 'openai',
    location: maskUrl(options.baseUrl),

    async listModels(signal) {
      const res = await request(joinUrl(options.baseUrl, 'models'), { headers: auth, signal: signal ?? AbortSignal.timeout(10_000) }, who);
      const body = (await res.json()) as { data?: Array<{ id?: unknown }> };
      return (body.data ?? []).map((m) => m.id).filter((id): id is string => typeof id === 'string');
    },

    async openChat(req, signal) {
      const body: ChatRequest = { ...req, stream: true, stream_options: { ...req.stream_options, include_usage: true } };
      const res = await request(
        joinUrl(options.baseUrl, 'chat/completions'),
        { method: 'POST', headers: { ...auth, 'content-type': 'application/json', accept: 'text/event-stream' }, body: JSON.stringify(body), signal },
        who,
      );
      return events(lines(res.body), options.name);
    },
  };
}

/** Server-sent events: `data:` lines joined until a blank line; `[DONE]` ends the stream. */
async function* events(source: AsyncGenerator<string>, upstream: string): AsyncGenerator<ChatChunk> {
  let data: string[] = [];
  const flush = (): ChatChunk | 'done' | undefined => {
    if (data.length === 0) return undefined;
    const payload = data.join('\n');
    data = [];
    if (payload.trim() === '[DONE]') return 'done';
    let parsed: ChatChunk & { error?: { message?: unknown } | string };
    try {
      parsed = JSON.parse(payload) as typeof parsed;
    } catch {
      throw upstreamFailure('UPSTREAM_FAILED', `Upstream ${upstream} sent an event that is not JSON.`, false, { upstream });
    }
    if (parsed.error !== undefined) {
      const e = parsed.error;
      const message = typeof e === 'string' ? e : typeof e.message === 'string' ? e.message : 'unknown error';
      throw upstreamFailure('UPSTREAM_FAILED', `Upstream ${upstream} failed mid-stream: ${message.slice(0, 300)}`, false, { upstream });
    }
    if (!Array.isArray(parsed.choices)) parsed.choices = [];
    return parsed;
  };
  for await (const line of source) {
    if (line === '') {
      const out = flush();
      if (out === 'done') return;
      if (out) yield out;
      continue;
    }
    if (line.startsWith(':')) continue;
    if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  const out = flush();
  if (out === 'done') return;
  if (out) yield out;
  throw upstreamFailure('UPSTREAM_FAILED', `Upstream ${upstream} closed the stream without [DONE].`, false, { upstream });
}
