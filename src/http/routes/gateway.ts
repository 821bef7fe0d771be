// The LLM gateway over HTTP: OpenAI-compatible /v1/chat/completions (JSON or server-sent events),
// /v1/models and /v1/embeddings, plus /v1/usage. Thin: validate with the shared schemas, call the
// gateway service, shape the output. The OpenAI-compatible routes answer errors in OpenAI's
// `{"error": {message, type, param, code}}` shape (code = the Plinth code), so OpenAI client
// libraries surface them properly; /v1/usage keeps problem+json like the rest of the API.
import { once } from 'node:events';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginCallbackZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Principal } from '../../auth/index.js';
import { cacheInvalidationSchema, parseCacheTags, parseSemanticHeader } from '../../cache/index.js';
import { PlinthError, toPlinthError } from '../../errors.js';
import { chatRequestSchema, embeddingsRequestSchema, limitsInputSchema, limitsOutputSchema, usageQuerySchema, usageRowSchema, type Caller, type GatewayService } from '../../gateway/index.js';
import { principalOf } from '../plugins/auth.js';

const caller = (p: Principal): Caller => ({ tenantId: p.tenantId, keyId: p.keyId, keyPrefix: p.keyPrefix });

/** OpenAI's error body for a catalogue error. */
export function openAiError(e: PlinthError): { error: { message: string; type: string; param: string | null; code: string } } {
  const type =
    e.status === 401
      ? 'authentication_error'
      : e.status === 403
        ? 'permission_error'
        : e.status === 429
          ? 'rate_limit_error'
          : e.status === 404
            ? 'invalid_request_error'
            : e.status < 500
              ? 'invalid_request_error'
              : 'server_error';
  const param = typeof e.extra.param === 'string' ? e.extra.param : null;
  return { error: { message: e.message, type, param, code: e.code } };
}

function classify(error: FastifyError | Error): PlinthError {
  if (error instanceof PlinthError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const first = error.validation[0];
    const path = (first?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    return new PlinthError('VALIDATION_FAILED', first ? `${path || error.validationContext || 'body'}: ${first.message ?? 'invalid'}` : undefined, { param: path || null });
  }
  const status = (error as FastifyError).statusCode;
  if (status === 413) return new PlinthError('PAYLOAD_TOO_LARGE');
  if (status === 415) return new PlinthError('UNSUPPORTED_MEDIA_TYPE');
  if (status === 400 || error instanceof SyntaxError) return new PlinthError('BAD_REQUEST', /JSON/i.test(error.message) ? 'The body is not valid JSON.' : 'The request is malformed.');
  return toPlinthError(error);
}

/** An AbortSignal that fires when the client goes away before the response is complete. */
function clientSignal(request: FastifyRequest, reply: FastifyReply): { signal: AbortSignal; dispose: () => void } {
  const ctl = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) ctl.abort(new Error('the client closed the connection'));
  };
  reply.raw.on('close', onClose);
  request.raw.on('aborted', onClose);
  return {
    signal: ctl.signal,
    dispose: () => {
      reply.raw.off('close', onClose);
      request.raw.off('aborted', onClose);
    },
  };
}

