import type { JetStreamPublishing, PublishResult } from './jetStreamPublishing';
import type { PublishMessage } from './PublishMessage';

/** A publish JetStream did not store: refused, or not answered. */
export type FailedPublish = Exclude<PublishResult, { kind: 'published' }>;

/** The messages of each ordering key, in order, the keys in the order they first come. */
export function groupByKey(messages: readonly PublishMessage[]): PublishMessage[][] {
  const keys = new Map<string, PublishMessage[]>();
  for (const message of messages) {
    const sameKey = keys.get(message.orderingKey);
    if (sameKey) sameKey.push(message);
    else keys.set(message.orderingKey, [message]);
  }
  return [...keys.values()];
}

/**
 * How many bytes of messages one send puts on the connection before waiting
 * for their acknowledgements. A send's timeout runs from its first message
 * written: a round of a thousand large messages (a backlog after NATS was
 * away) took longer to cross a slow link than the timeout, so every try timed
 * out while JetStream was storing it, and each retry queued the round again
 * behind the bytes of the last. Every partition of both sources sends on the
 * one connection at once (eight with the defaults): 1 MiB each crosses in the
 * default 5 s at 1.6 MB/s.
 */
export const MAX_SEND_BYTES = 1024 * 1024;

// About what a message puts on the connection, cheaply (the exact count, messageBytes, costs
// several times more, for every message sent): its body's bytes, its subject, and its header
// lines, whose text is one byte a character nearly always.
function wireBytes(message: PublishMessage): number {
  let bytes = Buffer.byteLength(message.payload) + message.subject.length;
  for (const [name, value] of Object.entries(message.headers)) bytes += name.length + value.length + 4;
  return bytes;
}

/** A round's messages in runs of at most MAX_SEND_BYTES, each holding one message at least. */
function sends(messages: readonly PublishMessage[]): PublishMessage[][] {
  const runs: PublishMessage[][] = [];
  let current: PublishMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = wireBytes(message);
    if (current.length > 0 && bytes + size > MAX_SEND_BYTES) {
      runs.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) runs.push(current);
  return runs;
}

/**
 * Publishes messages pipelined across ordering keys but in rounds within one:
 * round n sends the n-th message of every key at once (in sends of at most
 * MAX_SEND_BYTES, one after another, none after a send NATS left partly
 * unanswered but for what was parked), and a key's next
 * message goes out only once the previous one is acknowledged (stored, or
 * already stored: a duplicate) or settled for good: `settleFailed` is given
 * each send's failed publishes and answers for each, in order, whether its
 * key goes on (parked, say, before the key's next message is sent). So
 * JetStream stores every key in order, even when another publisher sends the
 * same messages at the same time. A key stops at anything else; its later
 * messages are not sent. No send but the first starts after the deadline,
 * or once `stopped` says so: a send can wait `timeoutMs` for its
 * acknowledgements, and a batch may hold as many rounds as messages. Results
 * come in no particular order; what was not sent has none.
 */
export async function publishInOrder(
  publishing: JetStreamPublishing,
  messages: readonly PublishMessage[],
  limits: { timeoutMs: number; deadline: number; stopped: () => boolean },
  settleFailed: (failed: readonly FailedPublish[]) => Promise<readonly boolean[]>,
): Promise<PublishResult[]> {
  let keys = groupByKey(messages);
  const results: PublishResult[] = [];
  let first = true;
  const mayStart = () => first || (Date.now() < limits.deadline && !limits.stopped());
  // Whole rounds, rather than each key chaining on its own acks, keep the
  // publishes of a round in one burst on the connection.
  for (let round = 0; keys.length > 0 && mayStart(); round++) {
    const goesOn = new Set<PublishMessage>();
    for (const send of sends(keys.map((key) => key[round] as PublishMessage))) {
      if (!mayStart()) break;
      first = false;
      const sent = await publishing.publishAll(send, limits.timeoutMs);
      results.push(...sent);
      const failed = sent.filter((result): result is FailedPublish => result.kind !== 'published');
      const settled = failed.length > 0 ? await settleFailed(failed) : [];
      for (const result of sent) if (result.kind === 'published') goesOn.add(result.message);
      failed.forEach((result, index) => {
        if (settled[index] === true) goesOn.add(result.message);
      });
      // NATS is away or the link too slow: the round's other sends would each wait out the
      // timeout behind the bytes still queued, so their keys wait for the next batch. One
      // settled for good (parked: a stream that never acknowledges, say) says nothing of the link.
      if (failed.some((result, index) => result.kind === 'unreachable' && settled[index] !== true)) break;
    }
    keys = keys.filter((key) => goesOn.has(key[round] as PublishMessage) && key.length > round + 1);
  }
  return results;
}
