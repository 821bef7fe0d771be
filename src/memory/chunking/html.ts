// HTML to Markdown-shaped text, so one chunker serves both and chunks of HTML pages read well:
// h1–h6 become `#` headings, pre becomes fenced code, ul/ol become `-`/`1.` lists, tables become
// pipe tables, everything else becomes paragraphs with whitespace collapsed as a browser would.
// Scripts, styles, navigation and other non-content elements are dropped with their content.
// Parsing uses htmlparser2, which is forgiving of the broken markup real pages contain.
import { Parser } from 'htmlparser2';

const SKIP = new Set(['script', 'style', 'noscript', 'template', 'nav', 'svg', 'math', 'iframe', 'object', 'embed', 'canvas', 'select', 'button', 'head']);
const HEADING = /^h([1-6])$/;
const BLOCK = new Set([
  'p', 'div', 'section', 'article', 'main', 'header', 'footer', 'aside', 'blockquote', 'figure', 'figcaption', 'address',
  'details', 'summary', 'dl', 'dt', 'dd', 'hr', 'form', 'fieldset', 'legend', 'body', 'html', 'center', 'caption',
]);

type OutBlock =
  | { type: 'heading'; level: number; text: string }
  | { type: 'para'; text: string }
  | { type: 'code'; text: string; lang: string }
  | { type: 'list'; lines: string[] }
  | { type: 'table'; rows: string[][] };

interface ListState {
  ordered: boolean;
  counter: number;
}

interface TableState {
  rows: string[][];
  row?: string[];
  cell?: string;
}

const collapse = (s: string) => s.replace(/\s+/g, ' ');
/** Stands for <br> in paragraph text until whitespace is collapsed; a private-use character. */
const LINE_BREAK = '\uE000';

