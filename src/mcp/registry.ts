// The model registry over MCP: list models, get a model (or one version of it, by number or
// alias), and promote a version to an alias. Thin: the same schemas and service as /v1/registry.
import { z } from 'zod';
import { PlinthError } from '../errors.js';
import {
  DEFAULT_ALIAS,
  aliasName,
  listModelsInput,
  modelName,
  modelOutput,
  modelToOutput,
  promoteOutput,
  versionNumber,
  versionOutput,
  versionToOutput,
} from '../registry/index.js';
import { auditOf, defineTool, type McpTool } from './tools.js';

export const modelsList = defineTool({
  name: 'models_list',
  title: 'List registered models',
  description: 'List the registered models of this tenant (name order), with their tags and aliases. Filter with `query` (a name substring); page with `page_token`.',
  scope: 'models:read',
  input: listModelsInput,
  output: z.object({ models: z.array(modelOutput), next_page_token: z.string().nullable() }),
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx, args) {
    const r = await ctx.platform.registry.listModels(ctx.principal.tenantId, args);
    return { models: r.models.map(modelToOutput), next_page_token: r.nextPageToken };
  },
});

export const modelGet = defineTool({
  name: 'model_get',
  title: 'Get a model',
  description:
    'Get a registered model with its aliases. With `alias` (e.g. "champion") or `version`, also returns that version ' +
    '(source, run id, tags) and where its artifacts can be downloaded from.',
  scope: 'models:read',
  input: z
    .object({
      name: modelName,
      alias: aliasName.optional(),
      version: versionNumber.optional(),
    })
    .strict(),
  output: z.object({ model: modelOutput, version: versionOutput.nullable(), download_uri: z.string().nullable() }),
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx, { name, alias, version }) {
    if (alias !== undefined && version !== undefined) throw new PlinthError('VALIDATION_FAILED', 'Give either alias or version, not both.');
    const { registry } = ctx.platform;
    const tenantId = ctx.principal.tenantId;
    const model = await registry.getModel(tenantId, name);
    const ref = alias !== undefined ? { alias } : version !== undefined ? { version } : undefined;
    if (!ref) return { model: modelToOutput(model), version: null, download_uri: null };
    const v = await registry.getVersion(tenantId, name, ref);
    return { model: modelToOutput(model), version: versionToOutput(v), download_uri: await registry.getDownloadUri(tenantId, name, v.version) };
  },
});

export const modelPromote = defineTool({
  name: 'model_promote',
  title: 'Promote a model version',
  description:
    `Point an alias (default "${DEFAULT_ALIAS}") of a registered model at a version, e.g. after an evaluation passed. ` +
    'Audited with the version that held the alias before; repeating the call is a no-op (changed: false).',
  scope: 'models:write',
  input: z
    .object({
      name: modelName,
      version: versionNumber,
      alias: aliasName.default(DEFAULT_ALIAS),
    })
    .strict(),
  output: promoteOutput,
  // Moving an alias changes what production serves: clients should confirm it.
  hints: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run(ctx, { name, version, alias }) {
    const r = await ctx.platform.registry.promote(ctx.principal.tenantId, name, version, { alias }, auditOf(ctx));
    return { name: r.name, alias: r.alias, version: r.version, previous_version: r.previousVersion, changed: r.changed };
  },
});

export const REGISTRY_TOOLS: readonly McpTool[] = [modelsList, modelGet, modelPromote];
