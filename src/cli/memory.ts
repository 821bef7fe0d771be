// CLI door for agent memory: ingest files, search, export, erase, re-embed. Thin: parse, call, print.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { glob } from 'tinyglobby';
import { PlinthError } from '../errors.js';
import { detectMediaType } from '../memory/chunking/index.js';
import { subjectInput } from '../memory/rights.js';
import type { Platform } from '../platform.js';

type WithPlatform = <T>(fn: (platform: Platform) => Promise<T>) => Promise<T>;
type Print = (json: boolean, value: unknown, human: () => string) => void;

const CLI_ACTOR = { actor: 'cli' };

/** Files named directly, every supported file under a directory, and glob matches, deduplicated and sorted. */
export async function expandInputs(inputs: string[]): Promise<string[]> {
  const files = new Set<string>();
  for (const input of inputs) {
    const st = await stat(input).catch(() => undefined);
    if (st?.isFile()) files.add(path.resolve(input));
    else if (st?.isDirectory()) {
      for (const f of await glob('**/*', { cwd: input, absolute: true, onlyFiles: true, dot: false })) if (detectMediaType(f)) files.add(f);
    } else {
      const matches = await glob(input, { absolute: true, onlyFiles: true });
      if (matches.length === 0) throw new PlinthError('NOT_FOUND', `Nothing matches "${input}".`);
      for (const f of matches) files.add(f);
    }
  }
  return [...files].sort();
}

