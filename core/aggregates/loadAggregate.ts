import type { Queryable } from '../db';
import type { EventMetadata, EventShape, NullsOf, EventUpcaster, JsonValue, UpcastableEvent } from '../eventstore';
import type { Aggregate, CommandShape } from './defineAggregate';

export interface LoadedAggregate<State> {
  streamId: string;
  state: State;
  /** The stream's version the state reflects; 0 for an aggregate with no events yet. */
  version: number;
  /** The version of the snapshot the state started from; 0 if it was rebuilt from the first event. */
  snapshotVersion: number;
}

/** The event columns the fold needs, read as an array (row parsing dominates long loads): LOAD_SQL's after the snapshot's two. */
type EventColumns = [version: number, eventId: string, type: string, schemaVersion: number, data: object, metadata: EventMetadata];

/** A snapshot column pair, and either an event or (for a stream with nothing past its snapshot) nulls. */
type LoadRow =
  | [snapshotVersion: number | null, snapshotState: JsonValue | null, ...EventColumns]
  | [snapshotVersion: number | null, snapshotState: JsonValue | null, ...NullsOf<EventColumns>];
const hasEvent = (row: LoadRow): row is [number | null, JsonValue | null, ...EventColumns] => row[3] !== null;

// One round trip: the usable snapshot (if any) and every event after it. The
// snapshot's state rides only on the first row, so it is parsed once. Only the
// columns the fold needs are read: row parsing dominates long loads.
const LOAD_SQL = `
  SELECT snap.version AS snapshot_version,
         CASE WHEN e.version IS NULL OR e.version = snap.version + 1 THEN snap.state END AS snapshot_state,
         e.version, e.event_id, e.type, e.schema_version, e.data, e.metadata
  FROM (SELECT $1::text AS stream_id) AS s
  LEFT JOIN snapshots snap ON snap.stream_id = s.stream_id AND snap.schema_version = $2
  LEFT JOIN events e ON e.stream_id = s.stream_id AND e.version > coalesce(snap.version, 0)
  ORDER BY e.version`;

const toUpcastable = (row: [number | null, JsonValue | null, ...EventColumns]): UpcastableEvent & { version: number } => ({
  eventId: row[3],
  version: row[2],
  type: row[4],
  schemaVersion: row[5],
  data: row[6],
  metadata: row[7],
});

/** Loads an aggregate's state: its latest usable snapshot plus the newer events, upcast. */
export async function loadAggregate<State, Event extends EventShape, Command extends CommandShape>(
  db: Queryable,
  aggregate: Aggregate<State, Event, Command>,
  upcaster: EventUpcaster,
  id: string,
): Promise<LoadedAggregate<State>> {
  const streamId = aggregate.streamId(id);
  const policy = aggregate.snapshots;
  const { rows } = await db.query<LoadRow>(LOAD_SQL, [streamId, policy?.schemaVersion ?? 0], { rowMode: 'array' });
  const [snapshotAt, snapshotState] = rows[0] ?? [null, null];
  let state = aggregate.initialState();
  let snapshotVersion = 0;
  if (policy && snapshotAt !== null && snapshotState !== null) {
    snapshotVersion = snapshotAt;
    state = policy.fromJson ? policy.fromJson(snapshotState) : (snapshotState as State);
  }
  const events = rows.flatMap((row) => (hasEvent(row) ? [upcaster.upcast(toUpcastable(row))] : []));
  // A stream of this aggregate's type holds its events; an unknown type is refused by `apply`.
  state = aggregate.apply(state, events as unknown as Event[]);
  const version = events[events.length - 1]?.version ?? snapshotVersion;
  return { streamId, state, version, snapshotVersion };
}
