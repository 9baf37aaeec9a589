/** An event store option that can never work, refused when the store is made rather than at the first append. */
export class EventStoreOptionsError extends Error {
  readonly code = 'EVENT_STORE_OPTIONS';
  constructor(message: string) {
    super(message);
    this.name = 'EventStoreOptionsError';
  }
}