export function registerMemoryCommands(program: Command, withPlatform: WithPlatform, print: Print): void {
  program
    .command('ingest <inputs...>')
    .description('ingest documents (files, directories, globs): text, Markdown, HTML, PDF')
    .option('--tenant <name>', 'tenant name or id', 'default')
    .option('--agent-id <id>')
    .option('--user-id <id>')
    .option('--session-id <id>')
    .option('--tag <tag...>', 'tags for every document')
    .option('--json', 'print JSON')
    .action((inputs: string[], opts: { tenant: string; agentId?: string; userId?: string; sessionId?: string; tag?: string[]; json?: boolean }) =>
      withPlatform(async (p) => {
        const tenant = await p.auth.getTenant(opts.tenant);
        const files = await expandInputs(inputs);
        const bar = process.stderr.isTTY && !opts.json ? new SingleBar({ format: ' {bar} {value}/{total} {file}', stream: process.stderr }, Presets.shades_classic) : undefined;
        bar?.start(files.length, 0, { file: '' });
        const summary = { created: 0, replaced: 0, unchanged: 0, failed: 0, chunks: 0 };
        const failures: Array<{ file: string; code: string; message: string }> = [];
        for (const file of files) {
          bar?.increment(0, { file: path.basename(file) });
          try {
            const mediaType = detectMediaType(file);
            const buf = await readFile(file);
            const r = await p.documents.ingest(
              tenant.id,
              {
                name: path.basename(file),
                key: file,
                ...(mediaType === 'application/pdf' ? { content_base64: buf.toString('base64') } : { content: buf.toString('utf8') }),
                ...(mediaType ? { media_type: mediaType } : {}),
                source: file,
                ...(opts.agentId ? { agent_id: opts.agentId } : {}),
                ...(opts.userId ? { user_id: opts.userId } : {}),
                ...(opts.sessionId ? { session_id: opts.sessionId } : {}),
                ...(opts.tag ? { tags: opts.tag } : {}),
              },
              CLI_ACTOR,
            );
            summary[r.status]++;
            summary.chunks += r.document.chunk_count;
          } catch (err) {
            summary.failed++;
            const e = err instanceof PlinthError ? err : new PlinthError('INTERNAL', (err as Error).message);
            failures.push({ file, code: e.code, message: e.message });
          }
          bar?.increment(1);
        }
        bar?.stop();
        print(Boolean(opts.json), { files: files.length, ...summary, failures }, () =>
          [
            `${files.length} files: ${summary.created} created, ${summary.replaced} replaced, ${summary.unchanged} unchanged, ${summary.failed} failed; ${summary.chunks} chunks`,
            ...failures.map((f) => `  failed ${f.file}: ${f.message} (${f.code})`),
          ].join('\n'),
        );
        if (summary.failed > 0) process.exitCode = 1;
      }),
    );

  program
    .command('search <query>')
    .description('search memories and documents together')
    .option('--tenant <name>', 'tenant name or id', 'default')
    .option('-k, --k <n>', 'number of results', '10')
    .option('--user-id <id>')
    .option('--agent-id <id>')
    .option('--mode <mode>', 'hybrid | vector | fulltext', 'hybrid')
    .option('--json', 'print JSON')
    .action((query: string, opts: { tenant: string; k: string; userId?: string; agentId?: string; mode: string; json?: boolean }) =>
      withPlatform(async (p) => {
        const tenant = await p.auth.getTenant(opts.tenant);
        const results = await p.documents.search(tenant.id, {
          query,
          k: Number(opts.k),
          mode: opts.mode as 'hybrid',
          ...(opts.userId ? { user_id: opts.userId } : {}),
          ...(opts.agentId ? { agent_id: opts.agentId } : {}),
        });
        print(Boolean(opts.json), { results }, () =>
          results.length === 0
            ? '(no results)'
            : results
                .map((r, i) => {
                  const where = r.type === 'chunk' ? `${r.document.name}${r.chunk.heading_path.length ? ` > ${r.chunk.heading_path.join(' > ')}` : ''}` : `memory ${r.id}`;
                  return `${i + 1}. [${r.score.toFixed(4)}] ${where}\n   ${r.text.replace(/\s+/g, ' ').slice(0, 200)}`;
                })
                .join('\n'),
        );
      }),
    );

  const memory = program.command('memory').description('agent memory operations');
  // `plinth export|erase` and their older names `plinth memory export|erase`: one command each.
  for (const parent of [program, memory]) {
    for (const action of ['export', 'erase'] as const) {
      parent
        .command(action)
        .description(
          action === 'export'
            ? 'print everything held about a subject (memories, documents, LLM usage, audit entries) as JSON Lines'
            : 'erase everything held about a subject (memories and their history, documents, LLM usage, cached completions), audited',
        )
        .option('--tenant <name>', 'tenant name or id', 'default')
        .option('--user-id <id>')
        .option('--agent-id <id>')
        .option('--session-id <id>')
        .option('--all', 'the whole tenant')
        .option('--json', 'print JSON (erase)')
        .action((opts: { tenant: string; userId?: string; agentId?: string; sessionId?: string; all?: boolean; json?: boolean }) =>
          withPlatform(async (p) => {
            const tenant = await p.auth.getTenant(opts.tenant);
            const parsed = subjectInput.safeParse({
              ...(opts.userId ? { user_id: opts.userId } : {}),
              ...(opts.agentId ? { agent_id: opts.agentId } : {}),
              ...(opts.sessionId ? { session_id: opts.sessionId } : {}),
              ...(opts.all ? { all: true } : {}),
            });
            if (!parsed.success) throw new PlinthError('VALIDATION_FAILED', parsed.error.issues[0]?.message ?? 'invalid scope');
            if (action === 'export') {
              for (const line of await p.rights.export(tenant.id, parsed.data, CLI_ACTOR)) process.stdout.write(`${line}\n`);
            } else {
              const r = await p.rights.erase(tenant.id, parsed.data, CLI_ACTOR);
              print(
                Boolean(opts.json),
                r,
                () =>
                  `erased ${r.memories} memories (${r.memory_versions} versions), ${r.documents} documents (${r.chunks} chunks), ` +
                  `${r.usage_records} usage records, ${r.inference_log_rows} inference-log rows` +
                  (r.workflows !== undefined ? `, ${r.workflows} workflows (${r.workflow_engine_rows} engine rows)` : '') +
                  (r.cache_invalidated ? '; cached completions dropped' : ''),
              );
            }
          }),
        );
    }
  }

  memory
    .command('reembed')
    .description('re-embed every memory and chunk with the configured embedder (after switching embedders)')
    .option('--batch-size <n>', 'rows per transaction', '256')
    .option('--json', 'print JSON')
    .action((opts: { batchSize: string; json?: boolean }) =>
      withPlatform(async (p) => {
        const r = await p.memory.reembed({ batchSize: Number(opts.batchSize) });
        print(Boolean(opts.json), r, () => `re-embedded ${r.memories} memories and ${r.chunks} chunks into ${p.embedder.provider}:${p.embedder.model} (${p.embedder.dimensions} dimensions)`);
      }),
    );
}
