import { TimeoutError, type NatsConnection } from '@nats-io/transport-node';
import { MAX_TIMER_MS } from '../processing';
import { answerWithin } from './answerWithin';
import { PublisherConfigurationError } from './PublisherConfigurationError';

/**
 * A connect bounded as a whole. The client's `timeout` bounds each dial: a host
 * name with several addresses, or several servers, gets one timeout each, and
 * a publisher run would end that much past its deadline. Fails with
 * TimeoutError after `ms`; a connection that opens after that is closed.
 */
export function connectWithin(connect: () => Promise<NatsConnection>, ms: number): () => Promise<NatsConnection> {
  if (typeof connect !== 'function') throw new PublisherConfigurationError('connectWithin needs a function that opens a NATS connection');
  // A bound of NaN (an unset variable read as a number) timed every connect out at once, NATS up or not.
  if (!(typeof ms === 'number' && ms >= 1 && ms <= MAX_TIMER_MS)) {
    throw new PublisherConfigurationError(`connectWithin's bound must be a number of milliseconds from 1 to ${MAX_TIMER_MS}, not ${ms}`);
  }
  return async () => {
    const connecting = connect();
    try {
      return await answerWithin(connecting, ms);
    } catch (error) {
      if (error instanceof TimeoutError) {
        connecting.then((late) => late.close(), () => undefined).catch(() => undefined);
      }
      throw error;
    }
  };
}
