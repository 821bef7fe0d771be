// Worker-thread entry for the local embedding model. Inference is CPU-bound for hundreds of
// milliseconds per batch; running it here keeps the HTTP event loop responsive meanwhile.
import { parentPort, workerData } from 'node:worker_threads';
import { loadLocalModel, type LocalModel, type LocalModelFiles } from './local-model.js';

export interface LocalWorkerData {
  files: LocalModelFiles;
  threads: number;
  batchSize: number;
}

export type LocalWorkerRequest = { id: number; texts: string[] };

export type LocalWorkerMessage =
  | { type: 'ready'; dimensions: number }
  | { type: 'failed'; message: string; code?: string }
  | { type: 'result'; id: number; vectors: Float32Array[] }
  | { type: 'error'; id: number; message: string };

const port = parentPort;
if (!port) throw new Error('local-worker must run in a worker thread');
const data = workerData as LocalWorkerData;

let model: LocalModel;
try {
  model = await loadLocalModel(data.files, { threads: data.threads });
  port.postMessage({ type: 'ready', dimensions: model.dimensions } satisfies LocalWorkerMessage);
} catch (err) {
  const e = err as { message?: string; code?: string };
  port.postMessage({ type: 'failed', message: e.message ?? String(err), ...(typeof e.code === 'string' ? { code: e.code } : {}) } satisfies LocalWorkerMessage);
  port.close();
  process.exit(0);
}

// One inference at a time: the runtime's session is not re-entrant.
let queue: Promise<void> = Promise.resolve();
port.on('message', (req: LocalWorkerRequest) => {
  queue = queue.then(async () => {
    try {
      const vectors = await model.embed(req.texts, data.batchSize);
      port.postMessage({ type: 'result', id: req.id, vectors } satisfies LocalWorkerMessage, vectors.map((v) => v.buffer as ArrayBuffer));
    } catch (err) {
      port.postMessage({ type: 'error', id: req.id, message: (err as Error).message } satisfies LocalWorkerMessage);
    }
  });
});
