import { whyUnstorable } from '../text';
import { isName } from './appendShape';
import { carriedAsHeader } from './headerText';

/** Text from outside that an event's header-bound metadata can hold: PostgreSQL stores it, and a NATS header carries it as it is. */
export const isStorableHeaderText = (text: string): boolean => carriedAsHeader(text) && whyUnstorable(text) === undefined;

/**
 * Whether the store keeps the text as an event's correlation or causation id:
 * 1 to 200 characters of text PostgreSQL can store, which a NATS header
 * carries as it is. Ids that come from outside (a message's headers or its
 * id) are checked with it before they are written into events, where one the
 * store refuses would fail every append made with it.
 */
export const isStorableHeaderId = (text: string): boolean => isName(text) && isStorableHeaderText(text);
