// Child processes and servers the end-to-end benchmarks run: a Plinth process started from the
// sources, waiting for it, stopping it, its CPU time and resident memory, a free loopback port,
// and a fake OpenAI-compatible upstream that answers after a fixed delay.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BENCH_DIR } from './report.js';

export const REPO = path.resolve(BENCH_DIR, '..');

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

export interface Child {
  proc: ChildProcess;
  /** The last 20 kB of its stdout and stderr. */
  log: () => string;
}

/** `node [nodeFlags] --import tsx <args>` in the repository, with exactly `env`. */
export function child(args: string[], env: Record<string, string>, nodeFlags: string[] = []): Child {
  const proc = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', ...args], { cwd: REPO, env: { ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout?.on('data', (c: Buffer) => (log = (log + c.toString('utf8')).slice(-20_000)));
  proc.stderr?.on('data', (c: Buffer) => (log = (log + c.toString('utf8')).slice(-20_000)));
  return { proc, log: () => log };
}

/** Polls `url` until it answers 2xx; fails when the process exits or the time is up. */
export async function waitFor(url: string, c: Child, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (c.proc.exitCode !== null) throw new Error(`${url}: process exited with ${c.proc.exitCode}\n${c.log()}`);
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    if (Date.now() > deadline) throw new Error(`${url} not ready in time\n${c.log()}`);
    await sleep(200);
  }
}

/** SIGTERM, then SIGKILL after 15 s. */
export async function stop(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000).then(() => proc.kill('SIGKILL'))]);
}

/** CPU time (user + system) a process has used so far, in ms; undefined off Linux. */
export function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, after the ")" of the name.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** Resident memory of a process in MiB; undefined off Linux. */
export function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A fake OpenAI-compatible upstream serving `model`: chat completions (JSON or SSE) after
 * `latencyMs`, and /v1/models. Returns the port and a close function.
 */
export async function fakeUpstream(port: number, latencyMs: number, model: string): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: model, object: 'model', created: 0, owned_by: 'bench' }] }));
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const stream = (JSON.parse(body || '{}') as { stream?: boolean }).stream === true;
      setTimeout(() => {
        const base = { id: 'chatcmpl-bench', created: 1, model };
        const usage = { prompt_tokens: 8, completion_tokens: 4, total_tokens: 12 };
        if (!stream) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'a fixed answer' }, finish_reason: 'stop', logprobs: null }], usage }));
          return;
        }
        const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(chunk({ role: 'assistant', content: 'a fixed answer' }, null) + chunk({}, 'stop') + `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage })}\n\ndata: [DONE]\n\n`);
      }, latencyMs);
    });
  });
  server.keepAliveTimeout = 60_000;
  const bound = await new Promise<number>((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  return { port: bound, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
