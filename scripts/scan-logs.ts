// Scans the logs kept by a test run (PLINTH_TEST_LOG_DIR, see test/helpers/log-capture.ts) for
// credentials and fails if it finds one, printing file:line and the kind of credential, never
// the credential itself. It also fails when the directory holds too few log lines, so a capture
// that stopped working cannot pass unnoticed.
//
//   node --import tsx scripts/scan-logs.ts <dir> [--min-lines N]
//
// What counts as a credential:
//   - shapes: Plinth API keys (plk_<prefix>_<secret>), bearer token values, JWTs, `sk-` upstream
//     API keys, passwords inside URLs (scheme://user:password@host), the generated Redis
//     passwords of the Sentinel tests (pw-<pid>-<ms>);
//   - values from the environment of the scan: passwords of URLs in any variable
//     (PLINTH_TEST_PG_URL, PLINTH_TEST_PG_ADMIN_URL, PLINTH_TEST_REDIS_URL, ...), secret Plinth
//     settings and the files their *_FILE variables name (METRICS_TOKEN, OTEL_EXPORTER_OTLP_HEADERS,
//     BACKUP_S3_SECRET_ACCESS_KEY, REDIS_PASSWORD, ...), the keys in BACKUP_KEY_FILE,
//     AWS_SECRET_ACCESS_KEY, and the comma-separated PLINTH_TEST_SECRETS;
//   - the fixed test credentials of test/fixtures/known-secrets.txt;
//   - the credentials the test processes handed to Plinth at run time, listed by them under
//     <dir>/registered-secrets/.
// Values of 8 characters or more are matched anywhere; shorter ones only where they stand as a
// password, token or key (`:value@`, `password=value`, `"token":"value"`, `Bearer value`).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ENV_VARS } from '../src/config/schema.js';

export const DEFAULT_MIN_LINES = 100;
export const KNOWN_SECRETS_FILE = fileURLToPath(new URL('../test/fixtures/known-secrets.txt', import.meta.url));
export const REGISTERED_SECRETS_DIR = 'registered-secrets';
/** Shorter values are matched only in a credential context. */
export const MIN_BARE_LENGTH = 8;
const MIN_CONTEXT_LENGTH = 3;

export interface Credential {
  /** Says where the value comes from; printed instead of the value. */
  kind: string;
  value: string;
}

export interface Finding {
  file: string;
  line: number;
  kind: string;
}

export interface ScanResult {
  files: number;
  lines: number;
  bytes: number;
  credentials: number;
  findings: Finding[];
}

// ---------------------------------------------------------------------------------------------
// Credentials in an environment

const SECRET_VARS = new Set([...ENV_VARS.filter((v) => v.secret).map((v) => v.name), 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);
/** Not secret although configured like one. */
const NOT_SECRET = new Set(['BACKUP_S3_ACCESS_KEY_ID']);
const URL_START = /^[a-z][a-z0-9+.-]*:\/\//i;

function urlPassword(value: string): string | undefined {
  if (!URL_START.test(value)) return undefined;
  try {
    const pw = new URL(value).password;
    return pw ? decodeURIComponent(pw) : undefined;
  } catch {
    return undefined;
  }
}

/** The credentials in the value of a setting: a URL's password, header values, or the value. */
function credentialsOfSetting(name: string, value: string): string[] {
  const v = value.trim();
  if (!v || NOT_SECRET.has(name)) return [];
  if (URL_START.test(v)) {
    const pw = urlPassword(v);
    return pw ? [pw] : [];
  }
  if (name === 'OTEL_EXPORTER_OTLP_HEADERS') {
    return v.split(',').flatMap((pair) => {
      const h = pair.slice(pair.indexOf('=') + 1).trim();
      return [h, h.replace(/^Bearer\s+/i, '')];
    });
  }
  if (name === 'BACKUP_KEY_FILE') return v.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  return [v];
}

/**
 * The credentials in an environment: passwords of URLs in any variable, secret Plinth settings,
 * the contents of the files named by their *_FILE variables and by BACKUP_KEY_FILE.
 */
export function credentialsFromEnv(env: Record<string, string | undefined>): Credential[] {
  const out: Credential[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    const base = name.endsWith('_FILE') ? name.slice(0, -'_FILE'.length) : name;
    if (name === 'BACKUP_KEY_FILE' || (name.endsWith('_FILE') && SECRET_VARS.has(base))) {
      let text: string;
      try {
        text = readFileSync(value, 'utf8');
      } catch {
        continue;
      }
      const setting = name === 'BACKUP_KEY_FILE' ? name : base;
      for (const c of credentialsOfSetting(setting, text)) out.push({ kind: `contents of the file in ${name}`, value: c });
    } else if (SECRET_VARS.has(name)) {
      for (const c of credentialsOfSetting(name, value)) out.push({ kind: `value of ${name}`, value: c });
    } else {
      const pw = urlPassword(value);
      if (pw) out.push({ kind: `password in ${name}`, value: pw });
    }
  }
  return out;
}

/** Values listed one per line (blank lines and # comments ignored), each named by its line. */
export function credentialsFromList(file: string, kind: string): Credential[] {
  const out: Credential[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const value = raw.trim();
      if (value && !value.startsWith('#')) out.push({ kind: `${kind} (${file}:${i + 1})`, value });
    });
  return out;
}

