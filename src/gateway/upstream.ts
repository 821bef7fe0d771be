// The upstream port: one LLM server (Ollama's native API or any OpenAI-compatible server) that
// lists its models and streams chat completions as OpenAI `chat.completion.chunk` objects, so
// everything above this file speaks one dialect.
import { maskUrl, scrub } from '../config/secret.js';
import { PlinthError, type ErrorName } from '../errors.js';
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

/** `path` resolved under `baseUrl`, keeping any path prefix the base has (such as /v1). */
export function joinUrl(baseUrl: string, path: string): string {
  return new URL(path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).toString();
}

/** fetch() with network failures mapped to retryable UpstreamErrors and HTTP errors mapped by status. */
export async function request(
  url: string,
  init: RequestInit & { signal: AbortSignal },
  who: { upstream: string; secrets: readonly string[] },
): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    if (init.signal.aborted) throw init.signal.reason;
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    const reason = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : (err as Error).message;
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
export async function* lines(body: ReadableStream<Uint8Array> | null): AsyncGenerator<string> {
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
