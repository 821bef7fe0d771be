// Malformed and adversarial JSON-RPC against /mcp over a real loopback socket: bad JSON, wrong
// types, huge ids, unknown methods, batches, missing `jsonrpc`, oversized bodies, tools called
// with wrong argument types, deep nesting and odd unicode. Cases come from a seeded generator, so
// a failure reproduces with the same seed. No answer may be a 5xx, the process must stay up and
// no promise may be left rejected; the captured logs must not hold the key used.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { TOOLS } from '../../src/mcp/server.js';
import { startOllamaDouble, type LlmDouble } from '../helpers/llm-doubles.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

const SEED = Number(process.env.PLINTH_FUZZ_SEED ?? 20261127);
const CASES = Number(process.env.PLINTH_MCP_FUZZ_CASES ?? 3000);

/** mulberry32: small, fast, deterministic. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}

type R = ReturnType<typeof rng>;

const STRINGS = [
  '',
  ' ',
  'a',
  'x'.repeat(5000),
  '\u0000',
  '\uD800',
  '\uDFFF\uD800',
  '\u202E\u2066evil',
  '🦙🧠💾',
  'e\u0301\u0301\u0301',
  '\uFEFF',
  'Ω≈ç√∫',
  '<script>alert(1)</script>',
  "'; DROP TABLE memories; --",
  '../../../../etc/passwd',
  '%00%ff',
  '${jndi:ldap://127.0.0.1/x}',
  '{{7*7}}',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '__proto__',
  'constructor',
  'NaN',
  '-1',
  '1e309',
];
const NUMBERS = [0, -1, 1, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, -1e308, 0.5, Number.MAX_SAFE_INTEGER + 2, 1e-320];
const METHODS = [
  'initialize',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'prompts/list',
  'prompts/get',
  'ping',
  'notifications/initialized',
  'notifications/cancelled',
  'completion/complete',
  'logging/setLevel',
  'server/discover',
  'sampling/createMessage',
  'rpc.discover',
  '',
  '__proto__',
  'tools/call/../list',
  'x'.repeat(300),
];

function value(r: R, depth = 0): unknown {
  const k = r.int(depth > 3 ? 5 : 8);
  switch (k) {
    case 0:
      return r.pick(STRINGS);
    case 1:
      return r.pick(NUMBERS);
    case 2:
      return r.pick([true, false, null]);
    case 3:
      return r.int(1000) - 500;
    case 4:
      return r.pick(STRINGS) + String(r.int(100));
    case 5:
      return Array.from({ length: r.int(4) }, () => value(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < r.int(4); i++) o[r.pick(['id', 'text', 'query', 'name', 'k', 'filters', '__proto__', 'constructor', r.pick(STRINGS)])] = value(r, depth + 1);
      return o;
    }
  }
}

/** JSON text nested `depth` levels deep (built as text: the client's own JSON.stringify would overflow). */
function nestedJson(depth: number, leaf: unknown): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    open += i % 2 ? '[' : '{"a":';
    close = (i % 2 ? ']' : '}') + close;
  }
  return open + JSON.stringify(leaf) + close;
}

/** Marks a place where raw JSON text goes into a message. */
const RAW = '\u0000raw\u0000';

/** Tool arguments that are nearly right: each real property with a value of a random wrong type. */
function toolArgs(r: R, schema: { properties?: Record<string, unknown> } | undefined): unknown {
  const roll = r.int(6);
  if (roll === 0) return value(r);
  if (roll === 1) return RAW;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(schema?.properties ?? {})) if (r.next() < 0.7) out[key] = value(r);
  if (r.next() < 0.3) out[r.pick(STRINGS)] = value(r);
  return out;
}

/** Whether a JSON-RPC error message is a list of schema issues (zod), i.e. a validation failure. */
function isSchemaIssueList(message: string): boolean {
  try {
    const issues = JSON.parse(message) as unknown;
    return Array.isArray(issues) && issues.length > 0 && issues.every((x) => typeof x === 'object' && x !== null && 'code' in x && 'path' in x);
  } catch {
    return false;
  }
}

