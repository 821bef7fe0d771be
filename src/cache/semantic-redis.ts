// Redis SemanticCacheStore shared by every replica. Per partition, three keys in one hash slot:
//   <prefix>p:{<partition>}:v  hash  entry id → vector blob (expiry f64, scale f32, id, int8 × dims)
//   <prefix>p:{<partition>}:d  hash  entry id → JSON { text, value, tags }
//   <prefix>p:{<partition>}:z  zset  entry id → last use (ms): the LRU order for eviction
// Insert and trim run as one Lua script, so concurrent writers never leave a partition over its
// bound. Vectors are quantised to int8 with one scale per vector (4× smaller than float32, cosine
// error around 1e-3) and compared in Plinth: a lookup is one HVALS of the vector hash (the blob
// carries its id, so no field names need decoding: several times faster than HGETALL) and, when
// something is close enough, one HMGET of the few best entries.
// Generation counters live in one hash per tenant: <prefix>gen:{<tenant>} with fields t, m:<model>,
// g:<tag>; a missing field is generation 0.
import type { Redis, Result } from 'ioredis';
import {
  entryId,
  generationBase,
  topCandidates,
  type SemanticCacheStore,
  type SemanticCandidate,
  type SemanticEntry,
  type SemanticStoreOptions,
} from './semantic.js';

const ID_BYTES = 16;
const HEADER = 12 + ID_BYTES;

/** expiry (f64 ms) + scale (f32) + entry id (16 ASCII bytes) + int8 components; `scale` folds in the dequantised norm. */
export function encodeVector(vector: Float32Array, until: number, id = ''): Buffer {
  let maxAbs = 0;
  for (const x of vector) maxAbs = Math.max(maxAbs, Math.abs(x));
  const buf = Buffer.alloc(HEADER + vector.length);
  const q = new Int8Array(buf.buffer, buf.byteOffset + HEADER, vector.length);
  const step = maxAbs > 0 ? maxAbs / 127 : 1;
  let norm = 0;
  for (let i = 0; i < vector.length; i++) {
    const v = Math.round(vector[i]! / step);
    q[i] = v;
    norm += v * v;
  }
  buf.writeDoubleLE(until, 0);
  buf.writeFloatLE(norm > 0 ? 1 / Math.sqrt(norm) : 0, 8);
  buf.write(id.padEnd(ID_BYTES).slice(0, ID_BYTES), 12, 'latin1');
  return buf;
}

/** Cosine between a unit query and an encoded vector; undefined when expired or of another size. */
export function scoreEncoded(blob: Buffer, query: Float32Array, now: number): number | undefined {
  if (blob.length !== HEADER + query.length) return undefined;
  if (blob.readDoubleLE(0) <= now) return undefined;
  const scale = blob.readFloatLE(8);
  const q = new Int8Array(blob.buffer, blob.byteOffset + HEADER, query.length);
  let s = 0;
  for (let i = 0; i < q.length; i++) s += q[i]! * query[i]!;
  return s * scale;
}

const INSERT = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
local n = redis.call('ZCARD', KEYS[3])
local max = tonumber(ARGV[5])
if n > max then
  local old = redis.call('ZRANGE', KEYS[3], 0, n - max - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, n - max - 1)
  redis.call('HDEL', KEYS[1], unpack(old))
  redis.call('HDEL', KEYS[2], unpack(old))
end
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[6]) end
return n`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    plinthSemanticInsert(v: string, d: string, z: string, id: string, blob: Buffer, data: string, now: number, max: number, ttlMs: number): Result<number, Context>;
  }
}

export interface RedisSemanticOptions extends SemanticStoreOptions {
  prefix?: string;
}

export function createRedisSemanticStore(redis: Redis, options: RedisSemanticOptions): SemanticCacheStore {
  const prefix = options.prefix ?? 'plinth:scache:';
  const now = options.now ?? Date.now;
  // Idempotent: defining it again on a shared connection replaces it with the same script.
  redis.defineCommand('plinthSemanticInsert', { numberOfKeys: 3, lua: INSERT });
  const keys = (partition: string) => {
    const base = `${prefix}p:{${partition}}:`;
    return { v: `${base}v`, d: `${base}d`, z: `${base}z` };
  };
  const genKey = (tenantId: string) => `${prefix}gen:{${tenantId}}`;

  async function tagsCurrent(tenantId: string, tags: Record<string, number>): Promise<boolean> {
    const names = Object.keys(tags);
    if (names.length === 0) return true;
    const current = await redis.hmget(genKey(tenantId), ...names.map((t) => `g:${t}`));
    return names.every((t, i) => Number(current[i] ?? 0) === tags[t]);
  }

  return {
    kind: 'redis',
    async generation(scope, tags) {
      const fields = ['t', `m:${scope.model}`, ...tags.map((t) => `g:${t}`)];
      const v = await redis.hmget(genKey(scope.tenantId), ...fields);
      const n = (i: number) => Number(v[i] ?? 0);
      return { base: generationBase(n(0), n(1)), tags: Object.fromEntries(tags.map((t, i) => [t, n(i + 2)])) };
    },
    tagsCurrent,
    async search(tenantId, partition, vector, search) {
      const k = keys(partition);
      const blobs = await redis.hvalsBuffer(k.v);
      const t = now();
      const scored: Array<{ id: string; score: number }> = [];
      const expired: string[] = [];
      const idOf = (blob: Buffer) => blob.toString('latin1', 12, HEADER).trimEnd();
      for (const blob of blobs) {
        const score = scoreEncoded(blob, vector, t);
        if (score === undefined) {
          if (blob.length >= HEADER && blob.readDoubleLE(0) <= t) expired.push(idOf(blob));
          continue;
        }
        if (score >= search.minScore) scored.push({ id: idOf(blob), score });
      }
      if (expired.length > 0) {
        redis
          .multi()
          .hdel(k.v, ...expired)
          .hdel(k.d, ...expired)
          .zrem(k.z, ...expired)
          .exec()
          .catch(() => undefined);
      }
      const best = topCandidates(scored, search);
      if (best.length === 0) return [];
      const data = await redis.hmget(k.d, ...best.map((b) => b.id));
      const out: SemanticCandidate[] = [];
      for (let i = 0; i < best.length; i++) {
        const raw = data[i];
        if (!raw) continue;
        const e = JSON.parse(raw) as SemanticEntry;
        if (!(await tagsCurrent(tenantId, e.tags))) continue;
        out.push({ ...e, score: best[i]!.score });
      }
      if (out.length > 0) {
        // Served entries move to the young end of the LRU order (only if still present).
        redis.zadd(k.z, 'XX', ...best.flatMap((b) => [t, b.id])).catch(() => undefined);
      }
      return out;
    },
    async insert(partition, vector, entry) {
      const k = keys(partition);
      const t = now();
      const id = entryId(entry.text);
      await redis.plinthSemanticInsert(k.v, k.d, k.z, id, encodeVector(vector, t + options.ttlMs, id), JSON.stringify(entry), t, options.maxPerPartition, options.ttlMs);
    },
    async invalidate(tenantId, target = {}) {
      const field = target.tag !== undefined ? `g:${target.tag}` : target.model !== undefined ? `m:${target.model}` : 't';
      await redis.hincrby(genKey(tenantId), field, 1);
    },
    close: () => Promise.resolve(),
  };
}
