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

/** Comma-separated (env) or listed (YAML) browser origins, normalised to `scheme://host[:port]`. */
const originList = z
  .union([z.array(z.string()), z.string().transform((v) => v.split(','))])
  .transform((list) => list.map((o) => o.trim()).filter((o) => o !== ''))
  .refine((list) => list.every((o) => /^https?:\/\/[^/]/.test(o) && URL.canParse(o)), { message: 'each entry must be an http(s) origin, e.g. https://app.example.com' })
  .transform((list) => list.map((o) => new URL(o).origin));

/** Token issuers must be reached over TLS; plain http is accepted for loopback (local issuers, tests). */
const loopbackOrHttps = z.string().refine(
  (v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'https:' || (u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname));
    } catch {
      return false;
    }
  },
  { message: 'must be an https URL (http only for a loopback host)' },
);
export const EMBEDDING_PROVIDERS = ['auto', 'ollama', 'openai', 'local', 'hashing'] as const;

export const configSchema = z
  .object({
    dataDir: z.string().min(1).default('./.plinth'),
    auth: z
      .object({
        /** Failed authentications from one source within the window after which it is blocked; 0 disables. */
        maxFailures: z.coerce.number().int().min(0).max(1_000_000).default(20),
        failureWindowMs: z.coerce.number().int().min(1_000).max(86_400_000).default(60_000),
        blockMs: z.coerce.number().int().min(1_000).max(86_400_000).default(300_000),
      })
      .strict()
      .prefault({}),
    server: z
      .object({
        host: z.string().min(1).optional(),
        port: port.default(7070),
        metricsPort: port.optional(),
        bodyLimitBytes: z.coerce.number().int().min(1024).max(256 * 1024 * 1024).default(1024 * 1024),
        documentMaxBytes: z.coerce.number().int().min(1024).max(256 * 1024 * 1024).default(20 * 1024 * 1024),
        shutdownTimeoutMs: z.coerce.number().int().min(0).max(600_000).default(10_000),
        shutdownDelayMs: z.coerce.number().int().min(0).max(600_000).default(0),
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
        preparedStatements: bool.default(true),
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
    otel: z
      .object({
        endpoint: urlString(['http:', 'https:'])
          .transform((v) => v.replace(/\/+$/, ''))
          .optional(),
        headers: secret.optional(),
        serviceName: z.string().min(1).default('plinth'),
        sampleRatio: z.coerce.number().min(0).max(1).default(1),
      })
      .strict()
      .prefault({}),
    redis: z
      .object({
        url: secretUrl(['redis:', 'rediss:']).optional(),
        /** Sentinel addresses (host:port, comma-separated in the env); the master is asked of them. */
        sentinels: z
          .union([z.array(z.string()), z.string().transform((v) => v.split(','))])
          .transform((list) => list.map((s) => s.trim()).filter((s) => s !== ''))
          .refine((list) => list.every((s) => /^(\[[0-9a-fA-F:.]+\]|[^\s:/]+):\d{1,5}$/.test(s)), { message: 'each entry must be host:port' })
          .optional(),
        sentinelName: z.string().min(1).optional(),
        password: secret.optional(),
        sentinelPassword: secret.optional(),
        tls: bool.default(false),
        reconnectGraceMs: z.coerce.number().int().min(0).max(30_000).default(1_000),
      })
      .strict()
      .prefault({})
      .refine((r) => (r.sentinels === undefined || r.sentinels.length === 0) === (r.sentinelName === undefined), {
        message: 'REDIS_SENTINELS and REDIS_SENTINEL_NAME must be set together',
        path: ['sentinelName'],
      })
      .refine((r) => !(r.url && r.sentinels && r.sentinels.length > 0), { message: 'set either REDIS_URL or REDIS_SENTINELS, not both', path: ['sentinels'] }),
    ollama: z
      .object({ url: urlString(['http:', 'https:']).optional() })
      .strict()
      .prefault({}),
    mlflow: z
      .object({
        trackingUri: urlString(['http:', 'https:'])
          .transform((v) => v.replace(/\/+$/, ''))
          .optional(),
        token: secret.optional(),
        username: z.string().min(1).optional(),
        password: secret.optional(),
        timeoutMs: z.coerce.number().int().min(100).max(600_000).default(10_000),
        aliasCacheTtlMs: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
        webhookSecret: secret.optional(),
        webhookMaxAgeSeconds: z.coerce.number().int().min(1).max(86_400).default(300),
      })
      .strict()
      .prefault({})
      .refine((m) => (m.username === undefined) === (m.password === undefined), {
        message: 'MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD must be set together',
      })
      .refine((m) => m.token === undefined || m.username === undefined, {
        message: 'set either MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD, not both',
      }),
    mcp: z
      .object({
        publicUrl: urlString(['http:', 'https:'])
          .transform((v) => v.replace(/\/+$/, ''))
          .optional(),
        allowedOrigins: originList.default([]),
      })
      .strict()
      .prefault({}),
    oauth: z
      .object({
        issuer: loopbackOrHttps.optional(),
        audience: z.string().min(1).optional(),
        jwksUrl: loopbackOrHttps.optional(),
        tenantClaim: z.string().min(1).default('plinth_tenant'),
      })
      .strict()
      .prefault({})
      .refine((o) => (o.issuer === undefined) === (o.jwksUrl === undefined), {
        message: 'OAUTH_ISSUER and OAUTH_JWKS_URL must be set together',
        path: ['jwksUrl'],
      }),
    openai: z
      .object({
        baseUrl: urlString(['http:', 'https:']).optional(),
        apiKey: secret.optional(),
      })
      .strict()
      .prefault({}),
    embeddings: z
      .object({
        provider: z.enum(EMBEDDING_PROVIDERS).default('auto'),
        model: z.string().min(1).optional(),
        dimensions: z.coerce.number().int().min(2).max(16_000).optional(),
        localModelDir: z.string().min(1).optional(),
        batchSize: z.coerce.number().int().min(1).max(2048).default(32),
        timeoutMs: z.coerce.number().int().min(100).max(600_000).default(60_000),
        retries: z.coerce.number().int().min(0).max(10).default(2),
        maxInputChars: z.coerce.number().int().min(1).max(10_000_000).default(32_768),
      })
      .strict()
      .prefault({}),
    workflows: z
      .object({
        /** DBOS system database; unset means the Plinth database itself (schema `schema` below). */
        systemDatabaseUrl: secretUrl(['postgres:', 'postgresql:']).optional(),
        schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).default('dbos'),
        executorId: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/).default('local'),
        concurrency: z.coerce.number().int().min(1).max(100).default(2),
        monitorTick: z.string().min(9).default('* * * * *'),
        allowedCommands: z
          .union([z.array(z.string()), z.string().transform((v) => v.split(','))])
          .transform((list) => list.map((c) => c.trim()).filter((c) => c !== ''))
          .default([]),
        pollIntervalMs: z.coerce.number().int().min(100).max(3_600_000).default(15_000),
        trainingTimeoutMs: z.coerce.number().int().min(1000).max(7 * 86_400_000).default(6 * 3_600_000),
        shutdownTimeoutMs: z.coerce.number().int().min(0).max(600_000).default(10_000),
      })
      .strict()
      .prefault({}),
    retention: z
      .object({
        /** Cron schedule of the retention sweep (run by the workflow engine of serve or a worker). */
        schedule: z.string().min(9).default('23 3 * * *'),
        /** Delete memories this many days after they expired (0 = keep expired memories). */
        expiredMemoriesDays: z.coerce.number().int().min(0).max(36_500).default(0),
        /** Delete LLM usage records older than this many days (0 = keep). */
        usageDays: z.coerce.number().int().min(0).max(36_500).default(0),
        /** Delete drift inference-log rows older than this many days (0 = keep). */
        inferenceLogDays: z.coerce.number().int().min(0).max(36_500).default(0),
        /** Delete drift checks (and scheduled monitor checks) older than this many days (0 = keep). */
        driftChecksDays: z.coerce.number().int().min(0).max(36_500).default(0),
      })
      .strict()
      .prefault({}),
    backup: z
      .object({
        /** A directory, or s3://bucket/prefix. */
        target: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
        keep: z.coerce.number().int().min(0).max(10_000).default(0),
        /** Directory of pg_dump / pg_restore; unset means PATH. */
        pgBinDir: z.string().min(1).optional(),
        /** Where drills create their scratch database (a role allowed to CREATE DATABASE and the vector extension). */
        drillDatabaseUrl: secretUrl(['postgres:', 'postgresql:']).optional(),
        s3: z
          .object({
            endpoint: urlString(['http:', 'https:']).optional(),
            region: z.string().min(1).default('us-east-1'),
            accessKeyId: secret.optional(),
            secretAccessKey: secret.optional(),
            forcePathStyle: bool.default(false),
          })
          .strict()
          .prefault({})
          .refine((s) => (s.accessKeyId === undefined) === (s.secretAccessKey === undefined), {
            message: 'BACKUP_S3_ACCESS_KEY_ID and BACKUP_S3_SECRET_ACCESS_KEY must be set together',
          }),
      })
      .strict()
      .prefault({}),
    gateway: z
      .object({
        /** Extra upstreams (YAML only); OLLAMA_URL and OPENAI_BASE_URL add one each without a file. */
        upstreams: z
          .array(
            z
              .object({
                name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/),
                kind: z.enum(['ollama', 'openai']),
                url: urlString(['http:', 'https:']),
                apiKey: secret.optional(),
                /** Models served; unset means listed from the upstream. */
                models: z.array(z.string().min(1)).optional(),
              })
              .strict(),
          )
          .default([])
          .refine((list) => new Set(list.map((u) => u.name)).size === list.length, { message: 'upstream names must be unique' }),
        ollamaKeepAlive: z.string().min(1).default('5m'),
        firstTokenTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(60_000),
        totalTimeoutMs: z.coerce.number().int().min(100).max(3_600_000).default(600_000),
        retries: z.coerce.number().int().min(0).max(10).default(2),
        retryBaseMs: z.coerce.number().int().min(0).max(60_000).default(250),
        breakerThreshold: z.coerce.number().int().min(1).max(1000).default(5),
        breakerCooldownMs: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
        modelsTtlMs: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
        maxPromptChars: z.coerce.number().int().min(1).max(100_000_000).default(1_000_000),
        defaultMaxTokens: z.coerce.number().int().min(1).max(1_000_000).default(1024),
        requestsPerMinute: z.coerce.number().int().min(0).default(0),
        tokensPerMinute: z.coerce.number().int().min(0).default(0),
        tokensPerDay: z.coerce.number().int().min(0).default(0),
        tenantRequestsPerMinute: z.coerce.number().int().min(0).default(0),
        tenantTokensPerMinute: z.coerce.number().int().min(0).default(0),
        tenantTokensPerDay: z.coerce.number().int().min(0).default(0),
        limitsCacheTtlMs: z.coerce.number().int().min(0).max(600_000).default(5_000),
        pricesFile: z.string().min(1).optional(),
        limitsFailOpen: bool.default(true),
        cache: bool.default(true),
        cacheTtlMs: z.coerce.number().int().min(1000).max(30 * 86_400_000).default(3_600_000),
        cacheMaxEntries: z.coerce.number().int().min(1).max(10_000_000).default(1000),
        cacheMaxTemperature: z.coerce.number().min(0).max(2).default(0),
        semanticCache: z
          .union([z.boolean(), z.enum(['on', 'off', 'true', 'false', '1', '0', 'yes', 'no'])])
          .transform((v) => v === true || v === 'on' || v === 'true' || v === '1' || v === 'yes')
          .default(false),
        semanticThreshold: z.coerce.number().min(0.5).max(1).default(0.95),
        semanticMaxTemperature: z.coerce.number().min(0).max(2).default(0),
        semanticMaxPerPartition: z.coerce.number().int().min(1).max(10_000).default(256),
        semanticMaxEntries: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
        semanticTtlMs: z.coerce.number().int().min(1000).max(30 * 86_400_000).default(3_600_000),
      })
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
  { name: 'PLINTH_DOCUMENT_MAX_BYTES', path: 'server.documentMaxBytes', doc: 'Largest document accepted for ingestion, in bytes.' },
  { name: 'PLINTH_SHUTDOWN_DELAY_MS', path: 'server.shutdownDelayMs', doc: 'On SIGTERM, answer /readyz red (and other requests 503) for this long before closing the listener.' },
  { name: 'PLINTH_SHUTDOWN_TIMEOUT_MS', path: 'server.shutdownTimeoutMs', doc: 'How long to drain in-flight requests on SIGTERM.' },
  { name: 'PLINTH_REQUEST_TIMEOUT_MS', path: 'server.requestTimeoutMs', doc: 'Upper bound for one request.' },
  { name: 'PLINTH_PUBLIC_DOCS', path: 'server.publicDocs', doc: 'Serve /docs and /openapi.json without credentials.' },
  { name: 'PLINTH_AUTH_MAX_FAILURES', path: 'auth.maxFailures', doc: 'Failed authentications from one client address within PLINTH_AUTH_FAILURE_WINDOW_MS after which the address is refused (429) for PLINTH_AUTH_BLOCK_MS; 0 disables.' },
  { name: 'PLINTH_AUTH_FAILURE_WINDOW_MS', path: 'auth.failureWindowMs', doc: 'Window in which failed authentications of one address are counted.' },
  { name: 'PLINTH_AUTH_BLOCK_MS', path: 'auth.blockMs', doc: 'How long an address over the limit is refused.' },
  { name: 'PLINTH_TRUST_PROXY', path: 'server.trustProxy', doc: 'Trust X-Forwarded-* headers from a reverse proxy.' },
  { name: 'TLS_CERT_FILE', path: 'server.tls.certFile', doc: 'PEM certificate chain; enables HTTPS (reloaded on change).' },
  { name: 'TLS_KEY_FILE', path: 'server.tls.keyFile', doc: 'PEM private key for TLS_CERT_FILE.' },
  { name: 'TLS_RELOAD_INTERVAL_MS', path: 'server.tls.reloadIntervalMs', doc: 'How often certificate files are checked for changes.' },
  { name: 'DATABASE_URL', path: 'database.url', secret: true, doc: 'PostgreSQL URL; unset means embedded PGlite.' },
  { name: 'DATABASE_READ_URL', path: 'database.readUrl', secret: true, doc: 'Optional read replica URL for read-only queries.' },
  { name: 'DATABASE_POOL_MAX', path: 'database.poolMax', doc: 'Connection pool size.' },
  { name: 'DATABASE_PREPARED_STATEMENTS', path: 'database.preparedStatements', doc: 'Run searches as named prepared statements (parsed and planned once per connection). Turn off behind a pooler in transaction mode without prepared-statement support.' },
  { name: 'DATABASE_STATEMENT_TIMEOUT_MS', path: 'database.statementTimeoutMs', doc: 'statement_timeout for every connection (0 = none).' },
  { name: 'DATABASE_CONNECT_TIMEOUT_MS', path: 'database.connectTimeoutMs', doc: 'Connection timeout.' },
  { name: 'DATABASE_SSL_MODE', path: 'database.sslMode', doc: 'disable | prefer | require | verify-ca | verify-full.' },
  { name: 'DATABASE_CA_FILE', path: 'database.caFile', doc: 'CA bundle for verify-ca / verify-full.' },
  { name: 'LOG_LEVEL', path: 'log.level', doc: 'fatal | error | warn | info | debug | trace | silent.' },
  { name: 'METRICS_TOKEN', path: 'metrics.token', secret: true, doc: 'Bearer token Prometheus presents to /metrics (admin keys work too).' },
  { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', path: 'otel.endpoint', doc: 'OTLP/HTTP collector base URL (spans go to <url>/v1/traces); unset means tracing off.' },
  { name: 'OTEL_EXPORTER_OTLP_HEADERS', path: 'otel.headers', secret: true, doc: 'Headers for the OTLP collector, as key=value pairs separated by commas (e.g. authorization=Bearer …).' },
  { name: 'OTEL_SERVICE_NAME', path: 'otel.serviceName', doc: 'service.name of exported spans.' },
  { name: 'OTEL_TRACES_SAMPLER_ARG', path: 'otel.sampleRatio', doc: 'Fraction (0..1) of new traces sampled; requests arriving with a traceparent follow its sampled flag.' },
  { name: 'REDIS_URL', path: 'redis.url', secret: true, doc: 'Redis URL; unset (and no REDIS_SENTINELS) means in-process cache and limits.' },
  { name: 'REDIS_SENTINELS', path: 'redis.sentinels', doc: 'Comma-separated Sentinel addresses (host:port); Plinth asks them for the current master. Instead of REDIS_URL.' },
  { name: 'REDIS_SENTINEL_NAME', path: 'redis.sentinelName', doc: 'Master name the Sentinels monitor (`sentinel monitor <name> …`).' },
  { name: 'REDIS_PASSWORD', path: 'redis.password', secret: true, doc: 'Password of the Redis servers behind REDIS_SENTINELS (with REDIS_URL, put it in the URL).' },
  { name: 'REDIS_SENTINEL_PASSWORD', path: 'redis.sentinelPassword', secret: true, doc: 'Password of the Sentinels themselves, when they require one.' },
  { name: 'REDIS_RECONNECT_GRACE_MS', path: 'redis.reconnectGraceMs', doc: 'For this long after the Redis connection was lost, commands wait for the reconnect (a failover, a restarted server) before the limits fall back to GATEWAY_LIMITS_FAIL_OPEN; then they fail fast until connected again. 0 fails at once.' },
  { name: 'REDIS_TLS', path: 'redis.tls', doc: 'Connect to the Sentinels and the Redis servers over TLS (REDIS_URL uses rediss:// instead).' },
  { name: 'OLLAMA_URL', path: 'ollama.url', doc: 'Ollama base URL.' },
  { name: 'MLFLOW_TRACKING_URI', path: 'mlflow.trackingUri', doc: 'MLflow tracking server; unset means the built-in registry.' },
  { name: 'MLFLOW_TRACKING_TOKEN', path: 'mlflow.token', secret: true, doc: 'Bearer token sent to the MLflow server.' },
  { name: 'MLFLOW_TRACKING_USERNAME', path: 'mlflow.username', doc: 'Basic-auth user for the MLflow server (with MLFLOW_TRACKING_PASSWORD).' },
  { name: 'MLFLOW_TRACKING_PASSWORD', path: 'mlflow.password', secret: true, doc: 'Basic-auth password for the MLflow server.' },
  { name: 'MLFLOW_TIMEOUT_MS', path: 'mlflow.timeoutMs', doc: 'Timeout for one MLflow REST call.' },
  { name: 'MLFLOW_ALIAS_CACHE_TTL_MS', path: 'mlflow.aliasCacheTtlMs', doc: 'How long a resolved alias (e.g. champion) is served from memory; webhooks invalidate it sooner (0 = no cache).' },
  { name: 'MLFLOW_WEBHOOK_SECRET', path: 'mlflow.webhookSecret', secret: true, doc: 'Secret of the MLflow webhook pointed at POST /v1/registry/webhooks/mlflow; unset disables the endpoint.' },
  { name: 'MLFLOW_WEBHOOK_MAX_AGE_SECONDS', path: 'mlflow.webhookMaxAgeSeconds', doc: 'Webhook deliveries whose timestamp is further than this from now are refused (replay protection).' },
  { name: 'PLINTH_PUBLIC_URL', path: 'mcp.publicUrl', doc: 'External base URL of this server (as clients reach it); advertised in OAuth protected-resource metadata.' },
  { name: 'MCP_ALLOWED_ORIGINS', path: 'mcp.allowedOrigins', doc: 'Comma-separated browser origins allowed to call /mcp (loopback same-origin is always allowed).' },
  { name: 'OAUTH_ISSUER', path: 'oauth.issuer', doc: 'Issuer (iss) of OAuth 2.1 bearer JWTs accepted besides API keys; enables JWT validation.' },
  { name: 'OAUTH_AUDIENCE', path: 'oauth.audience', doc: 'Required audience (aud) of bearer JWTs; defaults to PLINTH_PUBLIC_URL.' },
  { name: 'OAUTH_JWKS_URL', path: 'oauth.jwksUrl', doc: "The issuer's JSON Web Key Set URL (signing keys)." },
  { name: 'OAUTH_TENANT_CLAIM', path: 'oauth.tenantClaim', doc: 'JWT claim naming the tenant (name or id).' },
  { name: 'OPENAI_BASE_URL', path: 'openai.baseUrl', doc: 'OpenAI-compatible API base URL, including the version path (e.g. https://api.openai.com/v1).' },
  { name: 'OPENAI_API_KEY', path: 'openai.apiKey', secret: true, doc: 'Bearer key for OPENAI_BASE_URL (optional for servers without auth).' },
  { name: 'EMBEDDINGS_PROVIDER', path: 'embeddings.provider', doc: 'auto | ollama | openai | local | hashing; auto picks the first configured, hashing last.' },
  { name: 'EMBEDDINGS_MODEL', path: 'embeddings.model', doc: 'Embedding model name (provider default when unset).' },
  { name: 'EMBEDDINGS_DIMENSIONS', path: 'embeddings.dimensions', doc: 'Vector size; unset means asked of the model by one probe call at start.' },
  { name: 'EMBEDDINGS_LOCAL_MODEL_DIR', path: 'embeddings.localModelDir', doc: 'Directory with a sentence-embedding ONNX model and tokenizer.json for the local provider.' },
  { name: 'EMBEDDINGS_BATCH_SIZE', path: 'embeddings.batchSize', doc: 'Texts per upstream request.' },
  { name: 'EMBEDDINGS_TIMEOUT_MS', path: 'embeddings.timeoutMs', doc: 'Timeout for one upstream embedding request.' },
  { name: 'EMBEDDINGS_RETRIES', path: 'embeddings.retries', doc: 'Retries of an upstream request that failed with 429, 5xx or a network error.' },
  { name: 'EMBEDDINGS_MAX_INPUT_CHARS', path: 'embeddings.maxInputChars', doc: 'Longest text accepted for embedding, in characters.' },
  { name: 'WORKFLOWS_SYSTEM_DATABASE_URL', path: 'workflows.systemDatabaseUrl', secret: true, doc: 'PostgreSQL URL of the DBOS system database; unset means the Plinth database (DATABASE_URL or embedded), schema WORKFLOWS_SCHEMA.' },
  { name: 'WORKFLOWS_SCHEMA', path: 'workflows.schema', doc: 'Schema holding the DBOS system tables (workflow status, steps, queues, schedules).' },
  { name: 'WORKFLOWS_EXECUTOR_ID', path: 'workflows.executorId', doc: 'DBOS executor id of this process; a restarted process recovers the pending workflows of its own id (use a stable per-replica name).' },
  { name: 'WORKFLOWS_CONCURRENCY', path: 'workflows.concurrency', doc: 'Retraining workflows one worker runs at once.' },
  { name: 'WORKFLOWS_MONITOR_TICK', path: 'workflows.monitorTick', doc: 'Cron schedule of the monitor tick that runs due drift monitors (5 or 6 fields).' },
  { name: 'WORKFLOWS_ALLOWED_COMMANDS', path: 'workflows.allowedCommands', doc: 'Comma-separated executables a `command` training action may run (exact paths or names); empty refuses command actions.' },
  { name: 'WORKFLOWS_POLL_INTERVAL_MS', path: 'workflows.pollIntervalMs', doc: 'Default interval between status polls of webhook, kubernetes_job and airflow training actions.' },
  { name: 'WORKFLOWS_TRAINING_TIMEOUT_MS', path: 'workflows.trainingTimeoutMs', doc: 'Default upper bound for one training action, waiting included.' },
  { name: 'WORKFLOWS_SHUTDOWN_TIMEOUT_MS', path: 'workflows.shutdownTimeoutMs', doc: 'On shutdown, how long running workflows may finish before the process stops (the rest resume on restart).' },
  { name: 'RETENTION_SCHEDULE', path: 'retention.schedule', doc: 'Cron schedule of the retention sweep that deletes data older than the RETENTION_* ages (UTC).' },
  { name: 'RETENTION_EXPIRED_MEMORIES_DAYS', path: 'retention.expiredMemoriesDays', doc: 'Delete memories (with their history) this many days after their expires_at; 0 keeps them.' },
  { name: 'RETENTION_USAGE_DAYS', path: 'retention.usageDays', doc: 'Delete LLM usage records older than this many days; 0 keeps them.' },
  { name: 'RETENTION_INFERENCE_LOG_DAYS', path: 'retention.inferenceLogDays', doc: 'Delete drift inference-log rows older than this many days; 0 keeps them.' },
  { name: 'RETENTION_DRIFT_CHECKS_DAYS', path: 'retention.driftChecksDays', doc: 'Delete stored drift checks and monitor check records older than this many days; 0 keeps them.' },
  { name: 'BACKUP_TARGET', path: 'backup.target', doc: 'Where backups go and drills read from: a directory or s3://bucket/prefix.' },
  { name: 'BACKUP_KEY_FILE', path: 'backup.keyFile', doc: 'File of 256-bit backup keys (64 hex chars or base64, one per line); the first encrypts, all decrypt.' },
  { name: 'BACKUP_KEEP', path: 'backup.keep', doc: 'Complete backups kept at the target after each backup (0 = keep all).' },
  { name: 'PG_BIN_DIR', path: 'backup.pgBinDir', doc: 'Directory holding pg_dump and pg_restore; unset means PATH.' },
  { name: 'BACKUP_DRILL_DATABASE_URL', path: 'backup.drillDatabaseUrl', secret: true, doc: 'PostgreSQL server (and role) on which drills create and drop their scratch database; defaults to DATABASE_URL.' },
  { name: 'BACKUP_S3_ENDPOINT', path: 'backup.s3.endpoint', doc: 'S3-compatible endpoint URL (MinIO, Ceph, …); unset means AWS.' },
  { name: 'BACKUP_S3_REGION', path: 'backup.s3.region', doc: 'S3 region.' },
  { name: 'BACKUP_S3_ACCESS_KEY_ID', path: 'backup.s3.accessKeyId', secret: true, doc: 'S3 access key id; unset means the AWS default credential chain.' },
  { name: 'BACKUP_S3_SECRET_ACCESS_KEY', path: 'backup.s3.secretAccessKey', secret: true, doc: 'S3 secret access key.' },
  { name: 'BACKUP_S3_FORCE_PATH_STYLE', path: 'backup.s3.forcePathStyle', doc: 'Address buckets as <endpoint>/<bucket> (most S3-compatible servers) instead of <bucket>.<endpoint>.' },
  { name: 'GATEWAY_OLLAMA_KEEP_ALIVE', path: 'gateway.ollamaKeepAlive', doc: "Ollama keep_alive sent with every chat request (the client's value is ignored)." },
  { name: 'GATEWAY_FIRST_TOKEN_TIMEOUT_MS', path: 'gateway.firstTokenTimeoutMs', doc: 'Per attempt: connect and wait for the first token at most this long.' },
  { name: 'GATEWAY_TOTAL_TIMEOUT_MS', path: 'gateway.totalTimeoutMs', doc: 'Upper bound for one chat call, retries and streaming included.' },
  { name: 'GATEWAY_RETRIES', path: 'gateway.retries', doc: 'Retries after 429, 5xx or a timeout, before the first byte only.' },
  { name: 'GATEWAY_RETRY_BASE_MS', path: 'gateway.retryBaseMs', doc: 'First retry backoff; doubles per attempt, with jitter.' },
  { name: 'GATEWAY_BREAKER_THRESHOLD', path: 'gateway.breakerThreshold', doc: 'Consecutive failed calls that open the circuit of an upstream.' },
  { name: 'GATEWAY_BREAKER_COOLDOWN_MS', path: 'gateway.breakerCooldownMs', doc: 'How long an open circuit refuses calls before one trial call.' },
  { name: 'GATEWAY_MODELS_TTL_MS', path: 'gateway.modelsTtlMs', doc: 'How long the model lists of upstreams are cached.' },
  { name: 'GATEWAY_MAX_PROMPT_CHARS', path: 'gateway.maxPromptChars', doc: 'Largest prompt (all message text) accepted, in characters.' },
  { name: 'GATEWAY_DEFAULT_MAX_TOKENS', path: 'gateway.defaultMaxTokens', doc: 'Completion tokens reserved against the token limit when the request sets no max_tokens.' },
  { name: 'GATEWAY_REQUESTS_PER_MINUTE', path: 'gateway.requestsPerMinute', doc: 'Chat and embedding requests per API key per minute (0 = unlimited).' },
  { name: 'GATEWAY_TOKENS_PER_MINUTE', path: 'gateway.tokensPerMinute', doc: 'Tokens (in + out) per API key per minute (0 = unlimited).' },
  { name: 'GATEWAY_TOKENS_PER_DAY', path: 'gateway.tokensPerDay', doc: 'Tokens (in + out) per API key per UTC day (0 = unlimited); a tenant override may change it.' },
  { name: 'GATEWAY_TENANT_REQUESTS_PER_MINUTE', path: 'gateway.tenantRequestsPerMinute', doc: 'Chat and embedding requests per tenant per minute, all its keys together (0 = unlimited).' },
  { name: 'GATEWAY_TENANT_TOKENS_PER_MINUTE', path: 'gateway.tenantTokensPerMinute', doc: 'Tokens per tenant per minute, all its keys together (0 = unlimited).' },
  { name: 'GATEWAY_TENANT_TOKENS_PER_DAY', path: 'gateway.tenantTokensPerDay', doc: 'Tokens per tenant per UTC day, all its keys together (0 = unlimited).' },
  { name: 'GATEWAY_LIMITS_CACHE_TTL_MS', path: 'gateway.limitsCacheTtlMs', doc: "How long a replica keeps a tenant's limit overrides before reading them again (0 = every call)." },
  { name: 'GATEWAY_PRICES_FILE', path: 'gateway.pricesFile', doc: 'YAML or JSON price table (per model, per deployment; per 1M tokens); unset means costs are not computed.' },
  { name: 'GATEWAY_LIMITS_FAIL_OPEN', path: 'gateway.limitsFailOpen', doc: 'When Redis is unreachable: serve without limits (true) or answer 503 (false).' },
  { name: 'GATEWAY_CACHE', path: 'gateway.cache', doc: 'Exact cache of deterministic chat completions.' },
  { name: 'GATEWAY_CACHE_TTL_MS', path: 'gateway.cacheTtlMs', doc: 'How long a cached completion is served.' },
  { name: 'GATEWAY_CACHE_MAX_ENTRIES', path: 'gateway.cacheMaxEntries', doc: 'Entries of the in-process cache (LRU); Redis evicts by its own policy.' },
  { name: 'GATEWAY_CACHE_MAX_TEMPERATURE', path: 'gateway.cacheMaxTemperature', doc: 'Requests with a temperature above this are never cached (default 0: deterministic only).' },
  { name: 'GATEWAY_SEMANTIC_CACHE', path: 'gateway.semanticCache', doc: 'Semantic cache (on | off): answer a question from a cached, near-identical one in the same conversation context.' },
  { name: 'GATEWAY_SEMANTIC_THRESHOLD', path: 'gateway.semanticThreshold', doc: 'Cosine similarity of the last user messages needed for a semantic hit (0.5 – 1).' },
  { name: 'GATEWAY_SEMANTIC_MAX_TEMPERATURE', path: 'gateway.semanticMaxTemperature', doc: 'Requests with a temperature above this skip the semantic cache unless they send x-plinth-semantic-cache: on.' },
  { name: 'GATEWAY_SEMANTIC_MAX_PER_PARTITION', path: 'gateway.semanticMaxPerPartition', doc: 'Cached questions kept per partition (same tenant, model, context and parameters); least recently used evicted.' },
  { name: 'GATEWAY_SEMANTIC_MAX_ENTRIES', path: 'gateway.semanticMaxEntries', doc: 'Semantic entries kept in process over all partitions (without Redis).' },
  { name: 'GATEWAY_SEMANTIC_TTL_MS', path: 'gateway.semanticTtlMs', doc: 'How long a semantic cache entry is served.' },
];

/** Environment variables that Plinth reads but that are not settings. */
export const META_ENV_VARS = new Set(['PLINTH_CONFIG', 'PLINTH_API_KEY']);
