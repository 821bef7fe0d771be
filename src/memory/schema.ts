// Request and response shapes for agent memory, shared by HTTP, MCP and CLI.
import { z } from 'zod';

export const MAX_TEXT_CHARS = 32_000;
export const MAX_BATCH = 500;

const scopeId = z.string().min(1).max(200);
const tag = z.string().min(1).max(100);
const timestamp = z.iso.datetime({ offset: true });
const metadata = z
  .record(z.string().max(200), z.unknown())
  .refine((m) => JSON.stringify(m).length <= 16_384, { message: 'metadata must serialise to at most 16 KiB' });

export const scopeFields = {
  agent_id: scopeId.optional(),
  user_id: scopeId.optional(),
  session_id: scopeId.optional(),
};

export const newMemorySchema = z
  .object({
    text: z.string().trim().min(1).max(MAX_TEXT_CHARS),
    ...scopeFields,
    metadata: metadata.optional(),
    tags: z.array(tag).max(50).optional(),
    source: z.string().max(500).optional(),
    valid_from: timestamp.optional(),
    valid_to: timestamp.optional(),
    expires_at: timestamp.optional(),
    idempotency_key: z.string().min(1).max(200).optional(),
  })
  .strict();
export type NewMemory = z.infer<typeof newMemorySchema>;

export const addMemoriesInput = z.object({ memories: z.array(newMemorySchema).min(1).max(MAX_BATCH) }).strict();
export type AddMemoriesInput = z.infer<typeof addMemoriesInput>;

export const updateMemoryInput = z
  .object({
    text: z.string().trim().min(1).max(MAX_TEXT_CHARS).optional(),
    metadata: metadata.optional(),
    tags: z.array(tag).max(50).optional(),
    valid_to: timestamp.nullable().optional().describe('Close the validity of this fact (it stopped being true).'),
    expires_at: timestamp.nullable().optional(),
    expected_version: z.number().int().min(1).optional().describe('Fail with 409 unless the memory is at this version.'),
  })
  .strict()
  .refine((u) => u.text !== undefined || u.metadata !== undefined || u.tags !== undefined || u.valid_to !== undefined || u.expires_at !== undefined, {
    message: 'nothing to update',
  });
export type UpdateMemoryInput = z.infer<typeof updateMemoryInput>;

const scalar = z.union([z.string().max(1000), z.number().finite(), z.boolean()]);
const comparison = z
  .object({
    eq: scalar.optional(),
    ne: scalar.optional(),
    in: z.array(scalar).min(1).max(100).optional(),
    gt: z.union([z.number().finite(), timestamp]).optional(),
    gte: z.union([z.number().finite(), timestamp]).optional(),
    lt: z.union([z.number().finite(), timestamp]).optional(),
    lte: z.union([z.number().finite(), timestamp]).optional(),
  })
  .strict()
  .refine((c) => Object.keys(c).length > 0, { message: 'empty comparison' });

export const filtersSchema = z
  .object({
    metadata: z.record(z.string().min(1).max(200), z.union([scalar, comparison])).optional().describe('Top-level metadata keys: a value (equality) or a comparison.'),
    contains: z.record(z.string(), z.unknown()).optional().describe('JSON containment on metadata (metadata @> contains).'),
    tags_all: z.array(tag).max(50).optional(),
    tags_any: z.array(tag).max(50).optional(),
    source: z.string().max(500).optional(),
    created_after: timestamp.optional(),
    created_before: timestamp.optional(),
  })
  .strict();
export type Filters = z.infer<typeof filtersSchema>;

export const searchInput = z
  .object({
    query: z.string().trim().min(1).max(4_000),
    k: z.number().int().min(1).max(100).default(10),
    ...scopeFields,
    filters: filtersSchema.optional(),
    as_of: timestamp.optional().describe('Only facts valid at this time.'),
    mode: z.enum(['hybrid', 'vector', 'fulltext']).default('hybrid'),
    recency_half_life_days: z.number().positive().max(36_500).optional().describe('Weight results by age with this half-life.'),
    mmr_lambda: z.number().min(0).max(1).optional().describe('Diversify with maximal marginal relevance (1 = relevance only).'),
  })
  .strict();
export type SearchInput = z.input<typeof searchInput>;
export type SearchQuery = z.output<typeof searchInput>;

export const listInput = z
  .object({
    ...scopeFields,
    tag: tag.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().max(200).optional(),
  })
  .strict();
export type ListInput = z.output<typeof listInput>;

export const memoryOutput = z.object({
  id: z.uuid(),
  text: z.string(),
  agent_id: z.string().nullable(),
  user_id: z.string().nullable(),
  session_id: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  tags: z.array(z.string()),
  source: z.string().nullable(),
  content_hash: z.string(),
  version: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
  valid_from: z.string(),
  valid_to: z.string().nullable(),
  expires_at: z.string().nullable(),
  embedding_model: z.string().nullable(),
  idempotency_key: z.string().nullable(),
});
export type Memory = z.infer<typeof memoryOutput>;

export const addResultOutput = z.object({
  memories: z.array(memoryOutput.extend({ deduplicated: z.boolean() })),
});

export const searchResultOutput = z.object({
  results: z.array(
    memoryOutput.extend({
      score: z.number(),
      scores: z.object({ vector: z.number().nullable(), fulltext: z.number().nullable(), vector_rank: z.number().nullable(), fulltext_rank: z.number().nullable() }),
    }),
  ),
  embedding: z.object({ provider: z.string(), model: z.string(), dimensions: z.number(), quality: z.enum(['high', 'low']) }),
});
export type SearchResult = z.infer<typeof searchResultOutput>['results'][number];

export const versionOutput = z.object({
  version: z.number().int(),
  text: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  tags: z.array(z.string()),
  valid_from: z.string(),
  valid_to: z.string().nullable(),
  change: z.enum(['created', 'updated']),
  actor: z.string().nullable(),
  recorded_at: z.string(),
  superseded_at: z.string().nullable(),
});
export type MemoryVersion = z.infer<typeof versionOutput>;
