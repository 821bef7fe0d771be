// One JSON POST to an upstream embedding API, with a per-attempt timeout, bounded retries for
// transient failures and errors mapped to the catalogue. Embedding requests are idempotent, so a
// retry after a 429, a 5xx or a dropped connection cannot duplicate anything.
import { setTimeout as sleep } from 'node:timers/promises';
import { maskUrl, scrub } from '../config/secret.js';
import { PlinthError } from '../errors.js';
import type { EmbeddingProvider } from './port.js';
import { retryAfterMs, upstreamErrorText } from '../upstream-errors.js';

export interface UpstreamOptions {
  provider: EmbeddingProvider;
  timeoutMs: number;
  /** Extra attempts after a retryable failure. */
  retries: number;
  /** First backoff delay; doubles per attempt, with jitter. */
  retryBaseMs?: number;
  /** Upper bound for one backoff delay, including a server's Retry-After. */
  retryMaxMs?: number;
  headers?: Record<string, string>;
  /** Strings that must never reach an error message (API keys). */
  secrets?: readonly string[];
}

const DEFAULT_RETRY_BASE_MS = 250;
const DEFAULT_RETRY_MAX_MS = 10_000;
const MAX_UPSTREAM_DETAIL = 300;

class RetryableFailure {
  constructor(
    readonly error: PlinthError,
    readonly retryAfterMs: number | undefined,
  ) {}
}

/** `path` resolved under `baseUrl`, keeping any path prefix the base has (such as /v1). */
export function endpoint(baseUrl: string, path: string): string {
  return new URL(path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).toString();
}

/** POSTs `body` as JSON and returns the parsed JSON answer, or throws a PlinthError. */
export async function postJson(url: string, body: unknown, options: UpstreamOptions, signal?: AbortSignal): Promise<unknown> {
  const payload = JSON.stringify(body);
  const attempts = options.retries + 1;
  const base = options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
  const cap = options.retryMaxMs ?? DEFAULT_RETRY_MAX_MS;
  let last: RetryableFailure | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0 && last) {
      const backoff = base * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
      await sleep(Math.min(cap, Math.max(backoff, last.retryAfterMs ?? 0)), undefined, signal ? { signal } : undefined).catch(() => {
        throw signal?.reason ?? new Error('aborted');
      });
    }
    const outcome = await attemptOnce(url, payload, options, signal);
    if (!(outcome instanceof RetryableFailure)) return outcome;
    last = outcome;
  }
  const err = last!.error;
  throw new PlinthError('EMBEDDING_UNAVAILABLE', `${err.message} (${attempts} attempt${attempts === 1 ? '' : 's'})`, { ...err.extra, attempts }, { cause: err });
}

async function attemptOnce(url: string, payload: string, options: UpstreamOptions, signal: AbortSignal | undefined): Promise<unknown> {
  const { provider } = options;
  const where = maskUrl(url);
  const clean = (text: string) => scrub(text, options.secrets ?? []).slice(0, MAX_UPSTREAM_DETAIL);
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...options.headers },
      body: payload,
      signal: combined,
    });
    text = await res.text();
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (timeout.aborted) {
      return new RetryableFailure(
        new PlinthError('EMBEDDING_UNAVAILABLE', `The ${provider} embedding request to ${where} timed out after ${options.timeoutMs} ms.`, { provider }),
        undefined,
      );
    }
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    const reason = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : (err as Error).message;
    return new RetryableFailure(
      new PlinthError('EMBEDDING_UNAVAILABLE', `Cannot reach the ${provider} embedding API at ${where}: ${clean(reason)}.`, { provider }, { cause: err }),
      undefined,
    );
  }

  if (!res.ok) {
    const status = res.status;
    const extra = { provider, upstream_status: status };
    if (status === 401 || status === 403) {
      // Upstream auth errors may echo part of the key; say what to check instead.
      throw new PlinthError('EMBEDDING_FAILED', `The ${provider} embedding API at ${where} refused the credentials (HTTP ${status}); check the API key.`, extra);
    }
    const detail = clean(upstreamErrorText(text));
    const message = `The ${provider} embedding API at ${where} answered HTTP ${status}${detail ? `: ${detail}` : ''}.`;
    if (status === 408 || status === 429 || status >= 500) {
      return new RetryableFailure(new PlinthError('EMBEDDING_UNAVAILABLE', message, extra), retryAfterMs(res.headers.get('retry-after')));
    }
    throw new PlinthError('EMBEDDING_FAILED', message, extra);
  }

  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new PlinthError('EMBEDDING_FAILED', `The ${provider} embedding API at ${where} answered with invalid JSON.`, { provider });
  }
}

