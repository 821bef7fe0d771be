// Reading failure answers from upstream HTTP servers (Ollama, OpenAI-compatible APIs), shared by
// the embedders and the LLM gateway.

/** The human-readable part of an error body: Ollama `{error}`, OpenAI `{error: {message}}`, or text. */
export function upstreamErrorText(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown };
    if (typeof body.error === 'string') return body.error;
    const nested = body.error as { message?: unknown } | undefined;
    if (nested && typeof nested.message === 'string') return nested.message;
    if (typeof body.message === 'string') return body.message;
  } catch {
    // Not JSON: the raw text.
  }
  return text.replace(/\s+/g, ' ').trim();
}

/** A Retry-After header (seconds or an HTTP date) in milliseconds from now. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
