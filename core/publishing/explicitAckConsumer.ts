import { AckPolicy, type Consumer } from '@nats-io/jetstream';
import { ConsumeOptionsError } from './ConsumeOptionsError';

/**
 * The consumer, once its info shows it acknowledges each message on its own
 * (`AckPolicy.Explicit`), which the idempotent helpers need. Refused with
 * ConsumeOptionsError otherwise: under `AckPolicy.All` the acknowledgement of
 * a later message acknowledges every earlier one, the one a failed handler
 * nak'd among them, which is then never delivered again; under
 * `AckPolicy.None` nothing is redelivered at all.
 */
export async function requireExplicitAck(consumer: Consumer): Promise<Consumer> {
  const { config, name } = await consumer.info(true);
  if (config.ack_policy !== AckPolicy.Explicit) {
    throw new ConsumeOptionsError(
      `consumer ${name} acknowledges with ack policy "${config.ack_policy}": handling messages exactly once needs "explicit", ` +
        'or a message whose handler failed is taken as acknowledged and never comes back',
    );
  }
  return consumer;
}
