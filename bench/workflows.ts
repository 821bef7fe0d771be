// Workflow benchmark: the cost of a checkpointed DBOS step on the real PostgreSQL. A workflow of
// N no-op steps, run R times, against two baselines measured in the same run: the same N function
// calls without DBOS, and N single-row INSERT + COMMIT round trips (a hand-written checkpoint).
//
//   npm run bench -- workflows              # 100 steps x 20 workflows
//   npm run bench -- workflows --quick      # 50 steps x 5 workflows
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DBOS } from '@dbos-inc/dbos-sdk';
import pg from 'pg';
import { freshDatabase, realPostgres } from './lib/databases.js';
import { fmt, machine, table, writeResults } from './lib/report.js';
import { percentile } from './lib/stats.js';

export const description = 'durable workflows: ms per checkpointed DBOS step on PostgreSQL vs plain calls and raw INSERT+COMMIT';

async function noop(i: number): Promise<number> {
  return Promise.resolve(i + 1);
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { quick: { type: 'boolean' }, steps: { type: 'string' }, runs: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write('flags: --quick, --steps N (default 100), --runs R (default 20)\n');
    return 0;
  }
  const steps = Number(values.steps ?? (values.quick ? 50 : 100));
  const runs = Number(values.runs ?? (values.quick ? 5 : 20));
  const startedAt = new Date();
  const log = (l: string) => process.stderr.write(`${l}\n`);
  const real = await realPostgres(log);
  const db = await freshDatabase('postgres', real);
  const url = db.env.DATABASE_URL!;
  try {
    const wf = DBOS.registerWorkflow(
      async (n: number) => {
        let acc = 0;
        for (let i = 0; i < n; i++) acc = await DBOS.runStep(() => noop(acc), { name: `s${i}` });
        return acc;
      },
      { name: 'bench.noop_steps' },
    );
    DBOS.setConfig({ name: `bench_${randomBytes(3).toString('hex')}`, systemDatabaseUrl: url, systemDatabaseSchemaName: 'dbos', logLevel: 'warn' });
    await DBOS.launch();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    await pool.query('CREATE TABLE bench_checkpoint (wf text, step int, output text, PRIMARY KEY (wf, step))');

    const perStep = { dbos: [] as number[], plain: [] as number[], insert: [] as number[] };
    // Warm-up: connections, plans, JIT.
    await (await DBOS.startWorkflow(wf, { workflowID: `warm-${randomBytes(4).toString('hex')}` })(10)).getResult();
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      const h = await DBOS.startWorkflow(wf, { workflowID: `bench-${r}-${randomBytes(4).toString('hex')}` })(steps);
      await h.getResult();
      perStep.dbos.push((performance.now() - t) / steps);

      t = performance.now();
      let acc = 0;
      for (let i = 0; i < steps; i++) acc = await noop(acc);
      perStep.plain.push((performance.now() - t) / steps);

      t = performance.now();
      const client = await pool.connect();
      try {
        for (let i = 0; i < steps; i++) {
          await client.query('BEGIN');
          await client.query('INSERT INTO bench_checkpoint VALUES ($1, $2, $3)', [`r${r}`, i, String(i)]);
          await client.query('COMMIT');
        }
      } finally {
        client.release();
      }
      perStep.insert.push((performance.now() - t) / steps);
    }
    await pool.end();
    await DBOS.shutdown({ deregister: true });

    const server = await (async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
      } finally {
        await c.end();
      }
    })();
    const row = (name: string, xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return [name, percentile(sorted, 50), percentile(sorted, 90), sorted.reduce((a, b) => a + b, 0) / sorted.length];
    };
    const rows = [row('DBOS checkpointed step', perStep.dbos), row('baseline: plain async call', perStep.plain), row('baseline: INSERT + COMMIT', perStep.insert)];
    const m = machine();
    process.stdout.write(
      `\nWorkflow steps on PostgreSQL ${server} — ${steps} no-op steps per workflow, ${runs} workflows, sequential\n` +
        `machine: ${m.cpu}, ${m.cores} cores, node ${m.node}\n\n` +
        `${table(['ms per step', 'p50', 'p90', 'mean'], rows)}\n\n` +
        `DBOS step / INSERT+COMMIT: ${fmt((rows[0]![1] as number) / (rows[2]![1] as number), 2)}x (p50)\n`,
    );
    const file = writeResults('workflows', startedAt, { machine: m, server, steps, runs, ms_per_step: perStep });
    process.stdout.write(`results: ${file}\n`);
    return 0;
  } finally {
    if (DBOS.isInitialized()) await DBOS.shutdown({ deregister: true });
    await db.cleanup();
    real.stop?.();
  }
}
