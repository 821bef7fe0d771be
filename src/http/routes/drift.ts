// Drift detection over HTTP. Thin: validate, call the drift service, shape (JSON or the HTML report).
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Principal } from '../../auth/index.js';
import { checkInput, checkResult, profileInput, type DriftService } from '../../drift/index.js';
import { principalOf } from '../plugins/auth.js';

const idParams = z.object({ id: z.uuid() });
const audit = (p: Principal, requestId: string) => ({ actor: p.actor, requestId });
const HTML = 'text/html; charset=utf-8';

const profileOutput = z.object({
  id: z.uuid(),
  name: z.string(),
  rows: z.number(),
  created_at: z.string(),
  created_by: z.string().nullable(),
  summary: z.record(z.string(), z.unknown()),
  profile: z.unknown().optional().describe('the full profile (full=true)'),
});

const inferenceLogInput = z
  .object({
    model: z.string().min(1).max(200),
    records: z
      .array(
        z
          .object({
            features: z.record(z.string().min(1).max(200), z.unknown()),
            prediction: z.unknown().optional(),
            created_at: z.iso.datetime({ offset: true }).optional(),
          })
          .strict(),
      )
      .min(1)
      .max(10_000),
  })
  .strict();

export const driftRoutes: FastifyPluginCallbackZod<{ drift: DriftService; bodyLimit: number }> = (app, { drift, bodyLimit }, done) => {
  app.post(
    '/v1/drift/checks',
    {
      bodyLimit,
      config: { scope: 'drift:run' },
      schema: {
        tags: ['drift'],
        summary: 'Run a drift check of current data against reference data or a stored profile; the result is stored. ?format=html answers the HTML report.',
        querystring: z.object({ format: z.enum(['json', 'html']).default('json') }).strict(),
        body: checkInput,
        response: { 201: z.union([checkResult, z.string()]) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const result = await drift.check(p.tenantId, request.body, audit(p, request.id));
      reply.header('location', `/v1/drift/checks/${result.id}`);
      if (request.query.format === 'html') return reply.code(201).type(HTML).send(await drift.report(p.tenantId, result.id!));
      return reply.code(201).send(result);
    },
  );

  app.get(
    '/v1/drift/checks/:id',
    {
      config: { scope: 'drift:run' },
      schema: { tags: ['drift'], summary: 'A stored drift check result.', params: idParams, response: { 200: checkResult } },
    },
    (request) => drift.getCheck(principalOf(request).tenantId, request.params.id),
  );

  app.get(
    '/v1/drift/checks/:id/report',
    {
      config: { scope: 'drift:run' },
      schema: { tags: ['drift'], summary: 'The self-contained HTML report of a stored drift check.', params: idParams, response: { 200: z.string() } },
    },
    async (request, reply) => reply.type(HTML).send(await drift.report(principalOf(request).tenantId, request.params.id)),
  );

  app.post(
    '/v1/drift/profiles',
    {
      bodyLimit,
      config: { scope: 'drift:run' },
      schema: { tags: ['drift'], summary: 'Summarise reference data into a stored profile (no raw rows are kept).', body: profileInput, response: { 201: profileOutput } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const created = await drift.createProfile(p.tenantId, request.body, audit(p, request.id));
      reply.header('location', `/v1/drift/profiles/${created.id}`);
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/v1/drift/profiles/:id',
    {
      config: { scope: 'drift:run' },
      schema: {
        tags: ['drift'],
        summary: 'A stored reference profile; full=true adds the sketches and frozen bins.',
        params: idParams,
        querystring: z.object({ full: z.enum(['true', 'false']).default('false') }).strict(),
        response: { 200: profileOutput },
      },
    },
    (request) => drift.getProfile(principalOf(request).tenantId, request.params.id, { full: request.query.full === 'true' }),
  );

  app.post(
    '/v1/drift/inference-log',
    {
      bodyLimit,
      config: { scope: 'drift:run' },
      schema: {
        tags: ['drift'],
        summary: "Append served inferences (features and prediction) to the model's inference log, the source of scheduled drift checks.",
        body: inferenceLogInput,
        response: { 201: z.object({ inserted: z.number() }) },
      },
    },
    async (request, reply) => reply.code(201).send(await drift.logInferences(principalOf(request).tenantId, request.body)),
  );

  done();
};
