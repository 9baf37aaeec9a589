import { TimeoutError, type NatsConnection } from '@nats-io/transport-node';
import { answerWithin } from './answerWithin';

/**
 * A connect bounded as a whole. The client's `timeout` bounds each dial: a host
 * name with several addresses, or several servers, gets one timeout each, and
 * a publisher run would end that much past its deadline. Fails with
 * TimeoutError after `ms`; a connection that opens after that is closed.
 */
export function connectWithin(connect: () => Promise<NatsConnection>, ms: number): () => Promise<NatsConnection> {
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
