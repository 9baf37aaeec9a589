/**
 * What the event browser looks a story up by, as SQL on an event row `e`: the
 * correlation id as text, and the 32 digits after a W3C traceparent's version.
 * The story indexer writes these and the browser's walk past it reads them, so
 * an event has one key whether it is found indexed or not.
 */
export const CORRELATION_OF_EVENT = "e.metadata ->> 'correlationId'";
export const TRACE_OF_EVENT = "substr(e.metadata ->> 'traceparent', 4, 32)";

/** The feed processor that fills story_keys (migration 0037); its checkpoint is where the browser's own reading of events starts. */
export const STORY_INDEXER = 'browser:story-keys';
