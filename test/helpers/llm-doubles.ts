// Test doubles of the Ollama and OpenAI HTTP APIs, on 127.0.0.1 with an ephemeral port. They
// follow the documented request and response shapes (Ollama /api/embed, /api/version, /api/tags;
// OpenAI /v1/embeddings, /v1/models), compute embeddings deterministically with the hashing
// embedder, record every request, and inject faults on demand: error statuses, latency, dropped
// connections, wrong dimensions, non-finite values. New endpoints (chat, streaming) plug in
// through `routes`.
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

  reset(): void {
    this.failures = [];
    this.drops = 0;
    this.latencyMs = 0;
    this.wrongDimensions = 0;
    this.nonFinite = 0;
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
  return startDouble({ ...routes, ...options.routes }, errorBody, '/v1', faults);
}
