// Fewer socket writes to Redis. ioredis writes every command to its socket at once: one system
// call per command, which on a busy gateway costs more CPU than building the command. The
// commands a chat call issues together — the limit check with the cache reads before the
// upstream call, the cache writes with the settlement after it — are issued in the same run of
// JavaScript; here the socket is corked at the first of them and uncorked once that run (with
// the promise callbacks it queued) is over, so they leave in one write and their replies come
// back in one read. Each command keeps its own reply, error and span; only the writes are
// joined, and only while the connection is ready (otherwise commands fail fast as before).
import type { Redis } from 'ioredis';

type Socket = NonNullable<Redis['stream']>;

export interface CoalescedRedis {
  /** Socket writes that carried more than one command (for tests and diagnostics). */
  readonly joinedWrites: () => number;
}

/** Makes `redis` join the commands issued in one run of JavaScript into one socket write. */
export function coalesceWrites(redis: Redis): Redis & CoalescedRedis {
  const send = redis.sendCommand.bind(redis);
  let corked: Socket | undefined;
  let pending = 0;
  let joined = 0;
  const uncork = () => {
    const s = corked;
    corked = undefined;
    if (pending > 1) joined++;
    pending = 0;
    s?.uncork();
  };
  redis.sendCommand = (command, stream) => {
    if (stream === undefined && redis.status === 'ready') {
      const s = redis.stream as Socket | undefined;
      if (s && corked === undefined && s.writable) {
        corked = s;
        s.cork();
        // Promise callbacks run after process.nextTick callbacks: queue a microtask that queues
        // the uncork, so it comes after every callback this run queued, and before any I/O.
        queueMicrotask(() => process.nextTick(uncork));
      }
      if (corked === s) pending++;
    }
    return send(command, stream);
  };
  return Object.assign(redis, { joinedWrites: () => joined });
}
