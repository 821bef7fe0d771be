// Worker thread hosting the embedded PostgreSQL (PGlite + pgvector). It keeps the WASM
// engine off the HTTP event loop and serves it over the Postgres wire protocol on a Unix
// socket, so the rest of Plinth talks to it through `pg` exactly as to a real server.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

interface WorkerInput {
  dataDir: string;
  socketPath: string;
  maxConnections: number;
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  | { type: 'closed' }
  | { type: 'dumped'; data: ArrayBuffer }
  | { type: 'dump-failed'; message: string };

const input = workerData as WorkerInput;
const port = parentPort;
if (!port) throw new Error('embedded database worker must run in a worker thread');

let db: PGlite | undefined;
let server: PGLiteSocketServer | undefined;

async function start(): Promise<void> {
  db = await PGlite.create({ dataDir: input.dataDir, extensions: { vector } });
  server = new PGLiteSocketServer({ db, path: input.socketPath, maxConnections: input.maxConnections });
  await server.start();
  port!.postMessage({ type: 'ready' } satisfies WorkerMessage);
}

async function stop(): Promise<void> {
  try {
    await server?.stop();
  } finally {
    // Closing PGlite flushes its data directory; it must run even if the socket server failed.
    if (db && !db.closed) await db.close();
  }
}

port.on('message', (msg: unknown) => {
  if (msg === 'dump') {
    // A gzipped tar of the data directory. PGlite takes it under its query lock, between two
    // statements, so it is a crash-consistent image: the committed state at that instant.
    (async () => {
      if (!db || db.closed) throw new Error('the embedded database is not open');
      const blob = await db.dumpDataDir('gzip');
      return blob.arrayBuffer();
    })().then(
      (data) => port.postMessage({ type: 'dumped', data } satisfies WorkerMessage, [data]),
      (err: unknown) => port.postMessage({ type: 'dump-failed', message: String((err as Error)?.message ?? err) } satisfies WorkerMessage),
    );
  } else if (msg === 'close') {
    stop().then(
      () => port.postMessage({ type: 'closed' } satisfies WorkerMessage),
      (err: unknown) => port.postMessage({ type: 'error', message: String((err as Error)?.message ?? err) } satisfies WorkerMessage),
    );
  }
});

start().catch((err: unknown) => {
  port.postMessage({ type: 'error', message: String((err as Error)?.message ?? err) } satisfies WorkerMessage);
});