/** Every credential the scan of `dir` looks for, given the environment of the scan. */
export function collectCredentials(dir: string, env: Record<string, string | undefined>, knownFile = KNOWN_SECRETS_FILE): Credential[] {
  const out = [...credentialsFromEnv(env)];
  (env.PLINTH_TEST_SECRETS ?? '')
    .split(',')
    .map((s) => s.trim())
    .forEach((value, i) => value && out.push({ kind: `item ${i + 1} of PLINTH_TEST_SECRETS`, value }));
  out.push(...credentialsFromList(knownFile, 'known test credential'));
  const registered = path.join(dir, REGISTERED_SECRETS_DIR);
  let lists: string[] = [];
  try {
    lists = readdirSync(registered).filter((f) => f.endsWith('.txt'));
  } catch {
    // No test process registered any credential.
  }
  for (const f of lists.sort()) {
    for (const c of credentialsFromList(path.join(registered, f), `credential used by test process ${path.basename(f, '.txt')}`)) {
      out.push({ kind: c.kind.replace(/ \(.*\)$/, ''), value: c.value });
    }
  }
  const seen = new Set<string>();
  return out.filter((c) => c.value.length >= MIN_CONTEXT_LENGTH && !seen.has(c.value) && seen.add(c.value));
}

// ---------------------------------------------------------------------------------------------
// Matching

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const PLACEHOLDER = /^(?:\*+|\[?redacted\]?|x+|\.\.\.|…)$/i;

interface Shape {
  kind: string;
  pattern: RegExp;
  /** Whether a match is a credential (placeholders and scheme names are not). */
  accept?: (m: RegExpExecArray, line: string) => boolean;
}

const SHAPES: Shape[] = [
  { kind: 'Plinth API key', pattern: /plk_[a-z0-9]{12}_[A-Za-z0-9_-]{20,}/g },
  {
    kind: 'bearer token',
    pattern: /\bBearer\s+([A-Za-z0-9._~+/-]+=*)/gi,
    accept: (m, line) => {
      const v = m[1]!;
      const rest = line.slice(m.index + m[0].length);
      if (v.endsWith('=') && (rest.startsWith('"') || rest.startsWith('\\"'))) return false; // realm="…", an auth-param
      if (v.length < MIN_BARE_LENGTH || PLACEHOLDER.test(v) || /^plk_\*+$/.test(v)) return false;
      return !/^[a-z]+$/.test(v); // a plain word ("Bearer authentication"), not a token
    },
  },
  { kind: 'JWT', pattern: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*/g },
  { kind: 'upstream API key (sk-…)', pattern: /\bsk-[A-Za-z0-9][A-Za-z0-9_-]{7,}/g },
  {
    kind: 'password in a URL',
    pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s/@:"'<>]*:([^\s/@"'<>]+)@/gi,
    accept: (m) => !PLACEHOLDER.test(m[1]!) && !/^%2A+$/i.test(m[1]!),
  },
  { kind: 'generated Redis password (pw-<pid>-<ms>)', pattern: /\bpw-\d+-\d{12,}\b/g },
];

/** Finds credentials in single lines. */
export class Matcher {
  private readonly bare: RegExp | undefined;
  private readonly kindOf = new Map<string, string>();
  private readonly contextual: Array<{ kind: string; pattern: RegExp }> = [];
  readonly count: number;

