// Chunking entry points: chunk extracted text, or extract and chunk a document in one call.
import { blocksOf } from './blocks.js';
import { packBlocks, resolveOptions } from './chunker.js';
import { extractText } from './extract.js';
import type { Chunk, ChunkOptions, ExtractOptions, ExtractedText, MediaType } from './types.js';

/**
 * Chunks text as returned by `extractText` for `mediaType` (for Markdown and plain text that is
 * the document itself). Deterministic: the same input always gives the same chunks.
 */
export function chunkText(text: string, mediaType: MediaType, options?: Partial<ChunkOptions>): Chunk[] {
  const resolved = resolveOptions(options);
  return packBlocks(text, blocksOf(text, mediaType), resolved);
}

export async function chunkDocument(
  content: Buffer | Uint8Array | string,
  mediaType: MediaType,
  options: Partial<ChunkOptions> & ExtractOptions = {},
): Promise<ExtractedText & { chunks: Chunk[] }> {
  // Options are checked before the (possibly slow) extraction.
  const resolved = resolveOptions(options);
  const extracted = await extractText(content, mediaType, options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {});
  return { ...extracted, chunks: packBlocks(extracted.text, blocksOf(extracted.text, mediaType), resolved) };
}
