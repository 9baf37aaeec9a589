import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../core/eventstore';
import { createProjector, defineProjection, getProjectionStatus, processorNameOf, registerProjection } from '../../core/projections';
import { accountUpcasters } from '../support/accountUpcasters';
import { deposited, opened, sleep, withdrawn } from '../support/fixtures';
import { useProjectionDatabase } from './support/projectionDatabase';
import { runUntilNoLag } from './support/runUntilNoLag';

type DepositHistory = { type: 'MoneyDeposited'; data: { amount: number; currency: string } } | { type: 'MoneyWithdrawn'; data: { amount: number } };

describe('what a projection is given', () => {
  const context = useProjectionDatabase();

  it('only the event types it has handlers for, upcasted to their current shape, whatever schema they were stored in', async () => {
    const { db, store } = context();
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO events (stream_id, stream_type, version, event_id, type, schema_version, data)
         VALUES ('account-old', 'account', 1, gen_random_uuid(), 'AccountOpened', 1, '{"owner":"ada","currency":"EUR"}'),
                ('account-old', 'account', 2, gen_random_uuid(), 'FundsAdded', 1, '{"sum":"12.50"}'),
                ('account-old', 'account', 3, gen_random_uuid(), 'MoneyDeposited', 3, '{"amount":5}')`,
      );
    });
    await store.appendToStream({ streamId: 'account-new', streamType: 'account', expectedVersion: 'no_stream', events: [opened(), withdrawn(1)] });
    const seen: RecordedEvent[] = [];
    const deposits = defineProjection<DepositHistory>()({
      name: 'deposits_seen',
      version: 1,
      tables: [],
      handlers: {
        MoneyDeposited: (event) => {
          seen.push(event);
        },
      },
    });

    await runUntilNoLag(db, createProjector({ db, projections: [deposits], upcaster: accountUpcasters }), 'deposits_seen');
    expect(seen.map((event) => [event.streamId, event.type, event.data])).toEqual([
      ['account-old', 'MoneyDeposited', { amount: 1250, currency: 'EUR' }],
      ['account-old', 'MoneyDeposited', { amount: 5, currency: 'EUR' }],
    ]);
    // The events it skipped still moved its checkpoint: nothing is left to read.
    const [status] = await getProjectionStatus(db, 'deposits_seen');
    expect(status?.generations[0]?.partitions[0]).toMatchObject({ state: 'running', caughtUp: true, lagEvents: 0, lagSeconds: 0, eventsApplied: 2 });
  });
});

describe('status and lag', () => {
  const context = useProjectionDatabase();

  it('show per partition the checkpoint, the events not yet applied and the age of the oldest, then none once caught up', async () => {
    const { db, store } = context();
    const projection = defineProjection<DepositHistory>()({
      name: 'lagging',
      version: 1,
      partitions: 2,
      tables: [],
      handlers: { MoneyDeposited: () => undefined },
    });
    await registerProjection(db, projection);
    for (const streamId of ['account-x', 'account-y', 'account-z', 'account-w']) {
      await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2)] });
    }
    await sleep(1_100);

    const [before] = await getProjectionStatus(db, 'lagging');
    expect(before).toMatchObject({ name: 'lagging', activeGeneration: 1 });
    const partitions = before?.generations[0]?.partitions ?? [];
    expect(partitions.map((partition) => partition.partition)).toEqual([0, 1]);
    expect(partitions.reduce((total, partition) => total + partition.lagEvents, 0)).toBe(12);
    for (const partition of partitions.filter((candidate) => candidate.lagEvents > 0)) {
      expect(partition).toMatchObject({ checkpoint: '0:0', state: 'rebuilding', caughtUp: false, lagEventsCapped: false });
      expect(partition.lagSeconds).toBeGreaterThanOrEqual(1);
    }

    await runUntilNoLag(db, createProjector({ db, projections: [projection] }), 'lagging');
    const [after] = await getProjectionStatus(db, 'lagging');
    for (const partition of after?.generations[0]?.partitions ?? []) {
      expect(partition).toMatchObject({ state: 'running', caughtUp: true, lagEvents: 0, lagSeconds: 0, attempts: 0, lastError: null, heldBy: null });
      expect(partition.checkpoint).not.toBe('0:0');
    }

    // An instance holding partition 0 (one at work, or one that died before its lease ran out) is named.
    await db.query("UPDATE partition_leases SET holder = 'projector-1', expires_at = now() + interval '1 minute' WHERE lease_group = $1 AND partition = 0", [
      processorNameOf('lagging', 1),
    ]);
    const [held] = await getProjectionStatus(db, 'lagging');
    expect(held?.generations[0]?.partitions.map((partition) => partition.heldBy)).toEqual(['projector-1', null]);
    expect(held?.generations[0]?.partitions[0]?.heldUntil?.getTime()).toBeGreaterThan(Date.now());
  });

  it('read inside a transaction begun before the events were appended, count the age of the oldest up to the read, not to the transaction’s start', async () => {
    const { db, store } = context();
    const projection = defineProjection<DepositHistory>()({ name: 'lag_in_a_transaction', version: 1, tables: [], handlers: { MoneyDeposited: () => undefined } });
    await registerProjection(db, projection);

    const status = await db.transaction(async (tx) => {
      await tx.query('SELECT 1');
      await store.appendToStream({ streamId: 'account-late', streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1)] });
      await sleep(1_100);
      return getProjectionStatus(tx, 'lag_in_a_transaction');
    });

    const partition = status[0]?.generations[0]?.partitions[0];
    expect(partition?.lagEvents).toBeGreaterThan(0);
    expect(partition?.lagSeconds).toBeGreaterThanOrEqual(1);
  });
});
