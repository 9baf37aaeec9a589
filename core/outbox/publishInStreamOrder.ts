import type { JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { OutboxMessage } from './outboxMessages';
import { isRefusal } from './publishRefusal';

export type PublishResult =
  | { kind: 'published'; message: OutboxMessage; duplicate: boolean; latencyMs: number }
  | { kind: 'refused'; message: OutboxMessage; error: unknown }
  | { kind: 'unreachable'; message: OutboxMessage; error: unknown };

function groupByStream(messages: readonly OutboxMessage[]): OutboxMessage[][] {
  const streams = new Map<string, OutboxMessage[]>();
  for (const message of messages) {
    const stream = streams.get(message.streamId);
    if (stream) stream.push(message);
    else streams.set(message.streamId, [message]);
  }
  return [...streams.values()];
}

async function publishOne(js: JetStreamClient, message: OutboxMessage, timeoutMs: number): Promise<PublishResult> {
  const headers = natsHeaders();
  for (const [name, value] of Object.entries(message.headers)) headers.set(name, value);
  const started = performance.now();
  try {
    const ack = await js.publish(message.subject, message.payload, { msgID: message.eventId, headers, timeout: timeoutMs });
    return { kind: 'published', message, duplicate: ack.duplicate, latencyMs: performance.now() - started };
  } catch (error) {
    return { kind: isRefusal(error) ? 'refused' : 'unreachable', message, error };
  }
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
  js: JetStreamClient,
  messages: readonly OutboxMessage[],
  timeoutMs: number,
): Promise<PublishResult[]> {
  let streams = groupByStream(messages);
  const results: PublishResult[] = [];
  // Whole rounds, rather than each stream chaining on its own acks, keep the
  // publishes of a round in one burst on the connection.
  for (let round = 0; streams.length > 0; round++) {
    const sent = await Promise.all(streams.map((stream) => publishOne(js, stream[round] as OutboxMessage, timeoutMs)));
    results.push(...sent);
    streams = streams.filter((stream, index) => sent[index]?.kind === 'published' && stream.length > round + 1);
  }
  return results;
}