  constructor(credentials: Credential[]) {
    const bare: string[] = [];
    for (const c of credentials) {
      const forms = new Set([c.value, JSON.stringify(c.value).slice(1, -1)]);
      for (const form of forms) {
        if (c.value.length >= MIN_BARE_LENGTH) {
          if (!this.kindOf.has(form)) {
            this.kindOf.set(form, c.kind);
            bare.push(form);
          }
        } else {
          const v = escape(form);
          const key = '(?<![A-Za-z])(?:pass(?:word)?|passwd|pwd|secret|token|api[_-]?key|key|credentials?)[\\w.-]*["\']?\\s*[:=]\\s*["\']?';
          this.contextual.push({ kind: c.kind, pattern: new RegExp(`:${v}@|${key}${v}(?![\\w-])|\\bBearer\\s+${v}(?![\\w-])`, 'i') });
        }
      }
    }
    // Longest first, so a value that contains another is reported as itself.
    bare.sort((a, b) => b.length - a.length);
    this.bare = bare.length ? new RegExp(bare.map(escape).join('|'), 'g') : undefined;
    this.count = credentials.length;
  }

  /** The kinds of credential in `line` (each kind once). */
  kinds(line: string): string[] {
    const found = new Set<string>();
    for (const shape of SHAPES) {
      shape.pattern.lastIndex = 0;
      for (let m = shape.pattern.exec(line); m; m = shape.pattern.exec(line)) {
        if (!shape.accept || shape.accept(m, line)) {
          found.add(shape.kind);
          break;
        }
      }
    }
    if (this.bare) {
      this.bare.lastIndex = 0;
      for (let m = this.bare.exec(line); m; m = this.bare.exec(line)) found.add(this.kindOf.get(m[0])!);
    }
    for (const c of this.contextual) if (c.pattern.test(line)) found.add(c.kind);
    return [...found];
  }
}

// ---------------------------------------------------------------------------------------------
// Scanning

/** Scans every *.log file directly in `dir`. Throws when `dir` does not exist. */
export function scanDir(dir: string, matcher: Matcher): ScanResult {
  const result: ScanResult = { files: 0, lines: 0, bytes: 0, credentials: matcher.count, findings: [] };
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.log') && statSync(path.join(dir, f)).isFile())
    .sort();
  for (const f of files) {
    const file = path.join(dir, f);
    const text = readFileSync(file, 'utf8');
    result.files += 1;
    result.bytes += Buffer.byteLength(text);
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    lines.forEach((line, i) => {
      result.lines += 1;
      for (const kind of matcher.kinds(line)) result.findings.push({ file, line: i + 1, kind });
    });
  }
  return result;
}

export interface RunOptions {
  dir: string;
  minLines: number;
  env: Record<string, string | undefined>;
  knownFile?: string;
  print: (line: string) => void;
}

/** Runs the scan and prints its outcome; returns the exit code (0 clean, 1 otherwise). */
export function run(options: RunOptions): number {
  const { dir, minLines, print } = options;
  let result: ScanResult;
  try {
    result = scanDir(dir, new Matcher(collectCredentials(dir, options.env, options.knownFile)));
  } catch (err) {
    print(`scan-logs: cannot scan ${dir}: ${(err as Error).message}`);
    return 1;
  }
  const shown = 200;
  for (const f of result.findings.slice(0, shown)) print(`${f.file}:${f.line}: ${f.kind}`);
  if (result.findings.length > shown) print(`… and ${result.findings.length - shown} more`);
  print(`scan-logs: scanned ${result.files} files, ${result.lines} lines, ${result.bytes} bytes for ${result.credentials} known credential values and ${SHAPES.length} credential shapes`);
  let code = 0;
  if (result.findings.length) {
    print(`scan-logs: FAILED: ${result.findings.length} credential occurrences in the logs`);
    code = 1;
  }
  if (result.files === 0 || result.lines < minLines) {
    print(`scan-logs: FAILED: ${result.lines} log lines in ${result.files} files, fewer than the ${minLines} expected: is log capture (PLINTH_TEST_LOG_DIR) working?`);
    code = 1;
  }
  if (code === 0) print('scan-logs: no credentials found');
  return code;
}

function main(argv: string[]): number {
  let minLines = DEFAULT_MIN_LINES;
  let dir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--min-lines') minLines = Number(argv[++i]);
    else if (a.startsWith('--min-lines=')) minLines = Number(a.slice('--min-lines='.length));
    else if (!dir) dir = a;
    else minLines = NaN;
  }
  if (!dir || !Number.isInteger(minLines) || minLines < 0) {
    process.stderr.write('usage: node --import tsx scripts/scan-logs.ts <dir> [--min-lines N]\n');
    return 2;
  }
  return run({ dir, minLines, env: process.env, print: (l) => process.stdout.write(`${l}\n`) });
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) process.exitCode = main(process.argv.slice(2));
