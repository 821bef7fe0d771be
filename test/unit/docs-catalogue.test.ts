// The reference docs list every error code and every MCP tool: a code or tool added without its
// row in docs/api.md or docs/mcp.md fails here, and so does a row left behind by a removed one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ERRORS } from '../../src/errors.js';
import { TOOLS } from '../../src/mcp/server.js';

const read = (file: string) => readFileSync(new URL(`../../docs/${file}`, import.meta.url), 'utf8');

/** The first cell of every table row that is a single backquoted name. */
function firstCells(markdown: string): string[] {
  return [...markdown.matchAll(/^\| `([A-Za-z_]+)` \|/gm)].map((m) => m[1]!);
}

describe('reference docs', () => {
  it('docs/api.md lists every error code with its status and title, and no other', () => {
    const doc = read('api.md');
    const listed = firstCells(doc.slice(doc.indexOf('### Error codes'))).filter((c) => c.startsWith('PLINTH_'));
    const codes = Object.keys(ERRORS).map((name) => `PLINTH_${name}`);
    assert.deepEqual([...listed].sort(), [...codes].sort());
    for (const [name, { status, title }] of Object.entries(ERRORS)) {
      assert.ok(doc.includes(`| \`PLINTH_${name}\` | ${status} | ${title} |`), `PLINTH_${name}: status ${status} and title "${title}"`);
    }
  });

  it('docs/mcp.md describes every MCP tool, and no other', () => {
    const doc = read('mcp.md');
    const section = doc.slice(doc.indexOf('## Tools'), doc.indexOf('## Resources'));
    assert.deepEqual(firstCells(section).sort(), TOOLS.map((t) => t.name).sort());
    for (const tool of TOOLS) assert.ok(section.includes(`| \`${tool.name}\` |`) && section.includes(`\`${tool.scope}\``), `${tool.name} with its scope`);
  });
});
