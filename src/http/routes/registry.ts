// The model registry over HTTP: registered models, versions, aliases (promotion), tags, and the
// MLflow webhook receiver. Thin: validate with the shared schemas, call the registry service, shape.
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Principal } from '../../auth/index.js';
import {
  aliasName,
  createModelInput,
  createVersionBody,
  listModelsInput,
  listVersionsInput,
  modelName,
  modelOutput,
  modelToOutput,
  promoteInput,
  promoteOutput,
  tagKey,
  updateModelInput,
  updateVersionInput,
  versionNumber,
  versionOutput,
  versionToOutput,
  type RegistryService,
} from '../../registry/index.js';
import { principalOf } from '../plugins/auth.js';

const audit = (p: Principal, requestId: string) => ({ actor: p.actor, requestId });
const modelParams = z.object({ name: modelName });
const versionParams = z.object({ name: modelName, version: versionNumber });
const aliasParams = z.object({ name: modelName, alias: aliasName });
const modelTagParams = z.object({ name: modelName, key: tagKey });
const versionTagParams = z.object({ name: modelName, version: versionNumber, key: tagKey });
const tagValue = z.object({ value: z.string().max(5000) }).strict();
const TAGS = ['registry'];

export const registryRoutes: FastifyPluginCallbackZod<{ registry: RegistryService }> = (app, { registry }, done) => {
  app.get(
    '/v1/registry/models',
    {
      config: { scope: 'models:read' },
      schema: {
        tags: TAGS,
        summary: 'List registered models by name, with an optional name filter and page tokens.',
        querystring: listModelsInput,
        response: { 200: z.object({ models: z.array(modelOutput), next_page_token: z.string().nullable() }) },
      },
    },
    async (request) => {
      const r = await registry.listModels(principalOf(request).tenantId, request.query);
      return { models: r.models.map(modelToOutput), next_page_token: r.nextPageToken };
    },
  );

  app.post(
    '/v1/registry/models',
    {
      config: { scope: 'models:write' },
      schema: {
        tags: TAGS,
        summary: 'Create a registered model. Idempotent: an existing model is returned unchanged (200, created: false).',
        body: createModelInput,
        response: { 200: modelOutput.extend({ created: z.boolean() }), 201: modelOutput.extend({ created: z.boolean() }) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const r = await registry.createModel(p.tenantId, request.body, audit(p, request.id));
      return reply.code(r.created ? 201 : 200).send({ ...modelToOutput(r.model), created: r.created });
    },
  );

  app.get(
    '/v1/registry/models/:name',
    { config: { scope: 'models:read' }, schema: { tags: TAGS, summary: 'Get a registered model with its tags and aliases.', params: modelParams, response: { 200: modelOutput } } },
    async (request) => modelToOutput(await registry.getModel(principalOf(request).tenantId, request.params.name)),
  );

  app.patch(
    '/v1/registry/models/:name',
    {
      config: { scope: 'models:write' },
      schema: { tags: TAGS, summary: "Update a model's description.", params: modelParams, body: updateModelInput, response: { 200: modelOutput } },
    },
    async (request) => {
      const p = principalOf(request);
      return modelToOutput(await registry.updateModel(p.tenantId, request.params.name, request.body, audit(p, request.id)));
    },
  );

  app.delete(
    '/v1/registry/models/:name',
    {
      config: { scope: 'models:write' },
      schema: { tags: TAGS, summary: 'Delete a model with all its versions, aliases and tags.', params: modelParams, response: { 204: z.null() } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      await registry.deleteModel(p.tenantId, request.params.name, audit(p, request.id));
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/v1/registry/models/:name/tags/:key',
    {
      config: { scope: 'models:write' },
      schema: { tags: TAGS, summary: 'Set a tag on a model.', params: modelTagParams, body: tagValue, response: { 200: modelOutput } },
    },
    async (request) => {
      const p = principalOf(request);
      return modelToOutput(await registry.setModelTag(p.tenantId, request.params.name, request.params.key, request.body.value, audit(p, request.id)));
    },
  );

  app.delete(
    '/v1/registry/models/:name/tags/:key',
    { config: { scope: 'models:write' }, schema: { tags: TAGS, summary: 'Delete a tag of a model.', params: modelTagParams, response: { 200: modelOutput } } },
    async (request) => {
      const p = principalOf(request);
      return modelToOutput(await registry.deleteModelTag(p.tenantId, request.params.name, request.params.key, audit(p, request.id)));
    },
  );

  app.get(
    '/v1/registry/models/:name/versions',
    {
      config: { scope: 'models:read' },
      schema: {
        tags: TAGS,
        summary: 'List the versions of a model, newest first, with page tokens.',
        params: modelParams,
        querystring: listVersionsInput,
        response: { 200: z.object({ versions: z.array(versionOutput), next_page_token: z.string().nullable() }) },
      },
    },
    async (request) => {
      const r = await registry.listVersions(principalOf(request).tenantId, request.params.name, request.query);
      return { versions: r.versions.map(versionToOutput), next_page_token: r.nextPageToken };
    },
  );

  app.post(
    '/v1/registry/models/:name/versions',
    {
      config: { scope: 'models:write' },
      schema: {
        tags: TAGS,
        summary: 'Register a new version (creating the model if needed). A repeated idempotency_key returns the first version (200, created: false).',
        params: modelParams,
        body: createVersionBody,
        response: { 200: versionOutput.extend({ created: z.boolean() }), 201: versionOutput.extend({ created: z.boolean() }) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const v = await registry.createVersion(p.tenantId, { ...request.body, name: request.params.name }, audit(p, request.id));
      return reply.code(v.created ? 201 : 200).send({ ...versionToOutput(v), created: v.created });
    },
  );

  app.get(
    '/v1/registry/models/:name/versions/:version',
    { config: { scope: 'models:read' }, schema: { tags: TAGS, summary: 'Get a model version.', params: versionParams, response: { 200: versionOutput } } },
    async (request) => versionToOutput(await registry.getVersion(principalOf(request).tenantId, request.params.name, { version: request.params.version })),
  );

  app.get(
    '/v1/registry/models/:name/versions/:version/download-uri',
    {
      config: { scope: 'models:read' },
      schema: { tags: TAGS, summary: "Where the version's artifacts can be downloaded from.", params: versionParams, response: { 200: z.object({ artifact_uri: z.string() }) } },
    },
    async (request) => ({ artifact_uri: await registry.getDownloadUri(principalOf(request).tenantId, request.params.name, request.params.version) }),
  );

  app.patch(
    '/v1/registry/models/:name/versions/:version',
    {
      config: { scope: 'models:write' },
      schema: { tags: TAGS, summary: "Update a version's description.", params: versionParams, body: updateVersionInput, response: { 200: versionOutput } },
    },
    async (request) => {
      const p = principalOf(request);
      return versionToOutput(await registry.updateVersion(p.tenantId, request.params.name, request.params.version, request.body, audit(p, request.id)));
    },
  );

  app.delete(
    '/v1/registry/models/:name/versions/:version',
    {
      config: { scope: 'models:write' },
      schema: { tags: TAGS, summary: 'Delete a version (and the aliases pointing at it).', params: versionParams, response: { 204: z.null() } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      await registry.deleteVersion(p.tenantId, request.params.name, request.params.version, audit(p, request.id));
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/v1/registry/models/:name/versions/:version/tags/:key',
    {
      config: { scope: 'models:write' },
      schema: { tags: TAGS, summary: 'Set a tag on a version.', params: versionTagParams, body: tagValue, response: { 200: versionOutput } },
    },
    async (request) => {
      const p = principalOf(request);
      const { name, version, key } = request.params;
      return versionToOutput(await registry.setVersionTag(p.tenantId, name, version, key, request.body.value, audit(p, request.id)));
    },
  );

  app.delete(
    '/v1/registry/models/:name/versions/:version/tags/:key',
    { config: { scope: 'models:write' }, schema: { tags: TAGS, summary: 'Delete a tag of a version.', params: versionTagParams, response: { 200: versionOutput } } },
    async (request) => {
      const p = principalOf(request);
      const { name, version, key } = request.params;
      return versionToOutput(await registry.deleteVersionTag(p.tenantId, name, version, key, audit(p, request.id)));
    },
  );

  app.get(
    '/v1/registry/models/:name/aliases/:alias',
    { config: { scope: 'models:read' }, schema: { tags: TAGS, summary: 'The version an alias points at.', params: aliasParams, response: { 200: versionOutput } } },
    async (request) => versionToOutput(await registry.getVersion(principalOf(request).tenantId, request.params.name, { alias: request.params.alias })),
  );

  app.put(
    '/v1/registry/models/:name/aliases/:alias',
    {
      config: { scope: 'models:write' },
      schema: {
        tags: TAGS,
        summary: 'Promote: point the alias at a version. Audited with the previous holder; a no-op (changed: false) when it already points there.',
        params: aliasParams,
        body: promoteInput,
        response: { 200: promoteOutput },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const r = await registry.promote(p.tenantId, request.params.name, request.body.version, { alias: request.params.alias }, audit(p, request.id));
      return { name: r.name, alias: r.alias, version: r.version, previous_version: r.previousVersion, changed: r.changed };
    },
  );

  app.delete(
    '/v1/registry/models/:name/aliases/:alias',
    { config: { scope: 'models:write' }, schema: { tags: TAGS, summary: 'Remove an alias (a no-op when it does not exist).', params: aliasParams, response: { 204: z.null() } } },
    async (request, reply) => {
      const p = principalOf(request);
      await registry.deleteAlias(p.tenantId, request.params.name, request.params.alias, audit(p, request.id));
      return reply.code(204).send(null);
    },
  );

  // MLflow webhooks: no API key (MLflow cannot send one); authenticated by the HMAC signature
  // alone, which is computed over the body exactly as sent, so the body is kept as a string here.
  app.register((instance, _opts, next) => {
    instance.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, parsed) => parsed(null, body));
    instance.post(
      '/v1/registry/webhooks/mlflow',
      {
        config: { public: true },
        schema: {
          tags: TAGS,
          summary: 'Receiver for MLflow webhooks (X-MLflow-Signature, HMAC-SHA256 with MLFLOW_WEBHOOK_SECRET).',
          security: [],
          response: { 200: z.object({ recorded: z.boolean() }) },
        },
      },
      async (request) => {
        const body = typeof request.body === 'string' ? request.body : '';
        const r = await registry.handleWebhook(body, request.headers);
        return { recorded: r.recorded };
      },
    );
    next();
  });

  done();
};
