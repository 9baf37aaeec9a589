export { createPublisher, type Publisher } from './publisher';
export { connectWithin } from './connectWithin';
export { DEFAULT_PUBLISH_TIMEOUT_MS, type PublisherOptions } from './publisherOptions';
export { PublisherConfigurationError } from './PublisherConfigurationError';
export type { PublisherRunReport } from './publisherRunReport';
export { eventRouting, DEFAULT_SUBJECT_PREFIX, type EventRouting, type EventRoutingOptions, type RoutedEvent } from './eventRouting';
export { ensurePublishStream, type PublishStreamConfig } from './jetStreamStream';
export { readPublishingStatus, type PublishingStatus, type BacklogStatus } from './publishingStatus';
export { heldBackPartitions, type HeldBackPartition } from './heldBackPartitions';
export { deleteOldProcessedMessages } from './processedMessagesRetention';
export {
  listParkedMessages,
  MAX_PARKED_PAGE,
  ParkedListRequestError,
  ParkedSourceError,
  parkMessages,
  requeueParkedMessage,
  type ListedParkedMessage,
  type ParkedMessage,
  type ParkedSource,
  type Parking,
} from './parkedMessages';
export { discardParkedMessage, type ParkedDiscard } from './discardParkedMessage';
export { EVENTS_PUBLISHER, OUTBOX_PUBLISHER } from './publisherProcessors';
export { OUTBOX_CLEANUP_MAX_MS, type OutboxRetention } from './outboxCleanup';
export type { PublishMessage } from './PublishMessage';
export { refusedForGood } from './refusals';
export { handleMessageOnce, handleEventMessage, handleIntegrationMessage, type MessageOutcome } from './idempotentConsumer';
export { processOnce } from './processOnce';
export { EventEnvelope } from './eventEnvelope';
export { MalformedMessageError } from './MalformedMessageError';
export { ProcessedMessageKeyError } from './ProcessedMessageKeyError';
export type { ConsumeOptions } from './consumeOptions';
export { isEventMessage } from './isEventMessage';
export { MessageAckFailedError } from './MessageAckFailedError';
export { EffectWentOnPastFailureError } from './EffectWentOnPastFailureError';
export { NotAnEventMessageError } from './NotAnEventMessageError';
export { NotAnIntegrationMessageError } from './NotAnIntegrationMessageError';
export { ConsumeOptionsError } from './ConsumeOptionsError';
export { requireExplicitAck } from './explicitAckConsumer';
export { publishingConfigFromEnv, type PublishingConfig } from './publishingConfig';
export { natsAddressToShow, natsConnectOptionsOf, whyNotANatsServer } from './natsServerAddress';
