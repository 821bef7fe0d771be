// Packs blocks into chunks. Rules, in order:
//   - a chunk never crosses a section (same heading path, same PDF page);
//   - a block that fits within maxTokens is never split: it starts a new chunk instead;
//   - a larger block is cut at natural places (see split.ts), code and tables on line ends;
//   - consecutive blocks of one section are packed while the total stays within maxTokens;
//   - a chunk that continues a section starts with the trailing overlapTokens of the chunk before
//     it, as far as the budget allows;
//   - a section holding only its heading joins the next section when that one is nested in it,
//     so "# Guide" directly followed by "## Install" does not become a chunk of its own. (A heading
//     whose first block is too large to share a chunk with it still ends up alone: splitting a
//     block that fits would be worse, and the heading is in every chunk's headingPath anyway.)
// Every chunk's text is exactly text.slice(start, end), and its tokens never exceed maxTokens.
import { PlinthError } from '../../errors.js';
import type { Block } from './blocks.js';
import { splitSpan, tailStart } from './split.js';
import { countTokens } from './tokens.js';
import type { Chunk, ChunkKind, ChunkOptions } from './types.js';
import { DEFAULT_CHUNK_OPTIONS } from './types.js';

export const MIN_MAX_TOKENS = 16;
export const MAX_MAX_TOKENS = 8192;

export function resolveOptions(options: Partial<ChunkOptions> = {}): ChunkOptions {
  const maxTokens = options.maxTokens ?? DEFAULT_CHUNK_OPTIONS.maxTokens;
  const overlapTokens = options.overlapTokens ?? Math.min(DEFAULT_CHUNK_OPTIONS.overlapTokens, Math.floor(maxTokens / 4));
  if (!Number.isInteger(maxTokens) || maxTokens < MIN_MAX_TOKENS || maxTokens > MAX_MAX_TOKENS) {
    throw new PlinthError('VALIDATION_FAILED', `maxTokens must be an integer from ${MIN_MAX_TOKENS} to ${MAX_MAX_TOKENS}, got ${maxTokens}.`);
  }
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens > maxTokens / 2) {
    throw new PlinthError('VALIDATION_FAILED', `overlapTokens must be an integer from 0 to half of maxTokens (${Math.floor(maxTokens / 2)}), got ${overlapTokens}.`);
  }
  return { maxTokens, overlapTokens };
}

interface Section {
  headingPath: string[];
  page: number | undefined;
  blocks: Block[];
}

function sectionsOf(blocks: Block[]): Section[] {
  const out: Section[] = [];
  for (const b of blocks) {
    const last = out[out.length - 1];
    if (last && last.page === b.page && samePath(last.headingPath, b.headingPath)) last.blocks.push(b);
    else out.push({ headingPath: b.headingPath, page: b.page, blocks: [b] });
  }
  // Fold heading-only sections into the nested section that follows them.
  const folded: Section[] = [];
  for (let i = 0; i < out.length; i++) {
    const s = out[i]!;
    const next = out[i + 1];
    if (next && next.page === s.page && s.blocks.every((b) => b.heading) && isPrefix(s.headingPath, next.headingPath)) {
      next.blocks.unshift(...s.blocks);
      continue;
    }
    folded.push(s);
  }
  return folded;
}

const samePath = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const isPrefix = (a: string[], b: string[]) => a.length < b.length && a.every((x, i) => x === b[i]);

interface Draft {
  start: number;
  end: number;
  tokens: number;
  kinds: Map<ChunkKind, number>;
}

export function packBlocks(text: string, blocks: Block[], options: ChunkOptions): Chunk[] {
  const { maxTokens, overlapTokens } = options;
  const chunks: Chunk[] = [];
  for (const section of sectionsOf(blocks)) {
    let draft: Draft | undefined;
    let previous: Draft | undefined;
    const emit = () => {
      if (!draft) return;
      const chunkText = text.slice(draft.start, draft.end);
      let kind: ChunkKind = 'text';
      let most = -1;
      for (const [k, n] of draft.kinds) {
        if (n > most) {
          kind = k;
          most = n;
        }
      }
      chunks.push({
        index: chunks.length,
        text: chunkText,
        headingPath: [...section.headingPath],
        kind,
        tokens: countTokens(chunkText),
        start: draft.start,
        end: draft.end,
        ...(section.page !== undefined ? { page: section.page } : {}),
      });
      previous = draft;
      draft = undefined;
    };

    for (const block of section.blocks) {
      const whole = countTokens(text.slice(block.start, block.end));
      // Pieces of a split block leave room for the overlap that each following piece carries.
      const parts =
        whole <= maxTokens
          ? [{ start: block.start, end: block.end, tokens: whole }]
          : splitSpan(text, block.start, block.end, maxTokens - overlapTokens, block.kind === 'text' ? 'prose' : 'lines');
      for (const part of parts) {
        if (part.tokens === 0) continue;
        if (draft && draft.tokens + part.tokens <= maxTokens) {
          draft.end = part.end;
          draft.tokens += part.tokens;
          draft.kinds.set(block.kind, (draft.kinds.get(block.kind) ?? 0) + part.tokens);
          continue;
        }
        emit();
        const overlap = previous ? tailStart(text, previous.start, previous.end, Math.min(overlapTokens, maxTokens - part.tokens)) : undefined;
        draft = {
          start: overlap?.start ?? part.start,
          end: part.end,
          tokens: (overlap?.tokens ?? 0) + part.tokens,
          kinds: new Map([[block.kind, part.tokens]]),
        };
      }
    }
    emit();
  }
  return chunks;
}
