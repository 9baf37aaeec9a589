import type { Queryable } from '../db';
import type { JsonValue } from '../eventstore';
import type { SnapshotPolicy } from './defineAggregate';

// Keeps the newest snapshot per stream; a snapshot of another schema version is always replaced.
const WRITE_SNAPSHOT_SQL = `
  INSERT INTO snapshots (stream_id, schema_version, version, state) VALUES ($1, $2, $3, $4::jsonb)
  ON CONFLICT (stream_id) DO UPDATE
    SET schema_version = EXCLUDED.schema_version, version = EXCLUDED.version,
        state = EXCLUDED.state, recorded_at = now()
    WHERE snapshots.schema_version <> EXCLUDED.schema_version OR snapshots.version < EXCLUDED.version`;

export async function writeSnapshot<State>(
  db: Queryable,
  policy: SnapshotPolicy<State>,
  snapshot: { streamId: string; version: number; state: State },
): Promise<void> {
  const json: JsonValue = policy.toJson ? policy.toJson(snapshot.state) : (snapshot.state as JsonValue);
  await db.query(WRITE_SNAPSHOT_SQL, [snapshot.streamId, policy.schemaVersion, snapshot.version, JSON.stringify(json)]);
}

/** A snapshot is due once `every` events have been appended since the one the state was loaded from. */
export function snapshotDue(every: number, snapshotVersion: number, newVersion: number): boolean {
  return newVersion - snapshotVersion >= every;
}
