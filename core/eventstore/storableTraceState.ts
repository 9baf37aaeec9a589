import { isStorableHeaderText } from './storableHeaderId';

// W3C trace context: a platform may drop a tracestate past 512 characters rather
// than pass it on; kept, a long one would crowd the event's headers toward
// JetStream's limit and fail the append.
const MAX_TRACESTATE_LENGTH = 512;

/** Whether the store keeps a request's tracestate on its events: text a NATS header carries as it is, within 512 characters. */
export const isStorableTraceState = (text: string): boolean => text.length <= MAX_TRACESTATE_LENGTH && isStorableHeaderText(text);
