// Cutting one oversized block into spans that fit a token budget, at the most natural places
// available (blank line, line end, sentence end, space), and finding where a chunk's trailing
// overlap begins. Spans never include leading or trailing whitespace beyond a line's indentation.
import { CHARS_PER_TOKEN, pieces, type Piece } from './tokens.js';

export interface Span {
  start: number;
  end: number;
  tokens: number;
}

/** Line-oriented blocks (code, tables, lists) prefer line ends; prose prefers sentence ends. */
export type SplitStyle = 'lines' | 'prose';

const SENTENCE_END = /^[.!?。！？;:]$/u;

/** How good a place the gap after piece `k` is to cut at; higher is better. */
function cutQuality(text: string, ps: Piece[], k: number, end: number, style: SplitStyle): number {
  const gapEnd = k + 1 < ps.length ? ps[k + 1]!.start : end;
  const gap = text.slice(ps[k]!.end, gapEnd);
  if (gap.includes('\n\n')) return 4;
  if (gap.includes('\n')) return style === 'lines' ? 3 : 2;
  const p = ps[k]!;
  if (style === 'prose' && gap.length > 0 && !p.run && SENTENCE_END.test(text.slice(p.start, p.end))) return 3;
  return gap.length > 0 ? 1 : 0;
}

/** Where the next span starts after a cut: the beginning of the next line keeps code indentation. */
function nextStart(text: string, afterEnd: number, pieceStart: number): number {
  // Only the gap between the pieces is searched: a scan back from pieceStart could cross megabytes.
  const nl = text.slice(afterEnd, pieceStart).lastIndexOf('\n');
  return nl >= 0 ? afterEnd + nl + 1 : pieceStart;
}

/**
 * Cuts [start, end) into spans of at most `budget` tokens. Cuts fall between pieces; only a single
 * word run longer than the budget (a long URL, base64 data) is cut inside, every
 * `budget * CHARS_PER_TOKEN` characters, so every span respects the budget.
 */
export function splitSpan(text: string, start: number, end: number, budget: number, style: SplitStyle): Span[] {
  const ps = pieces(text, start, end);
  const out: Span[] = [];
  let i = 0;
  let spanStart = start;
  while (i < ps.length) {
    const first = ps[i]!;
    if (first.tokens > budget) {
      // One run larger than the whole budget: cut it into equal character slices.
      const step = budget * CHARS_PER_TOKEN;
      for (let s = first.start; s < first.end; s += step) {
        const e = Math.min(first.end, s + step);
        out.push({ start: s === first.start ? spanStart : s, end: e, tokens: Math.ceil((e - s) / CHARS_PER_TOKEN) });
      }
      i++;
      if (i < ps.length) spanStart = nextStart(text, first.end, ps[i]!.start);
      continue;
    }
    // The furthest piece that still fits, then the best cut at or before it in its second half.
    let sum = 0;
    let j = i;
    while (j < ps.length && sum + ps[j]!.tokens <= budget) sum += ps[j++]!.tokens;
    let cut = j - 1;
    if (j < ps.length) {
      let best = -1;
      let bestQuality = -1;
      let acc = 0;
      for (let k = i; k < j; k++) {
        acc += ps[k]!.tokens;
        if (acc * 2 < sum) continue;
        const q = cutQuality(text, ps, k, end, style);
        if (q >= bestQuality) {
          best = k;
          bestQuality = q;
        }
      }
      if (best >= 0) cut = best;
    }
    let tokens = 0;
    for (let k = i; k <= cut; k++) tokens += ps[k]!.tokens;
    out.push({ start: spanStart, end: ps[cut]!.end, tokens });
    i = cut + 1;
    if (i < ps.length) spanStart = nextStart(text, ps[cut]!.end, ps[i]!.start);
  }
  return out;
}

/**
 * The start of the trailing overlap of [start, end): the earliest piece boundary such that the
 * text from there to `end` has at most `maxTokens` tokens. Overlap never begins inside a word.
 */
export function tailStart(text: string, start: number, end: number, maxTokens: number): Span | undefined {
  if (maxTokens <= 0) return undefined;
  // Only the tail can matter: look back far enough for maxTokens tokens of any kind.
  const from = Math.max(start, end - maxTokens * (CHARS_PER_TOKEN + 1) * 4);
  const ps = pieces(text, from, end);
  // A window that begins mid-word would miscount its first piece; drop it unless it starts the span.
  if (from > start && ps.length > 0 && ps[0]!.start === from) ps.shift();
  let tokens = 0;
  let k = ps.length;
  while (k > 0 && tokens + ps[k - 1]!.tokens <= maxTokens) tokens += ps[--k]!.tokens;
  if (k === ps.length || tokens === 0) return undefined;
  return { start: ps[k]!.start, end, tokens };
}
