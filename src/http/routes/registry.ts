// The model registry over HTTP: registered models, versions, aliases (promotion), tags, and the
// MLflow webhook receiver. Thin: validate with the shared schemas, call the registry service, shape.
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
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
import { callerOf, createdOrExistingResponse, noContentResponse, pageOf, sendCreatedOrExisting, sendNoContent } from './shared-routes.js';

const modelParams = z.object({ name: modelName });
const versionParams = z.object({ name: modelName, version: versionNumber });
const aliasParams = z.object({ name: modelName, alias: aliasName });
const modelTagParams = z.object({ name: modelName, key: tagKey });
const versionTagParams = z.object({ name: modelName, version: versionNumber, key: tagKey });
const tagValue = z.object({ value: z.string().max(5000) }).strict();
const TAGS = ['registry'];

/** Options of a registry route: the scope the key needs, and its documented schema. */
function scoped<S extends object>(scope: 'models:read' | 'models:write', summary: string, schema: S) {
  return { config: { scope }, schema: { tags: TAGS, summary, ...schema } };
}
const read = <S extends object>(summary: string, schema: S) => scoped('models:read', summary, schema);
const write = <S extends object>(summary: string, schema: S) => scoped('models:write', summary, schema);

export const registryRoutes: FastifyPluginCallbackZod<{ registry: RegistryService }> = (app, { registry }, done) => {
  app.get(
    '/v1/registry/models',
    read('List registered models by name, with an optional name filter and page tokens.', { querystring: listModelsInput, response: { 200: pageOf('models', modelOutput) } }),
    async (request) => {
      const r = await registry.listModels(principalOf(request).tenantId, request.query);
      return { models: r.models.map(modelToOutput), next_page_token: r.nextPageToken };
    },
  );

  app.post(
    '/v1/registry/models',
    write('Create a registered model. Idempotent: an existing model is returned unchanged (200, created: false).', {
      body: createModelInput,
      response: createdOrExistingResponse(modelOutput),
    }),
    async (request, reply) => {
      const c = callerOf(request);
      const r = await registry.createModel(c.tenantId, request.body, c.audit);
      return sendCreatedOrExisting(reply, r.created, { ...modelToOutput(r.model), created: r.created });
    },
  );

  app.get(
    '/v1/registry/models/:name',
    read('Get a registered model with its tags and aliases.', { params: modelParams, response: { 200: modelOutput } }),
    async (request) => modelToOutput(await registry.getModel(principalOf(request).tenantId, request.params.name)),
  );

  app.patch(
    '/v1/registry/models/:name',
    write("Update a model's description.", { params: modelParams, body: updateModelInput, response: { 200: modelOutput } }),
    async (request) => {
      const c = callerOf(request);
      return modelToOutput(await registry.updateModel(c.tenantId, request.params.name, request.body, c.audit));
    },
  );

  app.delete(
    '/v1/registry/models/:name',
    write('Delete a model with all its versions, aliases and tags.', { params: modelParams, response: noContentResponse }),
    async (request, reply) => {
      const c = callerOf(request);
      await registry.deleteModel(c.tenantId, request.params.name, c.audit);
      return sendNoContent(reply);
    },
  );

  app.put(
    '/v1/registry/models/:name/tags/:key',
    write('Set a tag on a model.', { params: modelTagParams, body: tagValue, response: { 200: modelOutput } }),
    async (request) => {
      const c = callerOf(request);
      return modelToOutput(await registry.setModelTag(c.tenantId, request.params.name, request.params.key, request.body.value, c.audit));
    },
  );

  app.delete(
    '/v1/registry/models/:name/tags/:key',
    write('Delete a tag of a model.', { params: modelTagParams, response: { 200: modelOutput } }),
    async (request) => {
      const c = callerOf(request);
      return modelToOutput(await registry.deleteModelTag(c.tenantId, request.params.name, request.params.key, c.audit));
    },
  );

  app.get(
    '/v1/registry/models/:name/versions',
    read('List the versions of a model, newest first, with page tokens.', {
      params: modelParams,
      querystring: listVersionsInput,
      response: { 200: pageOf('versions', versionOutput) },
    }),
    async (request) => {
      const r = await registry.listVersions(principalOf(request).tenantId, request.params.name, request.query);
      return { versions: r.versions.map(versionToOutput), next_page_token: r.nextPageToken };
    },
  );

  app.post(
    '/v1/registry/models/:name/versions',
    write('Register a new version (creating the model if needed). A repeated idempotency_key returns the first version (200, created: false).', {
      params: modelParams,
      body: createVersionBody,
      response: createdOrExistingResponse(versionOutput),
    }),
    async (request, reply) => {
      const c = callerOf(request);
      const v = await registry.createVersion(c.tenantId, { ...request.body, name: request.params.name }, c.audit);
      return sendCreatedOrExisting(reply, v.created, { ...versionToOutput(v), created: v.created });
    },
  );

  app.get(
    '/v1/registry/models/:name/versions/:version',
    read('Get a model version.', { params: versionParams, response: { 200: versionOutput } }),
    async (request) => versionToOutput(await registry.getVersion(principalOf(request).tenantId, request.params.name, { version: request.params.version })),
  );

  app.get(
    '/v1/registry/models/:name/versions/:version/download-uri',
    read("Where the version's artifacts can be downloaded from.", { params: versionParams, response: { 200: z.object({ artifact_uri: z.string() }) } }),
    async (request) => ({ artifact_uri: await registry.getDownloadUri(principalOf(request).tenantId, request.params.name, request.params.version) }),
  );

  app.patch(
    '/v1/registry/models/:name/versions/:version',
    write("Update a version's description.", { params: versionParams, body: updateVersionInput, response: { 200: versionOutput } }),
    async (request) => {
      const c = callerOf(request);
      return versionToOutput(await registry.updateVersion(c.tenantId, request.params.name, request.params.version, request.body, c.audit));
    },
  );

  app.delete(
    '/v1/registry/models/:name/versions/:version',
    write('Delete a version (and the aliases pointing at it).', { params: versionParams, response: noContentResponse }),
    async (request, reply) => {
      const c = callerOf(request);
      await registry.deleteVersion(c.tenantId, request.params.name, request.params.version, c.audit);
      return sendNoContent(reply);
    },
  );

  app.put(
    '/v1/registry/models/:name/versions/:version/tags/:key',
    write('Set a tag on a version.', { params: versionTagParams, body: tagValue, response: { 200: versionOutput } }),
    async (request) => {
      const c = callerOf(request);
      const { name, version, key } = request.params;
      return versionToOutput(await registry.setVersionTag(c.tenantId, name, version, key, request.body.value, c.audit));
    },
  );

  app.delete(
    '/v1/registry/models/:name/versions/:version/tags/:key',
    write('Delete a tag of a version.', { params: versionTagParams, response: { 200: versionOutput } }),
    async (request) => {
      const c = callerOf(request);
      const { name, version, key } = request.params;
      return versionToOutput(await registry.deleteVersionTag(c.tenantId, name, version, key, c.audit));
    },
  );

  app.get(
    '/v1/registry/models/:name/aliases/:alias',
    read('The version an alias points at.', { params: aliasParams, response: { 200: versionOutput } }),
    async (request) => versionToOutput(await registry.getVersion(principalOf(request).tenantId, request.params.name, { alias: request.params.alias })),
  );

  app.put(
    '/v1/registry/models/:name/aliases/:alias',
    write('Promote: point the alias at a version. Audited with the previous holder; a no-op (changed: false) when it already points there.', {
      params: aliasParams,
      body: promoteInput,
      response: { 200: promoteOutput },
    }),
    async (request) => {
      const c = callerOf(request);
      const r = await registry.promote(c.tenantId, request.params.name, request.body.version, { alias: request.params.alias }, c.audit);
      return { name: r.name, alias: r.alias, version: r.version, previous_version: r.previousVersion, changed: r.changed };
    },
  );

  app.delete(
    '/v1/registry/models/:name/aliases/:alias',
    write('Remove an alias (a no-op when it does not exist).', { params: aliasParams, response: noContentResponse }),
    async (request, reply) => {
      const c = callerOf(request);
      await registry.deleteAlias(c.tenantId, request.params.name, request.params.alias, c.audit);
      return sendNoContent(reply);
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
