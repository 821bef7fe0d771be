// Structure-aware document chunking: extract text from plain text, Markdown, HTML and PDF, and
// cut it into chunks that follow headings, keep code blocks, lists and tables whole where they
// fit, respect a token budget and overlap within a section.
export type { Chunk, ChunkKind, ChunkOptions, ExtractOptions, ExtractedText, MediaType } from './types.js';
export { DEFAULT_CHUNK_OPTIONS, DEFAULT_MAX_DOCUMENT_BYTES, MEDIA_TYPES } from './types.js';
export { chunkDocument, chunkText } from './document.js';
export { extractText } from './extract.js';
export { detectMediaType } from './detect.js';
export { countTokens } from './tokens.js';
export { MAX_MAX_TOKENS, MIN_MAX_TOKENS } from './chunker.js';
