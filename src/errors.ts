// The one error catalogue. Every failure a client can see has a stable code here;
// callers branch on `code`, never on message text. HTTP renders these as
// application/problem+json, MCP as isError results, the CLI as a message and exit code.

export const ERRORS = {
  BAD_REQUEST: { status: 400, title: 'The request is malformed.' },
  VALIDATION_FAILED: { status: 400, title: 'The request does not match the schema.' },
  UNAUTHENTICATED: { status: 401, title: 'Missing or invalid credentials.' },
  FORBIDDEN: { status: 403, title: 'The credentials lack the required scope.' },
  NOT_FOUND: { status: 404, title: 'No such resource.' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed.' },
  CONFLICT: { status: 409, title: 'The resource already exists or changed concurrently.' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported content type.' },
  RATE_LIMITED: { status: 429, title: 'Too many requests.' },
  INTERNAL: { status: 500, title: 'Internal error.' },
  DATABASE_UNAVAILABLE: { status: 503, title: 'The database is unavailable.' },
  SHUTTING_DOWN: { status: 503, title: 'The server is shutting down.' },
  CONFIG_INVALID: { status: 500, title: 'The configuration is invalid.' },
  MIGRATION_FAILED: { status: 500, title: 'A database migration failed.' },
  TENANT_NOT_FOUND: { status: 404, title: 'No such tenant.' },
  TENANT_EXISTS: { status: 409, title: 'A tenant with this name already exists.' },
  KEY_NOT_FOUND: { status: 404, title: 'No such API key.' },
  INVALID_SCOPE: { status: 400, title: 'Unknown scope.' },
  EMBEDDING_INPUT_INVALID: { status: 400, title: 'The text to embed is empty or too long.' },
  EMBEDDING_FAILED: { status: 502, title: 'The embedding provider returned an error or an invalid answer.' },
  EMBEDDING_UNAVAILABLE: { status: 503, title: 'The embedding provider is unavailable.' },
  UNSUPPORTED_DOCUMENT_TYPE: { status: 415, title: 'Unsupported document type.' },
  INVALID_DOCUMENT: { status: 422, title: 'The document cannot be read.' },
  ORIGIN_NOT_ALLOWED: { status: 403, title: 'The request origin is not allowed.' },
  TOKEN_ISSUER_UNAVAILABLE: { status: 503, title: 'The signing keys of the token issuer cannot be fetched.' },
  MODEL_NOT_FOUND: { status: 404, title: 'No configured LLM upstream serves this model.' },
  LLM_NOT_CONFIGURED: { status: 503, title: 'No LLM provider is configured.' },
  PROMPT_TOO_LARGE: { status: 413, title: 'The prompt is too large.' },
  UPSTREAM_UNAVAILABLE: { status: 503, title: 'The LLM upstream is unavailable.' },
  UPSTREAM_TIMEOUT: { status: 504, title: 'The LLM upstream did not answer in time.' },
  UPSTREAM_FAILED: { status: 502, title: 'The LLM upstream returned an error or an invalid answer.' },
  LIMITS_UNAVAILABLE: { status: 503, title: 'The rate-limit store is unavailable.' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorName = keyof typeof ERRORS;
export type ErrorCode = `PLINTH_${ErrorName}`;

export function errorCode(name: ErrorName): ErrorCode {
  return `PLINTH_${name}`;
}

/** A failure meant to be shown to a client: stable code, HTTP status, safe detail. */
export class PlinthError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  /** Extra machine-readable fields for the problem body (never secrets). */
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(name: ErrorName, detail?: string, extra: Record<string, unknown> = {}, options?: ErrorOptions) {
    const entry = ERRORS[name];
    super(detail ?? entry.title, options);
    this.name = 'PlinthError';
    this.code = errorCode(name);
    this.status = entry.status;
    this.title = entry.title;
    this.extra = extra;
  }

  is(name: ErrorName): boolean {
    return this.code === errorCode(name);
  }
}

export function isPlinthError(err: unknown, name?: ErrorName): err is PlinthError {
  return err instanceof PlinthError && (name === undefined || err.is(name));
}

/** PostgreSQL SQLSTATE classes that mean "the database is not reachable right now". */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '53300']);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'ENOENT', 'EHOSTUNREACH']);

/** Map low-level errors (pg, network) to catalogue errors; unknown errors become INTERNAL. */
export function toPlinthError(err: unknown): PlinthError {
  if (err instanceof PlinthError) return err;
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : '';
  if (code !== undefined && (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_ERRNOS.has(code))) {
    return new PlinthError('DATABASE_UNAVAILABLE', undefined, {}, { cause: err });
  }
  if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)) {
    return new PlinthError('DATABASE_UNAVAILABLE', undefined, {}, { cause: err });
  }
  if (code === '23505') return new PlinthError('CONFLICT', undefined, {}, { cause: err });
  // A CHECK constraint is the last line of defence for a rule the service should have checked.
  if (code === '23514') return new PlinthError('VALIDATION_FAILED', 'The values break a rule of the stored data (for example valid_to before valid_from).', {}, { cause: err });
  if (code === '57014') return new PlinthError('DATABASE_UNAVAILABLE', 'The database query timed out.', {}, { cause: err });
  return new PlinthError('INTERNAL', undefined, {}, { cause: err });
}
