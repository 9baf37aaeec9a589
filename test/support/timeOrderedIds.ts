/** A UUID version 7 as text: the time, the version nibble 7, the RFC 9562 variant. */
export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The milliseconds a UUID version 7 carries in its first 48 bits. */
export const millisOfUuidV7 = (id: string): number => parseInt(id.replaceAll('-', '').slice(0, 12), 16);
