// The registry's zod schemas, shared by the HTTP, MCP and CLI doors, and the shaping of domain
// objects into their snake_case wire form.
import { z } from 'zod';
import type { ModelVersion, RegisteredModel } from './port.js';

// Letters, digits, '_', '.', '-'; no '/' (it is a path segment in every door) and no leading dot.
export const modelName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/, 'a model name is 1-200 letters, digits, "_", "." or "-", starting with a letter or digit')
  .describe('Registered model name, e.g. churn-classifier.');

// MLflow's own alias rules: word characters and '-', not "latest", not "v<number>" (both are
// reserved version references in models:/ URIs).
export const aliasName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,255}$/, 'an alias is 1-255 letters, digits, "_" or "-"')
  .refine((a) => a.toLowerCase() !== 'latest' && !/^v\d+$/i.test(a), { message: '"latest" and "v<number>" are reserved and cannot be aliases' })
  .describe('Alias, e.g. champion.');

export const versionNumber = z.coerce.number().int().min(1).max(2_147_483_647).describe('Version number.');

export const tagKey = z.string().regex(/^[\w.\-/ :]{1,250}$/, 'a tag key is 1-250 letters, digits, spaces or "_ . - / :"');
export const tagMap = z
  .record(tagKey, z.string().max(5000))
  .refine((t) => Object.keys(t).length <= 100, { message: 'at most 100 tags' })
  .describe('Tags as key → value.');

export const DEFAULT_ALIAS = 'champion';

export const createModelInput = z
  .object({
    name: modelName,
    description: z.string().max(65_536).optional(),
    tags: tagMap.optional(),
  })
  .strict();

export const updateModelInput = z.object({ description: z.string().max(65_536) }).strict();

export const listModelsInput = z
  .object({
    query: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,200}$/, 'the query is part of a model name: letters, digits, "_", "." or "-"')
      .optional()
      .describe('Case-insensitive substring of the model name.'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    page_token: z.string().min(1).max(4096).optional(),
  })
  .strict();

export const listVersionsInput = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    page_token: z.string().min(1).max(4096).optional(),
  })
  .strict();

export const createVersionBody = z
  .object({
    source: z.string().min(1).max(4096).describe('Artifact location, e.g. s3://bucket/path or runs:/<run id>/model.'),
    run_id: z.string().min(1).max(256).optional(),
    description: z.string().max(65_536).optional(),
    tags: tagMap.optional(),
    idempotency_key: z
      .string()
      .regex(/^[\w.:/@+=-]{1,256}$/, 'an idempotency key is 1-256 letters, digits or "_ . : / @ + = -"')
      .optional()
      .describe('A repeated create with the same key returns the version the first one created (stored as tag plinth.idempotency_key).'),
  })
  .strict();

export const createVersionInput = createVersionBody.extend({ name: modelName }).strict();

export const updateVersionInput = z.object({ description: z.string().max(65_536) }).strict();

export const setTagInput = z.object({ key: tagKey, value: z.string().max(5000) }).strict();

export const promoteInput = z
  .object({
    version: versionNumber,
  })
  .strict();

export const modelOutput = z.object({
  name: z.string(),
  description: z.string(),
  tags: z.record(z.string(), z.string()),
  aliases: z.record(z.string(), z.number().int()),
  created_at: z.string(),
  updated_at: z.string(),
});

export const versionOutput = z.object({
  name: z.string(),
  version: z.number().int(),
  source: z.string(),
  run_id: z.string().nullable(),
  status: z.string(),
  description: z.string(),
  tags: z.record(z.string(), z.string()),
  aliases: z.array(z.string()),
  created_at: z.string(),
});

export const promoteOutput = z.object({
  name: z.string(),
  alias: z.string(),
  version: z.number().int(),
  previous_version: z.number().int().nullable(),
  changed: z.boolean(),
});

export type ModelOutput = z.infer<typeof modelOutput>;
export type VersionOutput = z.infer<typeof versionOutput>;

export function modelToOutput(m: RegisteredModel): ModelOutput {
  return { name: m.name, description: m.description, tags: m.tags, aliases: m.aliases, created_at: m.createdAt, updated_at: m.updatedAt };
}

export function versionToOutput(v: ModelVersion): VersionOutput {
  return {
    name: v.name,
    version: v.version,
    source: v.source,
    run_id: v.runId,
    status: v.status,
    description: v.description,
    tags: v.tags,
    aliases: v.aliases,
    created_at: v.createdAt,
  };
}
