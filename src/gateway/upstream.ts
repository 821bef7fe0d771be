// The upstream port: one LLM server (Ollama's native API or any OpenAI-compatible server) that
// lists its models and streams chat completions as OpenAI `chat.completion.chunk` objects, so
// everything above this file speaks one dialect. With tracing on, each request carries the W3C
// trace context of its GenAI span.
import http from 'node:http';
import https from 'node:https';
import { maskUrl, scrub } from '../config/secret.js';
import { PlinthError, type ErrorName } from '../errors.js';
import { activeUpstreamSpan, withTraceContext } from '../telemetry/llm-tracing.js';
import type { ChatChunk, ChatRequest } from './schema.js';
import { retryAfterMs, upstreamErrorText } from '../upstream-errors.js';

export type UpstreamKind = 'ollama' | 'openai';

export interface Upstream {
  readonly name: string;
  readonly kind: UpstreamKind;
  /** Base URL with credentials masked, safe to print. */
  readonly location: string;
  listModels(signal?: AbortSignal): Promise<string[]>;
  /**
   * Starts a streamed completion. Resolves once the upstream accepted the request (2xx headers);
   * rejects with an UpstreamError otherwise. The iterator yields chunks until the completion ends,
   * and throws an UpstreamError when the upstream reports an error mid-stream.
   */
  openChat(request: ChatRequest, signal: AbortSignal): Promise<AsyncIterator<ChatChunk>>;
}

/** A failure talking to an upstream; `retryable` only matters before the first byte reached the client. */
export class UpstreamError extends Error {
  constructor(
    readonly error: PlinthError,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(error.message);
    this.name = 'UpstreamError';
  }
}

const MAX_DETAIL = 300;

export function upstreamFailure(name: ErrorName, message: string, retryable: boolean, extra: Record<string, unknown> = {}, retryAfterMs?: number): UpstreamError {
  return new UpstreamError(new PlinthError(name, message, extra), retryable, retryAfterMs);
}

// Every call joins the same few (configured base, endpoint) pairs.
const joined = new Map<string, string>();

/** `path` resolved under `baseUrl`, keeping any path prefix the base has (such as /v1). */
export function joinUrl(baseUrl: string, path: string): string {
  const key = `${baseUrl}\n${path}`;
  let url = joined.get(key);
  if (url === undefined) {
    url = new URL(path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).toString();
    if (joined.size < 1_000) joined.set(key, url);
  }
  return url;
}

/** What `request` answers: the status, headers, and the body read once (text, JSON or bytes). */
export interface UpstreamResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  /** The body as it arrives; iterate it at most once, or call text()/json() instead. */
  readonly body: AsyncIterable<Uint8Array>;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

