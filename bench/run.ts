// Entry point of `npm run bench -- <name> [flags]`: runs bench/<name>.ts. Each benchmark module
// exports `description` and `main(args)`; an unknown or missing name lists them and exits 2.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_DIR } from './lib/report.js';

interface BenchmarkModule {
  description: string;
  main(args: string[]): Promise<number>;
}

function available(): string[] {
  return readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function list(): Promise<void> {
  process.stderr.write('usage: npm run bench -- <name> [flags]   (flag --help shows a benchmark\'s flags)\n\navailable benchmarks:\n');
  for (const name of available()) {
    const mod = (await import(pathToFileURL(path.join(BENCH_DIR, `${name}.ts`)).href)) as Partial<BenchmarkModule>;
    process.stderr.write(`  ${name.padEnd(12)} ${mod.description ?? ''}\n`);
  }
}

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  if (!name || !available().includes(name)) {
    if (name) process.stderr.write(`unknown benchmark "${name}"\n\n`);
    await list();
    return 2;
  }
  const mod = (await import(pathToFileURL(path.join(BENCH_DIR, `${name}.ts`)).href)) as BenchmarkModule;
  return mod.main(args);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`benchmark failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
