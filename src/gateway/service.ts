// The LLM gateway's use cases: route a chat request to an upstream serving its model, admit it
// against the caller's limits, answer from the exact cache when the request is deterministic,
// otherwise call the upstream with timeouts, retries (before the first byte only) and a circuit
// breaker, and account for every call (usage table, metrics, limiter settlement).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Registry } from 'prom-client';
import { createCacheLayer, userCacheTag, type CacheLookup, type CacheStore, type SemanticCacheStore } from '../cache/index.js';
import type { Config } from '../config/index.js';
import type { Database } from '../db/index.js';
import type { Embedder } from '../embeddings/index.js';
import { PlinthError, isPlinthError } from '../errors.js';
import type { LimiterStore } from '../limits/index.js';
import type { Logger } from '../telemetry/logger.js';
import { Aggregator, toChunks } from './aggregate.js';
import { createBudgets, type RecordAudit } from './budgets.js';
import { instrumentAdmission } from '../telemetry/admission.js';
import { loadPrices, type Prices } from './prices.js';
import { CircuitBreaker } from './breaker.js';
import { CIRCUIT_VALUE, createGatewayMetrics } from './metrics.js';
import type { ChatChunk, ChatCompletion, ChatRequest, EmbeddingsRequest, Usage, UsageQuery, UsageRow } from './schema.js';
import * as store from './store.js';
import { createUsageQueue, type UsageQueueOptions } from './usage-queue.js';
import { completionId, UpstreamError, type Upstream } from './upstream.js';

export interface Caller {
  tenantId: string;
  keyId: string;
  keyPrefix: string;
}

export interface CallOptions {
  /** Aborted when the client goes away: the upstream request is cancelled. */
  signal: AbortSignal;
  /** Response headers (limits, cache outcome, overhead), set before the answer or the error. */
  setHeader: (name: string, value: string) => void;
  /** Tags recorded with cache entries this call writes (x-plinth-cache-tags). */
  cacheTags?: string[];
  /** Per request: false skips the semantic cache, true allows it above its temperature bound. */
  semanticCache?: boolean;
}

export interface ChatCall {
  /** The completion as chunks; iterate to the end (or stop early) exactly once. */
  stream: AsyncGenerator<ChatChunk>;
  /** The completion as one object (consumes `stream`). */
  complete(): Promise<ChatCompletion>;
}

export interface GatewayDeps {
  config: Config;
  db: Database;
  logger: Logger;
  registry: Registry;
  embedder: Embedder;
  upstreams: Upstream[];
  limiter: LimiterStore;
  cache: CacheStore;
  semanticCache: SemanticCacheStore;
  /** Closed with the gateway (the Redis connection the stores share). */
  onClose?: () => Promise<void>;
  now?: () => number;
  /** The price table (default: read from GATEWAY_PRICES_FILE). */
  prices?: Prices;
  /** Audits limit changes in their transaction (the auth service's recordAudit). */
  audit?: RecordAudit;
  /** Batching of usage records (defaults: 256 per batch, written at least every 100 ms, 10,000 queued). */
  usageQueue?: Pick<UsageQueueOptions, 'batchSize' | 'flushIntervalMs' | 'maxQueued'>;
}

interface ModelEntry {
  id: string;
  upstream: string;
}

interface Opened {
  upstream: Upstream;
  breaker: CircuitBreaker;
  iterator: AsyncIterator<ChatChunk>;
  first: IteratorResult<ChatChunk>;
  sentAt: number;
  ttftMs: number;
  abort: () => void;
}

const CHARS_PER_TOKEN = 4;

/** The OpenAI `user` field as stored with usage: at most 256 characters, absent when empty. */
function endUser(user: string | undefined): string | null {
  return user ? user.slice(0, 256) : null;
}
const RETRY_MAX_MS = 10_000;

/** One call's time bound and cancellation: aborted when the client goes away or the total time is up. */
interface CallScope {
  signal: AbortSignal;
  /** True once the total time is up (as opposed to the client going away). */
  expired(): boolean;
  /** Stops the timer; call once the call is over. */
  end(): void;
}

