import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDb, migrate, type PgliteDb } from '../../core/db';
import { runRetention } from '../../core/service';

// PGlite's clock ticks in milliseconds: a BEGIN and the statement after it often read the
// same time. Tried several times, so that some fall in one tick.
const TRIES = 10;

describe('the retention run in a caller\'s transaction, on PGlite (npm run dev\'s database)', () => {
  let db: PgliteDb;
  beforeAll(async () => {
    db = createPgliteDb();
    await migrate(db);
    // The commands step fails: PGlite has no other session to hold a lock against it.
    await db.query("CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'commands are kept'; END $$");
    await db.query('CREATE TRIGGER keep_commands BEFORE DELETE ON commands FOR EACH ROW EXECUTE FUNCTION refuse_delete()');
  });
  afterAll(() => db.close());

  it('given a commands step that fails, still deletes old processed message ids, says only that step failed, and leaves the transaction usable', async () => {
    const config = { COMMAND_RETENTION_HOURS: 168, PROCESSED_MESSAGE_RETENTION_HOURS: 168 };
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < TRIES; attempt++) {
      await db.query("INSERT INTO commands (command_id, command_type, payload_hash, status, updated_at) VALUES ($1, 'Deposit', 'h', 'succeeded', now() - interval '300 hours')", [`c-${attempt}`]);
      await db.query("INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES ('c', $1, now() - interval '300 hours')", [`m-${attempt}`]);
      const outcome = await db
        .transaction(async (tx) => {
          const failed = await runRetention(tx, config).then(
            () => 'nothing',
            (failure: unknown) => String((failure as { failed?: unknown }).failed),
          );
          // The caller goes on in its transaction.
          await tx.query('SELECT 1');
          return `failed: ${failed}`;
        })
        .catch((error: unknown) => `transaction lost: ${String(error)}`);
      outcomes.push(outcome);
    }

    expect(outcomes).toEqual(Array.from({ length: TRIES }, () => 'failed: commands'));
    expect((await db.query('SELECT message_id FROM processed_messages')).rows).toEqual([]);
  });
});
