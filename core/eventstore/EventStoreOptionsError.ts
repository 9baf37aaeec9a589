/** An event store option that can never work: refused when the store is made, or by `appendToStream` when it is given one. */
export class EventStoreOptionsError extends Error {
  readonly code = 'EVENT_STORE_OPTIONS';
  constructor(message: string) {
    super(message);
    this.name = 'EventStoreOptionsError';
  }
}
