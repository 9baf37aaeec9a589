// How late timeouts fire after their due time: the saga sweeper watching (one
// sweep a second), beside a hand-written poller of a deadlines table at the same pace.
import { randomUUID } from 'node:crypto';
import { createCommandBus } from '../../core/commands';
import { createPgDb } from '../../core/db';
import { createEventStore, NO_UPCASTING } from '../../core/eventstore';
import { createSagaRuntime, defineSaga } from '../../core/sagas';
import { withPlainPool } from '../support/connections';
import { percentile } from '../support/closedLoop';

export interface LatenessWorkload {
  timeouts: number;
  /** Due times are spread over this window after they are scheduled. */
  spreadMs: number;
  /** The sweeper's pace: the dev server's and the watching Lambda's. */
  pollMs: number;
}

type Opened = { type: 'ReminderRequested'; data: { id: string; afterMs: number } };

const reminders = defineSaga<Opened, { fired: boolean }, { type: 'None'; payload: object }, { type: 'Remind'; data: object }>()({
  name: 'bench_reminder',
  stateVersion: 1,
  on: {
    ReminderRequested: {
      correlate: (event) => event.data.id,
      start: (event) => ({ state: { fired: false }, schedule: [{ timeout: { type: 'Remind', data: {} }, afterMs: event.data.afterMs }] }),
    },
  },
  timeouts: { Remind: () => ({ state: { fired: true }, outcome: 'complete' }) },
});

/** Lateness in ms of each timeout fired by the sweeper watching, p99. */
export async function measureSagaLateness(url: string, workload: LatenessWorkload): Promise<number> {
  const db = createPgDb({ connectionString: url, max: 4 });
  try {
    const store = createEventStore(db);
    const runtime = createSagaRuntime({ db, bus: createCommandBus({ db, commands: [] }), sagas: [reminders], upcaster: NO_UPCASTING });
    const batch = randomUUID().slice(0, 8);
    for (let index = 0; index < workload.timeouts; index += 1) {
      const id = `${batch}-${String(index)}`;
      const afterMs = Math.floor((index / workload.timeouts) * workload.spreadMs);
      await store.appendToStream({ streamId: `reminder-${id}`, streamType: 'reminder', expectedVersion: 'no_stream', events: [{ type: 'ReminderRequested', data: { id, afterMs } }] });
    }
    await runtime.run({ holder: 'bench', deadline: Date.now() + 60_000 });
    await runtime.watch({ holder: 'bench', deadline: Date.now() + workload.spreadMs + 2 * workload.pollMs + 1_000, pollMs: workload.pollMs });
    const { rows } = await db.query<{ late_ms: string }>(
      `SELECT extract(epoch FROM at - (summary->>'dueAt')::timestamptz) * 1000 AS late_ms
       FROM saga_inputs WHERE saga = 'bench_reminder' AND kind = 'timeout' AND saga_id LIKE $1`,
      [`${batch}-%`],
    );
    return percentile(rows.map((row) => Number(row.late_ms)), 0.99);
  } finally {
    await db.close();
  }
}

/** The same deadlines in a table of their own, deleted by a loop polling it at the same pace. */
export async function measurePollerLateness(url: string, workload: LatenessWorkload): Promise<number> {
  return withPlainPool(url, 2, async (pool) => {
    await pool.query('CREATE TABLE IF NOT EXISTS bench_deadlines (id text PRIMARY KEY, due_at timestamptz NOT NULL)');
    await pool.query('CREATE INDEX IF NOT EXISTS bench_deadlines_due ON bench_deadlines (due_at)');
    const batch = randomUUID().slice(0, 8);
    for (let index = 0; index < workload.timeouts; index += 1) {
      const afterMs = Math.floor((index / workload.timeouts) * workload.spreadMs);
      await pool.query("INSERT INTO bench_deadlines (id, due_at) VALUES ($1, now() + make_interval(secs => $2::double precision / 1000))", [`${batch}-${String(index)}`, afterMs]);
    }
    await pool.query('ANALYZE bench_deadlines');
    const lateness: number[] = [];
    const deadline = Date.now() + workload.spreadMs + 2 * workload.pollMs + 1_000;
    while (lateness.length < workload.timeouts && Date.now() < deadline) {
      const { rows } = await pool.query<{ late_ms: string }>(
        'DELETE FROM bench_deadlines WHERE due_at <= now() AND id LIKE $1 RETURNING extract(epoch FROM clock_timestamp() - due_at) * 1000 AS late_ms',
        [`${batch}-%`],
      );
      lateness.push(...rows.map((row) => Number(row.late_ms)));
      await new Promise((resolve) => setTimeout(resolve, workload.pollMs));
    }
    return percentile(lateness, 0.99);
  });
}
