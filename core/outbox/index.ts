export { outboxRouting, DEFAULT_SUBJECT_PREFIX, type OutboxRoutingOptions } from './outboxRouting';
export { createOutboxPublisher, type OutboxPublisher } from './outboxPublisher';
export { OutboxConfigurationError, type OutboxPublisherOptions, type Backoff } from './publisherOptions';
export type { PublisherRunReport } from './publisherRunReport';
export { ensureOutboxStream, type OutboxStreamConfig } from './jetStreamSetup';
export { readOutboxStatus, type OutboxStatus } from './outboxStatus';
export {
  deletePublishedMessages,
  listParkedMessages,
  requeueParkedMessage,
  type CleanupPolicy,
  type ParkedMessage,
} from './outboxMaintenance';
export { processOnce, handleOutboxMessage, OutboxEnvelope, type MessageOutcome } from './idempotentConsumer';
export { outboxConfigFromEnv, type OutboxConfig } from './outboxConfig';