export const gatewayRoutes: FastifyPluginCallbackZod<{ gateway: GatewayService; bodyLimit: number }> = (app, { gateway, bodyLimit }, done) => {
  // OpenAI-compatible routes, with their own (encapsulated) error handler.
  app.register((instance, _opts, next) => {
    const openai = instance.withTypeProvider<ZodTypeProvider>();
    openai.setErrorHandler((error, request, reply) => {
      if (reply.raw.destroyed) {
        // The client went away mid-call (its upstream request was cancelled): nobody to answer.
        request.log.info('client closed the connection before the answer');
        return reply.code(499).send();
      }
      const e = classify(error as FastifyError);
      if (e.status >= 500) request.log.error({ err: error, code: e.code }, 'request failed');
      else if (e.status !== 401 && e.status !== 403) request.log.info({ code: e.code, detail: e.message }, 'request rejected');
      if (e.status === 429 || e.status === 503) {
        const retry = e.extra.retry_after_s;
        reply.header('retry-after', typeof retry === 'number' ? String(Math.ceil(retry)) : '1');
      }
      return reply.code(e.status).type('application/json').send(openAiError(e));
    });

    openai.post(
      '/v1/chat/completions',
      {
        bodyLimit,
        config: { scope: 'llm:invoke' },
        schema: {
          tags: ['llm'],
          summary: 'OpenAI-compatible chat completion, as one JSON answer or as server-sent events (stream: true).',
          body: chatRequestSchema,
        },
      },
      async (request, reply) => {
        const p = principalOf(request);
        const client = clientSignal(request, reply);
        try {
          const call = await gateway.chat(caller(p), request.body, {
            signal: client.signal,
            setHeader: (n, v) => void reply.header(n, v),
            cacheTags: parseCacheTags(request.headers['x-plinth-cache-tags']),
            semanticCache: parseSemanticHeader(request.headers['x-plinth-semantic-cache']),
          });
          if (request.body.stream !== true) return await call.complete();
          reply.hijack();
          const raw = reply.raw;
          raw.writeHead(200, {
            ...(reply.getHeaders() as Record<string, string>),
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache',
            'x-accel-buffering': 'no',
          });
          const write = async (data: string) => {
            if (!raw.write(`data: ${data}\n\n`)) await once(raw, 'drain', { signal: client.signal });
          };
          try {
            for await (const chunk of call.stream) {
              if (client.signal.aborted) break;
              await write(JSON.stringify(chunk));
            }
            if (!client.signal.aborted) await write('[DONE]');
          } catch (err) {
            if (!client.signal.aborted) {
              const e = toPlinthError(err);
              request.log.warn({ code: e.code, detail: e.message }, 'stream ended with an error');
              // A clean error event, then close: clients see an error rather than a truncated answer.
              raw.write(`data: ${JSON.stringify(openAiError(e))}\n\n`);
            }
          } finally {
            raw.end();
          }
          return reply;
        } finally {
          client.dispose();
        }
      },
    );

    openai.get(
      '/v1/models',
      { config: { scope: 'llm:invoke' }, schema: { tags: ['llm'], summary: 'Models served by the configured upstreams (OpenAI-compatible list).' } },
      async () => ({
        object: 'list' as const,
        data: (await gateway.listModels()).map((m) => ({ id: m.id, object: 'model' as const, created: 0, owned_by: m.upstream })),
      }),
    );

    openai.get(
      '/v1/models/:model',
      { config: { scope: 'llm:invoke' }, schema: { tags: ['llm'], summary: 'One model.', params: z.object({ model: z.string().min(1) }) } },
      async (request) => {
        const m = (await gateway.listModels()).find((x) => x.id === request.params.model);
        if (!m) throw new PlinthError('MODEL_NOT_FOUND', `The model \`${request.params.model}\` does not exist or is not served by any configured upstream.`, { param: 'model' });
        return { id: m.id, object: 'model' as const, created: 0, owned_by: m.upstream };
      },
    );

    openai.post(
      '/v1/embeddings',
      {
        bodyLimit,
        config: { scope: 'llm:invoke' },
        schema: {
          tags: ['llm'],
          summary: "OpenAI-compatible embeddings from Plinth's configured embedder (the model must name it), in the vector space memory search uses.",
          body: embeddingsRequestSchema,
        },
      },
      async (request, reply) => {
        const client = clientSignal(request, reply);
        try {
          return await gateway.embeddings(caller(principalOf(request)), request.body, { signal: client.signal, setHeader: (n, v) => void reply.header(n, v) });
        } finally {
          client.dispose();
        }
      },
    );
    next();
  });

  app.post(
    '/v1/cache/invalidate',
    {
      config: { scope: 'llm:invoke' },
      schema: {
        tags: ['llm'],
        summary: "Invalidates the tenant's cached chat completions (exact and semantic): all of them, one model's, or those written with a tag (x-plinth-cache-tags).",
        body: cacheInvalidationSchema,
        response: { 200: z.object({ invalidated: z.object({ model: z.string().nullable(), tag: z.string().nullable() }) }) },
      },
    },
    async (request) => {
      await gateway.invalidateCache(principalOf(request).tenantId, request.body);
      return { invalidated: { model: request.body.model ?? null, tag: request.body.tag ?? null } };
    },
  );

  app.get(
    '/v1/usage',
    {
      config: { scope: 'llm:invoke' },
      schema: {
        tags: ['llm'],
        summary: "The tenant's LLM usage per day (UTC) and model: requests, errors, cache hits, tokens, mean latency and time to first token.",
        querystring: usageQuerySchema,
        response: { 200: z.object({ usage: z.array(usageRowSchema) }) },
      },
    },
    async (request) => ({ usage: await gateway.usage(principalOf(request).tenantId, request.query) }),
  );

  app.get(
    '/v1/gateway/limits',
    {
      config: { scope: 'admin' },
      schema: { tags: ['llm'], summary: "The caller's tenant limits and budgets: effective values, its overrides and the configured defaults (0 = unlimited).", response: { 200: limitsOutputSchema } },
    },
    async (request) => gateway.limits.get(principalOf(request).tenantId),
  );

  app.put(
    '/v1/gateway/limits',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['llm'],
        summary: "Replace the caller's tenant limit overrides; a field left out or null returns to the configured default, 0 means unlimited.",
        body: limitsInputSchema,
        response: { 200: limitsOutputSchema },
      },
    },
    async (request) => {
      const p = principalOf(request);
      return gateway.limits.set(p.tenantId, request.body, { actor: p.actor, requestId: request.id });
    },
  );
  done();
};
