// Document chunking: structure (headings, code, lists, tables, pages), token bounds, overlap,
// offsets, determinism, and text extraction from Markdown, HTML, plain text and PDF.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  chunkDocument,
  chunkText,
  countTokens,
  detectMediaType,
  extractText,
  type Chunk,
  type MediaType,
} from '../../src/memory/chunking/index.js';
import { isPlinthError } from '../../src/errors.js';

async function expectCode(promise: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    assert.ok(isPlinthError(err), `expected ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return;
  }
  assert.fail(`expected ${code}`);
}

/** Invariants every chunking must satisfy; returns the chunks for further checks. */
function checkInvariants(text: string, chunks: Chunk[], maxTokens: number, overlapTokens: number): Chunk[] {
  let covered = 0;
  chunks.forEach((c, i) => {
    assert.equal(c.index, i);
    assert.equal(c.text, text.slice(c.start, c.end), `chunk ${i} is the slice of its offsets`);
    assert.equal(c.tokens, countTokens(c.text), `chunk ${i} counts its own tokens`);
    assert.ok(c.tokens <= maxTokens, `chunk ${i} has ${c.tokens} tokens > ${maxTokens}`);
    // Leading whitespace is allowed: a code chunk keeps its first line's indentation.
    assert.ok(c.tokens > 0 && c.text.trimEnd() === c.text, `chunk ${i} has no trailing whitespace and is not empty`);
    const prev = chunks[i - 1];
    if (prev) {
      assert.ok(c.start >= prev.start && c.end > prev.end, `chunk ${i} moves forward`);
      if (c.start < prev.end) {
        assert.deepEqual(c.headingPath, prev.headingPath, 'overlap only within a section');
        assert.equal(c.page, prev.page, 'overlap only within a page');
        assert.ok(countTokens(text.slice(c.start, prev.end)) <= overlapTokens, 'overlap is at most overlapTokens');
      }
    }
    // Every visible character of the text is in some chunk.
    const gap = text.slice(covered, Math.max(covered, c.start));
    assert.equal(gap.trim(), '', `text between chunks is whitespace only: ${JSON.stringify(gap.slice(0, 60))}`);
    covered = Math.max(covered, c.end);
  });
  assert.equal(text.slice(covered).trim(), '', 'the end of the text is covered');
  return chunks;
}

const para = (n: number, word = 'memory') => Array.from({ length: n }, (_, i) => `${word}${i % 7 === 6 ? '.' : ''}`).join(' ');

describe('countTokens', () => {
  it('counts word runs by length, CJK characters and symbols one each, whitespace not at all', () => {
    assert.equal(countTokens(''), 0);
    assert.equal(countTokens('   \n\t '), 0);
    assert.equal(countTokens('the'), 1);
    assert.equal(countTokens('internationalization'), 5);
    assert.equal(countTokens('Hello, world!'), 6);
    assert.equal(countTokens('数据库'), 3);
    assert.equal(countTokens('a+b=c'), 5);
    assert.equal(countTokens('🙂🙂'), 2);
  });

  it('is additive across whitespace', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), fc.constantFrom(' ', '\n', '\n\n', '\t'), (a, b, ws) => {
        assert.equal(countTokens(`${a}${ws}${b}`), countTokens(a) + countTokens(b));
      }),
    );
  });
});

describe('chunkText: Markdown', () => {
  const doc = [
    '# Plinth',
    '',
    'Intro paragraph about the platform.',
    '',
    '## Install',
    '',
    'Install with npm.',
    '',
    '```bash',
    '# not a heading: a shell comment',
    'npm install plinth',
    '```',
    '',
    '### From source',
    '',
    'Clone and build.',
    '',
    '## Use `plinth serve`',
    '',
    '- start the server',
    '- open **the** docs',
    '',
    '| flag | meaning |',
    '| --- | --- |',
    '| --port | listen port |',
    '',
    'Setext heading',
    '==============',
    '',
    'Under setext.',
  ].join('\n');

  it('builds heading paths from nested, inline-formatted and setext headings', () => {
    const chunks = checkInvariants(doc, chunkText(doc, 'text/markdown'), 256, 32);
    assert.deepEqual(
      chunks.map((c) => c.headingPath),
      [['Plinth'], ['Plinth', 'Install'], ['Plinth', 'Install', 'From source'], ['Plinth', 'Use plinth serve'], ['Setext heading']],
    );
    assert.ok(chunks[1]!.text.startsWith('## Install'), 'a section chunk starts with its heading line');
    assert.ok(chunks[1]!.text.includes('# not a heading: a shell comment'), 'code comments are not headings');
    assert.ok(chunks[0]!.text.startsWith('# Plinth\n\nIntro'));
  });

  it('packs small blocks of one section together and labels a chunk by its main kind', () => {
    const chunks = chunkText(doc, 'text/markdown');
    const use = chunks.find((c) => c.headingPath.at(-1) === 'Use plinth serve')!;
    assert.ok(use.text.includes('- start the server') && use.text.includes('| --port | listen port |'), 'list and table share a chunk');
    const tableOnly = chunkText('| a | b |\n| --- | --- |\n| 1 | 2 |', 'text/markdown');
    assert.equal(tableOnly[0]!.kind, 'table');
    assert.equal(chunkText('- a\n- b\n- c', 'text/markdown')[0]!.kind, 'list');
    assert.equal(chunkText('```js\nlet x = 1;\n```', 'text/markdown')[0]!.kind, 'code');
  });

  it('folds a heading with no content of its own into the nested section after it', () => {
    const chunks = chunkText('# Guide\n\n## Install\n\nRun it.\n\n# Other\n\n# Last\n\nText.', 'text/markdown');
    assert.deepEqual(
      chunks.map((c) => [c.headingPath, c.text]),
      [
        [['Guide', 'Install'], '# Guide\n\n## Install\n\nRun it.'],
        [['Other'], '# Other'],
        [['Last'], '# Last\n\nText.'],
      ],
    );
  });

  it('never splits a code block that fits: it moves whole to the next chunk', () => {
    const code = ['```ts', ...Array.from({ length: 12 }, (_, i) => `const value${i} = compute(${i});`), '```'].join('\n');
    const text = `## Code\n\n${para(60)}\n\n${code}\n\n${para(20)}`;
    const max = countTokens(code) + 10;
    const chunks = checkInvariants(text, chunkText(text, 'text/markdown', { maxTokens: max, overlapTokens: 8 }), max, 8);
    const holder = chunks.filter((c) => c.text.includes('const value0'));
    assert.equal(holder.length, 1);
    assert.ok(holder[0]!.text.includes(code), 'the whole fenced block is in one chunk');
    assert.equal(holder[0]!.kind, 'code');
  });

  it('splits a code block larger than maxTokens on line ends, every part labelled code', () => {
    const lines = Array.from({ length: 80 }, (_, i) => `    result_${i} = transform(input_${i}, options)`);
    const text = `# Big\n\n\`\`\`python\ndef main():\n${lines.join('\n')}\n\`\`\``;
    const chunks = checkInvariants(text, chunkText(text, 'text/markdown', { maxTokens: 64, overlapTokens: 8 }), 64, 8);
    assert.ok(chunks.length > 5);
    for (const c of chunks) {
      assert.equal(c.kind, 'code');
      assert.ok(c.end === text.length || text[c.end] === '\n', `chunk ends at a line end: ${JSON.stringify(text.slice(c.end - 10, c.end + 5))}`);
    }
  });

  it('splits a long paragraph at sentence ends and overlaps consecutive chunks', () => {
    const sentences = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} tells the agent something new about memory.`).join(' ');
    const text = `# Notes\n\n${sentences}`;
    const chunks = checkInvariants(text, chunkText(text, 'text/markdown', { maxTokens: 60, overlapTokens: 10 }), 60, 10);
    assert.ok(chunks.length >= 5);
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1]!;
      const c = chunks[i]!;
      assert.ok(c.start < prev.end, `chunk ${i} overlaps the previous one`);
      assert.ok(text.slice(prev.start, prev.end).endsWith(text.slice(c.start, prev.end)), 'the overlap is the tail of the previous chunk');
      assert.ok(countTokens(text.slice(c.start, prev.end)) >= 5, 'the overlap carries a useful amount of text');
      if (i < chunks.length - 1) assert.ok(prev.text.endsWith('.'), `chunk ${i - 1} ends at a sentence end: …${prev.text.slice(-30)}`);
    }
  });

  it('does not overlap across sections', () => {
    const text = `# A\n\n${para(100)}\n\n# B\n\n${para(100)}`;
    const chunks = checkInvariants(text, chunkText(text, 'text/markdown', { maxTokens: 40, overlapTokens: 10 }), 40, 10);
    const firstB = chunks.findIndex((c) => c.headingPath[0] === 'B');
    assert.ok(firstB > 0 && chunks[firstB]!.start >= chunks[firstB - 1]!.end);
    assert.ok(chunks[firstB]!.text.startsWith('# B'));
  });

  it('cuts a single run longer than maxTokens (a data URL) so the bound still holds', () => {
    const text = `Image: data:image/png;base64,${'QUJD'.repeat(3000)} end.`;
    checkInvariants(text, chunkText(text, 'text/markdown', { maxTokens: 50, overlapTokens: 5 }), 50, 5);
  });

  it('keeps YAML front matter as text and takes the title from it', async () => {
    const text = '---\ntitle: "Runbook"\nowner: ops\n---\n# Heading\n\nBody.';
    const chunks = chunkText(text, 'text/markdown');
    assert.ok(chunks[0]!.text.startsWith('---\ntitle'));
    assert.deepEqual(chunks.at(-1)!.headingPath, ['Heading']);
    assert.equal((await extractText(text, 'text/markdown')).title, 'Runbook');
    assert.equal((await extractText('Intro\n\n# First *real* heading\n\n## Two', 'text/markdown')).title, 'First real heading');
  });

  it('reads text that was not normalised (CR, NUL) as paragraphs rather than with wrong offsets', () => {
    const text = '# Title\r\n\r\nBody\u0000 text.\r\n\r\nMore.';
    const chunks = checkInvariants(text, chunkText(text, 'text/markdown', { maxTokens: 16, overlapTokens: 0 }), 16, 0);
    assert.ok(chunks.length >= 1);
  });

  it('is deterministic', () => {
    assert.deepEqual(chunkText(doc, 'text/markdown', { maxTokens: 32 }), chunkText(doc, 'text/markdown', { maxTokens: 32 }));
  });

  it('holds its invariants for arbitrary documents', () => {
    const block = fc.oneof(
      fc.tuple(fc.integer({ min: 1, max: 4 }), fc.stringMatching(/^[A-Za-z][A-Za-z ]{0,20}$/)).map(([d, t]) => `${'#'.repeat(d)} ${t}`),
      fc.array(fc.stringMatching(/^[a-z]{1,14}[.,]?$/), { minLength: 1, maxLength: 120 }).map((w) => w.join(' ')),
      fc.array(fc.stringMatching(/^ {0,4}[a-z_(){}=;0-9 ]{0,60}$/), { minLength: 1, maxLength: 40 }).map((l) => `\`\`\`\n${l.join('\n')}\n\`\`\``),
      fc.array(fc.stringMatching(/^[a-z ]{1,40}$/), { minLength: 1, maxLength: 30 }).map((items) => items.map((i) => `- ${i}`).join('\n')),
      fc.string({ maxLength: 400 }),
    );
    fc.assert(
      fc.property(fc.array(block, { maxLength: 25 }), fc.integer({ min: 16, max: 200 }), fc.integer({ min: 0, max: 100 }), (blocks, max, overlapPct) => {
        const text = blocks.join('\n\n');
        const overlap = Math.floor((max / 2) * (overlapPct / 100));
        for (const type of ['text/markdown', 'text/plain'] as MediaType[]) {
          checkInvariants(text, chunkText(text, type, { maxTokens: max, overlapTokens: overlap }), max, overlap);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('validates its options', async () => {
    await expectCode(() => chunkText('x', 'text/plain', { maxTokens: 4 }), 'PLINTH_VALIDATION_FAILED');
    await expectCode(() => chunkText('x', 'text/plain', { maxTokens: 100, overlapTokens: 60 }), 'PLINTH_VALIDATION_FAILED');
    await expectCode(() => chunkText('x', 'text/plain', { maxTokens: 100.5 }), 'PLINTH_VALIDATION_FAILED');
    assert.equal(chunkText('x', 'text/plain', { maxTokens: 16 }).length, 1, 'the default overlap shrinks to fit a small maxTokens');
  });
});

describe('chunkText: plain text', () => {
  it('splits at blank lines and packs paragraphs, with no headings', () => {
    const text = 'First paragraph\nstill first, with more words here.\n\n  \nSecond paragraph.\n\nThird.';
    const chunks = checkInvariants(text, chunkText(text, 'text/plain'), 256, 32);
    assert.equal(chunks.length, 1);
    assert.deepEqual(chunks[0]!.headingPath, []);
    // 16 + 6 + 3 tokens: the first paragraph fills a 16-token chunk, the other two share one.
    const small = chunkText(text, 'text/plain', { maxTokens: 16, overlapTokens: 0 });
    assert.deepEqual(
      small.map((c) => [c.text, c.tokens]),
      [
        ['First paragraph\nstill first, with more words here.', 16],
        ['Second paragraph.\n\nThird.', 9],
      ],
    );
  });

  it('returns no chunks for an empty or blank document', () => {
    assert.deepEqual(chunkText('', 'text/plain'), []);
    assert.deepEqual(chunkText(' \n\n\t', 'text/markdown'), []);
  });
});

describe('extractText', () => {
  it('normalises newlines and removes control characters', async () => {
    const { text } = await extractText(Buffer.from('\uFEFFline one\r\nline\u0000 two\rend\u0007', 'utf8'), 'text/plain');
    assert.equal(text, 'line one\nline two\nend');
  });

  it('refuses unsupported types and oversized documents', async () => {
    await expectCode(extractText('x', 'image/png' as MediaType), 'PLINTH_UNSUPPORTED_DOCUMENT_TYPE');
    await expectCode(chunkDocument('x'.repeat(2048), 'text/plain', { maxBytes: 1024 }), 'PLINTH_PAYLOAD_TOO_LARGE');
    await expectCode(extractText('%PDF-1.4', 'application/pdf'), 'PLINTH_INVALID_DOCUMENT');
  });
});

describe('HTML', () => {
  const html = `<!doctype html><html><head><title>Runbook &amp; Notes</title>
    <style>body { color: red }</style><script>window.secret = "do-not-index";</script></head>
    <body><nav><a href="/">Home</a> <a href="/docs">Docs</a></nav>
    <svg><title>icon</title><text>svg text</text></svg>
    <h1>Restore drills</h1>
    <p>Drills run <b>weekly</b>,
       every   Monday.<br>They restore into a scratch database.</p>
    <ul><li>Pick the latest backup</li><li>Restore it<ol><li>verify checksums</li></ol></li></ul>
    <h2>Commands</h2>
    <pre><code class="language-bash">plinth backup restore --latest
plinth doctor</code></pre>
    <table><tr><th>step</th><th>time</th></tr><tr><td>restore</td><td>4 min</td></tr></table>
    <p>1. Not a list, &lt;b&gt;not bold&lt;/b&gt;</p>
    <noscript>Enable JavaScript</noscript>
  </body></html>`;

  it('extracts content as Markdown and drops scripts, styles and navigation', async () => {
    const { text, title } = await extractText(html, 'text/html');
    assert.equal(title, 'Runbook & Notes');
    for (const dropped of ['do-not-index', 'color: red', 'Home', 'Docs', 'svg text', 'icon', 'Enable JavaScript']) {
      assert.ok(!text.includes(dropped), `"${dropped}" was dropped`);
    }
    assert.equal(
      text,
      [
        '# Restore drills',
        'Drills run weekly, every Monday.\nThey restore into a scratch database.',
        '- Pick the latest backup\n- Restore it\n  1. verify checksums',
        '## Commands',
        '```bash\nplinth backup restore --latest\nplinth doctor\n```',
        '| step | time |\n| --- | --- |\n| restore | 4 min |',
        '\\1. Not a list, <b>not bold</b>',
      ].join('\n\n'),
    );
  });

  it('maps headings to heading paths and pre, lists and tables to their kinds', async () => {
    const { text, chunks } = await chunkDocument(html, 'text/html', { maxTokens: 32, overlapTokens: 0 });
    checkInvariants(text, chunks, 32, 0);
    assert.deepEqual(chunks.map((c) => [c.headingPath.join(' > '), c.kind]), [
      ['Restore drills', 'text'],
      ['Restore drills', 'list'],
      ['Restore drills > Commands', 'code'],
      ['Restore drills > Commands', 'table'],
      ['Restore drills > Commands', 'text'],
    ]);
  });

  it('survives broken markup', async () => {
    const { text } = await extractText('<p>open <b>bold <i>both</p><li>stray item<td>cell<p>last', 'text/html');
    assert.match(text, /open bold both/);
    assert.match(text, /last/);
  });
});

/** A minimal, valid PDF with one text line per array entry on each page (Helvetica, WinAnsi). */
function makePdf(pages: string[][], title?: string): Buffer {
  const esc = (s: string) => s.replace(/[\\()]/g, (c) => `\\${c}`);
  const objects: string[] = ['<< /Type /Catalog /Pages 2 0 R >>'];
  objects.push(`<< /Type /Pages /Kids [${pages.map((_, i) => `${4 + i * 2} 0 R`).join(' ')}] /Count ${pages.length} >>`);
  objects.push('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  for (const [i, lines] of pages.entries()) {
    objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${5 + i * 2} 0 R >>`);
    const stream = `BT /F1 12 Tf 72 720 Td 16 TL ${lines.map((l) => `(${esc(l)}) Tj T*`).join(' ')} ET`;
    objects.push(`<< /Length ${Buffer.byteLength(stream, 'latin1')} >>\nstream\n${stream}\nendstream`);
  }
  if (title) objects.push(`<< /Title (${esc(title)}) >>`);
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R${title ? ` /Info ${objects.length} 0 R` : ''} >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

describe('PDF', () => {
  it('extracts the text of each page, the title, and chunks per page', async () => {
    const pdf = makePdf(
      [
        ['Plinth operations guide (draft)', 'Backups run nightly at 02:00.'],
        ['Restores are drilled weekly.', 'Café menus are not covered.'],
      ],
      'Ops Guide',
    );
    const { text, title, chunks } = await chunkDocument(pdf, 'application/pdf');
    assert.equal(title, 'Ops Guide');
    assert.equal(text, 'Plinth operations guide (draft)\nBackups run nightly at 02:00.\fRestores are drilled weekly.\nCafé menus are not covered.');
    checkInvariants(text, chunks, 256, 32);
    assert.deepEqual(
      chunks.map((c) => [c.page, c.text]),
      [
        [1, 'Plinth operations guide (draft)\nBackups run nightly at 02:00.'],
        [2, 'Restores are drilled weekly.\nCafé menus are not covered.'],
      ],
    );
    // chunkText on the extracted text gives the same chunks.
    assert.deepEqual(chunkText(text, 'application/pdf'), chunks);
  });

  it('refuses bytes that are not a PDF', async () => {
    await expectCode(chunkDocument(Buffer.from('%PDF-1.7\nthis is not really a pdf'), 'application/pdf'), 'PLINTH_INVALID_DOCUMENT');
  });
});

describe('detectMediaType', () => {
  it('prefers a specific declared type, ignoring parameters', () => {
    assert.equal(detectMediaType('notes.txt', 'text/markdown; charset=utf-8'), 'text/markdown');
    assert.equal(detectMediaType('page', 'application/xhtml+xml'), 'text/html');
    assert.equal(detectMediaType('x.bin', 'application/pdf'), 'application/pdf');
  });

  it('falls back to the file name for generic or missing types', () => {
    assert.equal(detectMediaType('README.md'), 'text/markdown');
    assert.equal(detectMediaType('report.PDF', 'application/octet-stream'), 'application/pdf');
    assert.equal(detectMediaType('index.htm', ''), 'text/html');
    assert.equal(detectMediaType('notes.txt'), 'text/plain');
  });

  it('reads text/plain on a Markdown file name as Markdown, and refuses what it cannot parse', () => {
    assert.equal(detectMediaType('guide.markdown', 'text/plain'), 'text/markdown');
    assert.equal(detectMediaType('photo.png', 'image/png'), undefined);
    assert.equal(detectMediaType('archive.zip'), undefined);
    assert.equal(detectMediaType('Makefile'), undefined);
  });
});
