import { describe, expect, it } from 'vitest';
import { appendStatement, type AppendShape } from '../../core/eventstore/appendStatement';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(2);

/** Carries the plan out of the transaction it rolls back. */
class PlanRead extends Error {
  constructor(readonly plan: string) {
    super('the statement is rolled back once its plan is read');
  }
}

/** The statement's plan as it ran, with nothing kept. */
async function planOf(text: string, params: unknown[]): Promise<string> {
  try {
    await db().transaction(async (tx) => {
      const { rows } = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF) ${text}`, params);
      throw new PlanRead(rows.map((row) => row['QUERY PLAN']).join('\n'));
    });
  } catch (error) {
    if (error instanceof PlanRead) return error.plan;
    throw error;
  }
  throw new Error('unreachable: the transaction always throws');
}

const shape = (overrides: Partial<AppendShape>): AppendShape => ({ check: 'exact', batch: false, guardFirstWrite: false, recordCommand: 'no', messages: false, givenEventIds: false, ...overrides });

describe('the checks that events and integration messages do not share an id, on small tables', () => {
  it('probe the unique indexes for the append’s few ids, and never read a whole table into a hash', async () => {
    // A few thousand rows: small enough that hashing a whole table looks cheaper to the planner than 100 probes.
    await db().query(`INSERT INTO events (stream_id, stream_type, version, event_id, type, schema_version, data, metadata)
      SELECT 'plan-' || g, 'account', 1, gen_random_uuid(), 'AccountOpened', 1, jsonb_build_object('owner', repeat('x', 200)), '{}' FROM generate_series(1, 3000) g`);
    await db().query(`INSERT INTO outbox (message_id, ordering_key, subject, payload, headers)
      SELECT gen_random_uuid(), 'k', 'bank.notices', json_build_object('text', repeat('x', 300)), '{}' FROM generate_series(1, 3000) g`);
    await db().query('ANALYZE events');
    await db().query('ANALYZE outbox');
    const message = JSON.stringify([{ messageId: crypto.randomUUID(), orderingKey: 'k', subject: 'bank.notices', headers: {}, body: { amount: 1 } }]);
    const events = JSON.stringify([1, 2].map(() => ({ eventId: crypto.randomUUID(), type: 'MoneyDeposited', schemaVersion: 1, data: { amount: 1 }, metadata: {} })));

    const withMessage = await planOf(appendStatement(shape({ messages: true })), ['plan-new-1', 'account', 0, crypto.randomUUID(), 'AccountOpened', 1, '{}', '{}', message]);
    const withGivenIds = await planOf(appendStatement(shape({ batch: true, givenEventIds: true })), ['plan-new-2', 'account', 0, events]);

    for (const plan of [withMessage, withGivenIds]) {
      expect(plan).not.toMatch(/hashed SubPlan/);
      expect(plan).not.toMatch(/Seq Scan on (events|outbox)/);
    }
  });
});
