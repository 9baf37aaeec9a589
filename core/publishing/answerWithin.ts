import { TimeoutError } from '@nats-io/transport-node';

/**
 * Bounds a question to JetStream made of several requests (account info, then
 * stream info, then an update, say): each request has a timeout of its own, so
 * together they could take several, and a run would end that much past its
 * deadline. Fails with TimeoutError after `ms`; the requests still out are
 * left to settle on their own.
 */
export function answerWithin<T>(question: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new TimeoutError());
    }, ms);
  });
  return Promise.race([question, timedOut]).finally(() => {
    clearTimeout(timer);
  });
}
