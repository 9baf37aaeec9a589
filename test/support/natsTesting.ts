import { randomBytes } from 'node:crypto';
import { jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';

export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

export const connectNats = (options: Partial<NodeConnectionOptions> = {}): Promise<NatsConnection> =>
  connect({ servers: NATS_URL, ...options });

/** A stream name and subject prefix of its own, so test files never see each other's messages. */
export function uniqueJetStream(): { name: string; prefix: string } {
  const suffix = randomBytes(4).toString('hex');
  return { name: `TEST_${suffix.toUpperCase()}`, prefix: `test${suffix}` };
}

/** Every message the stream holds, in stream order. */
export async function readStoredMessages(nc: NatsConnection, stream: string): Promise<StoredMsg[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const messages: StoredMsg[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const message = await jsm.streams.getMessage(stream, { seq });
    if (message) messages.push(message);
  }
  return messages;
}

export async function deleteJetStream(nc: NatsConnection, stream: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(stream).catch(() => false);
}
