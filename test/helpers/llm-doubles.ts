// Test doubles of the Ollama and OpenAI HTTP APIs, on 127.0.0.1 with an ephemeral port. They
// follow the documented request and response shapes (Ollama /api/embed, /api/version, /api/tags;
// OpenAI /v1/embeddings, /v1/models), compute embeddings deterministically with the hashing
// embedder, record every request, and inject faults on demand: error statuses, latency, dropped
// connections, wrong dimensions, non-finite values. Chat (Ollama /api/chat with NDJSON streaming,
// OpenAI /v1/chat/completions with SSE) answers deterministically, with its own faults: a slow
// first token, an error or a dropped connection mid-stream. Other endpoints plug in through `routes`.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { hashText } from '../../src/embeddings/hashing.js';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body, or the raw text when it is not JSON (undefined when empty). */
  body: unknown;
}

export interface DoubleRequest extends RecordedRequest {
  query: URLSearchParams;
  raw: string;
}

/** Handles one request; write the response with `json()` or directly on `res` (streams, SSE). */
export type DoubleHandler = (req: DoubleRequest, res: http.ServerResponse) => void | Promise<void>;

export interface FaultOptions {
  /** Seconds, sent as Retry-After. */
  retryAfter?: number;
  /** Response body; defaults to the API's own error shape. */
  body?: unknown;
}

/** Faults apply to requests in arrival order; each `…Next(n)` consumes one unit per request. */
export class Faults {
  failures: Array<{ status: number } & FaultOptions> = [];
  drops = 0;
  /** Delay before every answer. */
  latencyMs = 0;
  /** Vectors one dimension short, for the next n embedding requests. */
  wrongDimensions = 0;
  /** A null (JSON's rendering of NaN) inside the vectors of the next n embedding requests. */
  nonFinite = 0;
  /** Chat streams: delay after the response headers, before the first chunk. */
  firstTokenDelayMs = 0;
  /** Chat streams: delay between chunks. */
  chunkDelayMs = 0;
  /** Chat streams: an error object after the first chunk, for the next n chat requests. */
  midStreamErrors = 0;
  /** Chat streams: the connection dropped after the first chunk, for the next n chat requests. */
  midStreamDrops = 0;
  /** Chat streams that ended because the client went away. */
  abortedStreams = 0;

  failNext(count: number, status: number, options: FaultOptions = {}): void {
    for (let i = 0; i < count; i++) this.failures.push({ status, ...options });
  }

  dropNext(count: number): void {
    this.drops += count;
  }

  wrongDimensionsNext(count: number): void {
    this.wrongDimensions += count;
  }

  nonFiniteNext(count: number): void {
    this.nonFinite += count;
  }

  midStreamErrorNext(count: number): void {
    this.midStreamErrors += count;
  }

  midStreamDropNext(count: number): void {
    this.midStreamDrops += count;
  }

  reset(): void {
    this.failures = [];
    this.drops = 0;
    this.latencyMs = 0;
    this.wrongDimensions = 0;
    this.nonFinite = 0;
    this.firstTokenDelayMs = 0;
    this.chunkDelayMs = 0;
    this.midStreamErrors = 0;
    this.midStreamDrops = 0;
    this.abortedStreams = 0;
  }
}

export interface LlmDouble {
  /** Base URL: `http://127.0.0.1:port` for Ollama, `http://127.0.0.1:port/v1` for OpenAI. */
  url: string;
  /** Every request received, faults included, in arrival order. */
  requests: RecordedRequest[];
  faults: Faults;
  /** Requests to one path (e.g. '/api/embed'). */
  requestsTo(path: string): RecordedRequest[];
  close(): Promise<void>;
}

export interface DoubleOptions {
  /** Embedding size for models that do not ask for another; default 64. */
  dimensions?: number;
  /** Known models; a request for another one gets the API's "model not found" error. */
  models?: string[];
  /** Extra routes, keyed `METHOD /path`, checked before the built-in ones. */
  routes?: Record<string, DoubleHandler>;
}

