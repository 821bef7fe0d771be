// A small JSON-over-HTTP client for training actions and notifications. node:https rather than
// fetch because the Kubernetes API server is usually verified against its own CA file.
import http from 'node:http';
import https from 'node:https';

export interface JsonResponse {
  status: number;
  body: unknown;
  text: string;
}

export interface JsonRequest {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  ca?: string | Buffer;
  timeoutMs?: number;
}

const MAX_BODY = 4 * 1024 * 1024;

export function requestJson(req: JsonRequest): Promise<JsonResponse> {
  const url = new URL(req.url);
  const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const r = mod.request(
      url,
      {
        method: req.method,
        headers: {
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          ...req.headers,
        },
        ...(req.ca && url.protocol === 'https:' ? { ca: req.ca } : {}),
        timeout: req.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) {
            r.destroy(new Error(`response from ${url.host} is larger than ${MAX_BODY} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = undefined;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body, text });
        });
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`no answer from ${url.host} within ${req.timeoutMs ?? 30_000} ms`)));
    r.on('error', reject);
    if (payload) r.write(payload);
    r.end();
  });
}

/** A short, single-line excerpt of a response body for error messages (never whole bodies in logs). */
export function excerpt(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
