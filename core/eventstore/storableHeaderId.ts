import { whyUnstorable } from '../text/storableText';
import { isName } from './appendShape';
import { carriedAsHeader } from './headerText';

/**
 * Whether the store keeps the text as an event's correlation or causation id:
 * 1 to 200 characters of text PostgreSQL can store, which a NATS header
 * carries as it is. Ids that come from outside (a message's headers or its
 * id) are checked with it before they are written into events, where one the
 * store refuses would fail every append made with it.
 */
export const isStorableHeaderId = (text: string): boolean => isName(text) && carriedAsHeader(text) && whyUnstorable(text) === undefined;
