// Keeps a shared Redis client connecting until it is closed on purpose. ioredis gives a client up
// for good (status "end", every command "Connection is closed.") when its connect attempt is cut
// short: with Sentinel, the failover notice (+switch-master) from a Sentinel subscription of the
// previous connection aborts the attempt that is asking the Sentinels for the master — which is
// exactly what happens after a master crash. Without this the gateway would refuse or skip its
// limits until a restart; with it, the client connects again and finds the new master.
import type { Redis } from 'ioredis';
import type { Logger } from '../telemetry/logger.js';

export interface KeepConnectedOptions {
  logger?: Logger;
  /** Pause before connecting again after the client gave up. */
  delayMs?: number;
}

/** Makes `redis` connect again whenever it ends without quit() or disconnect() having been called. */
export function keepConnected(redis: Redis, options: KeepConnectedOptions = {}): Redis {
  const delayMs = options.delayMs ?? 200;
  let closing = false;
  let timer: NodeJS.Timeout | undefined;
  const disconnect = redis.disconnect.bind(redis);
  const quit = redis.quit.bind(redis);
  redis.disconnect = (reconnect = false) => {
    if (!reconnect) {
      closing = true;
      clearTimeout(timer);
    }
    disconnect(reconnect);
  };
  redis.quit = (...args: Parameters<Redis['quit']>) => {
    closing = true;
    clearTimeout(timer);
    return quit(...args);
  };
  redis.on('end', () => {
    if (closing) return;
    options.logger?.warn('redis client stopped reconnecting; connecting again');
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!closing && redis.status === 'end') redis.connect().catch(() => undefined);
    }, delayMs);
    timer.unref();
  });
  return redis;
}
