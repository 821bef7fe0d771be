// The Fastify application: infrastructure plugins (errors, metrics, auth, OpenAPI) and one
// routes file per domain. Built without listening, so tests drive it with `app.inject()`.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { AuthenticationError, type AuthAttempt } from '../auth/index.js';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Platform } from '../platform.js';
import { PlinthError } from '../errors.js';
import { VERSION } from '../version.js';
import { attemptOf, authPlugin, bearerToken, countAuthFailure } from './plugins/auth.js';
import { errorsPlugin } from './plugins/errors.js';
import { metricsPlugin } from './plugins/metrics.js';
import { tracingPlugin } from '../telemetry/http-tracing.js';
import { adminRoutes } from './routes/admin.js';
import { healthRoutes } from './routes/health.js';
import { documentRoutes } from './routes/documents.js';
import { mcpRoutes } from './routes/mcp.js';
import { memoryRoutes } from './routes/memory.js';
import { gatewayRoutes } from './routes/gateway.js';
import { registryRoutes } from './routes/registry.js';
import { driftRoutes } from './routes/drift.js';
import { workflowRoutes } from './routes/workflows.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface BuildAppOptions {
  /** Serve /metrics on this app (false when METRICS_PORT serves it separately). */
  metricsRoute?: boolean;
  /** True once shutdown has begun: readiness turns red so load balancers stop sending traffic. */
  isNotReady?: () => boolean;
  /** True once the shutdown delay is over and the listener closes: new requests are refused. */
  isDraining?: () => boolean;
  https?: { cert: Buffer; key: Buffer };
}

export async function buildApp(platform: Platform, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { config } = platform;
  const logger: FastifyBaseLogger = platform.logger;
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: config.server.bodyLimitBytes,
    trustProxy: config.server.trustProxy,
    requestTimeout: config.server.requestTimeoutMs,
    // While draining, requests on kept-alive connections get a problem+json 503 (hook below).
    return503OnClosing: false,
    // One line per request, written below: path only (query strings may carry secrets), route, status, time.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    ...(options.https ? { https: options.https } : {}),
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // First of all hooks: the request's span is active around every hook after it (log line, metrics).
  await app.register(tracingPlugin, { tracing: platform.tracing });
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  const isDraining = options.isDraining ?? (() => false);
  const isNotReady = options.isNotReady ?? isDraining;
  app.addHook('onRequest', (request, _reply, done) => {
    // Once draining, readiness still answers (red) so load balancers see why; everything else is
    // refused. Before that, during the shutdown delay, requests are still served.
    if (isDraining() && request.routeOptions.url !== '/readyz' && request.routeOptions.url !== '/livez') {
      done(new PlinthError('SHUTTING_DOWN'));
      return;
    }
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    // From the start of shutdown, finish each request and close its keep-alive connection, so
    // clients reconnect to another replica and the server can stop as soon as the last response
    // is out instead of waiting for idle sockets.
    if (isNotReady()) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      {
        method: request.method,
        path: request.url.split('?')[0],
        route: request.routeOptions.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
        tenant: request.principal?.tenantName,
        key_prefix: request.principal?.keyPrefix,
      },
      'request',
    );
    done();
  });

  await app.register(errorsPlugin);
  await app.register(metricsPlugin, { metrics: platform.metrics });
  await app.register(authPlugin, {
    auth: platform.auth,
    metrics: platform.metrics,
    // API docs are credentialed like everything else unless the operator opens them.
    isPublicPath: config.server.publicDocs ? (path: string) => path === '/openapi.json' || path === '/docs' || path.startsWith('/docs/') : () => false,
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Plinth API',
        version: VERSION,
        description: 'Platform API for autonomous AI agents and ML models. Authenticate with `Authorization: Bearer <API key>`.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'A Plinth API key (plk_…).' } } },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', persistAuthorization: true },
  });

  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());

  await app.register(healthRoutes, { platform, isDraining: isNotReady });
  await app.register(adminRoutes, { platform });
  await app.register(memoryRoutes, {
    memory: platform.memory,
    rights: platform.rights,
    requireAdmin: (p) => platform.auth.requireScope(p, 'admin'),
  });
  // Base64 inflates binary documents by a third: allow for it on top of the document size limit.
  await app.register(documentRoutes, { documents: platform.documents, bodyLimit: Math.ceil(config.server.documentMaxBytes * 1.4) + 65_536 });
  await app.register(mcpRoutes, { platform });
  await app.register(registryRoutes, { registry: platform.registry });
  await app.register(gatewayRoutes, { gateway: platform.gateway, bodyLimit: Math.max(config.server.bodyLimitBytes, config.gateway.maxPromptChars * 4 + 65_536) });
  // Inline drift data is column arrays: allow up to 64 MiB (larger data goes through profiles or the inference log).
  await app.register(driftRoutes, { drift: platform.drift, bodyLimit: Math.max(config.server.bodyLimitBytes, 64 * 1024 * 1024) });
  await app.register(workflowRoutes, { workflows: platform.workflows });

  if (options.metricsRoute !== false) {
    app.get('/metrics', { config: { public: true }, schema: { hide: true, response: { 200: z.string() } } }, async (request, reply) => {
      await authorizeMetrics(platform, bearerToken(request), reply, attemptOf(request));
      reply.type(platform.metrics.registry.contentType);
      return platform.collectMetrics();
    });
  }

  return app;
}

/** /metrics accepts the METRICS_TOKEN (for Prometheus) or an admin API key. */
export async function authorizeMetrics(platform: Platform, token: string | undefined, reply: FastifyReply, attempt?: AuthAttempt): Promise<void> {
  const expected = platform.config.metrics.token?.reveal();
  if (expected && token && constantTimeEqual(token, expected)) return;
  try {
    const principal = await platform.auth.authenticate(token, attempt);
    platform.auth.requireScope(principal, 'admin');
  } catch (err) {
    countAuthFailure(platform.metrics, err);
    if (err instanceof AuthenticationError) {
      reply.header('www-authenticate', 'Bearer realm="plinth"');
    }
    throw err;
  }
}

function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) return false;
  let diff = 0;
  for (let i = 0; i < ab.length; i++) diff |= ab[i]! ^ bb[i]!;
  return diff === 0;
}

