// The shape of Plinth's configuration, validated once at start-up and then frozen.
// Every setting has one environment variable (see ENV_VARS); secrets also accept `<NAME>_FILE`.
import { z } from 'zod';
import { Secret } from './secret.js';

const secret = z
  .string()
  .min(1)
  .transform((v) => new Secret(v));

const port = z.coerce.number().int().min(0).max(65535);
const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

const urlString = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL with scheme ${protocols.join(' or ')}` },
  );

const secretUrl = (protocols: string[]) => urlString(protocols).transform((v) => new Secret(v));

export const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

export const configSchema = z
  .object({
    dataDir: z.string().min(1).default('./.plinth'),
    server: z
      .object({
        host: z.string().min(1).optional(),
        port: port.default(7070),
        metricsPort: port.optional(),
        bodyLimitBytes: z.coerce.number().int().min(1024).max(256 * 1024 * 1024).default(1024 * 1024),
        shutdownTimeoutMs: z.coerce.number().int().min(0).max(600_000).default(10_000),
        requestTimeoutMs: z.coerce.number().int().min(0).max(3_600_000).default(120_000),
        publicDocs: bool.default(false),
        trustProxy: bool.default(false),
        tls: z
          .object({
            certFile: z.string().min(1).optional(),
            keyFile: z.string().min(1).optional(),
            reloadIntervalMs: z.coerce.number().int().min(100).default(5_000),
          })
          .strict()
          .prefault({})
          .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), {
            message: 'TLS_CERT_FILE and TLS_KEY_FILE must be set together',
          }),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        url: secretUrl(['postgres:', 'postgresql:']).optional(),
        readUrl: secretUrl(['postgres:', 'postgresql:']).optional(),
        poolMax: z.coerce.number().int().min(1).max(500).default(10),
        statementTimeoutMs: z.coerce.number().int().min(0).default(30_000),
        connectTimeoutMs: z.coerce.number().int().min(100).default(5_000),
        sslMode: z.enum(SSL_MODES).optional(),
        caFile: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        token: secret.optional(),
      })
      .strict()
      .prefault({}),
    redis: z
      .object({ url: secretUrl(['redis:', 'rediss:']).optional() })
      .strict()
      .prefault({}),
    ollama: z
      .object({ url: urlString(['http:', 'https:']).optional() })
      .strict()
      .prefault({}),
    mlflow: z
      .object({ trackingUri: urlString(['http:', 'https:']).optional() })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.output<typeof configSchema>;

/**
 * Environment variable → config path. `secret: true` variables also accept `<NAME>_FILE`
 * (the file's content, trailing newline trimmed), as Kubernetes Secret volumes provide.
 */
export const ENV_VARS: ReadonlyArray<{ name: string; path: string; secret?: boolean; doc: string }> = [
  { name: 'PLINTH_DATA_DIR', path: 'dataDir', doc: 'Directory for embedded data and the bootstrap admin key.' },
  { name: 'PLINTH_HOST', path: 'server.host', doc: 'Listen address (127.0.0.1 in embedded mode, 0.0.0.0 otherwise).' },
  { name: 'PLINTH_PORT', path: 'server.port', doc: 'HTTP(S) port.' },
  { name: 'METRICS_PORT', path: 'server.metricsPort', doc: 'Serve /metrics on this separate port.' },
  { name: 'PLINTH_BODY_LIMIT', path: 'server.bodyLimitBytes', doc: 'Largest accepted request body, in bytes.' },
  { name: 'PLINTH_SHUTDOWN_TIMEOUT_MS', path: 'server.shutdownTimeoutMs', doc: 'How long to drain in-flight requests on SIGTERM.' },
  { name: 'PLINTH_REQUEST_TIMEOUT_MS', path: 'server.requestTimeoutMs', doc: 'Upper bound for one request.' },
  { name: 'PLINTH_PUBLIC_DOCS', path: 'server.publicDocs', doc: 'Serve /docs and /openapi.json without credentials.' },
  { name: 'PLINTH_TRUST_PROXY', path: 'server.trustProxy', doc: 'Trust X-Forwarded-* headers from a reverse proxy.' },
  { name: 'TLS_CERT_FILE', path: 'server.tls.certFile', doc: 'PEM certificate chain; enables HTTPS (reloaded on change).' },
  { name: 'TLS_KEY_FILE', path: 'server.tls.keyFile', doc: 'PEM private key for TLS_CERT_FILE.' },
  { name: 'TLS_RELOAD_INTERVAL_MS', path: 'server.tls.reloadIntervalMs', doc: 'How often certificate files are checked for changes.' },
  { name: 'DATABASE_URL', path: 'database.url', secret: true, doc: 'PostgreSQL URL; unset means embedded PGlite.' },
  { name: 'DATABASE_READ_URL', path: 'database.readUrl', secret: true, doc: 'Optional read replica URL for read-only queries.' },
  { name: 'DATABASE_POOL_MAX', path: 'database.poolMax', doc: 'Connection pool size.' },
  { name: 'DATABASE_STATEMENT_TIMEOUT_MS', path: 'database.statementTimeoutMs', doc: 'statement_timeout for every connection (0 = none).' },
  { name: 'DATABASE_CONNECT_TIMEOUT_MS', path: 'database.connectTimeoutMs', doc: 'Connection timeout.' },
  { name: 'DATABASE_SSL_MODE', path: 'database.sslMode', doc: 'disable | prefer | require | verify-ca | verify-full.' },
  { name: 'DATABASE_CA_FILE', path: 'database.caFile', doc: 'CA bundle for verify-ca / verify-full.' },
  { name: 'LOG_LEVEL', path: 'log.level', doc: 'fatal | error | warn | info | debug | trace | silent.' },
  { name: 'METRICS_TOKEN', path: 'metrics.token', secret: true, doc: 'Bearer token Prometheus presents to /metrics (admin keys work too).' },
  { name: 'REDIS_URL', path: 'redis.url', secret: true, doc: 'Redis URL; unset means in-process cache and limits.' },
  { name: 'OLLAMA_URL', path: 'ollama.url', doc: 'Ollama base URL.' },
  { name: 'MLFLOW_TRACKING_URI', path: 'mlflow.trackingUri', doc: 'MLflow tracking server; unset means the built-in registry.' },
];

/** Environment variables that Plinth reads but that are not settings. */
export const META_ENV_VARS = new Set(['PLINTH_CONFIG']);
