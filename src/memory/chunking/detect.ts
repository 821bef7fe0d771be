// Which supported media type a document is, from its declared Content-Type and its file name.
import type { MediaType } from './types.js';

const ALIASES: Record<string, MediaType> = {
  'text/plain': 'text/plain',
  'text/markdown': 'text/markdown',
  'text/x-markdown': 'text/markdown',
  'text/html': 'text/html',
  'application/xhtml+xml': 'text/html',
  'application/pdf': 'application/pdf',
  'application/x-pdf': 'application/pdf',
};

const EXTENSIONS: Record<string, MediaType> = {
  txt: 'text/plain',
  text: 'text/plain',
  log: 'text/plain',
  csv: 'text/plain',
  md: 'text/markdown',
  markdown: 'text/markdown',
  mdown: 'text/markdown',
  mkd: 'text/markdown',
  html: 'text/html',
  htm: 'text/html',
  xhtml: 'text/html',
  pdf: 'application/pdf',
};

/** Declared types that say nothing about the content; the file name decides instead. */
const GENERIC = new Set(['', 'application/octet-stream', 'binary/octet-stream', 'application/unknown']);

/**
 * The media type to parse a document as, or undefined when it is not supported.
 * A specific declared type wins, except that `text/plain` for a Markdown file name means
 * Markdown (many clients label every text file text/plain). Parameters such as charset are ignored.
 */
export function detectMediaType(filename: string, declared?: string): MediaType | undefined {
  const ext = /\.([a-z0-9]+)$/i.exec(filename.trim())?.[1]?.toLowerCase();
  const byName = ext !== undefined ? EXTENSIONS[ext] : undefined;
  const type = (declared ?? '').split(';')[0]!.trim().toLowerCase();
  if (GENERIC.has(type)) return byName;
  const byType = ALIASES[type];
  if (byType === 'text/plain' && byName === 'text/markdown') return byName;
  return byType;
}