interface Case {
  body: string;
  contentType?: string;
  accept?: string;
  method?: string;
}

function generate(r: R, tools: Map<string, { properties?: Record<string, unknown> }>): Case {
  const id = r.pick<unknown>([1, 0, -1, 2 ** 64, 1e308, 'x'.repeat(10_000), null, {}, [], true, '🦙', r.int(1e9)]);
  const kind = r.int(12);
  const msg = (m: Record<string, unknown>) => JSON.stringify(m);
  switch (kind) {
    case 0: {
      // Bad JSON: truncations, garbage, invalid escapes, lone surrogates in raw bytes.
      const good = msg({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
      return { body: r.pick([good.slice(0, r.int(good.length)), '{', '[', '}{', 'null', '"str"', '1', '{"jsonrpc":"2.0",}', '{"a":"\\u12"}', '\u0000\u0001', 'x'.repeat(r.int(2000)), good + good]) };
    }
    case 1:
      return { body: msg({ jsonrpc: r.pick(['1.0', '2', 2, null, undefined, '2.0 ', '']), id, method: r.pick(METHODS), params: value(r) }) };
    case 2:
      return { body: msg({ id, method: r.pick(METHODS) }) };
    case 3:
      return { body: msg({ jsonrpc: '2.0', id, method: r.pick(METHODS), params: value(r) }) };
    case 4: {
      const batch = Array.from({ length: r.pick([0, 1, 2, 50, 500]) }, () => ({ jsonrpc: '2.0', id: r.int(1000), method: r.pick(METHODS), params: value(r) }));
      return { body: JSON.stringify(batch) };
    }
    case 5:
      return { body: msg({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: r.pick([...tools.keys(), 'no_such_tool', '', '../memory_add']), arguments: toolArgs(r, undefined) } }) };
    case 6: {
      const name = r.pick([...tools.keys()]);
      const body = msg({ jsonrpc: '2.0', id: r.int(1e6), method: 'tools/call', params: { name, arguments: toolArgs(r, tools.get(name)) } });
      return { body: body.replace(JSON.stringify(RAW), nestedJson(200 + r.int(3000), 'deep')) };
    }
    case 7:
      return { body: nestedJson(r.pick([100, 1000, 5000, 20_000]), { jsonrpc: '2.0', id: 1, method: 'ping' }) };
    case 8:
      // Oversized: a little past the 1 MiB default body limit.
      return { body: msg({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'memory_add', arguments: { text: 'x'.repeat(1024 * 1024 + r.int(1000)) } } }) };
    case 9:
      return { body: msg({ jsonrpc: '2.0', id, method: r.pick(['resources/read', 'prompts/get']), params: { uri: r.pick(['plinth://memories/' + r.pick(STRINGS), 'file:///etc/passwd', r.pick(STRINGS)]), name: r.pick(STRINGS), arguments: value(r) } }) };
    case 10:
      return {
        body: msg({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        contentType: r.pick(['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', '']),
        accept: r.pick(['', 'text/html', 'application/json', 'text/event-stream', '*/*']),
      };
    default:
      return { body: msg({ jsonrpc: '2.0', id, method: r.pick(METHODS), params: RAW }).replace(JSON.stringify(RAW), nestedJson(r.int(50), value(r))), method: r.pick(['POST', 'POST', 'GET', 'DELETE', 'PUT', 'PATCH']) };
  }
}

describe('MCP endpoint under malformed and adversarial JSON-RPC', { timeout: 300_000 }, () => {
  let ollama: LlmDouble;
  let t: TestPlatform;
  let server: RunningServer;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);

  before(async () => {
    process.on('unhandledRejection', onRejection);
    ollama = await startOllamaDouble({ models: ['llama3.2'] });
    t = await startTestPlatform({ PLINTH_PORT: '0', PLINTH_HOST: '127.0.0.1', OLLAMA_URL: ollama.url, EMBEDDINGS_PROVIDER: 'hashing' });
    server = await startServer(t.platform, { handleSignals: false, closePlatform: false });
  });

  after(async () => {
    process.off('unhandledRejection', onRejection);
    await server?.close();
    await t?.close();
    await ollama?.close();
  });

  test(`${CASES} generated requests (seed ${SEED}): no 5xx, no crash, no unhandled rejection`, async () => {
    const url = `${server.url}/mcp`;
    const auth = { authorization: `Bearer ${t.adminKey}` };
    const listed = await fetch(url, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    const text = await listed.text();
    const data = text.split('\n').find((l) => l.startsWith('data: '));
    const tools = new Map(
      (JSON.parse(data ? data.slice(6) : text) as { result: { tools: Array<{ name: string; inputSchema: { properties?: Record<string, unknown> } }> } }).result.tools.map((x) => [
        x.name,
        x.inputSchema,
      ]),
    );
    assert.equal(tools.size, TOOLS.length, 'every tool is listed to the admin key');

    const r = rng(SEED);
    const statuses = new Map<number, number>();
    const serverErrors: string[] = [];
    let internalValidation = 0;
    const CONCURRENCY = 4;
    let next = 0;
    const worker = async () => {
      while (next < CASES) {
        const i = next++;
        const c = generate(r, tools);
        const method = c.method ?? 'POST';
        const headers: Record<string, string> = { ...auth };
        if (c.contentType !== '') headers['content-type'] = c.contentType ?? 'application/json';
        if (c.accept !== '') headers.accept = c.accept ?? 'application/json, text/event-stream';
        const res = await fetch(url, { method, headers, ...(method === 'GET' || method === 'DELETE' ? {} : { body: c.body }), signal: AbortSignal.timeout(30_000) });
        const body = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status >= 500) serverErrors.push(`case ${i}: ${res.status} ${body.slice(0, 200)} <- ${c.body.slice(0, 200)}`);
        if (/PLINTH_INTERNAL/.test(body)) serverErrors.push(`case ${i}: internal error in body ${body.slice(0, 200)} <- ${c.body.slice(0, 200)}`);
        for (const line of body.split('\n')) {
          if (!line.startsWith('data: ') && !line.startsWith('{')) continue;
          const messages = [JSON.parse(line.startsWith('data: ') ? line.slice(6) : line) as unknown].flat() as Array<{ error?: { code: number; message: string } }>;
          for (const m of messages) {
            if (m.error?.code !== -32603) continue;
            // The SDK answers params that fail its own request schemas with -32603 carrying the
            // schema issues; anything else under -32603 would be an unexpected failure leaking out.
            internalValidation++;
            if (!isSchemaIssueList(m.error.message)) serverErrors.push(`case ${i}: -32603 ${m.error.message.slice(0, 200)} <- ${c.body.slice(0, 200)}`);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    t.logger.info({ statuses: Object.fromEntries(statuses), schema_errors_as_32603: internalValidation }, 'mcp fuzz statuses');
    assert.deepEqual(serverErrors, []);
    // Every case got an answer, and a spread of them: the generator reaches both the success and the refusal paths.
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    assert.equal(total, CASES);
    assert.ok((statuses.get(200) ?? 0) > CASES / 10, `statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.ok([...statuses.keys()].some((s) => s >= 400 && s < 500), `statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    // Still alive and serving.
    const live = await fetch(`${server.url}/livez`);
    assert.equal(live.status, 200);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(rejections, []);
    // Nothing logged at error level (an expected refusal is not an error) and the key is not in the logs.
    const logs = t.logs.text();
    const errors = t.logs.lines.filter((l) => l.includes('"level":50'));
    assert.deepEqual(errors.slice(0, 5), []);
    assert.ok(!logs.includes(t.adminKey) && !logs.includes(t.adminKey.slice(-43)), 'the API key appears in the logs');
  });
});
