// Rides a shared Redis client through a short reconnect. Commands fail fast while the client is
// disconnected (no offline queue), which is what the gateway's fail-open / fail-closed policy
// needs during an outage. But some disconnects are not outages: after a Sentinel failover the
// client may already talk to the new master when a late failover notice (+switch-master) makes
// ioredis drop that connection and connect again, and a restarted server or a killed connection
// is back within milliseconds. Refusing requests for such a blip turns a non-event into errors.
//
// So for `graceMs` after the connection was lost, a command issued while the client is between
// connections waits for it to be ready again (at most until the grace ends), then runs; after the
// grace the client fails fast again until it has been ready once more. A long outage therefore
// costs at most one grace of latency, not one per command.
import { Command, type Redis } from 'ioredis';

export interface RideThroughOptions {
  /** How long after losing the connection commands wait for it (0 turns the wait off). */
  graceMs: number;
}

/** Statuses in which the client is between connections and will be ready again by itself. */
const BETWEEN = new Set(['connecting', 'connect', 'reconnecting']);

/** Commands ioredis itself sends while the connection is being set up (they must pass at once). */
const handshake = (command: Command): boolean => Command.checkFlag('HANDSHAKE_COMMANDS', command.name);

/** Makes commands issued shortly after a lost connection wait (bounded) for the next one. */
export function rideThrough(redis: Redis, options: RideThroughOptions): Redis {
  const graceMs = options.graceMs;
  if (graceMs <= 0) return redis;
  /** When the last ready connection was lost; undefined while ready or never connected. */
  let lostAt: number | undefined;
  /** One wait shared by every held command (they all wait for the same connection and deadline). */
  let waiting: Promise<void> | undefined;
  redis.on('ready', () => {
    lostAt = undefined;
  });
  redis.on('close', () => {
    lostAt ??= performance.now();
  });
  const nextConnection = (ms: number): Promise<void> =>
    (waiting ??= new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        redis.off('ready', done);
        redis.off('end', done);
        waiting = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      redis.once('ready', done);
      redis.once('end', done);
    }));
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (command: Command, stream?: Parameters<Redis['sendCommand']>[1]) => {
    if (redis.status === 'ready' || stream !== undefined || lostAt === undefined || !BETWEEN.has(redis.status)) return send(command, stream);
    if (redis.status === 'connect' && handshake(command)) return send(command, stream);
    const left = lostAt + graceMs - performance.now();
    if (left <= 0) return send(command, stream);
    return nextConnection(left).then(() => send(command, stream));
  };
  return redis;
}
