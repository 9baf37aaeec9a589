import type { JetStreamPublishing, PublishResult } from './jetStreamPublishing';
import type { OutboxMessage } from './outboxMessages';

function groupByStream(messages: readonly OutboxMessage[]): OutboxMessage[][] {
  const streams = new Map<string, OutboxMessage[]>();
  for (const message of messages) {
    const stream = streams.get(message.streamId);
    if (stream) stream.push(message);
    else streams.set(message.streamId, [message]);
  }
  return [...streams.values()];
}

/**
 * Publishes messages pipelined across streams but in rounds within a stream:
 * round n sends the n-th message of every stream at once, and a stream's next
 * message goes out only once the previous one is acknowledged (stored, or already
 * stored: a duplicate). So JetStream stores every stream in version order, even
 * when another publisher sends the same messages at the same time. A stream stops
 * at its first failure; its later messages wait for the next batch.
 */
export async function publishInStreamOrder(
  publishing: JetStreamPublishing,
  messages: readonly OutboxMessage[],
  timeoutMs: number,
): Promise<PublishResult[]> {
  let streams = groupByStream(messages);
  const results: PublishResult[] = [];
  // Whole rounds, rather than each stream chaining on its own acks, keep the
  // publishes of a round in one burst on the connection.
  for (let round = 0; streams.length > 0; round++) {
    const sent = await publishing.publishAll(
      streams.map((stream) => stream[round] as OutboxMessage),
      timeoutMs,
    );
    results.push(...sent);
    streams = streams.filter((stream, index) => sent[index]?.kind === 'published' && stream.length > round + 1);
  }
  return results;
}
