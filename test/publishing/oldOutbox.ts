import { randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { createPgDb, DEFAULT_MIGRATIONS_DIRECTORY, migrate, type Db } from '../../core/db';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

/** A database on the schema as it was before publishing moved to the feed (migrations up to 0011), and the old code's two steps. */
export interface OldOutbox {
  db: Db;
  /** An append as the old code made it: events and, when routed, their outbox rows, in one call of the old function. */
  appendTheOldWay(streamId: string, expectedVersion: number, types: string[], routed?: boolean): Promise<string[]>;
  /** What the old publisher did with a row: send it with its event id as message id, then mark it published. */
  publishTheOldWay(eventId: string): Promise<void>;
  close(): Promise<void>;
}

export async function startOnTheOldSchema(nc: NatsConnection, subjectPrefix: string): Promise<OldOutbox> {
  const database: TestDatabase = await createTestDatabase({ migrated: false });
  const db = createPgDb({ connectionString: database.url, max: 4 });
  const oldMigrations = await mkdtemp(path.join(tmpdir(), 'migrations-'));
  for (const name of (await readdir(DEFAULT_MIGRATIONS_DIRECTORY)).filter((file) => file < '0012')) {
    await copyFile(path.join(DEFAULT_MIGRATIONS_DIRECTORY, name), path.join(oldMigrations, name));
  }
  await migrate(db, { directory: oldMigrations });
  return {
    db,
    async appendTheOldWay(streamId, expectedVersion, types, routed = true) {
      const events = types.map((type) => ({
        eventId: randomUUID(),
        type,
        schemaVersion: 1,
        data: { amount: 1 },
        metadata: {},
        ...(routed ? { subject: `${subjectPrefix}.account.${type}` } : {}),
      }));
      await db.query(`SELECT * FROM ${routed ? 'append_to_stream_with_outbox' : 'append_to_stream'}($1, 'account', 'exact', $2, $3::jsonb)`, [
        streamId,
        expectedVersion,
        JSON.stringify(events),
      ]);
      return events.map((event) => event.eventId);
    },
    async publishTheOldWay(eventId) {
      const { rows } = await db.query<{ subject: string; payload: string; headers: Record<string, string> }>(
        'SELECT subject, payload::text AS payload, headers FROM outbox WHERE event_id = $1',
        [eventId],
      );
      const row = rows[0];
      if (!row) throw new Error(`no outbox row for ${eventId}`);
      const headers = natsHeaders();
      for (const [name, value] of Object.entries(row.headers)) headers.set(name, value);
      await jetstream(nc).publish(row.subject, row.payload, { msgID: eventId, headers });
      await db.query('UPDATE outbox SET published_at = now() WHERE event_id = $1', [eventId]);
    },
    async close() {
      await db.close();
      await database.drop();
      await rm(oldMigrations, { recursive: true, force: true });
    },
  };
}
