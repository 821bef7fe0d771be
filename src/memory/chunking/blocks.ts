// The block structure of extracted text: headings, paragraphs, code, lists and tables, each a
// character span of the text with the heading path above it. Markdown (and HTML, which is
// extracted to Markdown) is read with marked's lexer; plain text and PDF pages split into
// paragraphs at blank lines.
import { Lexer, type Token, type Tokens } from 'marked';
import type { ChunkKind, MediaType } from './types.js';

export interface Block {
  start: number;
  end: number;
  kind: ChunkKind;
  headingPath: string[];
  /** The block is the heading line that opens its section. */
  heading: boolean;
  page?: number;
}

/** Form feed: the page separator in text extracted from PDFs. */
export const PAGE_BREAK = '\f';

export function blocksOf(text: string, mediaType: MediaType): Block[] {
  switch (mediaType) {
    case 'text/markdown':
    case 'text/html':
      return markdownBlocks(text);
    case 'application/pdf':
      return pdfBlocks(text);
    case 'text/plain':
      return paragraphBlocks(text, 0, text.length);
  }
}

/** Paragraphs of [start, end): runs of non-blank lines. */
function paragraphBlocks(text: string, start: number, end: number, page?: number): Block[] {
  const out: Block[] = [];
  const re = /\S[\s\S]*?(?=\n[ \t]*\n|$)/g;
  const region = text.slice(start, end);
  for (const m of region.matchAll(re)) {
    const s = start + m.index;
    const e = s + m[0].trimEnd().length;
    if (e > s) out.push({ start: s, end: e, kind: 'text', headingPath: [], heading: false, ...(page !== undefined ? { page } : {}) });
  }
  return out;
}

function pdfBlocks(text: string): Block[] {
  const out: Block[] = [];
  let start = 0;
  let page = 1;
  while (start <= text.length) {
    const next = text.indexOf(PAGE_BREAK, start);
    const end = next === -1 ? text.length : next;
    out.push(...paragraphBlocks(text, start, end, page));
    if (next === -1) break;
    start = next + 1;
    page++;
  }
  return out;
}

const FRONT_MATTER = /^---[ \t]*\n[\s\S]*?\n---[ \t]*(?:\n|$)/;

/** YAML front matter (`---` … `---` at the very start), which Markdown itself does not define. */
export function frontMatter(text: string): { end: number; title?: string } | undefined {
  const m = FRONT_MATTER.exec(text);
  if (!m) return undefined;
  const title = /^title:[ \t]*(.+?)[ \t]*$/m.exec(m[0])?.[1]?.replace(/^(['"])(.*)\1$/, '$2');
  return { end: m[0].length, ...(title ? { title } : {}) };
}

function markdownBlocks(text: string): Block[] {
  const out: Block[] = [];
  const fm = frontMatter(text);
  let offset = 0;
  if (fm) {
    out.push({ start: 0, end: text.slice(0, fm.end).trimEnd().length, kind: 'text', headingPath: [], heading: false });
    offset = fm.end;
  }
  const tokens = new Lexer({ gfm: true }).lex(text.slice(offset));
  const path: Array<string | undefined> = [];
  let current: string[] = [];
  for (const token of tokens) {
    // marked's tokens cover the source exactly, in order: each raw begins where the previous ended.
    // It rewrites CR and NUL first, which extracted text never contains; text that does is read as
    // plain paragraphs rather than with drifting offsets.
    if (!text.startsWith(token.raw, offset)) return paragraphBlocks(text, 0, text.length);
    const start = offset;
    offset += token.raw.length;
    if (token.type === 'space') continue;
    const leading = token.raw.length - token.raw.trimStart().length;
    const s = start + leading;
    const e = start + token.raw.trimEnd().length;
    if (e <= s) continue;
    if (token.type === 'heading') {
      const { depth, text: title } = token as Tokens.Heading;
      path.length = depth;
      path[depth - 1] = plainInline(title) || '(untitled)';
      current = path.filter((p): p is string => p !== undefined);
      out.push({ start: s, end: e, kind: 'text', headingPath: current, heading: true });
      continue;
    }
    out.push({ start: s, end: e, kind: kindOf(token), headingPath: current, heading: false });
  }
  return out;
}

function kindOf(token: Token): ChunkKind {
  switch (token.type) {
    case 'code':
      return 'code';
    case 'list':
      return 'list';
    case 'table':
      return 'table';
    default:
      return 'text';
  }
}

/** Heading text without inline Markdown: code ticks, emphasis, link targets, escapes. */
export function plainInline(s: string): string {
  return s
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`+([^`]*)`+/g, '$1')
    .replace(/(\*\*|__|\*|_|~~)(?=\S)([\s\S]*?\S)\1/g, '$2')
    .replace(/<[^>]+>/g, '')
    .replace(/\\([\\`*_{}[\]()#+\-.!|~<>])/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}
