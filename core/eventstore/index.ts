export { createEventStore, type EventStore, type EventStoreOptions } from './eventStore';
export { appendToStream, type AppendOptions } from './appendToStream';
export { subjectProblem, subjectSyntaxProblem } from './natsSubject';
export { carriedAsHeader, HEADER_METADATA } from './headerText';
export { isStorableHeaderId } from './storableHeaderId';
export { eventMarkProblem, isExpectationHeader, storedHeadersProblem } from './integrationMessages';
export { EMPTY_HEADER_BLOCK_BYTES, headerLinesBytes, MESSAGE_ID_HEADER_BYTES } from './headerBlock';
export { newEventId } from './eventIds';
export { readStream, MAX_STREAM_VERSION } from './readStream';
export { readEvent } from './readEvent';
export { feedReadingAge, LAG_SCAN_BOUND, walkStoppedShortOfHead } from './feedReadingAge';
export { readFeed, DEFAULT_FEED_BATCH_SIZE, FEED_SCAN_BOUND, MAX_FEED_BATCH_SIZE, MAX_FEED_PARTITIONS } from './readFeed';
export {
  START_OF_FEED,
  checkpointAfterPage,
  compareCheckpoints,
  formatCheckpoint,
  parseCheckpoint,
  type Checkpoint,
} from './checkpoint';
export {
  EventStoreError,
  ConcurrencyError,
  StreamNotFoundError,
  StreamTypeMismatchError,
  DuplicateEventError,
  EventValidationError,
  AppendNotFirstWriteError,
  CommandAlreadyRecordedError,
  type EventStoreErrorCode,
  type ValidationIssue,
} from './errors';
export { EventStoreOptionsError } from './EventStoreOptionsError';
export { isFeedFilter, isName, isPlainObject } from './appendShape';
export { DEFAULT_MAX_EVENT_BYTES, MAX_APPEND_BYTES, MAX_CHOSEN_IDS, MAX_NAME_LENGTH } from './validateAppend';
export { hasNoUpcastPath, isEventUpcaster, NO_UPCAST_PATH, NO_UPCASTING, type EventUpcaster, type UpcastableEvent } from './upcasterPort';
export { EVENT_COLUMNS, toRecordedEvent, type EventTuple, type NullsOf } from './eventRow';
export type * from './types';
export type * from './json';