// One controller and one timer per call, cleared when the call ends, instead of AbortSignal.timeout
// (whose timer stays pending for the whole timeout after the call ended) and AbortSignal.any.
function callScope(client: AbortSignal, totalMs: number): CallScope {
  const ctl = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    ctl.abort(new Error('total timeout'));
  }, totalMs);
  // Like AbortSignal.timeout: the bound of a call never keeps the process alive.
  timer.unref();
  const onClient = () => ctl.abort(client.reason);
  if (client.aborted) onClient();
  else client.addEventListener('abort', onClient, { once: true });
  return {
    signal: ctl.signal,
    expired: () => expired,
    end() {
      clearTimeout(timer);
      client.removeEventListener('abort', onClient);
    },
  };
}

/** A controller aborted with `parent` (and with its reason), or on its own. `parent` lives one call. */
function childController(parent: AbortSignal): AbortController {
  const ctl = new AbortController();
  if (parent.aborted) ctl.abort(parent.reason);
  else parent.addEventListener('abort', () => ctl.abort(parent.reason), { once: true });
  return ctl;
}

export type GatewayService = ReturnType<typeof createGatewayService>;

export function createGatewayService(deps: GatewayDeps) {
  const { config, db, logger, embedder, limiter, cache } = deps;
  const g = config.gateway;
  const now = deps.now ?? Date.now;
  const metrics = createGatewayMetrics(deps.registry);
  const caches = createCacheLayer({ settings: g, exact: cache, semantic: deps.semanticCache, embedder, logger, registry: deps.registry });
  const breakers = new Map<string, CircuitBreaker>();
  for (const u of deps.upstreams) {
    metrics.circuit.set({ upstream: u.name }, 0);
    breakers.set(u.name, new CircuitBreaker({ threshold: g.breakerThreshold, cooldownMs: g.breakerCooldownMs, onChange: (s) => metrics.circuit.set({ upstream: u.name }, CIRCUIT_VALUE[s]) }));
  }
  const configured = new Map(config.gateway.upstreams.map((u) => [u.name, u.models]));
  const modelLists = new Map<string, { models: string[]; until: number }>();
  const usageQueue = createUsageQueue({ db, logger, registry: deps.registry, now, ...deps.usageQueue });
  let closed: Promise<void> | undefined;

  async function modelsOf(u: Upstream): Promise<string[]> {
    const fixed = configured.get(u.name);
    if (fixed) return fixed;
    const cached = modelLists.get(u.name);
    if (cached && cached.until > now()) return cached.models;
    const models = await u.listModels(AbortSignal.timeout(Math.min(10_000, g.firstTokenTimeoutMs)));
    modelLists.set(u.name, { models, until: now() + g.modelsTtlMs });
    return models;
  }

  async function listModels(): Promise<ModelEntry[]> {
    const out: ModelEntry[] = [];
    const seen = new Set<string>();
    const lists = await Promise.allSettled(deps.upstreams.map((u) => modelsOf(u)));
    lists.forEach((r, i) => {
      const u = deps.upstreams[i]!;
      if (r.status === 'rejected') {
        logger.warn({ upstream: u.name, err: { message: (r.reason as Error).message } }, 'gateway: cannot list the models of an upstream');
        return;
      }
      for (const id of r.value) {
        if (seen.has(id)) continue;
        seen.add(id);
        out.push({ id, upstream: u.name });
      }
    });
    // The embedding model /v1/embeddings serves (Plinth's configured embedder).
    if (!seen.has(embedder.model)) out.push({ id: embedder.model, upstream: `plinth-embeddings-${embedder.provider}` });
    return out;
  }

  /** The upstreams serving `model`, in configuration order (the first is preferred, the rest are fallbacks). */
  async function route(model: string): Promise<Upstream[]> {
    if (deps.upstreams.length === 0) {
      throw new PlinthError('LLM_NOT_CONFIGURED', 'No LLM provider is configured: set OLLAMA_URL or OPENAI_BASE_URL (or gateway.upstreams in the config file).');
    }
    const found: Upstream[] = [];
    let failures = 0;
    for (const u of deps.upstreams) {
      // Asking for the model list is a call like any other: an upstream that cannot be reached
      // opens its circuit, and an open circuit is not asked again until its cool-down ends.
      const breaker = breakers.get(u.name)!;
      const remote = !configured.has(u.name) && !((modelLists.get(u.name)?.until ?? 0) > now());
      if (remote && !breaker.tryAcquire()) {
        failures++;
        continue;
      }
      try {
        const models = await modelsOf(u);
        if (remote) breaker.success();
        if (models.includes(model)) found.push(u);
      } catch (err) {
        if (remote) {
          // Refused, timed out, 5xx: a failure. A definite answer (401, 404) says nothing of health.
          if (err instanceof UpstreamError && !err.retryable) breaker.release();
          else breaker.failure();
        }
        failures++;
        logger.warn({ upstream: u.name, err: { message: (err as Error).message } }, 'gateway: cannot list the models of an upstream');
      }
    }
    if (found.length > 0) return found;
    if (failures === deps.upstreams.length) {
      const wait = Math.min(...deps.upstreams.map((u) => breakers.get(u.name)!.retryAfterMs()));
      throw new PlinthError('UPSTREAM_UNAVAILABLE', 'No LLM upstream could be asked for its models.', { retry_after_s: Math.max(1, Math.ceil(wait / 1000)) });
    }
    throw new PlinthError('MODEL_NOT_FOUND', `The model \`${model}\` does not exist or is not served by any configured upstream.`, { param: 'model' });
  }

  function promptChars(req: ChatRequest): number {
    let n = 0;
    for (const m of req.messages) {
      const c = m.content;
      if (typeof c === 'string') n += c.length;
      else if (Array.isArray(c)) for (const p of c) n += p.type === 'text' ? p.text.length : 0;
      if (m.role === 'assistant') for (const t of m.tool_calls ?? []) n += t.function.arguments.length + t.function.name.length;
    }
    for (const t of req.tools ?? []) n += JSON.stringify(t).length;
    return n;
  }

  // Limits and budgets per key and per tenant (budgets.ts); returns the idempotent settle.
  const budgets = createBudgets({ config, db, limiter, logger, now, ...(deps.audit ? { audit: deps.audit } : {}) });
  const admit = instrumentAdmission(deps.registry, budgets.admit);
  const prices = deps.prices ?? loadPrices(g.pricesFile, deps.registry);

  /** Accounts for one call; returns a promise only when the usage queue is full (wait on it). */
  function record(r: store.UsageRecord): Promise<void> | undefined {
    metrics.requests.inc({ endpoint: r.endpoint, outcome: r.outcome, cache: r.cache });
    if (r.tokensIn > 0) metrics.tokens.inc({ model: r.model, direction: 'in' }, r.tokensIn);
    if (r.tokensOut > 0) metrics.tokens.inc({ model: r.model, direction: 'out' }, r.tokensOut);
    // A call answered from a cache cost nothing upstream; otherwise the price table decides.
    const cost = r.upstream === null ? 0 : prices.cost(r.model, r.upstream, r.tokensIn, r.tokensOut);
    prices.observe(r.model, r.upstream, cost);
    // Off the response path, batched (usage-queue.ts); close() and flush() wait for it.
    return usageQueue.add({ ...r, cost });
  }

  /** Opens the stream on the first healthy upstream, retrying until its first chunk arrived. */
  async function open(candidates: Upstream[], req: ChatRequest, client: AbortSignal, scope: CallScope): Promise<Opened> {
    const outer = scope.signal;
    let last: PlinthError | undefined;
    let retryAfterMs: number | undefined;
    for (let attempt = 0; attempt <= g.retries; attempt++) {
      if (attempt > 0) {
        const backoff = g.retryBaseMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
        await sleep(Math.min(RETRY_MAX_MS, Math.max(backoff, retryAfterMs ?? 0)), undefined, { signal: outer }).catch(() => undefined);
        if (outer.aborted) break;
      }
      const upstream = candidates.find((u) => breakers.get(u.name)!.tryAcquire());
      if (!upstream) {
        const wait = Math.min(...candidates.map((u) => breakers.get(u.name)!.retryAfterMs()));
        last ??= new PlinthError('UPSTREAM_UNAVAILABLE', 'Every upstream serving this model has an open circuit after repeated failures.', { retry_after_s: Math.max(1, Math.ceil(wait / 1000)) });
        break;
      }
      const breaker = breakers.get(upstream.name)!;
      const attemptCtl = childController(outer);
      const timer = setTimeout(() => attemptCtl.abort(new Error('first token timeout')), g.firstTokenTimeoutMs);
      const signal = attemptCtl.signal;
      const sentAt = performance.now();
      try {
        const iterator = await upstream.openChat(req, signal);
        const first = await iterator.next();
        const ttftMs = performance.now() - sentAt;
        metrics.ttft.observe({ upstream: upstream.name, model: req.model }, ttftMs / 1000);
        return { upstream, breaker, iterator, first, sentAt, ttftMs, abort: () => attemptCtl.abort(new Error('cancelled')) };
      } catch (err) {
        if (client.aborted) {
          breaker.release();
          throw client.reason ?? new Error('client went away');
        }
        const elapsed = (performance.now() - sentAt) / 1000;
        if (scope.expired() || attemptCtl.signal.aborted) {
          breaker.failure();
          metrics.upstreamDuration.observe({ upstream: upstream.name, model: req.model, outcome: 'timeout' }, elapsed);
          last = new PlinthError('UPSTREAM_TIMEOUT', `Upstream ${upstream.name} sent no token within ${scope.expired() ? g.totalTimeoutMs : g.firstTokenTimeoutMs} ms.`, { upstream: upstream.name });
          retryAfterMs = undefined;
          if (scope.expired()) break;
          continue;
        }
        if (err instanceof UpstreamError) {
          metrics.upstreamDuration.observe({ upstream: upstream.name, model: req.model, outcome: 'error' }, elapsed);
          if (!err.retryable) {
            // The upstream answered: it is alive, whatever it thought of the request.
            breaker.success();
            throw err.error;
          }
          breaker.failure();
          last = err.error;
          retryAfterMs = err.retryAfterMs;
          continue;
        }
        // The connection broke before the first token: nothing reached the client, so retry.
        breaker.failure();
        metrics.upstreamDuration.observe({ upstream: upstream.name, model: req.model, outcome: 'error' }, elapsed);
        last = new PlinthError('UPSTREAM_UNAVAILABLE', `Upstream ${upstream.name} broke off the connection before the first token.`, { upstream: upstream.name }, { cause: err });
        retryAfterMs = undefined;
      } finally {
        clearTimeout(timer);
      }
    }
    if (client.aborted) throw client.reason ?? new Error('client went away');
    const attempts = g.retries + 1;
    throw last ?? new PlinthError('UPSTREAM_UNAVAILABLE', `The upstream did not answer after ${attempts} attempts.`);
  }

  return {
    listModels,

    async chat(caller: Caller, req: ChatRequest, options: CallOptions): Promise<ChatCall> {
      const started = performance.now();
      const { setHeader } = options;
      const chars = promptChars(req);
      if (chars > g.maxPromptChars) {
        throw new PlinthError('PROMPT_TOO_LARGE', `The prompt has ${chars} characters; at most ${g.maxPromptChars} are accepted.`, { param: 'messages' });
      }
      const candidates = await route(req.model);
      const promptTokens = Math.ceil(chars / CHARS_PER_TOKEN);
      const maxOut = req.max_completion_tokens ?? req.max_tokens ?? g.defaultMaxTokens;
      const includeUsage = req.stream_options?.include_usage === true;
      const userId = endUser(req.user);
      const base = { tenantId: caller.tenantId, keyPrefix: caller.keyPrefix, endpoint: 'chat' as const, model: req.model, userId };
      // What is cached for a named user carries that user's tag, so erasing the user drops it.
      const tags = userId === null ? (options.cacheTags ?? []) : [...(options.cacheTags ?? []), userCacheTag(userId)];
      // The cache's first reads go out with the limit check (one round trip to Redis); nothing
      // read is used unless the call is admitted, and the semantic search waits for admission.
      const pending = caches.begin(caller.tenantId, req, { tags, semantic: options.semanticCache, signal: options.signal });
      const settle = await admit(caller, promptTokens + maxOut, setHeader);
      let lookup: CacheLookup | undefined;
      let scope: CallScope | undefined;

      try {
        lookup = await pending();
        const hit = lookup.hit;
        if (hit) {
          await settle(0);
          const kind = lookup.outcome === 'semantic' ? 'semantic' : 'exact';
          setHeader('x-plinth-cache', kind);
          if (lookup.similarity !== undefined) setHeader('x-plinth-cache-similarity', lookup.similarity.toFixed(4));
          setHeader('x-plinth-overhead-ms', (performance.now() - started).toFixed(1));
          const id = completionId();
          const created = Math.floor(now() / 1000);
          const completion: ChatCompletion = { ...hit, id, created };
          await record({ ...base, upstream: null, outcome: 'ok', errorCode: null, cache: kind, tokensIn: hit.usage.prompt_tokens, tokensOut: hit.usage.completion_tokens, latencyMs: performance.now() - started, ttftMs: null });
          const chunks = toChunks(completion, id, created);
          if (includeUsage) chunks.push({ id, object: 'chat.completion.chunk', created, model: completion.model, choices: [], usage: completion.usage });
          return {
            stream: replay(chunks),
            complete: () => Promise.resolve(completion),
          };
        }
        setHeader('x-plinth-cache', 'miss');
        scope = callScope(options.signal, g.totalTimeoutMs);
        const opened = await open(candidates, req, options.signal, scope);
        setHeader('x-plinth-overhead-ms', (opened.sentAt - started).toFixed(1));
        const stream = run(opened, {
          req,
          emitUsage: includeUsage || req.stream !== true,
          promptTokens,
          started,
          settle,
          store: lookup.store,
          client: options.signal,
          scope,
          record: (r) => record({ ...base, cache: lookup?.outcome === 'miss' ? 'miss' : 'bypass', ...r }),
        });
        return {
          stream,
          async complete() {
            const agg = new Aggregator();
            let usage: Usage | undefined;
            for await (const chunk of stream) {
              agg.add(chunk);
              if (chunk.usage) usage = chunk.usage;
            }
            return agg.result(usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
          },
        };
      } catch (err) {
        scope?.end();
        await settle(0);
        const aborted = options.signal.aborted;
        await record({ ...base, upstream: null, outcome: aborted ? 'cancelled' : 'error', errorCode: isPlinthError(err) ? err.code : null, cache: lookup?.outcome === 'miss' ? 'miss' : 'bypass', tokensIn: 0, tokensOut: 0, latencyMs: performance.now() - started, ttftMs: null });
        throw err;
      }
    },

    async embeddings(caller: Caller, req: EmbeddingsRequest, options: CallOptions) {
      const started = performance.now();
      if (req.model !== embedder.model) {
        throw new PlinthError('MODEL_NOT_FOUND', `The model \`${req.model}\` is not the configured embedding model (${embedder.model}).`, { param: 'model' });
      }
      if (req.dimensions !== undefined && req.dimensions !== embedder.dimensions) {
        throw new PlinthError('VALIDATION_FAILED', `The embedding model ${embedder.model} has ${embedder.dimensions} dimensions.`, { param: 'dimensions' });
      }
      const input = typeof req.input === 'string' ? [req.input] : req.input;
      const tokens = Math.ceil(input.reduce((n, t) => n + t.length, 0) / CHARS_PER_TOKEN);
      const settle = await admit(caller, tokens, options.setHeader);
      const base = {
        tenantId: caller.tenantId,
        keyPrefix: caller.keyPrefix,
        endpoint: 'embeddings' as const,
        model: req.model,
        upstream: embedder.provider,
        cache: 'bypass' as const,
        ttftMs: null,
        userId: endUser(req.user),
      };
      let vectors: Float32Array[];
      try {
        vectors = await embedder.embed(input, { signal: options.signal });
      } catch (err) {
        await settle(0);
        await record({ ...base, outcome: options.signal.aborted ? 'cancelled' : 'error', errorCode: isPlinthError(err) ? err.code : null, tokensIn: 0, tokensOut: 0, latencyMs: performance.now() - started });
        throw err;
      }
      await settle(tokens);
      await record({ ...base, outcome: 'ok', errorCode: null, tokensIn: tokens, tokensOut: 0, latencyMs: performance.now() - started });
      const base64 = req.encoding_format === 'base64';
      return {
        object: 'list' as const,
        model: embedder.model,
        data: vectors.map((v, index) => ({
          object: 'embedding' as const,
          index,
          embedding: base64 ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Array.from(v),
        })),
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      };
    },

    async usage(tenantId: string, query: UsageQuery): Promise<UsageRow[]> {
      await this.flush();
      return db.withTenant(tenantId, (tx) => store.aggregateUsage(tx, tenantId, query), { readOnly: true });
    },

    /** Tokens this key has reserved and not yet settled (0 when no call is in flight). */
    reservedTokens(keyId: string): Promise<number> {
      return budgets.reservedTokens(keyId);
    },

    /** Per-tenant limit overrides (admins): read and replace. */
    limits: { get: budgets.get, set: budgets.set, defaults: budgets.defaults },
    prices,

    circuitState(upstream: string) {
      return breakers.get(upstream)?.state;
    },

    upstreams: deps.upstreams,
    limiter,
    cache,

    /** Invalidates the tenant's cached completions (exact and semantic): all, one model's, or one tag's. */
    invalidateCache(tenantId: string, target: { model?: string; tag?: string } = {}): Promise<void> {
      return caches.invalidate(tenantId, target);
    },

    /** Wait until every usage record written so far is stored. */
    flush(): Promise<void> {
      return usageQueue.flush();
    },

    close(): Promise<void> {
      closed ??= (async () => {
        await usageQueue.close();
        await Promise.allSettled([limiter.close(), cache.close(), caches.close()]);
        await deps.onClose?.();
      })();
      return closed;
    },
  };

  interface RunContext {
    req: ChatRequest;
    /** Yield a final usage chunk (asked for by a streaming client; always for complete()). */
    emitUsage: boolean;
    promptTokens: number;
    started: number;
    settle: (actual: number) => Promise<void>;
    /** Stores a finished completion in the cache (a no-op when the call was not cacheable). */
    store: (completion: ChatCompletion) => void;
    client: AbortSignal;
    /** Ended when the run ends. */
    scope: CallScope;
    record: (r: Pick<store.UsageRecord, 'upstream' | 'outcome' | 'errorCode' | 'tokensIn' | 'tokensOut' | 'latencyMs' | 'ttftMs'>) => Promise<void> | undefined;
  }

  async function* run(o: Opened, ctx: RunContext): AsyncGenerator<ChatChunk> {
    const agg = new Aggregator();
    let usage: Usage | undefined;
    let outcome: 'ok' | 'error' | 'cancelled' = 'cancelled';
    let errorCode: string | null = null;
    try {
      let r = o.first;
      while (!r.done) {
        const chunk = r.value;
        if (chunk.usage) usage = chunk.usage;
        const { usage: _drop, ...rest } = chunk;
        if (rest.choices.length > 0) {
          agg.add(rest);
          yield rest;
        }
        r = await o.iterator.next();
      }
      o.breaker.success();
      outcome = 'ok';
      const final: Usage = usage ?? estimate(ctx.promptTokens, agg);
      if (ctx.emitUsage) yield { id: agg.id || completionId(), object: 'chat.completion.chunk', created: agg.created, model: agg.model || ctx.req.model, choices: [], usage: final };
      usage = final;
      if (agg.finishReason !== 'length') ctx.store(agg.result(final));
    } catch (err) {
      if (ctx.client.aborted) {
        outcome = 'cancelled';
        o.breaker.release();
        throw err;
      }
      outcome = 'error';
      o.breaker.failure();
      const mapped = ctx.scope.expired()
        ? new PlinthError('UPSTREAM_TIMEOUT', `The completion did not finish within ${g.totalTimeoutMs} ms.`, { upstream: o.upstream.name })
        : err instanceof UpstreamError
          ? err.error
          : new PlinthError('UPSTREAM_FAILED', `Upstream ${o.upstream.name} broke off the stream.`, { upstream: o.upstream.name }, { cause: err });
      errorCode = mapped.code;
      throw mapped;
    } finally {
      ctx.scope.end();
      if (outcome === 'cancelled') {
        // The consumer stopped early (client gone): cancel the upstream request too.
        o.abort();
        o.breaker.release();
        await o.iterator.return?.().catch(() => undefined);
      }
      const latencyMs = performance.now() - ctx.started;
      metrics.upstreamDuration.observe({ upstream: o.upstream.name, model: ctx.req.model, outcome }, (performance.now() - o.sentAt) / 1000);
      const u = usage ?? (outcome === 'ok' ? undefined : estimate(ctx.promptTokens, agg));
      await ctx.settle(outcome === 'ok' ? (u?.total_tokens ?? 0) : 0);
      await ctx.record({ upstream: o.upstream.name, outcome, errorCode, tokensIn: u?.prompt_tokens ?? 0, tokensOut: u?.completion_tokens ?? 0, latencyMs, ttftMs: o.ttftMs });
    }
  }
}

/** A stored answer, replayed as a stream. */
async function* replay(chunks: ChatChunk[]): AsyncGenerator<ChatChunk> {
  for (const c of chunks) yield await Promise.resolve(c);
}

function estimate(promptTokens: number, agg: Aggregator): Usage {
  const out = Math.ceil(agg.outputChars() / CHARS_PER_TOKEN);
  return { prompt_tokens: promptTokens, completion_tokens: out, total_tokens: promptTokens + out };
}
