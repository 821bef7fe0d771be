// The shapes chunking works with: supported media types, chunks and their options.

export const MEDIA_TYPES = ['text/plain', 'text/markdown', 'text/html', 'application/pdf'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

export type ChunkKind = 'text' | 'code' | 'list' | 'table';

export interface Chunk {
  /** Position in the document, from 0. */
  index: number;
  /** Exactly `text.slice(start, end)` of the extracted text, overlap included. */
  text: string;
  /** Headings above the chunk, outermost first (empty when the document has none). */
  headingPath: string[];
  /** The kind holding most of the chunk's tokens. */
  kind: ChunkKind;
  /** `countTokens(text)`. */
  tokens: number;
  /** Character offsets (UTF-16 code units) into the extracted text. */
  start: number;
  end: number;
  /** 1-based page number, for PDFs. */
  page?: number;
}

export interface ChunkOptions {
  /** Upper bound for `Chunk.tokens`. */
  maxTokens: number;
  /** Trailing tokens of the previous chunk of the same section repeated at the start of the next. */
  overlapTokens: number;
}

export const DEFAULT_CHUNK_OPTIONS: Readonly<ChunkOptions> = Object.freeze({ maxTokens: 256, overlapTokens: 32 });

/** Largest document accepted by default, in bytes. */
export const DEFAULT_MAX_DOCUMENT_BYTES = 20 * 1024 * 1024;

export interface ExtractOptions {
  /** Documents larger than this many bytes are refused before parsing. */
  maxBytes?: number;
}

export interface ExtractedText {
  text: string;
  title?: string;
}
