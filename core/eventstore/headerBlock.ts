/**
 * JetStream stores a header block's length in 16 bits and refuses a longer block
 * on every try, so a message whose headers come to more could only be parked.
 * The block is counted as NATS sends it ("NATS/1.0\r\n", "name: value\r\n" each,
 * "\r\n"), with room for what the publisher adds: Nats-Msg-Id, a UUID of 36
 * characters, and the W3C traceparent of the message's send span, 55.
 */
export const MAX_HEADER_BLOCK_BYTES = 65_535;

export const headerLineBytes = (nameBytes: number, valueBytes: number): number => nameBytes + ': '.length + valueBytes + '\r\n'.length;

/** The lines of these headers as NATS sends them, in UTF-8 bytes. */
export function headerLinesBytes(headers: Readonly<Record<string, string>>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) bytes += headerLineBytes(Buffer.byteLength(name), Buffer.byteLength(value));
  return bytes;
}

/** "NATS/1.0\r\n" and the blank line that ends the block. */
export const EMPTY_HEADER_BLOCK_BYTES = 'NATS/1.0\r\n\r\n'.length;

/** The message id's line, which the client adds from `msgID`. */
export const MESSAGE_ID_HEADER_BYTES = headerLineBytes('Nats-Msg-Id'.length, 36);

/** The block's bytes before any header of the message's own. */
export const BASE_HEADER_BLOCK_BYTES = EMPTY_HEADER_BLOCK_BYTES + MESSAGE_ID_HEADER_BYTES + headerLineBytes('traceparent'.length, 55);