export function htmlToMarkdown(html: string): { text: string; title?: string } {
  const blocks: OutBlock[] = [];
  let skipDepth = 0;
  let skipTag = '';
  let inTitle = false;
  let title = '';
  let firstH1: string | undefined;
  let inline = '';
  let heading: { level: number; text: string } | undefined;
  let pre: { text: string; lang: string; depth: number } | undefined;
  const lists: ListState[] = [];
  let listBlock: { type: 'list'; lines: string[] } | undefined;
  let item: { prefix: string; text: string } | undefined;
  const tables: TableState[] = [];

  const flushInline = () => {
    const text = collapse(inline).trim();
    inline = '';
    if (!text.replaceAll(LINE_BREAK, '').trim()) return;
    blocks.push({ type: 'para', text });
  };
  /** A heading, code block or table inside a list ends the list block so far, keeping order. */
  const interruptList = () => {
    if (lists.length === 0) return;
    flushItem();
    flushInline();
    if (listBlock && listBlock.lines.length > 0) blocks.push(listBlock);
    listBlock = { type: 'list', lines: [] };
  };
  const flushItem = () => {
    if (!item || !listBlock) return;
    const text = collapse(item.text).trim();
    if (text) listBlock.lines.push(`${item.prefix}${text}`);
    item = undefined;
  };
  /** Where text goes right now: a table cell, a list item, a heading, or the paragraph buffer. */
  const append = (t: string) => {
    const table = tables[tables.length - 1];
    if (table?.cell !== undefined) table.cell += t;
    else if (heading) heading.text += t;
    else if (item) item.text += t;
    else inline += t;
  };

  const parser = new Parser(
    {
      onopentag(name, attribs) {
        // The page title lives in <head>, which is otherwise skipped; an <svg> has titles of its own.
        if (name === 'title' && (skipDepth === 0 || skipTag === 'head') && !title && !pre) {
          inTitle = true;
          return;
        }
        if (skipDepth > 0) {
          if (name === skipTag) skipDepth++;
          return;
        }
        if (SKIP.has(name)) {
          skipTag = name;
          skipDepth = 1;
          return;
        }
        if (pre) {
          if (name === 'br') pre.text += '\n';
          if (name === 'pre') pre.depth++;
          if (name === 'code' && !pre.lang) pre.lang = languageOf(attribs.class);
          return;
        }
        const h = HEADING.exec(name);
        if (h && tables.length === 0) {
          interruptList();
          flushInline();
          heading = { level: Number(h[1]), text: '' };
          return;
        }
        if (name === 'pre' && tables.length === 0) {
          interruptList();
          flushInline();
          pre = { text: '', lang: languageOf(attribs.class), depth: 1 };
          return;
        }
        if (name === 'ul' || name === 'ol') {
          if (lists.length === 0) {
            flushInline();
            listBlock = { type: 'list', lines: [] };
          } else {
            flushItem();
          }
          const start = Number.parseInt(attribs.start ?? '1', 10);
          lists.push({ ordered: name === 'ol', counter: Number.isFinite(start) ? start : 1 });
          return;
        }
        if (name === 'li' && lists.length === 0) {
          // A stray item outside any list reads as a paragraph.
          flushInline();
          return;
        }
        if (name === 'li') {
          flushItem();
          flushInline();
          const list = lists[lists.length - 1];
          const indent = '  '.repeat(Math.max(0, lists.length - 1));
          item = { prefix: `${indent}${list?.ordered ? `${list.counter++}. ` : '- '}`, text: '' };
          return;
        }
        if (name === 'table') {
          if (tables.length === 0) {
            interruptList();
            flushInline();
          }
          tables.push({ rows: [] });
          return;
        }
        const table = tables[tables.length - 1];
        if (table) {
          if (name === 'tr') table.row = [];
          else if (name === 'td' || name === 'th') {
            table.row ??= [];
            table.cell = '';
          } else if (name === 'br') append(' ');
          return;
        }
        if (name === 'br') {
          append(item || heading ? ' ' : LINE_BREAK);
          return;
        }
        // Stray table cells and rows outside a table separate text like blocks do.
        if (BLOCK.has(name) || name === 'td' || name === 'th' || name === 'tr') {
          if (!item && !heading) flushInline();
          else append(' ');
        }
      },
      ontext(text) {
        if (inTitle) {
          title += text;
          return;
        }
        if (skipDepth > 0) return;
        if (pre) pre.text += text;
        else append(text);
      },
      onclosetag(name) {
        if (name === 'title' && inTitle) {
          inTitle = false;
          return;
        }
        if (skipDepth > 0) {
          if (name === skipTag) skipDepth--;
          return;
        }
        if (pre) {
          if (name === 'pre' && --pre.depth === 0) {
            const text = pre.text.replace(/^\n/, '').replace(/\s+$/, '');
            if (text) blocks.push({ type: 'code', text, lang: pre.lang });
            pre = undefined;
          }
          return;
        }
        const h = HEADING.exec(name);
        if (h && heading) {
          const text = collapse(heading.text).trim();
          if (text) {
            blocks.push({ type: 'heading', level: heading.level, text });
            if (heading.level === 1) firstH1 ??= text;
          }
          heading = undefined;
          return;
        }
        if (name === 'li') {
          flushItem();
          return;
        }
        if (name === 'ul' || name === 'ol') {
          flushItem();
          lists.pop();
          if (lists.length === 0) flushInline();
          if (lists.length === 0 && listBlock) {
            if (listBlock.lines.length > 0) blocks.push(listBlock);
            listBlock = undefined;
          }
          return;
        }
        const table = tables[tables.length - 1];
        if (table) {
          if ((name === 'td' || name === 'th') && table.cell !== undefined) {
            table.row?.push(collapse(table.cell).trim());
            table.cell = undefined;
          } else if (name === 'tr' && table.row) {
            if (table.row.some((c) => c !== '')) table.rows.push(table.row);
            table.row = undefined;
          } else if (name === 'table') {
            tables.pop();
            const outer = tables[tables.length - 1];
            if (outer) {
              // A table inside a cell: its text joins the cell.
              if (outer.cell !== undefined) outer.cell += ` ${table.rows.map((r) => r.join(' ')).join(' ')} `;
            } else if (table.rows.length > 0) {
              blocks.push({ type: 'table', rows: table.rows });
            }
          }
          return;
        }
        if ((BLOCK.has(name) || name === 'td' || name === 'th' || name === 'tr' || name === 'li') && !item && !heading) flushInline();
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true, recognizeSelfClosing: true },
  );
  parser.write(html);
  parser.end();
  flushItem();
  if (listBlock && listBlock.lines.length > 0) blocks.push(listBlock);
  flushInline();

  const text = blocks.map(render).join('\n\n');
  const pageTitle = collapse(title).trim() || firstH1;
  return { text, ...(pageTitle ? { title: pageTitle } : {}) };
}

function languageOf(cls: string | undefined): string {
  const m = /(?:^|\s)(?:language|lang)-([\w+#.-]+)/.exec(cls ?? '');
  return m?.[1] ?? '';
}

/** Paragraph text that Markdown would read as structure gets a leading backslash. */
function escapeLineStart(text: string): string {
  return /^(?:[#>|<`~=+*_-]|\d+[.)](?:\s|$))/.test(text) ? `\\${text}` : text;
}

function render(b: OutBlock): string {
  switch (b.type) {
    case 'heading':
      return `${'#'.repeat(b.level)} ${b.text}`;
    case 'para':
      // <br> inside a paragraph survives as a line break; each line is escaped on its own.
      return b.text
        .split(LINE_BREAK)
        .map((l) => escapeLineStart(l.trim()))
        .filter(Boolean)
        .join('\n');
    case 'code': {
      const longest = Math.max(2, ...Array.from(b.text.matchAll(/`+/g), (m) => m[0].length));
      const fence = '`'.repeat(longest + 1);
      return `${fence}${b.lang}\n${b.text}\n${fence}`;
    }
    case 'list':
      return b.lines.join('\n');
    case 'table': {
      const width = Math.max(...b.rows.map((r) => r.length));
      const cell = (c: string | undefined) => (c ?? '').replace(/\|/g, '\\|');
      const line = (r: string[]) => `| ${Array.from({ length: width }, (_, i) => cell(r[i])).join(' | ')} |`;
      // GFM tables need a header row; without <th> the first row serves.
      const [head, ...body] = b.rows;
      return [line(head!), `|${' --- |'.repeat(width)}`, ...body.map(line)].join('\n');
    }
  }
}
