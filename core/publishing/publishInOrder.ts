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
 * Publishes messages pipelined across ordering keys but in rounds within one:
 * round n sends the n-th message of every key at once, and a key's next
 * message goes out only once the previous one is acknowledged (stored, or
 * already stored: a duplicate) or settled for good: `settleFailed` is given
 * each round's failed publishes and answers for each, in order, whether its
 * key goes on (parked, say, before the key's next message is sent). So
 * JetStream stores every key in order, even when another publisher sends the
 * same messages at the same time. A key stops at anything else; its later
 * messages are not sent. No round but the first starts after the deadline,
 * or once `stopped` says so: a round can wait `timeoutMs` for its
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
  // Whole rounds, rather than each key chaining on its own acks, keep the
  // publishes of a round in one burst on the connection.
  for (let round = 0; keys.length > 0 && (round === 0 || (Date.now() < limits.deadline && !limits.stopped())); round++) {
    const sent = await publishing.publishAll(
      keys.map((key) => key[round] as PublishMessage),
      limits.timeoutMs,
    );
    results.push(...sent);
    const failed = sent.filter((result): result is FailedPublish => result.kind !== 'published');
    const settled = failed.length > 0 ? await settleFailed(failed) : [];
    const goesOn = new Set<PublishResult>(failed.filter((_, index) => settled[index] === true));
    keys = keys.filter((key, index) => {
      const result = sent[index];
      return result !== undefined && (result.kind === 'published' || goesOn.has(result)) && key.length > round + 1;
    });
  }
  return results;
}
