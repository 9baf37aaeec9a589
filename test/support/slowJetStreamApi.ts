import type { NatsConnection } from '@nats-io/transport-node';
import { sleep } from './fixtures';

/** `nc`, with each JetStream API request answered only after `delayMs(subject)`: a server slow to answer, but within the bounds. */
export function slowJetStreamApi(nc: NatsConnection, delayMs: (subject: string) => number): NatsConnection {
  return new Proxy(nc, {
    get(target, property) {
      if (property === 'request') {
        return async (subject: string, ...rest: unknown[]) => {
          await sleep(delayMs(subject));
          return (target.request as (subject: string, ...rest: unknown[]) => Promise<unknown>)(subject, ...rest);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