export function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A deterministic unit vector for `text`: the hashing embedder's, so similar texts stay similar. */
export function doubleEmbedding(text: string, dimensions: number): number[] {
  const raw = hashText(text, dimensions);
  const norm = Math.sqrt(raw.reduce((s, v) => s + v * v, 0));
  return Array.from(raw, (v) => v / norm);
}

/** Consumes one unit of each vector fault that is pending, for one embedding answer. */
function takeVectorFault(faults: Faults): { short: boolean; nan: boolean } {
  const short = faults.wrongDimensions > 0;
  const nan = faults.nonFinite > 0;
  if (short) faults.wrongDimensions--;
  if (nan) faults.nonFinite--;
  return { short, nan };
}

function shapeVector(v: number[], fault: { short: boolean; nan: boolean }): Array<number | null> {
  const out: Array<number | null> = fault.short ? v.slice(0, -1) : v;
  if (fault.nan) out[0] = null;
  return out;
}

async function startDouble(
  routes: Record<string, DoubleHandler>,
  errorBody: (status: number, req: DoubleRequest) => unknown,
  basePath: string,
  faults: Faults,
): Promise<LlmDouble> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: unknown = raw === '' ? undefined : raw;
        try {
          if (raw !== '') body = JSON.parse(raw) as unknown;
        } catch {
          // Kept as text: handlers answer 400 for a body they cannot use.
        }
        const url = new URL(req.url ?? '/', 'http://double');
        const request: DoubleRequest = { method: req.method ?? 'GET', path: url.pathname, headers: req.headers, body, query: url.searchParams, raw };
        requests.push({ method: request.method, path: request.path, headers: request.headers, body: request.body });
        if (faults.latencyMs > 0) await sleep(faults.latencyMs);
        if (faults.drops > 0) {
          faults.drops--;
          req.socket.destroy();
          return;
        }
        const failure = faults.failures.shift();
        if (failure) {
          json(res, failure.status, failure.body ?? errorBody(failure.status, request), failure.retryAfter !== undefined ? { 'retry-after': String(failure.retryAfter) } : {});
          return;
        }
        const handler = routes[`${request.method} ${request.path}`];
        if (!handler) {
          json(res, 404, errorBody(404, request));
          return;
        }
        try {
          await handler(request, res);
        } catch (err) {
          if (!res.headersSent) json(res, 500, { error: (err as Error).message });
          else res.destroy();
        }
      })();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}${basePath}`,
    requests,
    faults,
    requestsTo: (path) => requests.filter((r) => r.path === path),
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Chat, shared by both doubles. The answer is deterministic: with tools offered (and tool_choice
// not "none") after a user turn, a call of the first tool with {"query": <user text>}; after a
// tool result, "Tool said: <result>"; otherwise "Echo: <last user text>" (as JSON {"echo": …}
// when a JSON response format is asked for). Tokens are whitespace-separated words.

interface ChatBody {
  model?: unknown;
  messages?: Array<{ role?: string; content?: unknown }>;
  tools?: Array<{ function?: { name?: string } }>;
  tool_choice?: unknown;
  format?: unknown;
  response_format?: { type?: string };
  stream?: unknown;
  stream_options?: { include_usage?: boolean };
}

export interface ChatAnswer {
  text: string | null;
  toolCall?: { name: string; arguments: Record<string, unknown> };
  promptTokens: number;
  pieces: string[];
}

const words = (t: string) => t.split(/\s+/).filter(Boolean).length;
const contentText = (c: unknown): string =>
  typeof c === 'string' ? c : Array.isArray(c) ? c.map((p: { text?: unknown }) => (typeof p?.text === 'string' ? p.text : '')).join('') : '';

export function chatAnswer(body: ChatBody, json: boolean): ChatAnswer {
  const messages = body.messages ?? [];
  const last = messages[messages.length - 1];
  const promptTokens = messages.reduce((n, m) => n + words(contentText(m.content)), 0);
  const tool = body.tools?.[0]?.function?.name;
  if (tool && body.tool_choice !== 'none' && last?.role === 'user') {
    return { text: null, toolCall: { name: tool, arguments: { query: contentText(last.content) } }, promptTokens, pieces: [] };
  }
  const text = last?.role === 'tool' ? `Tool said: ${contentText(last.content)}` : `Echo: ${contentText([...messages].reverse().find((m) => m.role === 'user')?.content)}`;
  const answer = json ? JSON.stringify({ echo: text }) : text;
  const pieces = answer.match(/\S+\s*/g) ?? [answer];
  return { text: answer, promptTokens, pieces };
}

/** Writes a chat stream, honouring the chat faults; `line` renders one piece, `error` the mid-stream error. */
async function streamChat(
  req: DoubleRequest,
  res: http.ServerResponse,
  faults: Faults,
  contentType: string,
  items: string[],
  error: string,
): Promise<void> {
  const midError = faults.midStreamErrors > 0;
  if (midError) faults.midStreamErrors--;
  const midDrop = faults.midStreamDrops > 0;
  if (midDrop) faults.midStreamDrops--;
  let finished = false;
  res.on('close', () => {
    if (!finished) faults.abortedStreams++;
  });
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache' });
  res.flushHeaders();
  if (faults.firstTokenDelayMs > 0) await sleep(faults.firstTokenDelayMs);
  for (let i = 0; i < items.length; i++) {
    if (res.destroyed) return;
    if (i > 0 && faults.chunkDelayMs > 0) await sleep(faults.chunkDelayMs);
    if (res.destroyed) return;
    res.write(items[i]);
    if (i === 0 && midDrop) {
      // Let the first chunk reach the client before the connection goes.
      await sleep(50);
      finished = true;
      req.headers['x-dropped'] = '1';
      res.socket?.destroy();
      return;
    }
    if (i === 0 && midError) {
      res.write(error);
      finished = true;
      res.end();
      return;
    }
  }
  finished = true;
  res.end();
}

// ---------------------------------------------------------------------------------------------
// Ollama (https://github.com/ollama/ollama/blob/main/docs/api.md)

export const OLLAMA_DOUBLE_VERSION = '0.12.6';

export async function startOllamaDouble(options: DoubleOptions = {}): Promise<LlmDouble> {
  const dimensions = options.dimensions ?? 64;
  const models = options.models ?? ['nomic-embed-text', 'all-minilm'];
  const faults = new Faults();
  const known = (name: unknown) => typeof name === 'string' && models.some((m) => m === name || `${m}:latest` === name || m === `${name}:latest`);
  const routes: Record<string, DoubleHandler> = {
    'GET /api/version': (_req, res) => json(res, 200, { version: OLLAMA_DOUBLE_VERSION }),
    'GET /api/tags': (_req, res) =>
      json(res, 200, {
        models: models.map((name) => ({
          name: name.includes(':') ? name : `${name}:latest`,
          model: name.includes(':') ? name : `${name}:latest`,
          modified_at: '2025-01-01T00:00:00Z',
          size: 274302450,
          digest: 'sha256:0a109f422b47e3a30ba2b10eca18548e944e8a23073ee3f3e947efcf3c45e59f',
          details: { format: 'gguf', family: 'nomic-bert', families: ['nomic-bert'], parameter_size: '137M', quantization_level: 'F16' },
        })),
      }),
    'POST /api/embed': (req, res) => {
      const body = req.body as { model?: unknown; input?: unknown; dimensions?: unknown } | undefined;
      if (!body || typeof body !== 'object') return json(res, 400, { error: 'invalid request body' });
      if (!known(body.model)) return json(res, 404, { error: `model "${String(body.model)}" not found, try pulling it first` });
      const input = typeof body.input === 'string' ? [body.input] : body.input;
      if (!Array.isArray(input) || !input.every((t) => typeof t === 'string')) return json(res, 400, { error: 'invalid input type' });
      const dims = typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.min(body.dimensions, dimensions) : dimensions;
      const fault = takeVectorFault(faults);
      json(res, 200, {
        model: body.model,
        embeddings: input.map((t) => shapeVector(doubleEmbedding(t, dims), fault)),
        total_duration: 14143917,
        load_duration: 1019500,
        prompt_eval_count: input.reduce((n, t) => n + t.split(/\s+/).filter(Boolean).length, 0),
      });
    },
  };
  routes['POST /api/chat'] = async (req, res) => {
    const body = req.body as ChatBody | undefined;
    if (!body || typeof body !== 'object' || !Array.isArray(body.messages)) return json(res, 400, { error: 'invalid request body' });
    if (!known(body.model)) return json(res, 404, { error: `model "${String(body.model)}" not found, try pulling it first` });
    const answer = chatAnswer(body, body.format !== undefined);
    const base = { model: body.model, created_at: '2025-01-01T00:00:00Z' };
    const done = {
      ...base,
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: 'stop',
      total_duration: 4883583458,
      prompt_eval_count: answer.promptTokens,
      eval_count: answer.toolCall ? 8 : answer.pieces.reduce((n, p) => n + words(p), 0),
    };
    const messages = answer.toolCall
      ? [{ ...base, message: { role: 'assistant', content: '', tool_calls: [{ function: { name: answer.toolCall.name, arguments: answer.toolCall.arguments } }] }, done: false }]
      : answer.pieces.map((p) => ({ ...base, message: { role: 'assistant', content: p }, done: false }));
    if (body.stream === false) {
      const content = answer.pieces.join('');
      return json(res, 200, { ...done, message: { role: 'assistant', content, ...(answer.toolCall ? { tool_calls: [{ function: answer.toolCall }] } : {}) } });
    }
    const items = [...messages, done].map((m) => `${JSON.stringify(m)}\n`);
    await streamChat(req, res, faults, 'application/x-ndjson', items, `${JSON.stringify({ error: 'an injected error occurred mid-stream' })}\n`);
  };
  return startDouble({ ...routes, ...options.routes }, (status) => ({ error: status === 404 ? 'not found' : `injected failure (HTTP ${status})` }), '', faults);
}

// ---------------------------------------------------------------------------------------------
// OpenAI (https://platform.openai.com/docs/api-reference/embeddings)

export interface OpenAIDoubleOptions extends DoubleOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Answer `data` in reverse order: `index` is what clients must rely on. */
  reverseOrder?: boolean;
  /** Echo the presented credentials inside error bodies, as careless proxies do. */
  leakKeyInErrors?: boolean;
}

export async function startOpenAIDouble(options: OpenAIDoubleOptions = {}): Promise<LlmDouble> {
  const dimensions = options.dimensions ?? 64;
  const models = options.models ?? ['text-embedding-3-small', 'text-embedding-3-large'];
  const faults = new Faults();
  const presented = (req: DoubleRequest) => req.headers.authorization ?? '';
  const errorBody = (status: number, req: DoubleRequest) => ({
    error: {
      message: options.leakKeyInErrors ? `upstream failure (HTTP ${status}) for credentials ${presented(req)}` : `upstream failure (HTTP ${status})`,
      type: status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error',
      param: null,
      code: null,
    },
  });
  const authorised = (req: DoubleRequest, res: http.ServerResponse): boolean => {
    if (options.apiKey === undefined || presented(req) === `Bearer ${options.apiKey}`) return true;
    const message = `Incorrect API key provided: ${presented(req).replace(/^Bearer /, '')}. You can find your API key at https://platform.openai.com/account/api-keys.`;
    json(res, 401, { error: { message, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
    return false;
  };
  const routes: Record<string, DoubleHandler> = {
    'GET /v1/models': (req, res) => {
      if (!authorised(req, res)) return;
      json(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 1705953180, owned_by: 'system' })) });
    },
    'POST /v1/embeddings': (req, res) => {
      if (!authorised(req, res)) return;
      const body = req.body as { model?: unknown; input?: unknown; dimensions?: unknown; encoding_format?: unknown } | undefined;
      if (!body || typeof body !== 'object') return json(res, 400, errorBody(400, req));
      if (typeof body.model !== 'string' || !models.includes(body.model)) {
        return json(res, 404, {
          error: { message: `The model \`${String(body.model)}\` does not exist or you do not have access to it.`, type: 'invalid_request_error', param: null, code: 'model_not_found' },
        });
      }
      const input = typeof body.input === 'string' ? [body.input] : body.input;
      if (!Array.isArray(input) || input.length === 0 || !input.every((t) => typeof t === 'string' && t !== '')) {
        return json(res, 400, { error: { message: "'$.input' is invalid.", type: 'invalid_request_error', param: null, code: null } });
      }
      const dims = typeof body.dimensions === 'number' && body.dimensions > 0 ? body.dimensions : dimensions;
      const fault = takeVectorFault(faults);
      const data = (input as string[]).map((t, index) => {
        const v = shapeVector(doubleEmbedding(t, dims), fault);
        const embedding = body.encoding_format === 'base64' ? Buffer.from(new Float32Array(v.map((x) => x ?? Number.NaN)).buffer).toString('base64') : v;
        return { object: 'embedding', index, embedding };
      });
      if (options.reverseOrder) data.reverse();
      const tokens = (input as string[]).reduce((n, t) => n + t.split(/\s+/).filter(Boolean).length, 0);
      json(res, 200, { object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
    },
  };
  routes['POST /v1/chat/completions'] = async (req, res) => {
    if (!authorised(req, res)) return;
    const body = req.body as ChatBody | undefined;
    if (!body || typeof body !== 'object' || !Array.isArray(body.messages) || body.messages.length === 0) {
      return json(res, 400, { error: { message: "'messages' is required.", type: 'invalid_request_error', param: 'messages', code: null } });
    }
    if (typeof body.model !== 'string' || !models.includes(body.model)) {
      return json(res, 404, {
        error: { message: `The model \`${String(body.model)}\` does not exist or you do not have access to it.`, type: 'invalid_request_error', param: null, code: 'model_not_found' },
      });
    }
    const rf = body.response_format?.type;
    const answer = chatAnswer(body, rf === 'json_object' || rf === 'json_schema');
    const completionTokens = answer.toolCall ? 8 : answer.pieces.reduce((n, p) => n + words(p), 0);
    const usage = { prompt_tokens: answer.promptTokens, completion_tokens: completionTokens, total_tokens: answer.promptTokens + completionTokens };
    const id = 'chatcmpl-double';
    const base = { id, created: 1705953180, model: body.model, system_fingerprint: 'fp_double' };
    const toolCall = answer.toolCall ? { id: 'call_double_1', type: 'function', function: { name: answer.toolCall.name, arguments: JSON.stringify(answer.toolCall.arguments) } } : undefined;
    const finish = toolCall ? 'tool_calls' : 'stop';
    if (body.stream !== true) {
      return json(res, 200, {
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: answer.text, ...(toolCall ? { tool_calls: [toolCall] } : {}), refusal: null }, logprobs: null, finish_reason: finish }],
        usage,
      });
    }
    const chunk = (delta: Record<string, unknown>, finishReason: string | null) => ({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] });
    const events: unknown[] = [chunk({ role: 'assistant', content: '' }, null)];
    if (toolCall) {
      events.push(chunk({ tool_calls: [{ index: 0, id: toolCall.id, type: 'function', function: { name: toolCall.function.name, arguments: '' } }] }, null));
      events.push(chunk({ tool_calls: [{ index: 0, function: { arguments: toolCall.function.arguments } }] }, null));
    } else {
      for (const p of answer.pieces) events.push(chunk({ content: p }, null));
    }
    events.push(chunk({}, finish));
    if (body.stream_options?.include_usage) events.push({ ...base, object: 'chat.completion.chunk', choices: [], usage });
    const items = [...events.map((e) => `data: ${JSON.stringify(e)}\n\n`), 'data: [DONE]\n\n'];
    await streamChat(req, res, faults, 'text/event-stream', items, `data: ${JSON.stringify({ error: { message: 'an injected error occurred mid-stream', type: 'server_error', param: null, code: null } })}\n\n`);
  };
  return startDouble({ ...routes, ...options.routes }, errorBody, '/v1', faults);
}

/** The data events of an SSE body (JSON-parsed) and whether it ended with `[DONE]`. */
export interface SseResult {
  events: unknown[];
  done: boolean;
}

export function parseSse(body: string): SseResult {
  const events: unknown[] = [];
  let done = false;
  for (const block of body.split('\n\n')) {
    const data = block
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => l.slice(6))
      .join('\n');
    if (data === '') continue;
    if (data === '[DONE]') done = true;
    else events.push(JSON.parse(data));
  }
  return { events, done };
}
