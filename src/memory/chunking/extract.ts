// Plain text out of a document, the text every chunk offset refers to.
//   text/plain, text/markdown: the document itself (UTF-8), newlines normalised;
//   text/html: a Markdown rendering of the content (see html.ts);
//   application/pdf: the text of each page, pages separated by a form feed (\f).
// Control characters other than tab and newline are removed (PostgreSQL text cannot hold NUL).
import { Lexer, type Tokens } from 'marked';
import { PlinthError } from '../../errors.js';
import { PAGE_BREAK, frontMatter, plainInline } from './blocks.js';
import { htmlToMarkdown } from './html.js';
import { readPdf } from './pdf.js';
import { DEFAULT_MAX_DOCUMENT_BYTES, MEDIA_TYPES, type ExtractOptions, type ExtractedText, type MediaType } from './types.js';

const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });

/** Newlines to \n, and no control characters but tab and newline. */
export function normaliseText(text: string): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  return text.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000B-\u001F\u007F]/g, '');
}

export async function extractText(content: Buffer | Uint8Array | string, mediaType: MediaType, options: ExtractOptions = {}): Promise<ExtractedText> {
  if (!(MEDIA_TYPES as readonly string[]).includes(mediaType)) {
    throw new PlinthError('UNSUPPORTED_DOCUMENT_TYPE', `Documents of type ${String(mediaType)} are not supported; use one of ${MEDIA_TYPES.join(', ')}.`, {
      supported: [...MEDIA_TYPES],
    });
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  const size = typeof content === 'string' ? Buffer.byteLength(content, 'utf8') : content.byteLength;
  if (size > maxBytes) {
    throw new PlinthError('PAYLOAD_TOO_LARGE', `The document has ${size} bytes; the limit is ${maxBytes}.`, { size, limit: maxBytes });
  }

  if (mediaType === 'application/pdf') {
    if (typeof content === 'string') throw new PlinthError('INVALID_DOCUMENT', 'A PDF must be given as bytes, not as a string.');
    const { pages, title } = await readPdf(content);
    const text = pages.map((p) => normaliseText(p).replace(/[ \t]+$/gm, '').replace(/\n{3,}/g, '\n\n').trim()).join(PAGE_BREAK);
    return { text, ...(title ? { title } : {}) };
  }

  const source = normaliseText(typeof content === 'string' ? content.replace(/^\uFEFF/, '') : decoder.decode(content));
  switch (mediaType) {
    case 'text/plain':
      return { text: source };
    case 'text/markdown': {
      const title = frontMatter(source)?.title ?? firstMarkdownH1(source);
      return { text: source, ...(title ? { title } : {}) };
    }
    case 'text/html': {
      const { text, title } = htmlToMarkdown(source);
      return { text: normaliseText(text), ...(title ? { title } : {}) };
    }
  }
}

function firstMarkdownH1(text: string): string | undefined {
  const fm = frontMatter(text);
  for (const token of new Lexer({ gfm: true }).lex(fm ? text.slice(fm.end) : text)) {
    if (token.type === 'heading' && (token as Tokens.Heading).depth === 1) return plainInline((token as Tokens.Heading).text) || undefined;
  }
  return undefined;
}
