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
  const blocked = new Set<string>();
  for (const message of messages) {
    // A delayed message holds back everything after it in its stream.
    if (message.delayed) blocked.add(message.streamId);
    if (blocked.has(message.streamId)) continue;
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
 * Publishes messages pipelined across streams but one at a time within a stream:
 * a stream's next message is sent only once the previous one is acknowledged
 * (stored, or already stored: a duplicate). So JetStream stores every stream in
 * version order, even when another publisher sends the same messages at the same
 * time. A stream stops at its first failure; its later messages wait for the next batch.
 */
export async function publishInStreamOrder(
  js: JetStreamClient,
  messages: readonly OutboxMessage[],
  timeoutMs: number,
): Promise<PublishResult[]> {
  const perStream = await Promise.all(
    groupByStream(messages).map(async (stream) => {
      const results: PublishResult[] = [];
      for (const message of stream) {
        const result = await publishOne(js, message, timeoutMs);
        results.push(result);
        if (result.kind !== 'published') break;
      }
      return results;
    }),
  );
  return perStream.flat();
}
