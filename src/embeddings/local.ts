// The local embedder: a sentence-embedding ONNX model from a directory on disk, run in a worker
// thread. It needs no server and no network, so it is the preferred fallback when no LLM
// endpoint is configured. If the worker dies it is started again on the next call.
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PlinthError } from '../errors.js';
import { resolveLocalModel, type LocalModelFiles } from './local-model.js';
import type { LocalWorkerData, LocalWorkerMessage, LocalWorkerRequest } from './local-worker.js';
import type { Embedder, EmbedOptions, InputLimits } from './port.js';
import { DEFAULT_MAX_INPUT_CHARS } from './port.js';
import { checkInputs, toUnitVector } from './vectors.js';

export interface LocalEmbedderOptions extends Partial<InputLimits> {
  modelDir: string;
  /** Name recorded with the vectors; defaults to the directory's name. */
  model?: string;
  /** When given, the model's vector size must match it. */
  dimensions?: number;
  batchSize?: number;
  /** Compute threads inside the worker; defaults to half the cores, at most 4. */
  threads?: number;
  /** Longest wait for the model to load. */
  loadTimeoutMs?: number;
}

interface Pending {
  resolve: (vectors: Float32Array[]) => void;
  reject: (err: Error) => void;
}

interface Running {
  worker: Worker;
  ready: Promise<number>;
  pending: Map<number, Pending>;
}

export async function createLocalEmbedder(options: LocalEmbedderOptions): Promise<Embedder> {
  const files = resolveLocalModel(options.modelDir);
  const model = options.model ?? path.basename(files.dir);
  const limits: InputLimits = { maxInputChars: options.maxInputChars ?? DEFAULT_MAX_INPUT_CHARS };
  const workerData: LocalWorkerData = {
    files,
    threads: options.threads ?? Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2))),
    batchSize: options.batchSize ?? 16,
  };
  const loadTimeoutMs = options.loadTimeoutMs ?? 120_000;
  let running: Running | undefined;
  let closed = false;
  let nextId = 1;

  function start(): Running {
    const worker = spawnWorker(workerData);
    const pending = new Map<number, Pending>();
    let settleReady: { resolve: (d: number) => void; reject: (e: unknown) => void } | undefined;
    const ready = new Promise<number>((resolve, reject) => (settleReady = { resolve, reject }));
    // Observed by the callers that await it; this keeps an early failure from being "unhandled".
    ready.catch(() => undefined);
    const timer = setTimeout(() => {
      settleReady?.reject(unavailable(files, `the model did not load within ${loadTimeoutMs} ms`));
      void worker.terminate();
    }, loadTimeoutMs);
    timer.unref();
    const self: Running = { worker, ready, pending };

    worker.on('message', (msg: LocalWorkerMessage) => {
      switch (msg.type) {
        case 'ready':
          clearTimeout(timer);
          // Referenced while loading or busy, so a waiting caller keeps the process alive; idle, it
          // must not hold the process open on its own.
          if (pending.size === 0) worker.unref();
          settleReady?.resolve(msg.dimensions);
          break;
        case 'failed':
          clearTimeout(timer);
          settleReady?.reject(unavailable(files, msg.message));
          break;
        case 'result':
        case 'error': {
          const p = pending.get(msg.id);
          pending.delete(msg.id);
          if (pending.size === 0) worker.unref();
          if (msg.type === 'result') p?.resolve(msg.vectors);
          else p?.reject(new PlinthError('EMBEDDING_FAILED', `The local model failed: ${msg.message}`, { provider: 'local' }));
          break;
        }
      }
    });
    const fail = (reason: string) => {
      clearTimeout(timer);
      if (running === self) running = undefined;
      const err = unavailable(files, reason);
      settleReady?.reject(err);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };
    worker.on('error', (err) => fail(`the worker crashed: ${err.message}`));
    worker.on('exit', (code) => fail(`the worker exited (code ${code})`));
    return self;
  }

  function current(): Running {
    if (closed) throw new PlinthError('EMBEDDING_UNAVAILABLE', 'The local embedder is closed.', { provider: 'local' });
    running ??= start();
    return running;
  }

  const first = current();
  const dimensions = await first.ready.catch(async (err: unknown) => {
    closed = true;
    await first.worker.terminate();
    throw err;
  });
  if (options.dimensions !== undefined && options.dimensions !== dimensions) {
    closed = true;
    await first.worker.terminate();
    throw new PlinthError(
      'EMBEDDING_FAILED',
      `The local model in ${files.dir} produces ${dimensions}-dimensional vectors; EMBEDDINGS_DIMENSIONS is ${options.dimensions}.`,
      { provider: 'local', expected: options.dimensions, got: dimensions },
    );
  }

  return {
    provider: 'local',
    model,
    dimensions,
    quality: 'high',
    async embed(texts: readonly string[], embedOptions?: EmbedOptions): Promise<Float32Array[]> {
      const signal = embedOptions?.signal;
      signal?.throwIfAborted();
      checkInputs(texts, limits);
      const run = current();
      await run.ready;
      const id = nextId++;
      const vectors = await new Promise<Float32Array[]>((resolve, reject) => {
        const onAbort = () => {
          // The worker finishes the batch anyway; its answer finds no one waiting and is dropped.
          run.pending.delete(id);
          reject(signal?.reason as Error);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        run.pending.set(id, {
          resolve: (v) => {
            signal?.removeEventListener('abort', onAbort);
            resolve(v);
          },
          reject: (e) => {
            signal?.removeEventListener('abort', onAbort);
            reject(e);
          },
        });
        run.worker.ref();
        run.worker.postMessage({ id, texts: [...texts] } satisfies LocalWorkerRequest);
      });
      if (vectors.length !== texts.length) {
        throw new PlinthError('EMBEDDING_FAILED', `The local model returned ${vectors.length} vectors for ${texts.length} texts.`, { provider: 'local' });
      }
      return vectors.map((v, i) => toUnitVector(v, dimensions, 'local', i));
    },
    async close(): Promise<void> {
      if (closed && !running) return;
      closed = true;
      const run = running;
      running = undefined;
      if (run) await run.worker.terminate();
    },
  };
}

function unavailable(files: LocalModelFiles, reason: string): PlinthError {
  return new PlinthError('EMBEDDING_UNAVAILABLE', `The local embedding model in ${files.dir} is unavailable: ${reason}`, { provider: 'local' });
}

/** Compiled builds run local-worker.js; from TypeScript sources the worker registers tsx first (loader hooks are per thread). */
function spawnWorker(workerData: LocalWorkerData): Worker {
  const here = fileURLToPath(import.meta.url);
  const workerFile = path.join(path.dirname(here), `local-worker${path.extname(here)}`);
  return workerFile.endsWith('.ts')
    ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(workerFile).href)}); })`, {
        eval: true,
        workerData,
      })
    : new Worker(workerFile, { workerData });
}