export interface UpstreamRequestInit {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

// Persistent connections to the upstreams, reused call after call (most recently used first, so
// idle ones time out); fetch() costs noticeably more CPU per call (WHATWG streams, Request and
// Response objects) on a path every gateway call takes.
const agentOptions = { keepAlive: true, keepAliveMsecs: 1_000, scheduling: 'lifo' as const, timeout: 0 };
const httpAgent = new http.Agent(agentOptions);
const httpsAgent = new https.Agent(agentOptions);

interface Target {
  secure: boolean;
  /** Host, port and path of the URL, as http.request takes them. */
  options: http.RequestOptions;
  /** Basic credentials carried by the URL, if any. */
  authorization?: string;
}

// Parsed once per URL: the URLs are the configured upstreams' endpoints, a handful.
const targets = new Map<string, Target>();

function targetOf(raw: string): Target {
  let t = targets.get(raw);
  if (t) return t;
  const url = new URL(raw);
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:') throw new Error(`unsupported protocol ${url.protocol}`);
  t = {
    secure,
    options: { protocol: url.protocol, hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port || (secure ? 443 : 80), path: `${url.pathname}${url.search}` },
    ...(url.username || url.password ? { authorization: `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}` } : {}),
  };
  if (targets.size < 1_000) targets.set(raw, t);
  return t;
}

/** Throws at once for a URL that cannot be called (the caller maps it like a network failure). */
function send(raw: string, init: UpstreamRequestInit): Promise<http.IncomingMessage> {
  const target = targetOf(raw);
  const headers: Record<string, string | number> = { ...init.headers };
  if (init.body !== undefined) headers['content-length'] = Buffer.byteLength(init.body);
  if (target.authorization !== undefined) headers.authorization ??= target.authorization;
  return new Promise((resolve, reject) => {
    const req = (target.secure ? https : http).request(
      { ...target.options, method: init.method ?? 'GET', headers, agent: target.secure ? httpsAgent : httpAgent, signal: init.signal },
      (res) => {
        // Errors after the headers (an abort, a broken connection) reach whoever reads the body.
        res.on('error', () => undefined);
        resolve(res);
      },
    );
    // Kept for the request's whole life: a late error must not go unhandled.
    req.on('error', reject);
    req.end(init.body);
  });
}

/** How long the rest of a body left unread is drained (to keep its connection) before it is cut. */
const DRAIN_MS = 1_000;

/**
 * The body's chunks. A reader that stops early (an SSE stream ends at [DONE], before the final
 * bytes) leaves the rest to be drained, so the connection goes back to the pool instead of being
 * closed; a body still unfinished after DRAIN_MS is cut. Aborting the call's signal cuts it at once.
 */
async function* bodyOf(res: http.IncomingMessage): AsyncGenerator<Uint8Array> {
  try {
    for await (const piece of res.iterator({ destroyOnReturn: false })) yield piece as Uint8Array;
  } finally {
    if (!res.complete && !res.destroyed) {
      const cut = setTimeout(() => res.destroy(), DRAIN_MS);
      cut.unref();
      res.once('close', () => clearTimeout(cut));
      res.resume();
    }
  }
}

function wrap(res: http.IncomingMessage): UpstreamResponse {
  const status = res.statusCode ?? 0;
  const text = async () => {
    const parts: Buffer[] = [];
    for await (const piece of res) parts.push(piece as Buffer);
    return Buffer.concat(parts).toString('utf8');
  };
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: {
      get(name) {
        const v = res.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    },
    body: bodyOf(res),
    text,
    json: async () => JSON.parse(await text()) as unknown,
  };
}

/** An HTTP call with network failures mapped to retryable UpstreamErrors and HTTP errors mapped by status. */
export async function request(url: string, init: UpstreamRequestInit, who: { upstream: string; secrets: readonly string[] }): Promise<UpstreamResponse> {
  // With tracing on, the attempt's span (telemetry/llm-tracing.ts) is the upstream's parent.
  const attempt = activeUpstreamSpan();
  let res: UpstreamResponse;
  try {
    res = wrap(await send(url, attempt ? { ...init, headers: withTraceContext(attempt, init.headers) } : init));
    attempt?.setAttribute('http.response.status_code', res.status);
  } catch (err) {
    if (init.signal.aborted) throw init.signal.reason;
    const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
    const reason = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : String(e.message);
    throw upstreamFailure('UPSTREAM_UNAVAILABLE', `Cannot reach upstream ${who.upstream} at ${maskUrl(url)}: ${scrub(reason, who.secrets)}.`, true, { upstream: who.upstream });
  }
  if (res.ok) return res;
  const text = await res.text().catch(() => '');
  const status = res.status;
  const extra = { upstream: who.upstream, upstream_status: status };
  if (status === 401 || status === 403) {
    throw upstreamFailure('UPSTREAM_FAILED', `Upstream ${who.upstream} refused Plinth's credentials (HTTP ${status}); check its API key.`, false, extra);
  }
  const detail = scrub(upstreamErrorText(text), who.secrets).slice(0, MAX_DETAIL);
  const message = `Upstream ${who.upstream} answered HTTP ${status}${detail ? `: ${detail}` : ''}.`;
  if (status === 404 && /model/i.test(detail)) throw upstreamFailure('MODEL_NOT_FOUND', message, false, extra);
  if (status === 408 || status === 429 || status >= 500) {
    throw upstreamFailure('UPSTREAM_UNAVAILABLE', message, true, extra, retryAfterMs(res.headers.get('retry-after')));
  }
  throw upstreamFailure('UPSTREAM_FAILED', message, false, extra);
}

/** Splits a byte stream into text lines (without the line break). */
export async function* lines(body: AsyncIterable<Uint8Array> | null): AsyncGenerator<string> {
  if (!body) return;
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const piece of body) {
    buffered += decoder.decode(piece, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      yield buffered.slice(0, nl).replace(/\r$/, '');
      buffered = buffered.slice(nl + 1);
    }
  }
  buffered += decoder.decode();
  if (buffered !== '') yield buffered;
}

export function completionId(): string {
  return `chatcmpl-${crypto.randomUUID().replace(/-/g, '')}`;
}
