import { createPgDb } from '../core/db';
import { defineAccountSummaries } from '../core/bank';
import { createEventStore, type NewEvent } from '../core/eventstore';
import type { AccountEvent } from '../core/bank';
import { createProjector, registerProjection } from '../core/projections';
import { createTestDatabase } from '../test/support/testDatabase';
const database = await createTestDatabase();
const db = createPgDb({ connectionString: database.url, max: 1 });
const store = createEventStore(db);
for (let index = 0; index < 1000; index += 1) {
  const events: NewEvent<AccountEvent>[] = [{ type: 'AccountOpened', data: { owner: `owner ${index}`, currency: 'EUR' } }];
  for (let n = 1; n < 100; n += 1) events.push(n % 3 === 0 ? { type: 'MoneyWithdrawn', data: { amount: 10 } } : { type: 'MoneyDeposited', data: { amount: 25 } });
  await store.appendToStream({ streamId: `account-${index}`, streamType: 'account', expectedVersion: 0, events });
}
await db.query('VACUUM ANALYZE events');
for (let round = 1; round <= 3; round++) {
  const projection = defineAccountSummaries({ name: `prof_${round}`, partitions: 1, batchSize: 500 });
  await registerProjection(db, projection);
  const t = performance.now(); const cpu0 = process.cpuUsage();
  const run = await createProjector({ db, projections: [projection] }).runUntilCaughtUp();
  const el = performance.now() - t; const cpu = process.cpuUsage(cpu0);
  console.log(run.eventsApplied, Math.round(run.eventsApplied / el * 1000), 'ev/s', 'node cpu ms', Math.round((cpu.user + cpu.system) / 1000), 'wall ms', Math.round(el));
}
await db.close(); await database.drop();
