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
  BUDGET_EXCEEDED: { status: 429, title: 'The token budget for the day is spent.' },
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
  BACKUP_KEY_INVALID: { status: 500, title: 'The backup encryption key is missing or malformed.' },
  BACKUP_NOT_FOUND: { status: 404, title: 'No such backup, or no complete backup at the target.' },
  BACKUP_INTEGRITY_FAILED: { status: 422, title: 'The backup failed authentication or verification (tampered, truncated, wrong key or mismatched contents).' },
  BACKUP_TARGET_INVALID: { status: 400, title: 'The backup target is not a directory path or an s3://bucket/prefix URL.' },
  BACKUP_STORAGE_UNAVAILABLE: { status: 503, title: 'The backup storage cannot be reached.' },
  BACKUP_TOOL_MISSING: { status: 500, title: 'A PostgreSQL client tool (pg_dump, pg_restore) is missing or too old for the server.' },
  BACKUP_FAILED: { status: 500, title: 'The backup failed.' },
  BACKUP_SOURCE_BUSY: { status: 409, title: 'The embedded database is hosted by another process.' },
  RESTORE_TARGET_NOT_EMPTY: { status: 409, title: 'The restore target already holds data (use --force to replace it).' },
  RESTORE_FORMAT_MISMATCH: { status: 400, title: 'The backup format does not fit the restore target.' },
  RESTORE_FAILED: { status: 500, title: 'The restore failed.' },
  DRILL_FAILED: { status: 500, title: 'The restore drill found a mismatch.' },
  MONITOR_NOT_FOUND: { status: 404, title: 'No such monitor.' },
  MONITOR_EXISTS: { status: 409, title: 'A monitor with this name already exists.' },
  INVALID_SCHEDULE: { status: 400, title: 'The cron schedule is invalid.' },
  WORKFLOW_NOT_FOUND: { status: 404, title: 'No such workflow.' },
  WORKFLOWS_UNAVAILABLE: { status: 503, title: 'The workflow engine is unavailable.' },
  TRAINING_ACTION_NOT_ALLOWED: { status: 403, title: 'The training action is not allowed by the server configuration.' },
  TRAINING_FAILED: { status: 502, title: 'The training action failed or returned an invalid result.' },
  REGISTERED_MODEL_NOT_FOUND: { status: 404, title: 'No such registered model.' },
  MODEL_VERSION_NOT_FOUND: { status: 404, title: 'No such model version.' },
  MODEL_ALIAS_NOT_FOUND: { status: 404, title: 'No such model alias.' },
  REGISTRY_UNAVAILABLE: { status: 503, title: 'The model registry (MLflow) is unavailable.' },
  REGISTRY_FAILED: { status: 502, title: 'The model registry (MLflow) returned an error or an invalid answer.' },
  WEBHOOK_NOT_CONFIGURED: { status: 404, title: 'Webhooks are not configured (MLFLOW_WEBHOOK_SECRET is unset).' },
  WEBHOOK_SIGNATURE_INVALID: { status: 401, title: 'The webhook signature is missing, invalid or stale.' },
  DRIFT_INVALID_DATA: { status: 422, title: 'The drift data cannot be read or does not match its column types.' },
  DRIFT_COLUMN_MISSING: { status: 422, title: 'A reference column is missing from the current data.' },
  DRIFT_TEST_NOT_APPLICABLE: { status: 422, title: 'The statistical test does not apply to this column type or data.' },
  DRIFT_UNSUPPORTED_FORMAT: { status: 415, title: 'Unsupported drift data format.' },
  DRIFT_PROFILE_NOT_FOUND: { status: 404, title: 'No such reference profile.' },
  DRIFT_CHECK_NOT_FOUND: { status: 404, title: 'No such drift check.' },
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
/**
 * A PostgreSQL data exception (SQLSTATE class 22: a number out of range, a date the database
 * cannot represent, a NUL character in text) raised by a value the client sent, found on the
 * error or in its causes: the client's input cannot be stored, not a server failure.
 */
function dataException(err: unknown): PlinthError | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | null | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && /^22[0-9A-Z]{3}$/.test(e.code)) {
      return new PlinthError('VALIDATION_FAILED', 'A value in the request cannot be stored (a number out of range, a date outside the supported range or a NUL character).', {}, { cause: err });
    }
  }
  return undefined;
}

export function toPlinthError(err: unknown): PlinthError {
  // An internal error wrapping a data exception (e.g. raised inside a step) is still the client's.
  if (err instanceof PlinthError) return err.code === 'PLINTH_INTERNAL' ? (dataException(err.cause) ?? err) : err;
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
  return dataException(err) ?? new PlinthError('INTERNAL', undefined, {}, { cause: err });
}
