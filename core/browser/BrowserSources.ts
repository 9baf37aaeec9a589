import type { Db } from '../db';
import type { EventShape, EventUpcaster } from '../eventstore';
import type { Projection } from '../projections';

/** How an aggregate folds its events into state: enough to show its state at any version. */
export interface AggregateFold {
  readonly streamType: string;
  initialState(): unknown;
  apply(state: unknown, events: readonly EventShape[]): unknown;
}

/** What the browser reads and acts on: the database, how events are upcasted, and the service's parts. */
export interface BrowserSources {
  db: Db;
  upcaster: EventUpcaster;
  aggregates: readonly AggregateFold[];
  projections: readonly Projection[];
  sagas: readonly string[];
}
