// Token counting without a tokenizer. Chunk sizes must hold for whichever embedding model is
// configured, so this is a deliberately simple, slightly generous approximation of subword
// tokenizers (WordPiece, BPE) rather than any one of them:
//   - a run of letters, digits and underscores counts ceil(length / 4) tokens;
//   - each Han, Hiragana, Katakana or Hangul character counts 1;
//   - every other visible character (punctuation, symbols, emoji) counts 1;
//   - whitespace counts 0.
// On English prose and source code it overestimates all-MiniLM-L6-v2's WordPiece count by about
// 15%, and underestimates single paragraphs by at most about 10%.
// Counts are additive across whitespace: a text cut at whitespace has the sum of its parts' counts.

const CJK = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}';
// Groups: 1 = one CJK character, 2 = a word run, 3 = one other visible character.
const TOKEN_SOURCE = `([${CJK}])|((?:(?![${CJK}])[\\p{L}\\p{M}\\p{N}_])+)|([^\\s\\p{L}\\p{M}\\p{N}_])`;

/** Characters per token inside a word run. */
export const CHARS_PER_TOKEN = 4;

/** A countable unit of text: a word run, one CJK character, or one symbol. */
export interface Piece {
  start: number;
  end: number;
  tokens: number;
  /** A word run, which may be cut between any two characters when nothing else fits. */
  run: boolean;
}

const tokenPattern = () => new RegExp(TOKEN_SOURCE, 'gu');

/** The approximate token count of `text` (see the module comment for the rules). */
export function countTokens(text: string): number {
  let n = 0;
  for (const m of text.matchAll(tokenPattern())) n += m[2] !== undefined ? Math.ceil(m[2].length / CHARS_PER_TOKEN) : 1;
  return n;
}

/** The pieces of `text` between `start` and `end`, with absolute offsets. */
export function pieces(text: string, start = 0, end = text.length): Piece[] {
  const out: Piece[] = [];
  for (const m of text.slice(start, end).matchAll(tokenPattern())) {
    const run = m[2] !== undefined;
    const from = start + m.index;
    out.push({ start: from, end: from + m[0].length, tokens: run ? Math.ceil(m[0].length / CHARS_PER_TOKEN) : 1, run });
  }
  return out;
}
