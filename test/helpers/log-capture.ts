// Keeps every log of a test run for the credential scan (scripts/scan-logs.ts). Opt-in: only when
// PLINTH_TEST_LOG_DIR is set, and then, in each test process that loads this module,
//   - every logger created by createLogger also writes its lines at `debug` level to
//     <dir>/<pid>-<n>.log (JSON lines), besides its own destination at its own level;
//   - every `plinth` child process (src/cli/main.ts, dist/cli/main.js, the stdio MCP test server)
//     started with child_process.spawn or spawnSync has its output appended to its own
//     <dir>/<pid>-<n>.log: stdout and stderr of `serve` and `worker` (their logs), stderr only of
//     the other commands (their stdout is command output, e.g. a newly created key, or MCP);
//   - the credentials handed to platforms and child processes (secret configuration variables,
//     passwords in URLs, the contents of BACKUP_KEY_FILE) are listed in
//     <dir>/registered-secrets/<pid>.txt, so the scan also looks for values made up at run time.
// When PLINTH_TEST_LOG_DIR is unset, this module does nothing.
import childProcess, { type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { credentialsFromEnv, REGISTERED_SECRETS_DIR } from '../../scripts/scan-logs.js';
import { setLogTee } from '../../src/telemetry/logger.js';

/** The directory logs are kept in, or undefined when capture is off. */
export const TEST_LOG_DIR = process.env.PLINTH_TEST_LOG_DIR ? path.resolve(process.env.PLINTH_TEST_LOG_DIR) : undefined;

/** Level of the copy kept in TEST_LOG_DIR: the most verbose level Plinth logs at. */
export const TEST_LOG_LEVEL = 'debug';

let files = 0;

/** A new, not yet created, log file of this process: <dir>/<pid>-<n>.log. */
function nextLogFile(dir: string): string {
  files += 1;
  return path.join(dir, `${process.pid}-${files}.log`);
}

/** An append-only file opened on first write; written synchronously so nothing is lost on exit. */
class LazyFile {
  private fd: number | undefined;
  constructor(private readonly file: string) {}
  write(data: string | Uint8Array): boolean {
    this.fd ??= openSync(this.file, 'a', 0o600);
    if (typeof data === 'string') writeSync(this.fd, data);
    else writeSync(this.fd, data);
    return true;
  }
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Credentials handed to platforms and child processes

const registered = new Set<string>();
let secretsFile: LazyFile | undefined;

/**
 * Lists the credentials in an environment given to a platform or child process (secret
 * configuration variables, URL passwords, files named by *_FILE variables) for the scan.
 */
export function registerTestSecrets(env: Record<string, string | undefined> | undefined): void {
  if (!TEST_LOG_DIR || !env) return;
  const found = credentialsFromEnv(env).map((c) => c.value);
  for (const secret of found) {
    if (!secret || secret.includes('\n') || registered.has(secret)) continue;
    registered.add(secret);
    if (!secretsFile) {
      const dir = path.join(TEST_LOG_DIR, REGISTERED_SECRETS_DIR);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      secretsFile = new LazyFile(path.join(dir, `${process.pid}.txt`));
    }
    secretsFile.write(`${secret}\n`);
  }
}

// ---------------------------------------------------------------------------------------------
// `plinth` child processes

const PLINTH_ENTRY = /(?:^|[/\\])(?:src[/\\]cli[/\\]main\.ts|dist[/\\]cli[/\\]main\.js|mcp-stdio-server\.ts)$/;

/** Which output streams of a child to keep: undefined for a process that is not Plinth. */
function plinthOutputs(command: string, args: readonly string[]): { stdout: boolean } | undefined {
  if (command !== process.execPath && path.basename(command) !== 'node') return undefined;
  const at = args.findIndex((a) => PLINTH_ENTRY.test(a));
  if (at < 0) return undefined;
  const sub = args[at + 1];
  return { stdout: args[at]!.endsWith('main.ts') || args[at]!.endsWith('main.js') ? sub === 'serve' || sub === 'worker' : false };
}

/** Copies what a stream reads into `file`, without changing how the stream is consumed. */
function copyReads(stream: Readable | null | undefined, file: LazyFile): void {
  if (!stream) return;
  const push = stream.push.bind(stream);
  stream.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk !== null && chunk !== undefined) file.write(typeof chunk === 'string' ? chunk : (chunk as Uint8Array));
    return push(chunk, encoding);
  };
}

function envOf(options: unknown): Record<string, string | undefined> | undefined {
  return options && typeof options === 'object' && 'env' in options ? (options as { env?: Record<string, string | undefined> }).env : undefined;
}

function argsOf(rest: unknown[]): { args: string[]; options: unknown } {
  return Array.isArray(rest[0]) ? { args: rest[0] as string[], options: rest[1] } : { args: [], options: rest[0] };
}

function installChildCapture(dir: string): void {
  const spawn = childProcess.spawn;
  const spawnSync = childProcess.spawnSync;
  const patchedSpawn = function (this: unknown, command: string, ...rest: unknown[]): ChildProcess {
    const child = (spawn as (...a: unknown[]) => ChildProcess).call(this, command, ...rest);
    const { args, options } = argsOf(rest);
    const outputs = plinthOutputs(command, args);
    if (outputs) {
      registerTestSecrets(envOf(options) ?? process.env);
      const file = new LazyFile(nextLogFile(dir));
      if (outputs.stdout) copyReads(child.stdout, file);
      copyReads(child.stderr, file);
      child.once('close', () => file.close());
    }
    return child;
  };
  const patchedSpawnSync = function (this: unknown, command: string, ...rest: unknown[]): SpawnSyncReturns<string | Buffer> {
    const result = (spawnSync as (...a: unknown[]) => SpawnSyncReturns<string | Buffer>).call(this, command, ...rest);
    const { args, options } = argsOf(rest);
    const outputs = plinthOutputs(command, args);
    if (outputs) {
      registerTestSecrets(envOf(options) ?? process.env);
      const file = new LazyFile(nextLogFile(dir));
      if (outputs.stdout && result.stdout) file.write(result.stdout);
      if (result.stderr) file.write(result.stderr);
      file.close();
    }
    return result;
  };
  childProcess.spawn = patchedSpawn as typeof childProcess.spawn;
  childProcess.spawnSync = patchedSpawnSync as typeof childProcess.spawnSync;
  // Named imports of node:child_process in other modules see the wrappers too.
  syncBuiltinESMExports();
}

// ---------------------------------------------------------------------------------------------

if (TEST_LOG_DIR) {
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  setLogTee({ level: TEST_LOG_LEVEL, stream: new LazyFile(nextLogFile(TEST_LOG_DIR)) });
  installChildCapture(TEST_LOG_DIR);
  registerTestSecrets(process.env);
}
