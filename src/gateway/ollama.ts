// Ollama's native chat API (POST /api/chat, NDJSON stream) translated to and from OpenAI's chat
// format. keep_alive comes from Plinth's configuration, never from the client: how long models
// stay loaded is an operator decision. Tool calls arrive whole (arguments as an object) and leave
// as one OpenAI tool_call delta each, with an id Plinth makes up because Ollama has none.
import { maskUrl } from '../config/secret.js';
import type { ChatChunk, ChatMessage, ChatRequest, Usage } from './schema.js';
import { completionId, joinUrl, lines, request, upstreamFailure, type Upstream } from './upstream.js';

export interface OllamaUpstreamOptions {
  name: string;
  baseUrl: string;
  keepAlive: string;
}

interface OllamaLine {
  model?: string;
  message?: { role?: string; content?: string; thinking?: string; tool_calls?: Array<{ function?: { name?: string; arguments?: unknown } }> };
  done?: boolean;
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
  error?: unknown;
}

export function createOllamaUpstream(options: OllamaUpstreamOptions): Upstream {
  const who = { upstream: options.name, secrets: [] };
  return {
    name: options.name,
    kind: 'ollama',
    location: maskUrl(options.baseUrl),

    async listModels(signal) {
      const res = await request(joinUrl(options.baseUrl, 'api/tags'), { signal: signal ?? AbortSignal.timeout(10_000) }, who);
      const body = (await res.json()) as { models?: Array<{ name?: unknown; model?: unknown }> };
      const names = new Set<string>();
      for (const m of body.models ?? []) {
        const name = typeof m.name === 'string' ? m.name : typeof m.model === 'string' ? m.model : undefined;
        if (!name) continue;
        names.add(name);
        if (name.endsWith(':latest')) names.add(name.slice(0, -':latest'.length));
      }
      return [...names];
    },

    async openChat(req, signal) {
      const body = toOllama(req, options.keepAlive);
      const res = await request(
        joinUrl(options.baseUrl, 'api/chat'),
        { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' }, body: JSON.stringify(body), signal },
        who,
      );
      return translate(lines(res.body), req.model, options.name);
    },
  };
}

function text(content: ChatMessage['content']): { text: string; images: string[] } {
  if (content === undefined || content === null) return { text: '', images: [] };
  if (typeof content === 'string') return { text: content, images: [] };
  const images: string[] = [];
  let out = '';
  for (const part of content) {
    if (part.type === 'text') out += part.text;
    else {
      // Ollama takes raw base64 images; data URLs are unwrapped, remote URLs are not fetched.
      const m = /^data:[^;]+;base64,(.*)$/s.exec(part.image_url.url);
      if (m?.[1]) images.push(m[1]);
    }
  }
  return { text: out, images };
}

export function toOllama(req: ChatRequest, keepAlive: string): Record<string, unknown> {
  const names = new Map<string, string>();
  const messages = req.messages.map((m) => {
    const { text: content, images } = text(m.content);
    const out: Record<string, unknown> = { role: m.role === 'developer' ? 'system' : m.role, content };
    if (images.length > 0) out.images = images;
    if (m.role === 'assistant' && m.tool_calls) {
      out.tool_calls = m.tool_calls.map((c) => {
        names.set(c.id, c.function.name);
        return { function: { name: c.function.name, arguments: parseArguments(c.function.arguments) } };
      });
    }
    if (m.role === 'tool') {
      const name = names.get(m.tool_call_id);
      if (name) out.tool_name = name;
    }
    return out;
  });
  const options: Record<string, unknown> = {};
  if (req.temperature != null) options.temperature = req.temperature;
  if (req.top_p != null) options.top_p = req.top_p;
  if (req.seed != null) options.seed = req.seed;
  const maxTokens = req.max_completion_tokens ?? req.max_tokens;
  if (maxTokens != null) options.num_predict = maxTokens;
  if (req.stop != null) options.stop = typeof req.stop === 'string' ? [req.stop] : req.stop;
  if (req.presence_penalty != null) options.presence_penalty = req.presence_penalty;
  if (req.frequency_penalty != null) options.frequency_penalty = req.frequency_penalty;
  const body: Record<string, unknown> = { model: req.model, messages, stream: true, keep_alive: keepAlive };
  if (Object.keys(options).length > 0) body.options = options;
  if (req.tools && req.tool_choice !== 'none') body.tools = req.tools.map((t) => ({ type: 'function', function: t.function }));
  const rf = req.response_format;
  if (rf?.type === 'json_object') body.format = 'json';
  else if (rf?.type === 'json_schema') body.format = rf.json_schema.schema ?? 'json';
  return body;
}

function parseArguments(args: string): unknown {
  try {
    return JSON.parse(args) as unknown;
  } catch {
    return {};
  }
}

async function* translate(source: AsyncGenerator<string>, model: string, upstream: string): AsyncGenerator<ChatChunk> {
  const id = completionId();
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: ChatChunk['choices'][number]['delta'], finish: string | null, usage?: Usage): ChatChunk => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...(usage ? { usage } : {}),
  });
  let first = true;
  let toolIndex = 0;
  for await (const line of source) {
    if (line.trim() === '') continue;
    let parsed: OllamaLine;
    try {
      parsed = JSON.parse(line) as OllamaLine;
    } catch {
      throw upstreamFailure('UPSTREAM_FAILED', `Upstream ${upstream} sent a line that is not JSON.`, false, { upstream });
    }
    if (parsed.error !== undefined) {
      const message = typeof parsed.error === 'string' ? parsed.error : JSON.stringify(parsed.error);
      throw upstreamFailure('UPSTREAM_FAILED', `Upstream ${upstream} failed mid-stream: ${message.slice(0, 300)}`, false, { upstream });
    }
    const delta: ChatChunk['choices'][number]['delta'] = {};
    if (first) delta.role = 'assistant';
    const content = parsed.message?.content;
    if (content) delta.content = content;
    const calls = parsed.message?.tool_calls;
    if (calls && calls.length > 0) {
      delta.tool_calls = calls.map((c) => ({
        index: toolIndex++,
        id: `call_${crypto.randomUUID().replace(/-/g, '').slice(0, 24)}`,
        type: 'function' as const,
        function: { name: c.function?.name ?? '', arguments: JSON.stringify(c.function?.arguments ?? {}) },
      }));
    }
    if (parsed.done) {
      if (Object.keys(delta).length > 0) yield chunk(delta, null);
      const prompt = parsed.prompt_eval_count ?? 0;
      const completion = parsed.eval_count ?? 0;
      const reason = toolIndex > 0 ? 'tool_calls' : parsed.done_reason === 'length' ? 'length' : 'stop';
      yield chunk({}, reason, { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion });
      return;
    }
    if (Object.keys(delta).length === 0) continue;
    first = false;
    yield chunk(delta, null);
  }
  throw upstreamFailure('UPSTREAM_FAILED', `Upstream ${upstream} closed the stream before the completion was done.`, false, { upstream });
}
