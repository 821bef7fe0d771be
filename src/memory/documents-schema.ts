// Request and response shapes for documents and combined search.
import { z } from 'zod';
import { filtersSchema, memoryOutput, scopeFields } from './schema.js';

export const MEDIA_TYPES = ['text/plain', 'text/markdown', 'text/html', 'application/pdf'] as const;

export const ingestInput = z
  .object({
    name: z.string().min(1).max(500).describe('File name; its extension selects the parser when media_type is absent.'),
    key: z.string().min(1).max(500).optional().describe('Identity of the document within its scope (default: name). Re-ingesting the same key replaces its chunks.'),
    media_type: z.enum(MEDIA_TYPES).optional(),
    content: z.string().max(50_000_000).optional().describe('Text content (text, Markdown, HTML).'),
    content_base64: z.string().max(70_000_000).optional().describe('Binary content (PDF), base64-encoded.'),
    ...scopeFields,
    metadata: z.record(z.string().max(200), z.unknown()).optional(),
    tags: z.array(z.string().min(1).max(100)).max(50).optional(),
    source: z.string().max(500).optional(),
    max_tokens: z.number().int().min(32).max(2048).optional(),
    overlap_tokens: z.number().int().min(0).max(512).optional(),
  })
  .strict()
  .refine((d) => (d.content === undefined) !== (d.content_base64 === undefined), { message: 'give exactly one of content and content_base64' });
export type IngestInput = z.infer<typeof ingestInput>;

export const documentOutput = z.object({
  id: z.uuid(),
  key: z.string(),
  name: z.string(),
  title: z.string().nullable(),
  media_type: z.string(),
  agent_id: z.string().nullable(),
  user_id: z.string().nullable(),
  session_id: z.string().nullable(),
  source: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  tags: z.array(z.string()),
  content_hash: z.string(),
  size_bytes: z.number().int(),
  chunk_count: z.number().int(),
  version: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Document = z.infer<typeof documentOutput>;

export const chunkOutput = z.object({
  id: z.uuid(),
  document_id: z.uuid(),
  position: z.number().int(),
  text: z.string(),
  heading_path: z.array(z.string()),
  kind: z.string(),
  page: z.number().int().nullable(),
  start_offset: z.number().int(),
  end_offset: z.number().int(),
  tokens: z.number().int(),
});
export type DocumentChunk = z.infer<typeof chunkOutput>;

export const ingestOutput = z.object({
  document: documentOutput,
  status: z.enum(['created', 'replaced', 'unchanged']),
});

export const combinedSearchInput = z
  .object({
    query: z.string().trim().min(1).max(4_000),
    k: z.number().int().min(1).max(100).default(10),
    ...scopeFields,
    filters: filtersSchema.optional(),
    as_of: z.iso.datetime({ offset: true }).optional(),
    mode: z.enum(['hybrid', 'vector', 'fulltext']).default('hybrid'),
    sources: z.array(z.enum(['memories', 'documents'])).min(1).default(['memories', 'documents']),
  })
  .strict();
export type CombinedSearchInput = z.input<typeof combinedSearchInput>;

const scores = z.object({
  vector: z.number().nullable(),
  fulltext: z.number().nullable(),
  vector_rank: z.number().nullable(),
  fulltext_rank: z.number().nullable(),
});

export const combinedResult = z.discriminatedUnion('type', [
  z.object({ type: z.literal('memory'), id: z.uuid(), text: z.string(), score: z.number(), scores, memory: memoryOutput }),
  z.object({
    type: z.literal('chunk'),
    id: z.uuid(),
    text: z.string(),
    score: z.number(),
    scores,
    chunk: chunkOutput,
    document: z.object({ id: z.uuid(), name: z.string(), title: z.string().nullable(), key: z.string() }),
  }),
]);
export type CombinedResult = z.infer<typeof combinedResult>;
